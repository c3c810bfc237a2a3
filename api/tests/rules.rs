//! Sync rules through the api: made, changed, listed and deleted by operators, read by viewers,
//! declared read-only in rules.yaml, run now, and fired by the scheduler exactly once per fire
//! however many replicas look. Real Redis, the real router; no worker runs, so jobs stay queued
//! until the test cancels them.

mod support;

use axum::http::StatusCode;
use docker_sync_api::rules::scheduler::tick_once;
use docker_sync_common::queue::cancel::cancel;
use serde_json::{json, Value};

const REGISTRIES: &str =
    "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n    namespace: mirror\n";

const RULES_YAML: &str = "rules:\n  from-file:\n    images: |\n      alpine:3.20\n    target: target\n    schedule:\n      cron: \"0 3 * * *\"\n      timezone: Asia/Shanghai\n";

fn rule(images: &str, cron: Option<&str>) -> Value {
    let mut r = json!({ "images": images, "target": "target", "replace_level": "1" });
    if let Some(cron) = cron {
        r["schedule"] = json!({ "cron": cron });
    }
    r
}

#[tokio::test]
async fn operators_manage_rules_viewers_read_them_and_rules_yaml_is_read_only() {
    let config = tempfile::tempdir().unwrap();
    std::fs::write(config.path().join("rules.yaml"), RULES_YAML).unwrap();
    let dir = config.path().to_str().unwrap();
    let app = support::app(REGISTRIES, &["--config", dir]).await;
    let (op, view) = (app.login("op").await, app.login("view").await);

    let mut body = rule("nginx:1.25\nredis:7", Some("30 2 * * 1-5"));
    body["name"] = json!("nightly");
    let made = app.post("/api/rules", &op, body.clone()).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["source"], "api");
    assert_eq!(made.body["updated_by"], "op");
    assert_eq!(made.body["enabled"], true, "enabled unless said otherwise");
    assert!(made.body["next_fire_ms"].as_u64().unwrap() > docker_sync_common::now_ms());

    let again = app.post("/api/rules", &op, body.clone()).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let refused = app.post("/api/rules", &view, body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let list = app.get("/api/rules", &view).await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["from-file", "nightly"]);
    let file = &list.body[0];
    assert_eq!(file["source"], "file");
    assert_eq!(file["schedule"]["timezone"], "Asia/Shanghai");

    // Changing a file rule is refused with where to change it; so is taking its name.
    let put_file = app
        .put("/api/rules/from-file", &op, rule("alpine:3.21", None))
        .await;
    assert_eq!(put_file.status, StatusCode::CONFLICT);
    assert!(
        put_file.body["error"]
            .as_str()
            .unwrap()
            .contains("rules.yaml"),
        "{}",
        put_file.body
    );
    let mut clash = rule("alpine:3.21", None);
    clash["name"] = json!("from-file");
    assert_eq!(
        app.post("/api/rules", &op, clash).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.delete("/api/rules/from-file", &op).await.status,
        StatusCode::CONFLICT
    );

    let mut off = rule("nginx:1.27", None);
    off["enabled"] = json!(false);
    let changed = app.put("/api/rules/nightly", &op, off).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["enabled"], false);
    assert!(changed.body.get("schedule").is_none());
    assert!(changed.body.get("next_fire_ms").is_none());
    assert_eq!(
        app.put("/api/rules/nope", &op, rule("a:1", None))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        app.delete("/api/rules/nightly", &op).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/rules/nightly", &view).await.status,
        StatusCode::NOT_FOUND
    );

    let boss = app.login("boss").await;
    let audit = app.get("/api/audit", &boss).await;
    let actions: Vec<&str> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("rule."))
        .collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    for a in ["rule.create", "rule.update", "rule.delete"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
}

#[tokio::test]
async fn bad_rules_are_refused_with_the_key_or_line_that_is_wrong() {
    let app = support::app(REGISTRIES, &[]).await;
    let op = app.login("op").await;
    let post = |body: Value| {
        let (app, op) = (&app, &op);
        async move {
            let r = app.post("/api/rules", op, body).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
            r.body
        }
    };
    let named = |mut v: Value| {
        v["name"] = json!("r");
        v
    };
    let e = post(named(rule("nginx:1", Some("0 3 * *")))).await;
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .starts_with("`schedule.cron`: `0 3 * *` has 4 fields"),
        "{e}"
    );
    let mut zone = named(rule("nginx:1", Some("0 3 * * *")));
    zone["schedule"]["timezone"] = json!("Mars/Base");
    assert!(post(zone).await["error"]
        .as_str()
        .unwrap()
        .starts_with("`schedule.timezone`"));
    let mut gone = named(rule("nginx:1", None));
    gone["target"] = json!("gitlab");
    assert_eq!(
        post(gone).await["error"],
        "`target`: no registry named `gitlab`"
    );
    let lines = post(named(rule("nginx:1\nNGINX:1", None))).await;
    assert_eq!(lines["errors"][0]["line"], 2, "{lines}");
    let e = post(named(rule("", None))).await;
    assert_eq!(e["error"], "`images`: lists no image");
    let mut typo = named(rule("nginx:1", None));
    typo["enabeld"] = json!(false);
    assert!(post(typo).await["error"]
        .as_str()
        .unwrap()
        .contains("unknown field `enabeld`"));
    let e = post(rule("nginx:1", None)).await;
    assert_eq!(e["error"], "`name`: a rule needs a name");
    let mut spaced = rule("nginx:1", None);
    spaced["name"] = json!("a b");
    assert!(post(spaced).await["error"]
        .as_str()
        .unwrap()
        .contains("rule name `a b`"));
    assert!(
        app.get("/api/rules", &op)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn run_now_starts_a_job_the_rule_lists_and_refuses_while_it_is_going() {
    let app = support::app(REGISTRIES, &[]).await;
    let op = app.login("op").await;
    let mut body = rule("nginx:1.25\nredis:7", None);
    body["name"] = json!("mirror-base");
    assert_eq!(
        app.post("/api/rules", &op, body).await.status,
        StatusCode::CREATED
    );

    let run = app
        .post("/api/rules/mirror-base/run", &op, Value::Null)
        .await;
    assert_eq!(run.status, StatusCode::ACCEPTED, "{}", run.body);
    assert_eq!(run.body["total"], 2);
    assert_eq!(
        run.body["trigger"],
        json!({ "kind": "run_now", "user": "op", "rule": "mirror-base" })
    );
    let job = run.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        run.body["tasks"][0]["target"], "127.0.0.1:1/mirror/nginx:1.25",
        "replace level 1 drops `library`"
    );

    let busy = app
        .post("/api/rules/mirror-base/run", &op, Value::Null)
        .await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert!(
        busy.body["error"].as_str().unwrap().contains(&job),
        "{}",
        busy.body
    );

    let detail = app.get("/api/rules/mirror-base", &op).await;
    assert_eq!(detail.body["runs"][0]["job"], job.as_str());
    assert_eq!(detail.body["runs"][0]["trigger"], "run_now");
    assert_eq!(detail.body["runs"][0]["user"], "op");
    assert_eq!(detail.body["runs"][0]["job_status"], "queued");
    let rules = app.get("/api/rules", &op).await;
    assert_eq!(rules.body[0]["last_run"]["job"], job.as_str());
    assert_eq!(rules.body[0]["last_run"]["job_status"], "queued");
    let listed = app
        .get("/api/jobs?rule=mirror-base&trigger=run_now", &op)
        .await;
    assert_eq!(listed.body[0]["id"], job.as_str());

    cancel(&app.state.pool, &app.state.keys, &job, "op")
        .await
        .unwrap();
    let second = app
        .post("/api/rules/mirror-base/run", &op, Value::Null)
        .await;
    assert_eq!(
        second.status,
        StatusCode::ACCEPTED,
        "a finished run lets the next start"
    );
    let detail = app.get("/api/rules/mirror-base", &op).await;
    assert_eq!(detail.body["runs"][1]["job_status"], "cancelled");
    assert_eq!(detail.body["runs"].as_array().unwrap().len(), 2);
}

/// What the scheduler recorded on a rule, oldest first: ("run", job) or ("skipped", why).
async fn records(app: &support::App, op: &str, rule: &str) -> Vec<(String, Value)> {
    let detail = app.get(&format!("/api/rules/{rule}"), op).await;
    let mut out: Vec<(String, Value)> = detail.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match r.get("job") {
            Some(job) => ("run".to_owned(), job.clone()),
            None => ("skipped".to_owned(), r["skipped"].clone()),
        })
        .collect();
    out.reverse();
    out
}

#[tokio::test]
async fn three_replicas_fire_each_schedule_once_skip_while_running_and_honour_missed() {
    let app = support::app(REGISTRIES, &[]).await;
    let mut replicas = vec![app.state.clone()];
    for _ in 0..2 {
        replicas.push(app.replica(&[]).await.state);
    }
    let op = app.login("op").await;
    for (name, missed) in [("catch-up", "run"), ("let-go", "skip")] {
        let mut body = rule("nginx:1.25", Some("* * * * *"));
        body["name"] = json!(name);
        body["schedule"]["missed"] = json!(missed);
        assert_eq!(
            app.post("/api/rules", &op, body).await.status,
            StatusCode::CREATED
        );
    }
    // Times are given to the scheduler, from the start of the current minute.
    let minute = 60_000;
    let base = docker_sync_common::now_ms() / minute * minute;
    let tick_all = |at: u64| {
        let replicas = replicas.clone();
        async move {
            let ticks = replicas.iter().map(|s| tick_once(s, at));
            for r in futures::future::join_all(ticks).await {
                r.unwrap();
            }
        }
    };
    let finish = |job: &Value| {
        let (pool, keys, job) = (
            app.state.pool.clone(),
            app.state.keys.clone(),
            job.as_str().unwrap().to_owned(),
        );
        async move { cancel(&pool, &keys, &job, "test").await.unwrap() }
    };
    tick_all(base + 1_000).await; // first sight: the schedules start here
    assert!(records(&app, &op, "catch-up").await.is_empty());

    tick_all(base + minute + 500).await;
    tick_all(base + minute + 1_500).await;
    let r = records(&app, &op, "catch-up").await;
    assert_eq!(
        r.len(),
        1,
        "one run for one fire across three replicas: {r:?}"
    );
    assert_eq!(r[0].0, "run");
    let detail = app.get("/api/rules/catch-up", &op).await;
    assert_eq!(detail.body["last_fire_ms"], base + minute);
    assert_eq!(detail.body["runs"][0]["trigger"], "schedule");

    // The next fire finds the job still queued (no worker): skipped, recorded once.
    tick_all(base + 2 * minute + 500).await;
    let r = records(&app, &op, "catch-up").await;
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[1], ("skipped".to_owned(), json!("still_running")));

    // Every replica down for six fires (3 to 8 min): `run` runs once for all, `skip` records them.
    finish(&r[0].1).await;
    let let_go = records(&app, &op, "let-go").await;
    finish(&let_go[0].1).await;
    tick_all(base + 7 * minute + LATE + 1).await;
    let r = records(&app, &op, "catch-up").await;
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(r[2].0, "run");
    let detail = app.get("/api/rules/catch-up", &op).await;
    assert_eq!(detail.body["runs"][0]["missed"], 6, "{}", detail.body);
    let r = records(&app, &op, "let-go").await;
    assert_eq!(r.len(), 3, "{r:?}");
    assert_eq!(r[2], ("skipped".to_owned(), json!("missed")));

    let jobs = app.get("/api/jobs?trigger=schedule", &op).await;
    assert_eq!(
        jobs.body.as_array().unwrap().len(),
        3,
        "catch-up twice, let-go once: {}",
        jobs.body
    );
}

const LATE: u64 = docker_sync_common::rules::fires::LATE_AFTER_MS;
