//! `docker-sync-api hash-password`: the `password_hash` of a users.yaml entry, made by the
//! program that checks it (same bcrypt, same cost), without Redis or a config.
//!
//! The password comes from stdin, never from argv, where any user on the host can read it in
//! the process list.

use std::io::{BufRead, IsTerminal, Write};

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone, clap::Args)]
pub struct HashPasswordArgs {
    /// bcrypt cost of the hash (4 to 31); the server's own default.
    #[arg(long, env = "DOCKER_SYNC_BCRYPT_COST", default_value_t = 12, value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,
}

/// Reads the password (one line from a pipe, or typed twice without echo at a terminal) and
/// prints its `$2b$` hash: the hash is all stdout gets, so `$(...)` captures just it.
pub fn run(args: &HashPasswordArgs) -> Result<(), String> {
    let password = if std::io::stdin().is_terminal() {
        prompt_twice()?
    } else {
        read_line()?
    };
    check(&password)?;
    let hash = bcrypt::hash(password.expose_secret(), args.bcrypt_cost)
        .map_err(|e| format!("cannot hash: {e}"))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{hash}").map_err(|e| format!("cannot write the hash: {e}"))
}

fn read_line() -> Result<SecretString, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    Ok(SecretString::from(trimmed.to_owned()))
}

fn prompt_twice() -> Result<SecretString, String> {
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(SecretString::from)
            .map_err(|e| format!("cannot read the password: {e}"))
    };
    let first = read("Password: ")?;
    let second = read("Again: ")?;
    if first.expose_secret() != second.expose_secret() {
        return Err("the two passwords differ".into());
    }
    Ok(first)
}

fn check(password: &SecretString) -> Result<(), String> {
    let password = password.expose_secret();
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    if password.len() > 72 {
        // bcrypt ignores everything past 72 bytes: the rest would not count at login.
        return Err("the password must have at most 72 bytes".into());
    }
    Ok(())
}
