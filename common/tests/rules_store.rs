//! Stored sync rules against a real Redis: one record per name, no silent overwrite.

use docker_sync_common::image::mapping::ReplaceLevel;
use docker_sync_common::redis::Keys;
use docker_sync_common::rules::store::{self, Write};
use docker_sync_common::rules::{Missed, RuleSpec, ScheduleSpec, StoredRule};
use docker_sync_tests::RedisServer;

fn rule(images: &str, by: &str) -> StoredRule {
    StoredRule {
        spec: RuleSpec {
            images: images.into(),
            target: "harbor".into(),
            export: None,
            replace_level: ReplaceLevel::default(),
            namespace: None,
            platform: None,
            with_signatures: false,
            enabled: true,
            schedule: Some(ScheduleSpec {
                cron: "0 3 * * *".into(),
                timezone: None,
                missed: Missed::Skip,
            }),
            description: None,
        },
        updated_by: by.into(),
        updated_at_ms: 1,
    }
}

#[tokio::test]
async fn a_name_holds_one_rule_and_nothing_is_overwritten_by_accident() {
    let redis = RedisServer::start();
    let pool = docker_sync_common::redis::pool(&redis.url(), 2).unwrap();
    let keys = Keys::new("rules-test");
    let first = rule("nginx:1", "ann");
    assert_eq!(
        store::create(&pool, &keys, "web", &first).await.unwrap(),
        Write::Done
    );
    assert_eq!(
        store::create(&pool, &keys, "web", &rule("redis:7", "bob"))
            .await
            .unwrap(),
        Write::Refused,
        "the name is taken"
    );
    assert_eq!(store::get(&pool, &keys, "web").await.unwrap(), Some(first));
    assert_eq!(
        store::update(&pool, &keys, "nope", &rule("x:1", "bob"))
            .await
            .unwrap(),
        Write::Refused,
        "an update never creates"
    );
    let edited = rule("nginx:1\nnginx:2", "bob");
    assert_eq!(
        store::update(&pool, &keys, "web", &edited).await.unwrap(),
        Write::Done
    );
    let all = store::list(&pool, &keys).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all["web"], edited);
    assert_eq!(
        store::delete(&pool, &keys, "web").await.unwrap(),
        Write::Done
    );
    assert_eq!(
        store::delete(&pool, &keys, "web").await.unwrap(),
        Write::Refused
    );
    assert!(store::list(&pool, &keys).await.unwrap().is_empty());
}
