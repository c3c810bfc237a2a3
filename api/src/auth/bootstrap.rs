//! The first start: with no user anywhere, an `admin` with a random password, which must be
//! changed at first login. There is no default password.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use redis::AsyncCommands;
use secrecy::SecretString;

use crate::auth::password::{hash, random_password};
use crate::auth::role::Role;
use crate::auth::users::{self, NewUser};
use crate::error::AppError;
use crate::state::AppState;

pub const PASSWORD_FILE: &str = "initial-admin-password";

/// Creates the first admin when no user exists. Several api replicas may start at once: only
/// the one that takes the bootstrap key creates it.
pub async fn ensure_admin(state: &AppState) -> Result<(), AppError> {
    if users::any(state).await? {
        return Ok(());
    }
    let mut conn = state.pool.get().await?;
    let first: bool = redis::cmd("SET")
        .arg(state.keys.bootstrap())
        .arg("1")
        .arg("NX")
        // Expires, so a replica that died half-way does not block the next one forever.
        .arg("EX")
        .arg(60)
        .query_async::<Option<String>>(&mut *conn)
        .await?
        .is_some();
    drop(conn);
    if !first {
        return Ok(());
    }
    let password = random_password(20);
    let hashed = hash(SecretString::from(password.clone()), state.auth.bcrypt_cost).await;
    users::create(
        state,
        NewUser {
            username: "admin".into(),
            display_name: Some("Administrator".into()),
            role: Role::Admin,
            email: None,
            active: true,
            must_change_password: true,
        },
        hashed,
    )
    .await?;
    let file = state.auth.data_dir.join(PASSWORD_FILE);
    let written = std::fs::create_dir_all(&state.auth.data_dir).and_then(|()| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&file)?;
        writeln!(f, "{password}")
    });
    if let Err(e) = written {
        tracing::warn!(file = %file.display(), error = %e, "cannot write the first admin's password file");
    }
    // Printed once, on purpose: it is the only way in, and it must be changed at first login.
    tracing::warn!(
        username = "admin",
        password = %password,
        file = %file.display(),
        "no users existed: created the first admin with this one-time password; it must be changed at first login"
    );
    let mut conn = state.pool.get().await?;
    let _: () = conn.del(state.keys.bootstrap()).await?;
    Ok(())
}
