//! Accounts, sessions, API tokens, roles and the guards every `/api` route passes through.
//!
//! A request is authenticated once (`principal::authenticate`: a Bearer token or the session
//! cookie) and then checked against the [`role::Access`] its route declared
//! (`principal::guard`). Users from users.yaml are read-only; users created through the api, and
//! all sessions and tokens, live in Redis so every api replica sees the same ones.
pub mod audit;
pub mod bootstrap;
pub mod devices;
pub mod lockout;
pub mod password;
pub mod principal;
pub mod role;
pub mod sessions;
pub mod tokens;
pub mod users;
pub mod users_file;

use std::path::PathBuf;

use secrecy::SecretString;

use crate::auth::users_file::UsersFile;

/// Authentication settings, fixed at start.
pub struct AuthConfig {
    pub file: UsersFile,
    pub bcrypt_cost: u32,
    /// Where the first admin's generated password is written.
    pub data_dir: PathBuf,
    /// Take the client address from `X-Forwarded-For` (behind a reverse proxy).
    pub trust_proxy: bool,
    /// Proxies appending to `X-Forwarded-For` (with `trust_proxy`); the client is counted from
    /// the right.
    pub trusted_proxy_hops: usize,
    /// Origins besides the request's own host allowed to make state-changing cookie requests.
    pub allowed_origins: Vec<String>,
    /// Checked against when a user does not exist, so the answer takes as long either way: its
    /// cost is the highest of the file users' hashes and `bcrypt_cost`.
    pub dummy_hash: SecretString,
}

impl AuthConfig {
    pub fn secret_key(&self) -> Option<&SecretString> {
        self.file.session.secret_key.as_ref()
    }
}
