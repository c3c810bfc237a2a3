//! Every Redis key, stream, group and channel name, in one place.
//!
//! Operators type these names into redis-cli, so they are part of the product and documented in
//! the README. Everything lives under one prefix so several installations (or parallel tests) can
//! share one Redis. What the queue's keys hold (fields, entries, events) is in [`crate::queue`].

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Stream of tasks waiting for a worker (one entry per image).
    pub fn tasks(&self) -> String {
        format!("{}:tasks", self.prefix)
    }

    /// Stream of tasks given up on after too many deliveries.
    pub fn dead_letter(&self) -> String {
        format!("{}:tasks:dead", self.prefix)
    }

    /// Sorted set of job ids scored by creation time (ms).
    pub fn jobs(&self) -> String {
        format!("{}:jobs", self.prefix)
    }

    /// Sorted set of the ids of the jobs with one property, scored by creation time (ms): the
    /// index `GET /api/jobs` filters through. `facet` is `status`, `registry`, `user`, `token`,
    /// `rule` or `trigger` ([`crate::queue::index::Facet`]).
    pub fn jobs_by(&self, facet: &str, value: &str) -> String {
        format!("{}:jobs:{facet}:{value}", self.prefix)
    }

    /// String of every image of the job, source and target, lower-case, one per line: what the
    /// jobs' text search looks in.
    pub fn job_images(&self, job: &str) -> String {
        format!("{}:job:{job}:images", self.prefix)
    }

    /// Hash describing one job.
    pub fn job(&self, job: &str) -> String {
        format!("{}:job:{job}", self.prefix)
    }

    /// List of the job's task ids in submission order.
    pub fn job_tasks(&self, job: &str) -> String {
        format!("{}:job:{job}:tasks", self.prefix)
    }

    /// List of the jobs that ran this job's failed tasks again ("retry failed"), oldest first.
    pub fn job_retries(&self, job: &str) -> String {
        format!("{}:job:{job}:retries", self.prefix)
    }

    /// Capped stream of the job's events: the durable history a late WebSocket replays.
    pub fn job_events(&self, job: &str) -> String {
        format!("{}:job:{job}:events", self.prefix)
    }

    /// Stream of finished jobs (`job`, `status`, `at_ms`), written by the script that ends a
    /// job's last task; the api's notifier reads it through [`crate::queue::NOTIFIER_GROUP`] and deletes what
    /// it has handled.
    pub fn job_ends(&self) -> String {
        format!("{}:job-ends", self.prefix)
    }

    /// List of a task's log lines (JSON `{at_ms, line}`), the newest 200: skopeo's output, the
    /// digest check, each attempt.
    pub fn task_log(&self, task: &str) -> String {
        format!("{}:task:{task}:log", self.prefix)
    }

    /// Hash of one statistics bucket: what tasks and jobs that ended in the hour (or day)
    /// starting at `start_ms` came to, in total and per target registry. `span` is `hour` or
    /// `day`.
    pub fn stats_bucket(&self, span: &str, start_ms: u64) -> String {
        format!("{}{start_ms}", self.stats_bucket_prefix(span))
    }

    /// What [`Self::stats_bucket`] names start with; the workers' script adds the start.
    pub fn stats_bucket_prefix(&self, span: &str) -> String {
        format!("{}:stats:{span}:", self.prefix)
    }

    /// Sorted set of a day's failure reasons (`reasons`) or failing source images (`failing`),
    /// scored by how many tasks.
    pub fn stats_top(&self, kind: &str, day_ms: u64) -> String {
        format!("{}:{kind}", self.stats_bucket("day", day_ms))
    }

    /// Hash describing one task (one image of a job).
    pub fn task(&self, task: &str) -> String {
        format!("{}:task:{task}", self.prefix)
    }

    /// Pub/sub channel on which the api names a cancelled job, so the workers holding its
    /// tasks stop them at once (the lease refresh catches a lost message).
    pub fn cancel_channel(&self) -> String {
        format!("{}:cancel", self.prefix)
    }

    /// Pub/sub channel that wakes WebSocket relays when the job has a new event.
    pub fn events_channel(&self, job: &str) -> String {
        format!("{}:events:{job}", self.prefix)
    }

    /// Pattern matching every job's events channel.
    pub fn events_pattern(&self) -> String {
        format!("{}:events:*", self.prefix)
    }

    /// The job id of a channel matched by [`Keys::events_pattern`].
    pub fn job_of_channel<'a>(&self, channel: &'a str) -> Option<&'a str> {
        channel
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(":events:")
    }

    /// Hash of the pull limit a registry last reported on a manifest HEAD (`remaining`, `limit`,
    /// `window_s`, `seen_at_ms`), shared by the workers; expires with the window.
    pub fn rate_limit(&self, host: &str) -> String {
        format!("{}:ratelimit:{host}", self.prefix)
    }

    /// Pattern matching every [`Self::rate_limit`] hash (for SCAN).
    pub fn rate_limit_pattern(&self) -> String {
        format!("{}:ratelimit:*", self.prefix)
    }

    /// Hash of the sync rules made through the api: name -> JSON [`crate::rules::StoredRule`]
    /// (rules.yaml's live in the file).
    pub fn rules(&self) -> String {
        format!("{}:rules", self.prefix)
    }

    /// Capped list of what each run or fire of a rule did (JSON, newest first).
    pub fn rule_runs(&self, rule: &str) -> String {
        format!("{}:rule:{rule}:runs", self.prefix)
    }

    /// Hash of scheduled rules' cursors: rule name -> the last fire time handled (ms). The
    /// replica that moves a cursor (compare-and-set) is the one that runs the fire.
    pub fn schedules(&self) -> String {
        format!("{}:schedules", self.prefix)
    }

    /// Hash of webhook endpoints: name -> JSON (format, events, URL and secret sealed).
    pub fn webhooks(&self) -> String {
        format!("{}:webhooks", self.prefix)
    }

    /// List of an endpoint's delivery ids, newest first (the last 100).
    pub fn webhook_deliveries(&self, webhook: &str) -> String {
        format!("{}:webhook:{webhook}:deliveries", self.prefix)
    }

    /// Hash of one delivery: the event's JSON, status, attempts, last answer. Expires after
    /// seven days.
    pub fn delivery(&self, id: &str) -> String {
        format!("{}:delivery:{id}", self.prefix)
    }

    /// Sorted set of deliveries to send, scored by when (ms); a replica sending one pushes its
    /// score a lease ahead, so no other replica sends it at the same time.
    pub fn deliveries_due(&self) -> String {
        format!("{}:deliveries:due", self.prefix)
    }

    /// Hash of the registries added through the api: name -> JSON record, password sealed
    /// (registries.yaml entries live in the file).
    pub fn registries(&self) -> String {
        format!("{}:registries", self.prefix)
    }

    /// Hash of cluster-wide counters behind `/metrics` (sync_total, duration buckets,
    /// `digest_check_failures:<registry>`, ...).
    pub fn stats(&self) -> String {
        format!("{}:stats", self.prefix)
    }

    /// Set of the names of users created through the api (users.yaml users live in the file).
    pub fn users(&self) -> String {
        format!("{}:users", self.prefix)
    }

    /// Hash describing one api-managed user (its bcrypt hash included).
    pub fn user(&self, name: &str) -> String {
        format!("{}:user:{name}", self.prefix)
    }

    /// Set of the digests of a user's sessions, to end them all at once.
    pub fn user_sessions(&self, name: &str) -> String {
        format!("{}:user:{name}:sessions", self.prefix)
    }

    /// Hash of a user's API tokens: token id -> digest.
    pub fn user_tokens(&self, name: &str) -> String {
        format!("{}:user:{name}:tokens", self.prefix)
    }

    /// List of a user's last logins (JSON), newest first.
    pub fn user_logins(&self, name: &str) -> String {
        format!("{}:user:{name}:logins", self.prefix)
    }

    /// Sorted set of the digests of a user's known devices (browsers that signed in), scored by
    /// when each is forgotten (ms).
    pub fn user_devices(&self, name: &str) -> String {
        format!("{}:user:{name}:devices", self.prefix)
    }

    /// Hash of one session, keyed by the digest of its cookie value.
    pub fn session(&self, digest: &str) -> String {
        format!("{}:session:{digest}", self.prefix)
    }

    /// Hash of one API token, keyed by the digest of the token.
    pub fn token(&self, digest: &str) -> String {
        format!("{}:token:{digest}", self.prefix)
    }

    /// Counter of failed logins for a user name or a client address (`kind` is `user` or
    /// `client`), or for a user's known device (`device`, `who` is `<user>:<device digest>`).
    pub fn login_failures(&self, kind: &str, who: &str) -> String {
        format!("{}:login:failures:{kind}:{who}", self.prefix)
    }

    /// Present while logins for that user name or client address are refused.
    pub fn login_locked(&self, kind: &str, who: &str) -> String {
        format!("{}:login:locked:{kind}:{who}", self.prefix)
    }

    /// Stream of audit entries: who did what, when.
    pub fn audit(&self) -> String {
        format!("{}:audit", self.prefix)
    }

    /// Taken by the api replica that creates the first admin.
    pub fn bootstrap(&self) -> String {
        format!("{}:bootstrap", self.prefix)
    }
}

impl Default for Keys {
    fn default() -> Self {
        Self::new("dsync")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_share_the_prefix() {
        let k = Keys::new("p");
        assert_eq!(k.tasks(), "p:tasks");
        assert_eq!(k.dead_letter(), "p:tasks:dead");
        assert_eq!(k.job("j1"), "p:job:j1");
        assert_eq!(k.job_events("j1"), "p:job:j1:events");
        assert_eq!(k.events_channel("j1"), "p:events:j1");
        assert_eq!(k.job_of_channel("p:events:j1"), Some("j1"));
        assert_eq!(k.job_of_channel("q:events:j1"), None);
    }
}
