//! `GET /api/jobs`: every job, newest first, paged by cursor, with filters that combine, all
//! answered from the index the submission and the scripts keep. Real Redis, the real router; no
//! worker runs, so jobs stay queued unless cancelled.

mod support;

use redis::AsyncCommands;
use serde_json::json;
use support::{App, Reply};

const REGISTRIES: &str = "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n    namespace: mirror\n  other:\n    url: \"http://127.0.0.1:2\"\n    namespace: copies\n";

fn ids(reply: &Reply) -> Vec<String> {
    reply
        .body
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", reply.body))
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect()
}

fn next(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get("x-next-cursor")
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn submit(app: &App, who: &str, images: &str, target: &str) -> String {
    let r = app
        .post(
            "/api/jobs",
            who,
            json!({ "images": images, "target": target }),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// `submit`, then a pause past the millisecond: jobs made in one millisecond list by id, and a
/// test of "newest first" or of a time range needs each job in its own.
async fn submit_in_turn(app: &App, who: &str, images: &str, target: &str) -> String {
    let id = submit(app, who, images, target).await;
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    id
}

#[tokio::test]
async fn filters_combine_and_text_matches_any_source_or_target_image() {
    let app = support::app(REGISTRIES, &[]).await;
    let (op, boss) = (app.login("op").await, app.login("boss").await);
    let nginx = submit_in_turn(&app, &op, "nginx:1.25\nredis:7", "target").await;
    let quay = submit_in_turn(
        &app,
        &boss,
        "quay.io/prometheus/node-exporter:v1.8.0",
        "other",
    )
    .await;
    let bitnami = submit_in_turn(&app, &op, "bitnami/redis:7.2", "other").await;

    let list = |q: &'static str| {
        let (app, op) = (&app, &op);
        async move { app.get(&format!("/api/jobs{q}"), op).await }
    };
    assert_eq!(
        ids(&list("").await),
        [bitnami.as_str(), quay.as_str(), nginx.as_str()]
    );
    assert_eq!(
        ids(&list("?registry=other").await),
        [bitnami.as_str(), quay.as_str()]
    );
    assert_eq!(
        ids(&list("?user=op").await),
        [bitnami.as_str(), nginx.as_str()]
    );
    assert_eq!(
        ids(&list("?user=op&registry=other").await),
        [bitnami.as_str()]
    );
    // Text: the source's repository, any case; the target's namespace; a tag.
    assert_eq!(
        ids(&list("?q=REDIS").await),
        [bitnami.as_str(), nginx.as_str()]
    );
    assert_eq!(
        ids(&list("?q=127.0.0.1:2/copies/").await),
        [bitnami.as_str(), quay.as_str()]
    );
    assert_eq!(ids(&list("?q=Node-Exporter").await), [quay.as_str()]);
    assert_eq!(ids(&list("?q=redis:7.2").await), [bitnami.as_str()]);
    assert_eq!(
        ids(&list("?q=redis&registry=target").await),
        [nginx.as_str()]
    );
    assert!(ids(&list("?q=postgres").await).is_empty());
    assert_eq!(ids(&list("?status=queued").await).len(), 3);
    assert!(ids(&list("?status=succeeded,failed").await).is_empty());

    // A cancel moves the job in the index.
    let cancel = app
        .post(&format!("/api/jobs/{quay}/cancel"), &boss, json!({}))
        .await;
    assert_eq!(cancel.status, 202, "{}", cancel.body);
    assert_eq!(ids(&list("?status=cancelled").await), [quay.as_str()]);
    assert_eq!(
        ids(&list("?status=queued").await),
        [bitnami.as_str(), nginx.as_str()]
    );
    assert_eq!(
        ids(&list("?status=cancelled,queued&registry=other").await),
        [bitnami.as_str(), quay.as_str()]
    );

    // Time range on creation.
    let all = list("").await;
    let created: Vec<u64> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["created_at_ms"].as_u64().unwrap())
        .collect();
    let (newest, oldest) = (created[0], created[2]);
    let r = app
        .get(
            &format!("/api/jobs?from={}&to={}", oldest + 1, newest + 1),
            &op,
        )
        .await;
    let got = ids(&r);
    assert!(got.contains(&bitnami) && !got.contains(&nginx), "{got:?}");
}

#[tokio::test]
async fn pages_follow_the_cursor_without_gaps_or_repeats() {
    let app = support::app(REGISTRIES, &[]).await;
    let op = app.login("op").await;
    let mut submitted = Vec::new();
    for i in 0..7 {
        let id = submit(&app, &op, &format!("img{i}:1"), "target").await;
        let job = app.get(&format!("/api/jobs/{id}"), &op).await;
        let created = job.body["created_at_ms"].as_u64().expect("created_at_ms");
        submitted.push((created, id));
    }
    let img1 = submitted[1].1.clone();
    // Newest first; jobs made in the same millisecond (most of these) come in a fixed order,
    // by id, so that a page boundary between them neither repeats nor skips one.
    submitted.sort_by(|a, b| b.cmp(a));
    let submitted: Vec<String> = submitted.into_iter().map(|(_, id)| id).collect();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            None => "/api/jobs?limit=3".to_owned(),
            Some(c) => format!("/api/jobs?limit=3&cursor={c}"),
        };
        let page = app.get(&path, &op).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(ids(&page).len() <= 3);
        seen.extend(ids(&page));
        cursor = next(&page);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, submitted, "every job once, newest first");

    // The same with a filter that skips some jobs.
    let page = app.get("/api/jobs?limit=2&q=img1:", &op).await;
    assert_eq!(ids(&page), [img1]);
}

#[tokio::test]
async fn bad_filters_are_refused_with_what_was_wrong() {
    let app = support::app(REGISTRIES, &[]).await;
    let op = app.login("op").await;
    for (query, says) in [
        ("status=done", "status `done`"),
        ("trigger=cron", "trigger `cron`"),
        ("cursor=nonsense", "cursor `nonsense`"),
        ("from=20&to=10", "`from` (20) must be before `to` (10)"),
    ] {
        let r = app.get(&format!("/api/jobs?{query}"), &op).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        let error = r.body["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{query}: {}", r.body);
    }
    let long = "x".repeat(300);
    let r = app.get(&format!("/api/jobs?q={long}"), &op).await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn the_index_forgets_jobs_older_than_the_retention() {
    let app = support::app(REGISTRIES, &["--job-retention-days", "2"]).await;
    let op = app.login("op").await;
    let old = submit(&app, &op, "nginx:1", "target").await;
    // The job hash expires after two days; make its index entries look three days old, as
    // they would be by then.
    let mut conn = app.state.pool.get().await.unwrap();
    let ttl: i64 = conn.ttl(app.state.keys.job(&old)).await.unwrap();
    assert!((2 * 86400 - 60..=2 * 86400).contains(&ttl), "ttl {ttl}");
    let three_days_ago = docker_sync_common::now_ms() - 3 * 86_400_000;
    let keys = &app.state.keys;
    for set in [
        keys.jobs(),
        keys.jobs_by("status", "queued"),
        keys.jobs_by("registry", "target"),
        keys.jobs_by("user", "op"),
        keys.jobs_by("trigger", "session"),
    ] {
        let _: () = conn.zadd(&set, &old, three_days_ago).await.unwrap();
    }
    let new = submit(&app, &op, "nginx:2", "target").await;
    for set in [keys.jobs(), keys.jobs_by("user", "op")] {
        let members: Vec<String> = conn.zrange(&set, 0, -1).await.unwrap();
        assert_eq!(members, std::slice::from_ref(&new), "{set}");
    }
    let listed = app.get("/api/jobs", &op).await;
    assert_eq!(ids(&listed), [new]);
}
