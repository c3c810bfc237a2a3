//! The key that seals registry passwords stored in Redis (registries added through the api).
//!
//! Anyone who can read Redis (a backup, a `redis-cli` session, a replica) must not learn a
//! registry password, so passwords are sealed with XChaCha20-Poly1305 under a key only the api
//! and the workers hold: `DOCKER_SYNC_SECRET_KEY_FILE` (a mounted Kubernetes Secret) or
//! `DOCKER_SYNC_SECRET_KEY`. The key text is any string of at least 32 characters (e.g.
//! `head -c 32 /dev/urandom | base64`); HKDF-SHA256 turns it into the cipher key.
//!
//! A key file may hold several keys, one per line: the first seals, every line opens. That is how
//! a key is rotated: put the new key first, keep the old one below until every password has been
//! saved again.
//!
//! The registry name is bound to each sealed value (associated data), so a sealed password copied
//! onto another registry's record does not open.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Shorter key text is refused: it is likely a password typed by hand, not a random key.
pub const MIN_KEY_CHARS: usize = 32;

const SALT: &[u8] = b"docker-image-sync";
const CIPHER_INFO: &[u8] = b"registry passwords v1";
const ID_INFO: &[u8] = b"key id v1";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: cannot read the secret key: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: the secret key is {len} characters; it needs at least {MIN_KEY_CHARS} (generate one with `head -c 32 /dev/urandom | base64`)")]
    TooShort { origin: String, len: usize },
    /// The example Secret's text (k8s/secret.yaml) is long enough to pass the length check, and
    /// a key everyone can read seals nothing.
    #[error("{origin}: the secret key is the example's placeholder (it contains `REPLACE-ME`); make a real one with `head -c 32 /dev/urandom | base64`")]
    Placeholder { origin: String },
    #[error("{0} holds no key")]
    Empty(String),
    #[error("give DOCKER_SYNC_SECRET_KEY_FILE or DOCKER_SYNC_SECRET_KEY, not both")]
    Both,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("it was sealed with key {sealed_with}, which this process does not have (its keys: {known}); give the key it was saved with (a key file may list old keys below the current one) or save the password again")]
    UnknownKey { sealed_with: String, known: String },
    #[error("it does not open with key {0}: the stored value was altered or belongs to another registry")]
    Corrupt(String),
    #[error("it is sealed in an unknown format (version {0})")]
    Version(u8),
}

/// A sealed secret as stored in Redis: cipher text and nonce in base64, the id of the key that
/// sealed it (a hash of the key, not the key) so a wrong key gives a clear error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub v: u8,
    pub key_id: String,
    pub nonce: String,
    pub data: String,
}

/// The keys of this process: the first seals, all open.
#[derive(Clone)]
pub struct SealingKeys {
    keys: Vec<Key>,
}

#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKeys")
            .field("ids", &self.ids())
            .finish()
    }
}

impl Key {
    fn derive(material: &str) -> Key {
        let hk = Hkdf::<Sha256>::new(Some(SALT), material.as_bytes());
        let mut cipher_key = [0u8; 32];
        let mut id = [0u8; 4];
        hk.expand(CIPHER_INFO, &mut cipher_key)
            .and_then(|()| hk.expand(ID_INFO, &mut id))
            .expect("32 and 4 bytes are valid HKDF-SHA256 output lengths");
        let cipher = XChaCha20Poly1305::new(&cipher_key.into());
        Key {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            cipher,
        }
    }
}

/// The marker the shipped examples put where a key belongs.
const PLACEHOLDER: &str = "replace-me";

fn is_placeholder(line: &str) -> bool {
    line.to_ascii_lowercase().contains(PLACEHOLDER)
}

impl SealingKeys {
    /// Keys from text: one per line, blank lines and `#` comments skipped. `origin` names where
    /// the text came from, for errors.
    pub fn parse(text: &str, origin: &str) -> Result<SealingKeys, KeyError> {
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        if lines.is_empty() {
            return Err(KeyError::Empty(origin.to_owned()));
        }
        if lines.iter().any(|l| is_placeholder(l)) {
            return Err(KeyError::Placeholder {
                origin: origin.to_owned(),
            });
        }
        if let Some(short) = lines.iter().find(|l| l.chars().count() < MIN_KEY_CHARS) {
            return Err(KeyError::TooShort {
                origin: origin.to_owned(),
                len: short.chars().count(),
            });
        }
        Ok(SealingKeys {
            keys: lines.into_iter().map(Key::derive).collect(),
        })
    }

    /// The keys this process was given, if any: from the file, else from the variable's value.
    pub fn load(
        file: Option<&Path>,
        value: Option<SecretString>,
    ) -> Result<Option<SealingKeys>, KeyError> {
        match (file, value) {
            (Some(_), Some(_)) => Err(KeyError::Both),
            (Some(path), None) => {
                let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                SealingKeys::parse(&text, &path.display().to_string()).map(Some)
            }
            (None, Some(value)) => {
                SealingKeys::parse(value.expose_secret(), "DOCKER_SYNC_SECRET_KEY").map(Some)
            }
            (None, None) => Ok(None),
        }
    }

    /// Ids of the keys, the sealing one first (safe to log and show).
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seals `secret` for the record named `context`.
    pub fn seal(&self, secret: &SecretString, context: &str) -> Sealed {
        let key = &self.keys[0];
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let data = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message of a sane length");
        Sealed {
            v: 1,
            key_id: key.id.clone(),
            nonce: B64.encode(nonce),
            data: B64.encode(data),
        }
    }

    /// Opens what [`Self::seal`] sealed for the same `context`.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<SecretString, OpenError> {
        if sealed.v != 1 {
            return Err(OpenError::Version(sealed.v));
        }
        let Some(key) = self.keys.iter().find(|k| k.id == sealed.key_id) else {
            return Err(OpenError::UnknownKey {
                sealed_with: sealed.key_id.clone(),
                known: self.ids().join(", "),
            });
        };
        let corrupt = || OpenError::Corrupt(key.id.clone());
        let nonce = B64.decode(&sealed.nonce).map_err(|_| corrupt())?;
        let data = B64.decode(&sealed.data).map_err(|_| corrupt())?;
        if nonce.len() != 24 {
            return Err(corrupt());
        }
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &data,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| corrupt())?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| corrupt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "first-key-0123456789abcdefghijklmnopqrstuvwxyz";
    const K2: &str = "second-key-0123456789abcdefghijklmnopqrstuvwxyz";

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn seals_and_opens_without_the_plaintext_in_the_record() {
        let keys = SealingKeys::parse(K1, "test").unwrap();
        let sealed = keys.seal(&secret("hunter2-registry"), "harbor");
        let json = serde_json::to_string(&sealed).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        let opened = keys.open(&sealed, "harbor").unwrap();
        assert_eq!(opened.expose_secret(), "hunter2-registry");
        // A fresh nonce each time: the same password seals differently.
        assert_ne!(keys.seal(&secret("hunter2-registry"), "harbor"), sealed);
    }

    #[test]
    fn another_registry_name_does_not_open() {
        let keys = SealingKeys::parse(K1, "test").unwrap();
        let sealed = keys.seal(&secret("pw"), "harbor");
        assert!(matches!(
            keys.open(&sealed, "acr"),
            Err(OpenError::Corrupt(_))
        ));
    }

    #[test]
    fn a_wrong_key_is_named_not_guessed() {
        let one = SealingKeys::parse(K1, "test").unwrap();
        let two = SealingKeys::parse(K2, "test").unwrap();
        let sealed = one.seal(&secret("pw"), "r");
        let err = two.open(&sealed, "r").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(one.ids()[0]) && text.contains(two.ids()[0]),
            "{text}"
        );
    }

    #[test]
    fn old_keys_below_the_first_still_open() {
        let old = SealingKeys::parse(K1, "test").unwrap();
        let sealed = old.seal(&secret("pw"), "r");
        let rotated = SealingKeys::parse(&format!("# rotated\n{K2}\n{K1}\n"), "test").unwrap();
        assert_eq!(rotated.open(&sealed, "r").unwrap().expose_secret(), "pw");
        assert_eq!(rotated.seal(&secret("pw"), "r").key_id, rotated.ids()[0]);
        assert_ne!(rotated.ids()[0], old.ids()[0]);
    }

    #[test]
    fn short_or_empty_keys_are_refused() {
        let err = SealingKeys::parse("short", "/etc/key").unwrap_err();
        assert!(err.to_string().contains("/etc/key"), "{err}");
        assert!(err.to_string().contains("at least 32"), "{err}");
        assert!(matches!(
            SealingKeys::parse("\n# nothing\n", "f"),
            Err(KeyError::Empty(_))
        ));
        let both = SealingKeys::load(Some(Path::new("/x")), Some(secret(K1)));
        assert!(matches!(both, Err(KeyError::Both)));
    }

    #[test]
    fn the_placeholder_is_refused_on_any_line() {
        let shipped = "REPLACE-ME-with-32-or-more-random-characters";
        for text in [
            shipped.to_owned(),
            shipped.to_lowercase(),
            format!("{K1}\n{shipped}\n"),
        ] {
            let err = SealingKeys::parse(&text, "/run/secrets/key").unwrap_err();
            assert!(matches!(err, KeyError::Placeholder { .. }), "{err}");
            let text = err.to_string();
            assert!(text.contains("/run/secrets/key"), "{text}");
            assert!(text.contains("head -c 32 /dev/urandom | base64"), "{text}");
        }
    }

    #[test]
    fn tampering_is_detected() {
        let keys = SealingKeys::parse(K1, "test").unwrap();
        let mut sealed = keys.seal(&secret("pw"), "r");
        let mut bytes = B64.decode(&sealed.data).unwrap();
        bytes[0] ^= 1;
        sealed.data = B64.encode(bytes);
        assert!(matches!(
            keys.open(&sealed, "r"),
            Err(OpenError::Corrupt(_))
        ));
    }
}
