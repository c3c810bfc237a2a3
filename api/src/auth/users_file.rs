//! `users.yaml` in the format of the user's spec: users (bcrypt hashes, roles), session and
//! security settings. Checked at start like registries.yaml: file, line and key in every error.

use std::collections::BTreeMap;
use std::path::Path;

use docker_sync_common::config::{parse_yaml, ConfigError};
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::role::Role;

pub const USERS_FILE: &str = "users.yaml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    #[serde(default)]
    pub users: BTreeMap<String, FileUser>,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub security: SecurityConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawUser")]
pub struct FileUser {
    pub username: String,
    pub password_hash: SecretString,
    pub display_name: Option<String>,
    pub role: Role,
    pub email: Option<String>,
    pub active: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    username: String,
    password_hash: SecretString,
    display_name: Option<String>,
    role: Role,
    email: Option<String>,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

impl TryFrom<RawUser> for FileUser {
    type Error = String;

    fn try_from(raw: RawUser) -> Result<Self, String> {
        use secrecy::ExposeSecret;
        crate::auth::password::check_username(&raw.username)?;
        if !crate::auth::password::is_bcrypt(raw.password_hash.expose_secret()) {
            // Never echo the value: it may be a plain password pasted by mistake.
            return Err(
                "password_hash must be a bcrypt hash ($2b$<cost>$ followed by 53 characters)"
                    .into(),
            );
        }
        Ok(FileUser {
            username: raw.username,
            password_hash: raw.password_hash,
            display_name: raw.display_name,
            role: raw.role,
            email: raw.email,
            active: raw.active,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Keys the session ids stored in Redis (HMAC), so a copy of Redis holds no usable cookie.
    pub secret_key: Option<SecretString>,
    /// Seconds of inactivity that end a session.
    pub session_timeout: u64,
    /// Seconds a "remember me" session lasts.
    pub remember_me_duration: u64,
    /// Force the cookie's `Secure` flag; by default it is set when the request came over HTTPS
    /// (`X-Forwarded-Proto: https` from the proxy).
    pub cookie_secure: Option<bool>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            secret_key: None,
            session_timeout: 3600,
            remember_me_duration: 604_800,
            cookie_secure: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    pub max_login_attempts: u32,
    /// Seconds logins stay refused after too many failures.
    pub lockout_duration: u64,
    pub password_min_length: usize,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            max_login_attempts: 5,
            lockout_duration: 300,
            password_min_length: 8,
        }
    }
}

impl UsersFile {
    /// Reads `<dir>/users.yaml`; a missing file means no file users and default settings.
    pub fn load(dir: &Path) -> Result<UsersFile, ConfigError> {
        let file = dir.join(USERS_FILE);
        match std::fs::read_to_string(&file) {
            Ok(text) => UsersFile::parse(&text, &file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UsersFile::default()),
            Err(source) => Err(ConfigError::Read { file, source }),
        }
    }

    pub fn parse(text: &str, file: &Path) -> Result<UsersFile, ConfigError> {
        let parsed: UsersFile = parse_yaml(text, file)?;
        for (key, user) in &parsed.users {
            if *key != user.username {
                return Err(ConfigError::Invalid {
                    file: file.to_owned(),
                    line: text
                        .lines()
                        .position(|l| l.trim_start().starts_with(&format!("{key}:")))
                        .map_or(1, |i| i + 1),
                    key: format!("users.{key}.username"),
                    message: format!("must equal the key `{key}`, not `{}`", user.username),
                });
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2b$04$abcdefghijklmnopqrstuu5Rm4W6ZS3MJfNzqy0VDlC8h3C.yTV6e";

    fn parse(text: &str) -> Result<UsersFile, ConfigError> {
        UsersFile::parse(text, Path::new("users.yaml"))
    }

    fn user(role: &str, hash: &str) -> String {
        format!(
            "users:\n  ann:\n    username: ann\n    password_hash: \"{hash}\"\n    role: {role}\n"
        )
    }

    #[test]
    fn the_example_file_parses() {
        let text = include_str!("../../../config/users.yaml.example").replace(
            "$2b$12$REPLACE.WITH.A.REAL.BCRYPT.HASH.OF.YOUR.PASSWORD.xxxxxxx",
            HASH,
        );
        let f = parse(&text).unwrap();
        assert_eq!(f.users["admin"].role, Role::Admin);
        assert_eq!(f.session.session_timeout, 3600);
        assert_eq!(f.security.max_login_attempts, 5);
    }

    #[test]
    fn an_unknown_role_names_line_and_key() {
        let Err(ConfigError::Invalid {
            line, key, message, ..
        }) = parse(&user("root", HASH))
        else {
            panic!("expected an error");
        };
        assert_eq!(line, 5);
        assert_eq!(key, "users.ann.role");
        assert!(message.contains("root"), "{message}");
    }

    #[test]
    fn a_bad_hash_is_refused_without_echoing_it() {
        let Err(e) = parse(&user("admin", "admin123")) else {
            panic!("expected an error");
        };
        let text = e.to_string();
        assert!(
            text.contains("users.ann") && text.contains("bcrypt"),
            "{text}"
        );
        assert!(!text.contains("admin123"), "{text}");
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let Err(e) = parse("security:\n  max_login_attempt: 3\n") else {
            panic!("expected an error");
        };
        assert!(e.to_string().contains("max_login_attempt"), "{e}");
    }
}
