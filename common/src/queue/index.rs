//! The jobs' index: what `GET /api/jobs` filters through without reading every job.
//!
//! Every job is in `<prefix>:jobs` and in one sorted set per property ([`Facet`]): its status,
//! target registry, user, token, rule and trigger, each scored by creation time. The status sets
//! move with the job: `submit` puts it in `queued`, the workers' script moves it to `running` on
//! the first start and to its final status on the last end (`job_end.lua`). A search walks the
//! smallest of the sets it needs, newest first, checks the others and the text in one script
//! (`search.lua`), and stops at a page or at a budget of jobs looked at, answering where to go on.
//! Entries older than the job retention are dropped when jobs are queued.

use deadpool_redis::Pool;

use super::job::{JobStatus, TriggerKind};
use super::QueueError;
use crate::redis::Keys;

/// A property jobs are indexed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    Status,
    Registry,
    User,
    Token,
    Rule,
    Trigger,
}

impl Facet {
    pub const fn as_str(self) -> &'static str {
        match self {
            Facet::Status => "status",
            Facet::Registry => "registry",
            Facet::User => "user",
            Facet::Token => "token",
            Facet::Rule => "rule",
            Facet::Trigger => "trigger",
        }
    }
}

/// Jobs looked at per request at most: a text that matches nothing costs this much, and the
/// answer says where to go on.
pub const SEARCH_BUDGET: usize = 5_000;

/// Which jobs to list. Empty fields match every job; `statuses` matches any of them.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub statuses: Vec<JobStatus>,
    pub registry: Option<String>,
    pub user: Option<String>,
    pub token: Option<String>,
    pub rule: Option<String>,
    pub trigger: Option<TriggerKind>,
    /// Created at or after (ms).
    pub from_ms: Option<u64>,
    /// Created before (ms).
    pub to_ms: Option<u64>,
    /// Matches any source or target image, case-insensitive.
    pub text: Option<String>,
    pub limit: usize,
    /// Where the previous page stopped.
    pub cursor: Option<Cursor>,
}

/// A position in the index: the last job looked at (creation time and id). Printed
/// `<ms>-<id>`, which is what the api hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_ms: u64,
    pub id: String,
}

impl Cursor {
    pub fn parse(s: &str) -> Option<Cursor> {
        let (ms, id) = s.split_once('-')?;
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if !id_ok {
            return None;
        }
        Some(Cursor {
            created_ms: ms.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.created_ms, self.id)
    }
}

/// A page of job ids, newest first, and where to go on (None: nothing older matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub ids: Vec<String>,
    pub next: Option<Cursor>,
}

/// The (facet, value) pairs a new job is indexed under, besides `status`.
pub fn facets(registry: &str, trigger: &super::job::Trigger) -> Vec<(Facet, String)> {
    let mut out = vec![
        (Facet::Registry, registry.to_owned()),
        (Facet::Trigger, trigger.kind.as_str().to_owned()),
    ];
    if let Some(user) = &trigger.user {
        out.push((Facet::User, user.clone()));
    }
    if let Some(token) = &trigger.token {
        out.push((Facet::Token, token.clone()));
    }
    if let Some(rule) = &trigger.rule {
        out.push((Facet::Rule, rule.clone()));
    }
    out
}

/// What [`Keys::job_images`] adds after the job key, for the script.
fn images_suffix(keys: &Keys) -> String {
    let job = keys.job("");
    keys.job_images("")[job.len()..].to_owned()
}

/// The jobs matching `q`, newest first.
pub async fn search(pool: &Pool, keys: &Keys, q: &JobQuery) -> Result<Page, QueueError> {
    let status_keys: Vec<String> = q
        .statuses
        .iter()
        .map(|s| keys.jobs_by(Facet::Status.as_str(), s.as_str()))
        .collect();
    let mut all_of: Vec<String> = [
        (Facet::Registry, &q.registry),
        (Facet::User, &q.user),
        (Facet::Token, &q.token),
        (Facet::Rule, &q.rule),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.as_ref().map(|v| keys.jobs_by(f.as_str(), v)))
    .collect();
    if let Some(kind) = q.trigger {
        all_of.push(keys.jobs_by(Facet::Trigger.as_str(), kind.as_str()));
    }
    let mut conn = pool.get().await?;
    // Walk the smallest set that every match is in: one status set (when only one status is
    // asked for) or a property's; all jobs otherwise.
    let mut walkable = all_of.clone();
    if status_keys.len() == 1 {
        walkable.push(status_keys[0].clone());
    }
    let walk = if walkable.is_empty() {
        keys.jobs()
    } else {
        let mut pipe = redis::pipe();
        for k in &walkable {
            pipe.zcard(k);
        }
        let sizes: Vec<u64> = pipe.query_async(&mut *conn).await?;
        let smallest = sizes
            .iter()
            .enumerate()
            .min_by_key(|(_, n)| **n)
            .map(|(i, _)| i)
            .unwrap_or(0);
        walkable[smallest].clone()
    };
    let any_of: Vec<&String> = if status_keys.len() > 1 {
        status_keys.iter().collect()
    } else {
        Vec::new()
    };
    let checks: Vec<&String> = walkable.iter().filter(|k| **k != walk).collect();

    let script = redis::Script::new(include_str!("search.lua"));
    let mut inv = script.prepare_invoke();
    inv.key(&walk);
    for k in &checks {
        inv.key(*k);
    }
    for k in &any_of {
        inv.key(*k);
    }
    let max = match &q.cursor {
        Some(c) => c.created_ms.to_string(),
        None => match q.to_ms {
            Some(to) => format!("({to}"),
            None => "+inf".to_owned(),
        },
    };
    inv.arg(checks.len())
        .arg(any_of.len())
        .arg(max)
        .arg(q.from_ms.map_or("-inf".to_owned(), |f| f.to_string()))
        .arg(q.cursor.as_ref().map_or("", |c| c.id.as_str()))
        .arg(q.limit.max(1))
        .arg(SEARCH_BUDGET)
        .arg(q.text.as_deref().map(str::to_lowercase).unwrap_or_default())
        .arg(keys.job(""))
        .arg(images_suffix(keys));
    let reply: (Vec<String>, String) = inv.invoke_async(&mut *conn).await?;
    let (ids, next) = reply;
    Ok(Page {
        ids,
        next: Cursor::parse(&next),
    })
}
