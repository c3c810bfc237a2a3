//! One step of the worker on its own: a real Redis, real registries and the real skopeo, with no
//! worker process and no api. The step is handed an entry the way the worker's loop hands it.

use std::path::Path;
use std::time::Duration;

use docker_sync_common::config::Config;
use docker_sync_common::queue::submit::{submit, NewJob, NewTask};
use docker_sync_common::queue::{lease, Entry};
use docker_sync_common::redis::client::AsyncCommands;
use docker_sync_common::redis::Keys;
use docker_sync_tests::{push_image, ImageSpec, RedisServer, Registry};
use docker_sync_worker::parts::Parts;
use docker_sync_worker::settings::Settings;
use docker_sync_worker::step::{process, Stop};

struct Setup {
    redis: RedisServer,
    source: Registry,
    target: Registry,
    parts: Parts,
    _work: tempfile::TempDir,
}

fn setup() -> Setup {
    let (redis, source, target) = (RedisServer::start(), Registry::start(), Registry::start());
    let work = tempfile::tempdir().unwrap();
    // The spelling users write for a plain-HTTP registry.
    let yaml = format!(
        "registries:\n  source:\n    url: {}\n    insecure: true\n  target:\n    url: {}\n    insecure: true\n\
         sync_config:\n  retry_count: 0\n",
        source.host(),
        target.host()
    );
    let config = Config::parse(&yaml, Path::new("registries.yaml"), false).unwrap();
    let settings = Settings {
        redis_url: redis.url(),
        keys: Keys::new("step-test"),
        consumer: "w1".into(),
        concurrency: 1,
        batch_size: 1,
        lease: Duration::from_secs(30),
        max_deliveries: 5,
        shutdown_grace: Duration::from_secs(5),
        retry_backoff: Duration::from_millis(100),
        rate_limit_floor: 0,
        rate_limit_recheck: Duration::from_secs(1),
        skopeo: "skopeo".into(),
        work_dir: work.path().to_owned(),
        downloads: work.path().join("downloads"),
        quota: docker_sync_common::bundle::Quota::new(None, 0),
    };
    let parts = Parts::new(config, None, settings).unwrap();
    Setup {
        redis,
        source,
        target,
        parts,
        _work: work,
    }
}

impl Setup {
    /// Queues one image and takes its entry, as the worker's loop would.
    async fn queue_one(&self, repo: &str) -> Entry {
        let keys = &self.parts.keys;
        let pool = &self.parts.pool;
        lease::ensure_group(&mut *pool.get().await.unwrap(), keys)
            .await
            .unwrap();
        let job = NewJob {
            registry: "target",
            replace_level: "full".into(),
            namespace: "mirror",
            platform: None,
            with_signatures: false,
            dropped: "[]".into(),
            trigger: docker_sync_common::queue::job::Trigger {
                kind: docker_sync_common::queue::job::TriggerKind::Session,
                user: Some("test".into()),
                token: None,
                rule: None,
            },
            lines: String::new(),
            retry_of: None,
            retention: Default::default(),
            bundle: None,
            tasks: vec![NewTask {
                line: 1,
                source: format!("{}/{repo}:1", self.source.host()),
                target: format!("{}/mirror/{repo}:1", self.target.host()),
                file: None,
                digest: None,
            }],
        };
        submit(pool, keys, &job).await.unwrap();
        let mut reader =
            docker_sync_common::redis::blocking_connection(&self.redis.url(), Duration::ZERO)
                .await
                .unwrap();
        let mut entries = self
            .parts
            .consumer
            .claim_new(&mut reader, 1, Duration::from_millis(100))
            .await
            .unwrap();
        entries.remove(0)
    }

    async fn task(&self, entry: &Entry) -> std::collections::HashMap<String, String> {
        let task = entry.message().unwrap().task;
        let mut conn = self.parts.pool.get().await.unwrap();
        conn.hgetall(self.parts.keys.task(&task)).await.unwrap()
    }
}

#[tokio::test]
async fn a_step_copies_an_image_then_skips_it_unchanged() {
    let s = setup();
    let digest = push_image(
        &s.source,
        "app/one",
        "1",
        &ImageSpec::single("b", "one", 4096),
    );

    let entry = s.queue_one("app/one").await;
    process(&s.parts, entry.clone(), &Stop::default())
        .await
        .unwrap();
    let task = s.task(&entry).await;
    assert_eq!(task["status"], "succeeded", "{task:?}");
    assert_eq!(task["digest"], digest);
    assert_eq!(
        s.target.manifest_digest("mirror/app/one", "1").as_deref(),
        Some(digest.as_str())
    );

    let again = s.queue_one("app/one").await;
    process(&s.parts, again.clone(), &Stop::default())
        .await
        .unwrap();
    let task = s.task(&again).await;
    assert_eq!(task["status"], "skipped", "{task:?}");
    assert_eq!(task["digest"], digest);
}

#[tokio::test]
async fn a_step_records_why_a_missing_image_failed() {
    let s = setup();
    let entry = s.queue_one("not/there").await;
    process(&s.parts, entry.clone(), &Stop::default())
        .await
        .unwrap();
    let task = s.task(&entry).await;
    assert_eq!(task["status"], "failed", "{task:?}");
    assert!(
        task["error"].contains("does not exist at the source"),
        "{task:?}"
    );
    assert_eq!(task["attempts"], "1", "a missing image is not retried");
}
