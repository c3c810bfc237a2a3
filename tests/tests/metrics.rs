//! The metrics add up: the cluster-wide `docker_sync_*` series are the same on every api replica
//! and are the truth once scraped, the per-process series stay per pod, and `promtool check
//! metrics` finds nothing to say about the new names.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::push_images;
use docker_sync_tests::{Stack, StackOptions};

/// The duration buckets the contract promises (seconds), from 10 ms.
const BUCKETS: [&str; 18] = [
    "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120", "300",
    "600", "1800", "3600", "+Inf",
];

#[test]
fn cluster_series_are_the_truth_on_every_replica_and_process_series_stay_per_pod() {
    let mut stack = Stack::start(StackOptions {
        workers: 0,
        ..StackOptions::default()
    });
    let replica = stack.start_api_replica();
    let pushed = push_images(&stack.source, &[("m/one", "1"), ("m/two", "1")], 2048);
    let refs: Vec<String> = pushed
        .iter()
        .map(|p| p.reference(&stack.source_host()))
        .collect();

    // No worker yet: the job's only task is still queued when it is cancelled.
    let cancelled = stack.submit(&refs[..1], "skip");
    let id = cancelled["id"].as_str().unwrap();
    let (status, body) = stack.post(&format!("/api/jobs/{id}/cancel"), &serde_json::json!({}));
    assert!(status < 300, "{status} {body}");
    let (_, record) = stack.get(&format!("/api/jobs/{id}"));
    let registry = record["target"]
        .as_str()
        .expect("the job's target registry")
        .to_owned();
    assert_eq!(record["status"], "cancelled", "{record:#}");

    stack.start_worker("w1");
    stack.start_worker("w2");
    let mut first = refs.clone();
    first.push(format!("{}/m/missing:1", stack.source_host()));
    let copied = stack.submit(&first, "skip");
    let copied = stack.wait_job(copied["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(copied["status"], "partial", "{copied:#}");
    let again = stack.submit(&refs, "skip");
    let again = stack.wait_job(again["id"].as_str().unwrap(), Duration::from_secs(60));
    assert_eq!(again["status"], "succeeded", "{again:#}");

    let main = scrape(&stack.api_url(), "/metrics/cluster");
    let other = scrape(&format!("http://127.0.0.1:{replica}"), "/metrics/cluster");
    // Idle times move between two reads; everything else is one figure read from Redis.
    let steady = |s: &BTreeMap<String, f64>| {
        s.iter()
            .filter(|(k, _)| !k.starts_with("docker_sync_queue_consumer_idle_seconds"))
            .map(|(k, v)| (k.clone(), *v))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(steady(&main), steady(&other), "replicas disagree");

    let tasks = |result: &str| {
        main.get(&format!(
            "docker_sync_tasks_total{{registry=\"{registry}\",result=\"{result}\"}}"
        ))
        .copied()
    };
    assert_eq!(tasks("succeeded"), Some(2.0), "{main:#?}");
    assert_eq!(tasks("skipped"), Some(2.0), "{main:#?}");
    assert_eq!(tasks("failed"), Some(1.0), "{main:#?}");
    assert_eq!(tasks("cancelled"), Some(1.0), "{main:#?}");

    let le: Vec<String> = main
        .keys()
        .filter(|k| {
            k.starts_with("docker_sync_task_duration_seconds_bucket")
                && k.contains("result=\"skipped\"")
        })
        .map(|k| label(k, "le"))
        .collect();
    let mut expected: Vec<String> = BUCKETS.iter().map(|b| b.to_string()).collect();
    expected.sort();
    let mut le_sorted = le.clone();
    le_sorted.sort();
    assert_eq!(le_sorted, expected, "{main:#?}");
    let skipped = |le: &str| {
        let found = main.iter().find(|(k, _)| {
            k.starts_with("docker_sync_task_duration_seconds_bucket")
                && k.contains("result=\"skipped\"")
                && k.contains(&format!("registry=\"{registry}\""))
                && label(k, "le") == le
        });
        *found
            .unwrap_or_else(|| panic!("no skipped bucket le={le}: {main:#?}"))
            .1
    };
    assert_eq!(skipped("+Inf"), 2.0);
    // A skip is one manifest HEAD on loopback: well under the old histogram's smallest bucket.
    assert_eq!(skipped("0.5"), 2.0, "{main:#?}");
    let count = main[&format!(
        "docker_sync_task_duration_seconds_count{{registry=\"{registry}\",result=\"succeeded\"}}"
    )];
    assert_eq!(count, 2.0);
    // Cancelled before it ran: counted, not timed.
    assert!(
        !main
            .keys()
            .any(|k| k.starts_with("docker_sync_task_duration")
                && k.contains("result=\"cancelled\"")),
        "{main:#?}"
    );

    assert_eq!(main["docker_sync_queue_active_consumers"], 2.0, "{main:#?}");
    assert_eq!(main["docker_sync_queue_consumers"], 2.0);
    assert_eq!(main["docker_sync_queue_lag"], 0.0);
    for consumer in ["w1", "w2"] {
        assert_eq!(
            main.get(&format!(
                "docker_sync_queue_pending{{consumer=\"{consumer}\"}}"
            )),
            Some(&0.0),
            "{main:#?}"
        );
    }

    // Per process: each pod counts only what it served, so the sum over pods is the truth; the
    // cluster-wide task series are not here, where a sum over pods would multiply them.
    let main_process = scrape(&stack.api_url(), "/metrics");
    let replica_process = scrape(&format!("http://127.0.0.1:{replica}"), "/metrics");
    let submitted = |s: &BTreeMap<String, f64>| s["docker_sync_jobs_submitted_total"];
    assert_eq!(submitted(&main_process) + submitted(&replica_process), 3.0);
    for process in [&main_process, &replica_process] {
        assert!(
            !process
                .keys()
                .any(|k| k.starts_with("docker_sync_tasks_total")
                    || k.starts_with("docker_sync_queue")),
            "{process:#?}"
        );
    }
    assert_eq!(
        main_process.get(
            "docker_sync_http_requests_total{method=\"POST\",route=\"/api/jobs\",status=\"202\"}"
        ),
        Some(&3.0),
        "{main_process:#?}"
    );
    // Every configured registry's failures start at 0, so `increase()` sees the first one.
    assert_eq!(
        main.get(&format!(
            "docker_sync_digest_check_failures_total{{registry=\"{registry}\"}}"
        )),
        Some(&0.0),
        "{main:#?}"
    );

    // The names the dashboard and alerts may use (deploy/prometheus/metric-names.txt) are the
    // ones served, each with its type and endpoint. The pull budget appears only once a source
    // reported a limit (tests/tests/rate_limit.rs has one).
    let mut served = types(&stack.api_url(), "/metrics/cluster");
    served.extend(types(&stack.api_url(), "/metrics"));
    let declared = declared_names();
    for (name, kind) in &served {
        assert_eq!(
            declared.get(name).map(|(k, _)| k),
            Some(kind),
            "{name} ({kind}) is served but not in metric-names.txt as such"
        );
    }
    for (name, (kind, endpoint)) in &declared {
        if name.starts_with("docker_sync_pull_budget_") {
            continue;
        }
        let here = types(&stack.api_url(), endpoint);
        assert_eq!(
            here.get(name),
            Some(kind),
            "{name} is not served on {endpoint}"
        );
    }

    // The spec's names stay, for scrapers that already use them.
    assert_eq!(main_process["sync_total"], 5.0);
    assert_eq!(main_process["sync_failed"], 1.0);
}

#[test]
fn promtool_finds_nothing_to_say_about_the_new_names() {
    let mut stack = Stack::start(StackOptions {
        workers: 1,
        ..StackOptions::default()
    });
    let pushed = push_images(&stack.source, &[("p/one", "1")], 1024);
    let job = stack.submit(&[pushed[0].reference(&stack.source_host())], "skip");
    stack.wait_job(job["id"].as_str().unwrap(), Duration::from_secs(60));
    stack.start_worker("w2");
    for path in ["/metrics", "/metrics/cluster"] {
        let text = raw(&stack.api_url(), path);
        let ours = only_docker_sync(&text);
        assert!(ours.contains("docker_sync_"), "{path}: {text}");
        let (ok, said) = promtool_check(&ours);
        assert!(
            ok && said.trim().is_empty(),
            "{path}: promtool says:\n{said}\n{ours}"
        );
    }
    // The checker is not blind: an unprefixed counter without `_total` draws its warning.
    let (_, said) =
        promtool_check("# HELP sync_success x\n# TYPE sync_success counter\nsync_success 1\n");
    assert!(said.contains("_total"), "promtool said: {said}");
}

/// The `docker_sync_*` families an endpoint serves, with their `# TYPE`.
fn types(base: &str, path: &str) -> BTreeMap<String, String> {
    raw(base, path)
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| name.starts_with("docker_sync_"))
        .map(|(name, kind)| (name.to_owned(), kind.to_owned()))
        .collect()
}

/// deploy/prometheus/metric-names.txt: name to (type, endpoint).
fn declared_names() -> BTreeMap<String, (String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/prometheus/metric-names.txt"
    );
    std::fs::read_to_string(path)
        .expect("deploy/prometheus/metric-names.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let (name, kind, endpoint) = (parts.next(), parts.next(), parts.next());
            (
                name.expect("name").to_owned(),
                (
                    kind.expect("type").to_owned(),
                    endpoint.expect("endpoint").to_owned(),
                ),
            )
        })
        .collect()
}

/// Every `docker_sync_*` family of an exposition (its HELP, TYPE and samples).
fn only_docker_sync(text: &str) -> String {
    text.lines()
        .filter(|l| {
            let name = l
                .strip_prefix("# HELP ")
                .or_else(|| l.strip_prefix("# TYPE "))
                .unwrap_or(l);
            name.starts_with("docker_sync_")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `promtool check metrics` on `text`: whether it passed, and what it printed.
fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package `prometheus`) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

fn raw(base: &str, path: &str) -> String {
    ureq::get(&format!("{base}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .into_string()
        .unwrap()
}

/// Series (name with its labels as printed) to value.
fn scrape(base: &str, path: &str) -> BTreeMap<String, f64> {
    raw(base, path)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("sample line");
            (series.to_owned(), value.parse().expect("sample value"))
        })
        .collect()
}

/// A label's value in a printed series.
fn label(series: &str, name: &str) -> String {
    let start = series.find(&format!("{name}=\"")).expect("label") + name.len() + 2;
    let len = series[start..].find('"').expect("closing quote");
    series[start..start + len].to_owned()
}
