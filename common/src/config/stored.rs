//! Registries added through the api. They live in one Redis hash, `<prefix>:registries`, name ->
//! JSON record, so every api replica and worker sees the same set; the password in a record is
//! sealed ([`crate::sealing`]). registries.yaml entries stay in the file and win on a name clash.
//!
//! [`Catalog`] is what the api and the workers ask for the registries in force: the file's, plus
//! the stored ones that open with this process's key.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use deadpool_redis::Pool;
use redis::AsyncCommands;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::config::sealing::{Sealed, SealingKeys};
use crate::config::{Config, RegistryConfig, RegistryFields, RegistryType};
use crate::redis::Keys;

/// A record changed by someone else between our read and our write is read again; after this
/// many tries the edit gives up rather than spin.
const UPDATE_TRIES: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Invalid(String),
    #[error("a registry named `{0}` already exists")]
    Exists(String),
    #[error("no registry named `{0}` was added through the api")]
    NotFound(String),
    #[error("cannot store a password: this server has no secret key to seal it with; give the api and the workers the same DOCKER_SYNC_SECRET_KEY_FILE (or DOCKER_SYNC_SECRET_KEY), at least 32 random characters")]
    NoKey,
    #[error("registry `{0}` kept changing while it was being saved; try again")]
    Busy(String),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis pool: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
}

/// One stored registry, as kept in Redis (`HGET <prefix>:registries <name>` shows it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub display_name: Option<String>,
    #[serde(rename = "type")]
    pub kind: RegistryType,
    pub url: String,
    pub username: Option<String>,
    pub password: Option<Sealed>,
    pub namespace: Option<String>,
    pub description: Option<String>,
    pub insecure: bool,
    pub create_project: bool,
    /// The registry's proxy without its password (`http://user@proxy:3128`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The proxy's password, sealed like `password` (bound to `<name>/proxy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_password: Option<Sealed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    pub updated_by: String,
}

/// A stored registry with what it became once its password was opened and its fields checked.
#[derive(Debug, Clone)]
pub struct Stored {
    pub record: Record,
    /// Why it cannot be used, when it cannot (a password sealed with another key).
    pub config: Result<RegistryConfig, String>,
}

/// See [`RegistryStore::key_usage`].
#[derive(Debug, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyUsage {
    pub key_ids: Vec<String>,
    pub passwords_by_key: BTreeMap<String, u32>,
}

/// See [`RegistryStore::reseal`]: the registries whose password was sealed again, and those
/// that could not be, with why.
#[derive(Debug, Default)]
pub struct Resealed {
    pub resealed: Vec<String>,
    pub failed: Vec<(String, String)>,
}

/// What an edit does to the stored password.
#[derive(Clone)]
pub enum Password {
    Keep,
    Set(SecretString),
    Clear,
}

#[derive(Clone)]
pub struct RegistryStore {
    pool: Pool,
    keys: Keys,
    sealing: Option<Arc<SealingKeys>>,
}

impl RegistryStore {
    pub fn new(pool: Pool, keys: Keys, sealing: Option<Arc<SealingKeys>>) -> Self {
        Self {
            pool,
            keys,
            sealing,
        }
    }

    /// The keys that seal stored secrets (registry passwords, webhook URLs and secrets), when
    /// the process has any.
    pub fn sealing(&self) -> Option<&Arc<SealingKeys>> {
        self.sealing.as_ref()
    }

    /// Every stored registry by name. A record that is not valid JSON is skipped with a warning:
    /// only someone editing Redis by hand makes one.
    pub async fn load_all(&self) -> Result<BTreeMap<String, Stored>, StoreError> {
        Ok(self.parse_all(&self.raw_all().await?))
    }

    fn parse_all(&self, raw: &BTreeMap<String, String>) -> BTreeMap<String, Stored> {
        raw.iter()
            .filter_map(|(name, json)| match serde_json::from_str::<Record>(json) {
                Ok(record) => {
                    let config = self.open(name, &record);
                    Some((name.clone(), Stored { record, config }))
                }
                Err(e) => {
                    tracing::warn!(registry = %name, error = %e, "skipping a stored registry that is not a valid record");
                    None
                }
            })
            .collect()
    }

    pub async fn get(&self, name: &str) -> Result<Option<Stored>, StoreError> {
        Ok(self.get_raw(name).await?.map(|(_, record)| {
            let config = self.open(name, &record);
            Stored { record, config }
        }))
    }

    /// Adds a registry; `fields` is checked exactly like a registries.yaml entry.
    pub async fn create(
        &self,
        name: &str,
        fields: RegistryFields,
        actor: &str,
    ) -> Result<Stored, StoreError> {
        check_name(name).map_err(StoreError::Invalid)?;
        let password = match fields.password.clone() {
            Some(p) => Password::Set(p),
            None => Password::Keep,
        };
        let now = now_ms();
        let stored = self.build(name, fields, password, None, now, actor)?;
        let json = serde_json::to_string(&stored.record).expect("a record always serialises");
        let mut conn = self.pool.get().await?;
        let added: bool = conn.hset_nx(self.keys.registries(), name, json).await?;
        if !added {
            return Err(StoreError::Exists(name.to_owned()));
        }
        Ok(stored)
    }

    /// Replaces a stored registry's fields; the password follows `password`.
    pub async fn update(
        &self,
        name: &str,
        fields: RegistryFields,
        password: Password,
        actor: &str,
    ) -> Result<Stored, StoreError> {
        for _ in 0..UPDATE_TRIES {
            let Some((old_json, old)) = self.get_raw(name).await? else {
                return Err(StoreError::NotFound(name.to_owned()));
            };
            let stored = self.build(
                name,
                fields.clone(),
                password.clone(),
                Some(&old),
                now_ms(),
                actor,
            )?;
            if self.swap(name, &old_json, &stored.record).await? {
                return Ok(stored);
            }
        }
        Err(StoreError::Busy(name.to_owned()))
    }

    /// Which key sealed each stored password: the ids of this process's keys (the sealing one
    /// first) and how many passwords each seals, so an operator rotating keys sees when no
    /// record needs the old one any more.
    pub async fn key_usage(&self) -> Result<KeyUsage, StoreError> {
        let mut usage = KeyUsage {
            key_ids: self
                .sealing
                .as_ref()
                .map(|k| k.ids().iter().map(|id| (*id).to_owned()).collect())
                .unwrap_or_default(),
            ..KeyUsage::default()
        };
        for (_, json) in self.raw_all().await? {
            let Ok(record) = serde_json::from_str::<Record>(&json) else {
                continue;
            };
            for sealed in [record.password, record.proxy_password]
                .into_iter()
                .flatten()
            {
                *usage.passwords_by_key.entry(sealed.key_id).or_default() += 1;
            }
        }
        Ok(usage)
    }

    /// Seals again with the first key every stored password sealed with another one (after a
    /// rotation), so the old key can be dropped. Passwords that do not open are listed, not
    /// touched.
    pub async fn reseal(&self, actor: &str) -> Result<Resealed, StoreError> {
        let keys = self.sealing.as_ref().ok_or(StoreError::NoKey)?;
        let current = keys.ids()[0].to_owned();
        let mut report = Resealed::default();
        for (name, json) in self.raw_all().await? {
            let Ok(mut record) = serde_json::from_str::<Record>(&json) else {
                continue;
            };
            let stale =
                |sealed: &Option<Sealed>| sealed.as_ref().is_some_and(|s| s.key_id != current);
            if !stale(&record.password) && !stale(&record.proxy_password) {
                continue;
            }
            let reseal = |sealed: &mut Option<Sealed>, context: &str| -> Result<(), String> {
                if let Some(old) = sealed.as_ref().filter(|s| s.key_id != current) {
                    let secret = keys.open(old, context).map_err(|e| e.to_string())?;
                    *sealed = Some(keys.seal(&secret, context));
                }
                Ok(())
            };
            let resealed = reseal(&mut record.password, &name)
                .and_then(|()| reseal(&mut record.proxy_password, &proxy_context(&name)));
            match resealed {
                Ok(()) => {
                    record.updated_at_ms = now_ms();
                    record.updated_by = actor.to_owned();
                    if self.swap(&name, &json, &record).await? {
                        report.resealed.push(name);
                    } else {
                        report
                            .failed
                            .push((name, "it changed meanwhile; run again".into()));
                    }
                }
                Err(e) => report.failed.push((name, e)),
            }
        }
        Ok(report)
    }

    /// Replaces `name`'s record with `record` if it still is `old_json` (compare and set).
    async fn swap(&self, name: &str, old_json: &str, record: &Record) -> Result<bool, StoreError> {
        let script = redis::Script::new(
            r"if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
                redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
                return 1
              end
              return 0",
        );
        let json = serde_json::to_string(record).expect("a record always serialises");
        let mut conn = self.pool.get().await?;
        Ok(script
            .key(self.keys.registries())
            .arg(name)
            .arg(old_json)
            .arg(&json)
            .invoke_async(&mut *conn)
            .await?)
    }

    async fn raw_all(&self) -> Result<BTreeMap<String, String>, StoreError> {
        let mut conn = self.pool.get().await?;
        Ok(conn.hgetall(self.keys.registries()).await?)
    }

    pub async fn delete(&self, name: &str) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        let removed: u32 = conn.hdel(self.keys.registries(), name).await?;
        if removed == 0 {
            return Err(StoreError::NotFound(name.to_owned()));
        }
        Ok(())
    }

    async fn get_raw(&self, name: &str) -> Result<Option<(String, Record)>, StoreError> {
        let mut conn = self.pool.get().await?;
        let json: Option<String> = conn.hget(self.keys.registries(), name).await?;
        Ok(json.and_then(|json| {
            let record = serde_json::from_str(&json).ok()?;
            Some((json, record))
        }))
    }

    /// Checks `fields` and turns them into a record, sealing a new password or keeping the
    /// previous record's one.
    fn build(
        &self,
        name: &str,
        mut fields: RegistryFields,
        password: Password,
        previous: Option<&Record>,
        now: u64,
        actor: &str,
    ) -> Result<Stored, StoreError> {
        if fields.password_file.is_some() {
            return Err(StoreError::Invalid(
                "`password_file` is for registries.yaml; give `password` instead".into(),
            ));
        }
        let (sealed, plain) = match password {
            Password::Set(p) => {
                let keys = self.sealing.as_ref().ok_or(StoreError::NoKey)?;
                (Some(keys.seal(&p, name)), Some(p))
            }
            Password::Clear => (None, None),
            Password::Keep => match previous.and_then(|r| r.password.clone()) {
                Some(sealed) => {
                    let opened = self.open_password(name, &sealed).map_err(|e| {
                        StoreError::Invalid(format!(
                            "the stored password cannot be kept: {e}; give it again"
                        ))
                    })?;
                    (Some(sealed), Some(opened))
                }
                None => (None, None),
            },
        };
        let kept =
            sealed.is_some() && sealed.as_ref() == previous.and_then(|r| r.password.as_ref());
        fields.password = plain;
        let (proxy, proxy_password) = self.build_proxy(name, &mut fields, previous)?;
        let config = RegistryConfig::try_from(fields).map_err(StoreError::Invalid)?;
        // A kept password was given for the old host: sending it to a new one would hand the
        // credentials to whoever answers there (the connection test would do it at once).
        if let Some(old) = previous.filter(|_| kept) {
            let old_host = old.url.strip_prefix("http://").unwrap_or(&old.url);
            if old_host != config.host {
                return Err(StoreError::Invalid(format!(
                    "the url's host changed from `{old_host}` to `{}`: give the password again \
                     (a stored password never follows a registry to a new host)",
                    config.host
                )));
            }
        }
        let record = Record {
            display_name: config.display_name.clone(),
            kind: config.kind,
            url: config.url(),
            username: config.username.clone(),
            password: sealed,
            namespace: config.namespace.clone(),
            description: config.description.clone(),
            insecure: config.insecure,
            create_project: config.create_project,
            proxy,
            proxy_password,
            no_proxy: config.proxy.as_ref().and_then(|p| p.no_proxy.clone()),
            created_at_ms: previous.map_or(now, |r| r.created_at_ms),
            updated_at_ms: now,
            updated_by: actor.to_owned(),
        };
        Ok(Stored {
            record,
            config: Ok(config),
        })
    }

    /// The proxy of `fields` as a record keeps it: the url without its password, and the password
    /// sealed. A url given without a password keeps the previous record's password when it
    /// names the same proxy and user (as an edit without `password` keeps the registry's).
    /// Puts the url with its password back into `fields` for the check.
    fn build_proxy(
        &self,
        name: &str,
        fields: &mut RegistryFields,
        previous: Option<&Record>,
    ) -> Result<(Option<String>, Option<Sealed>), StoreError> {
        use secrecy::ExposeSecret;
        let Some(url) = fields
            .proxy
            .as_ref()
            .filter(|u| !u.expose_secret().trim().is_empty())
        else {
            return Ok((None, None));
        };
        let proxy = crate::config::ProxyConfig::parse(url.expose_secret(), fields.no_proxy.clone())
            .map_err(StoreError::Invalid)?;
        let context = proxy_context(name);
        let sealed = match proxy.password() {
            Some(password) => {
                let keys = self.sealing.as_ref().ok_or(StoreError::NoKey)?;
                Some(keys.seal(&password, &context))
            }
            None => match previous.filter(|r| r.proxy.as_deref() == Some(proxy.shown())) {
                Some(Record {
                    proxy_password: Some(sealed),
                    ..
                }) => {
                    let opened = self.open_password(&context, sealed).map_err(|e| {
                        StoreError::Invalid(format!(
                            "the stored proxy password cannot be kept: {e}; give it again"
                        ))
                    })?;
                    let full = proxy.with_password(&opened).map_err(StoreError::Invalid)?;
                    fields.proxy = Some(SecretString::from(full.env_value().to_owned()));
                    Some(sealed.clone())
                }
                _ => None,
            },
        };
        Ok((Some(proxy.shown().to_owned()), sealed))
    }

    /// The record as a checked registry, its password opened.
    fn open(&self, name: &str, record: &Record) -> Result<RegistryConfig, String> {
        let password = match &record.password {
            Some(sealed) => Some(
                self.open_password(name, sealed)
                    .map_err(|e| format!("its stored password cannot be opened: {e}"))?,
            ),
            None => None,
        };
        let proxy = match (&record.proxy, &record.proxy_password) {
            (Some(url), Some(sealed)) => {
                let password = self
                    .open_password(&proxy_context(name), sealed)
                    .map_err(|e| format!("its stored proxy password cannot be opened: {e}"))?;
                let proxy =
                    crate::config::ProxyConfig::parse(url, None)?.with_password(&password)?;
                Some(SecretString::from(proxy.env_value().to_owned()))
            }
            (Some(url), None) => Some(SecretString::from(url.clone())),
            (None, _) => None,
        };
        RegistryConfig::try_from(RegistryFields {
            name: record.display_name.clone(),
            kind: record.kind,
            url: record.url.clone(),
            username: record.username.clone(),
            password,
            namespace: record.namespace.clone(),
            description: record.description.clone(),
            insecure: record.insecure,
            create_project: record.create_project,
            proxy,
            no_proxy: record.no_proxy.clone(),
            ..RegistryFields::default()
        })
    }

    fn open_password(&self, name: &str, sealed: &Sealed) -> Result<SecretString, String> {
        let keys = self.sealing.as_ref().ok_or_else(|| {
            "this process has no secret key (DOCKER_SYNC_SECRET_KEY_FILE or DOCKER_SYNC_SECRET_KEY)"
                .to_owned()
        })?;
        keys.open(sealed, name).map_err(|e| e.to_string())
    }
}

/// Registry names appear in Redis keys, stream entries and URLs: lowercase letters, digits and
/// `.`, `_`, `-`, starting with a letter or digit, at most 63 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid registry name: lowercase letters, digits, `.`, `_` and `-`, \
             starting with a letter or digit, at most 63 characters"
        ))
    }
}

/// What a proxy password is sealed to: a registry password moved into the proxy's place does
/// not open (registry names have no `/`).
fn proxy_context(name: &str) -> String {
    format!("{name}/proxy")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The registries in force: registries.yaml's, plus the stored ones.
#[derive(Clone)]
pub struct Catalog {
    file: Arc<Config>,
    store: RegistryStore,
    /// The last merge and the stored records it was made from: while they do not change, a task
    /// costs one HGETALL, not a decryption per registry and a copy of the whole configuration.
    last: Arc<Mutex<Option<Merged>>>,
}

/// Stored records (name -> JSON, as in Redis) and the configuration made from them.
type Merged = (BTreeMap<String, String>, Arc<Config>);

impl Catalog {
    pub fn new(file: Arc<Config>, store: RegistryStore) -> Self {
        Self {
            file,
            store,
            last: Arc::default(),
        }
    }

    /// registries.yaml as loaded at start.
    pub fn file(&self) -> &Arc<Config> {
        &self.file
    }

    pub fn store(&self) -> &RegistryStore {
        &self.store
    }

    /// The configuration with the stored registries added (one HGETALL; read per job and per
    /// task, so an edit applies to the next one without a restart). A stored registry whose
    /// name the file also uses is ignored: the file wins.
    pub async fn current(&self) -> Result<Arc<Config>, StoreError> {
        let raw = self.store.raw_all().await?;
        if raw.is_empty() {
            return Ok(self.file.clone());
        }
        if let Some((seen, config)) = &*self.last.lock().expect("catalog cache lock") {
            if *seen == raw {
                return Ok(config.clone());
            }
        }
        let config = Arc::new(self.merge(self.store.parse_all(&raw)));
        *self.last.lock().expect("catalog cache lock") = Some((raw, config.clone()));
        Ok(config)
    }

    fn merge(&self, stored: BTreeMap<String, Stored>) -> Config {
        let mut config = (*self.file).clone();
        for (name, entry) in stored {
            if config.registries.contains_key(&name) {
                continue;
            }
            match entry.config {
                Ok(mut registry) => {
                    registry.insecure |= config.tls_verify_disabled;
                    config.stored.insert(name.clone());
                    config.registries.insert(name, registry);
                }
                Err(reason) => {
                    config.unusable.insert(name, reason);
                }
            }
        }
        config
    }
}
