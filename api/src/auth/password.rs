//! Passwords, tokens and session ids: hashing (bcrypt, run off the async threads), policy, and
//! random secrets.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Passwords a published document once suggested. They never work, whatever a file says.
pub const PUBLISHED_DEFAULTS: &[&str] = &["admin123"];

pub fn is_bcrypt(hash: &str) -> bool {
    let b = hash.as_bytes();
    hash.len() == 60
        && (hash.starts_with("$2b$") || hash.starts_with("$2a$") || hash.starts_with("$2y$"))
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
        && hash[7..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'/')
}

/// The cost (log2 of the rounds) a bcrypt hash was made with.
pub fn cost_of(hash: &str) -> Option<u32> {
    is_bcrypt(hash).then(|| hash[4..6].parse().ok()).flatten()
}

/// The cost of the hash checked for unknown users: as high as any real user's, or an unknown
/// name would answer faster than a file user hashed at a higher cost (user enumeration).
pub fn dummy_cost(file: &crate::auth::users_file::UsersFile, configured: u32) -> u32 {
    file.users
        .values()
        .filter_map(|u| cost_of(u.password_hash.expose_secret()))
        .fold(configured, u32::max)
}

pub fn check_username(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid username {name:?}: 1 to 64 letters, digits, '.', '_', '-' or '@'"
        ))
    }
}

pub fn check_policy(password: &str, min_length: usize) -> Result<(), String> {
    if password.chars().count() < min_length {
        return Err(format!(
            "the password must have at least {min_length} characters"
        ));
    }
    if password.len() > 72 {
        // bcrypt ignores everything past 72 bytes.
        return Err("the password must have at most 72 bytes".into());
    }
    if PUBLISHED_DEFAULTS.contains(&password) {
        return Err("this password is published in the documentation; choose another".into());
    }
    Ok(())
}

pub async fn hash(password: SecretString, cost: u32) -> String {
    tokio::task::spawn_blocking(move || {
        bcrypt::hash(password.expose_secret(), cost)
            .expect("bcrypt hashes any password <= 72 bytes")
    })
    .await
    .expect("the hashing task does not panic")
}

/// False for a wrong password and for a malformed hash.
pub async fn verify(password: SecretString, hash: SecretString) -> bool {
    tokio::task::spawn_blocking(move || {
        let candidate = password.expose_secret();
        !PUBLISHED_DEFAULTS.contains(&candidate)
            && bcrypt::verify(candidate, hash.expose_secret()).unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A random secret of `bytes` bytes, URL-safe base64 (no padding).
pub fn random_secret(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A password a person can type: letters and digits without look-alikes.
pub fn random_password(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = vec![0u8; len];
    getrandom::fill(&mut buf).expect("the OS random source works");
    buf.iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// What is stored for a token or session id: a one-way digest, so Redis holds nothing usable.
pub fn digest(secret: &str, key: Option<&SecretString>) -> String {
    use hmac::{Hmac, Mac};
    let bytes = match key {
        Some(key) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
                .expect("HMAC takes keys of any length");
            mac.update(secret.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        None => Sha256::digest(secret.as_bytes()).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_defaults_never_do() {
        let h = hash(SecretString::from("correct horse".to_owned()), 4).await;
        assert!(is_bcrypt(&h), "{h}");
        assert!(
            verify(
                SecretString::from("correct horse".to_owned()),
                SecretString::from(h.clone())
            )
            .await
        );
        assert!(
            !verify(
                SecretString::from("wrong".to_owned()),
                SecretString::from(h)
            )
            .await
        );
        let published = bcrypt::hash("admin123", 4).unwrap();
        assert!(
            !verify(
                SecretString::from("admin123".to_owned()),
                SecretString::from(published)
            )
            .await
        );
    }

    #[test]
    fn policy_and_names() {
        assert!(check_policy("short", 8).unwrap_err().contains("at least 8"));
        assert!(check_policy("admin123", 6).is_err());
        assert!(check_policy("long enough", 8).is_ok());
        assert!(check_username("ann.lee@corp").is_ok());
        assert!(check_username("ann lee").is_err());
        assert!(!is_bcrypt("admin123"));
        assert_eq!(cost_of(&bcrypt::hash("x", 5).unwrap()), Some(5));
        assert_eq!(cost_of("admin123"), None);
    }

    #[test]
    fn secrets_are_random_and_digests_keyed() {
        assert_ne!(random_secret(32), random_secret(32));
        assert_eq!(random_password(16).len(), 16);
        let key = SecretString::from("k".to_owned());
        assert_ne!(digest("s", None), digest("s", Some(&key)));
        assert_eq!(digest("s", Some(&key)).len(), 64);
    }
}
