//! The service against the shell loop it replaces, and against `skopeo sync`, in several
//! scenarios.
//!
//! `cargo run --release -p docker-sync-tests --bin bench -- [--images N] [--workers W]
//! [--concurrency C] [--layer-kb K] [--runs R] [--scenarios http,bare-insecure,source-proxy,wan]`
//!
//! Each run of a scenario starts a fresh [`Stack`] (Redis, source and target registries, api,
//! W workers) written the scenario's way and pushes N images to its source, then times:
//! 1. a sequential `skopeo copy --all` per image into a second, fresh auth registry (what a
//!    hand-written script does);
//! 2. the same loop again, nothing having changed (skopeo re-pushes every manifest);
//! 3. `skopeo sync --all` per image into where the loop put it, twice; the second one, where
//!    skopeo reports every image already present, is timed;
//! 4. one job of the N images through the service, from the POST to the job being finished;
//! 5. the same job again, every task expected to be skipped.
//!
//! A scenario measuring the fresh sync only (`wan`) skips 2, 3 and 5.
//!
//! With several runs each figure is the median over the runs. Failed copies, wrong digests or
//! statuses, and scenarios that cannot start, are reported and make the exit status non-zero;
//! a missed target is reported, not an error: this is a benchmark.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use docker_sync_tests::{
    build_image, push_layout, require_tool, write_authfile, ImageSpec, OciImage, Registry, Stack,
    StackOptions, TargetSpelling, TARGET_PASSWORD, TARGET_USER,
};
use serde_json::Value;

/// The tag of every benchmark image.
const TAG: &str = "1";
/// The namespace the stack's target registry maps images under (replace level `skip`).
const NAMESPACE: &str = "mirror";
/// How long one job may take before the benchmark gives up.
const JOB_TIMEOUT: Duration = Duration::from_secs(600);
/// The source's name in the `source-proxy` scenario: only the forward proxy resolves it.
const PROXIED_NAME: &str = "mirror-source.test";
/// What `skopeo sync` prints for an image it does not copy again.
const SYNC_SKIPPED: &str = "Skipping: image already present at destination";
/// The service's goals for a re-sync, as a fraction of the loop's and of `skopeo sync`'s time.
const RESYNC_VS_LOOP: f64 = 0.10;
const RESYNC_VS_SYNC: f64 = 0.5;

#[derive(Parser, Debug)]
#[command(
    about = "Times docker-image-sync against a sequential `skopeo copy` loop and `skopeo sync`"
)]
struct Args {
    /// Images to sync.
    #[arg(long, default_value_t = 16)]
    images: usize,
    /// Worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Copies each worker runs at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Size of each of the two layers of an image, in KiB.
    #[arg(long, default_value_t = 2048)]
    layer_kb: usize,
    /// Runs; each figure printed is the median over them.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Scenarios to run, comma-separated (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<ScenarioId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ScenarioId {
    Http,
    BareInsecure,
    SourceProxy,
    Wan,
}

/// How the stack's source registry is reached.
#[derive(Clone, Copy, Debug)]
enum SourceRoute {
    /// `url: "http://127.0.0.1:PORT"`.
    Direct,
    /// Named [`PROXIED_NAME`]:PORT with `insecure: true` and `proxy:`, through a forward proxy
    /// (the loop and `skopeo sync` get `HTTP_PROXY`/`HTTPS_PROXY`, as a script behind a proxy).
    ForwardProxy,
    /// Through a proxy adding `latency` per request and holding each connection to `rate`
    /// bytes per second; the loop goes through it too.
    Far { latency: Duration, rate: usize },
}

/// One way of running the service, and what is measured there.
struct Scenario {
    id: ScenarioId,
    label: &'static str,
    target: TargetSpelling,
    source: SourceRoute,
    /// Also time the unchanged runs (loop, `skopeo sync`, the service's re-sync).
    unchanged: bool,
    /// The service's goal for a fresh sync, as a fraction of the loop's time.
    fresh_target: f64,
    /// What the reader should know when reading its row.
    note: &'static str,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        id: ScenarioId::Http,
        label: "http",
        target: TargetSpelling::HttpUrl,
        source: SourceRoute::Direct,
        unchanged: true,
        fresh_target: 1.0,
        note: "target written url: \"http://127.0.0.1:PORT\"",
    },
    Scenario {
        id: ScenarioId::BareInsecure,
        label: "bare+insecure",
        target: TargetSpelling::BareInsecure,
        source: SourceRoute::Direct,
        unchanged: true,
        fresh_target: 1.0,
        note: "target written url: \"127.0.0.1:PORT\", insecure: true",
    },
    Scenario {
        id: ScenarioId::SourceProxy,
        label: "source via proxy",
        target: TargetSpelling::HttpUrl,
        source: SourceRoute::ForwardProxy,
        unchanged: true,
        fresh_target: 1.0,
        note: "source mirror-source.test:PORT, insecure, proxy: a forward proxy (scripts: HTTPS_PROXY)",
    },
    Scenario {
        id: ScenarioId::Wan,
        label: "wan",
        target: TargetSpelling::HttpUrl,
        source: SourceRoute::Far {
            latency: Duration::from_millis(30),
            rate: 4_000_000,
        },
        unchanged: false,
        fresh_target: 0.35,
        note: "source 30 ms per request away, 4 MB/s per connection; fresh sync only",
    },
];

impl Scenario {
    fn stack_options(&self, args: &Args) -> StackOptions {
        let mut options = StackOptions {
            workers: args.workers,
            concurrency: args.concurrency,
            target_spelling: self.target,
            ..StackOptions::default()
        };
        match self.source {
            SourceRoute::Direct => {}
            SourceRoute::ForwardProxy => options.source_via_proxy = Some(PROXIED_NAME.into()),
            SourceRoute::Far { latency, rate } => {
                options.source_latency = Some(latency);
                options.source_rate = Some(rate);
            }
        }
        options
    }
}

/// One benchmark image: its repository in the source registry and its built OCI layout.
struct BenchImage {
    repo: String,
    layout: OciImage,
}

/// The measurements of one run of a scenario, in seconds (`None`: not measured there).
#[derive(Default)]
struct Sample {
    loop_fresh: f64,
    loop_unchanged: Option<f64>,
    sync_unchanged: Option<f64>,
    service_fresh: f64,
    service_resync: Option<f64>,
    /// The same two jobs as their own record times them (created to finished), free of the
    /// client's polling interval.
    record_fresh: f64,
    record_resync: Option<f64>,
    /// Re-sync tasks the service skipped (the rest it copied again).
    resync_skipped: usize,
    /// What the forward proxy relayed during the re-sync: manifest GETs, blob GETs, tunnels.
    proxy_during_resync: Option<(usize, usize, usize)>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.images == 0 || args.workers == 0 || args.concurrency == 0 || args.runs == 0 {
        eprintln!("bench: --images, --workers, --concurrency and --runs must be at least 1");
        return ExitCode::from(2);
    }
    let chosen: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| args.scenarios.is_empty() || args.scenarios.contains(&s.id))
        .collect();
    eprintln!("building {} images...", args.images);
    let images = build_images(args.images, args.layer_kb * 1024);
    let mut results = Vec::new();
    for scenario in chosen {
        let mut samples = Vec::new();
        let mut failure = None;
        for run in 1..=args.runs {
            eprintln!("{} run {run}/{}", scenario.label, args.runs);
            match run_guarded(scenario, &args, &images) {
                Ok(sample) => samples.push(sample),
                Err(e) => {
                    eprintln!("bench: {} run {run} failed: {e}", scenario.label);
                    failure = Some(e);
                    break;
                }
            }
        }
        results.push((scenario, failure.map_or(Ok(samples), Err)));
    }
    print_report(&args, &results);
    if results.iter().any(|(_, r)| r.is_err()) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The source repository of image `i`: mostly `bench/app-<i>`, with some deeper paths.
fn repo_path(i: usize) -> String {
    match i % 8 {
        2 => format!("bench/team/app-{i}"),
        5 => format!("bench/team/deep/app-{i}"),
        _ => format!("bench/app-{i}"),
    }
}

/// N distinct images sharing one base layer; image 0 is a two-platform index.
fn build_images(n: usize, layer_bytes: usize) -> Vec<BenchImage> {
    (0..n)
        .map(|i| {
            let unique = format!("bench-app-{i}");
            let spec = if i == 0 {
                let platforms = [("linux", "amd64"), ("linux", "arm64")];
                ImageSpec::multi_arch("base", &unique, layer_bytes, &platforms)
            } else {
                ImageSpec::single("base", &unique, layer_bytes)
            };
            BenchImage {
                repo: repo_path(i),
                layout: build_image(&spec, TAG),
            }
        })
        .collect()
}

/// [`run_once`], a panic (a stack that cannot start) becoming an error.
fn run_guarded(scenario: &Scenario, args: &Args, images: &[BenchImage]) -> Result<Sample, String> {
    catch_unwind(AssertUnwindSafe(|| run_once(scenario, args, images))).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panicked".into());
        Err(msg)
    })
}

/// One run of a scenario's measurements, on a fresh stack and a fresh loop target.
fn run_once(scenario: &Scenario, args: &Args, images: &[BenchImage]) -> Result<Sample, String> {
    let stack = Stack::start(scenario.stack_options(args));
    for image in images {
        push_layout(&stack.source, &image.layout, &image.repo, TAG);
    }
    let loop_target = Registry::start_with_auth(TARGET_USER, TARGET_PASSWORD);
    let skopeo = Skopeo::new(
        stack.source_host(),
        stack.forward_proxy().map(|p| p.url()),
        &loop_target,
    );
    let mut sample = Sample {
        loop_fresh: skopeo.copy_loop(images)?,
        ..Sample::default()
    };
    check_digests("skopeo loop", &loop_target, images)?;
    report("skopeo loop, fresh", sample.loop_fresh);
    if scenario.unchanged {
        let secs = skopeo.copy_loop(images)?;
        check_digests("skopeo loop", &loop_target, images)?;
        report("skopeo loop, unchanged", secs);
        sample.loop_unchanged = Some(secs);
        // The first sync shows it lands where the loop put the images; the second is timed.
        skopeo.sync_loop(images)?;
        check_digests("skopeo sync", &loop_target, images)?;
        let secs = skopeo.sync_loop(images)?;
        report("skopeo sync, unchanged", secs);
        sample.sync_unchanged = Some(secs);
    }

    let refs: Vec<String> = images
        .iter()
        .map(|i| format!("{}/{}:{TAG}", stack.source_host(), i.repo))
        .collect();
    let fresh = service_job(&stack, &refs)?;
    if let Some(task) = fresh.tasks.iter().find(|t| t["status"] != "succeeded") {
        return Err(format!(
            "fresh job: a task did not copy: {}",
            task_summary(task)
        ));
    }
    check_digests("service", &stack.target, images)?;
    report("service, fresh", fresh.secs);
    (sample.service_fresh, sample.record_fresh) = (fresh.secs, fresh.record);

    if scenario.unchanged {
        if let Some(proxy) = stack.forward_proxy() {
            proxy.reset_counts();
        }
        let resync = service_job(&stack, &refs)?;
        check_digests("service", &stack.target, images)?;
        sample.resync_skipped = resync
            .tasks
            .iter()
            .filter(|t| t["status"] == "skipped")
            .count();
        report("service, re-sync", resync.secs);
        eprintln!(
            "    skipped {} of {} tasks",
            sample.resync_skipped,
            refs.len()
        );
        sample.proxy_during_resync = stack.forward_proxy().map(|p| {
            let counts = (
                p.count("GET", "/manifests/"),
                p.count("GET", "/blobs/"),
                p.tunnels(),
            );
            eprintln!(
                "    the proxy relayed {} manifest GETs, {} blob GETs, {} tunnels",
                counts.0, counts.1, counts.2
            );
            counts
        });
        sample.service_resync = Some(resync.secs);
        sample.record_resync = Some(resync.record);
    }
    Ok(sample)
}

fn report(what: &str, secs: f64) {
    eprintln!("  {what}: {secs:.2}s");
}

/// skopeo as a script runs it: the loop target's authfile, the proxy variables when the
/// scenario has a proxy (and none inherited otherwise).
struct Skopeo<'a> {
    binary: PathBuf,
    source_host: String,
    proxy: Option<String>,
    target: &'a Registry,
    authfile: tempfile::NamedTempFile,
}

impl<'a> Skopeo<'a> {
    fn new(source_host: String, proxy: Option<String>, target: &'a Registry) -> Skopeo<'a> {
        let (user, password) = target.credentials().expect("the loop target has auth");
        Skopeo {
            binary: require_tool("skopeo", "skopeo"),
            source_host,
            proxy,
            authfile: write_authfile(&[(target.host().as_str(), user.as_str(), password.as_str())]),
            target,
        }
    }

    /// Runs `skopeo <command> --authfile F <args>`; its stdout, or an error with its stderr.
    fn run(&self, command: &str, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(&self.binary);
        for var in ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"] {
            cmd.env_remove(var).env_remove(var.to_ascii_lowercase());
        }
        if let Some(proxy) = &self.proxy {
            cmd.env("HTTP_PROXY", proxy).env("HTTPS_PROXY", proxy);
        }
        let out = cmd
            .arg(command)
            .arg("--authfile")
            .arg(self.authfile.path())
            .args(args)
            .output()
            .map_err(|e| format!("cannot run skopeo: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "skopeo {command} {} failed ({}):\n{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Copies every image, one after the other, as a cron script would; returns the seconds.
    fn copy_loop(&self, images: &[BenchImage]) -> Result<f64, String> {
        let start = Instant::now();
        for image in images {
            let src = format!("docker://{}/{}:{TAG}", self.source_host, image.repo);
            let dest = format!(
                "docker://{}/{NAMESPACE}/{}:{TAG}",
                self.target.host(),
                image.repo
            );
            self.run(
                "copy",
                &[
                    "--all",
                    "--src-tls-verify=false",
                    "--dest-tls-verify=false",
                    &src,
                    &dest,
                ],
            )?;
        }
        Ok(start.elapsed().as_secs_f64())
    }

    /// `skopeo sync` of every image to where [`Self::copy_loop`] put it (sync puts a repository
    /// under DEST/<its last path part>); each must be skipped as already present. Returns the
    /// seconds taken.
    fn sync_loop(&self, images: &[BenchImage]) -> Result<f64, String> {
        let start = Instant::now();
        for image in images {
            let src = format!("{}/{}:{TAG}", self.source_host, image.repo);
            let parent = image.repo.rsplit_once('/').map_or("", |(p, _)| p);
            let dest = format!("{}/{NAMESPACE}/{parent}", self.target.host());
            let dest = dest.trim_end_matches('/');
            let out = self.run(
                "sync",
                &[
                    "--src",
                    "docker",
                    "--dest",
                    "docker",
                    "--src-tls-verify=false",
                    "--dest-tls-verify=false",
                    "--all",
                    &src,
                    dest,
                ],
            )?;
            if !out.contains(SYNC_SKIPPED) {
                return Err(format!("skopeo sync {src} {dest} copied again:\n{out}"));
            }
        }
        Ok(start.elapsed().as_secs_f64())
    }
}

/// A finished job: seconds from before the POST to it being seen finished, seconds from its
/// `created_at_ms` to its `finished_at_ms`, its tasks.
struct JobRun {
    secs: f64,
    record: f64,
    tasks: Vec<Value>,
}

/// Submits one job of `refs` and waits for it; it must succeed with a task per reference.
fn service_job(stack: &Stack, refs: &[String]) -> Result<JobRun, String> {
    let start = Instant::now();
    let job = stack.submit(refs, "skip");
    let id = job["id"]
        .as_str()
        .ok_or_else(|| format!("no job id in {job}"))?;
    let done = stack.wait_job(id, JOB_TIMEOUT);
    let secs = start.elapsed().as_secs_f64();

    if done["status"] != "succeeded" {
        return Err(format!(
            "job {id} ended {}: {}",
            done["status"], done["counts"]
        ));
    }
    let tasks = done["tasks"].as_array().cloned().unwrap_or_default();
    if tasks.len() != refs.len() {
        return Err(format!(
            "job {id} has {} tasks, expected {}",
            tasks.len(),
            refs.len()
        ));
    }
    let ms = |field: &str| {
        done[field]
            .as_u64()
            .ok_or_else(|| format!("job {id}: no {field}"))
    };
    let record = ms("finished_at_ms")?.saturating_sub(ms("created_at_ms")?) as f64 / 1000.0;
    Ok(JobRun {
        secs,
        record,
        tasks,
    })
}

fn task_summary(task: &Value) -> String {
    format!(
        "{} -> {}: {} (error: {})",
        task["source"], task["target"], task["status"], task["error"]
    )
}

/// Every image is in `registry` under the namespace with its source digest.
fn check_digests(what: &str, registry: &Registry, images: &[BenchImage]) -> Result<(), String> {
    for image in images {
        let repo = format!("{NAMESPACE}/{}", image.repo);
        let got = registry.manifest_digest(&repo, TAG);
        if got.as_deref() != Some(image.layout.digest.as_str()) {
            return Err(format!(
                "{what}: {repo}:{TAG} has digest {got:?}, the source has {}",
                image.layout.digest
            ));
        }
    }
    Ok(())
}

/// The median of the measured values (`None` when not measured).
fn median(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect::<Option<_>>()?;
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    // The middle value, or the mean of the two middle values.
    Some((v[(v.len() - 1) / 2] + v[v.len() / 2]) / 2.0)
}

/// One scenario's figures: the medians over its runs.
struct Row {
    loop_fresh: Option<f64>,
    loop_unchanged: Option<f64>,
    sync_unchanged: Option<f64>,
    service_fresh: Option<f64>,
    service_resync: Option<f64>,
    record_fresh: Option<f64>,
    record_resync: Option<f64>,
}

impl Row {
    fn of(samples: &[Sample]) -> Row {
        let m = |f: fn(&Sample) -> Option<f64>| median(samples.iter().map(f));
        Row {
            loop_fresh: m(|s| Some(s.loop_fresh)),
            loop_unchanged: m(|s| s.loop_unchanged),
            sync_unchanged: m(|s| s.sync_unchanged),
            service_fresh: m(|s| Some(s.service_fresh)),
            service_resync: m(|s| s.service_resync),
            record_fresh: m(|s| Some(s.record_fresh)),
            record_resync: m(|s| s.record_resync),
        }
    }
}

const LABEL_WIDTH: usize = 18;
const SECS_WIDTH: usize = 13;
const RATIO_WIDTH: usize = 31;

fn secs_cell(secs: Option<f64>) -> String {
    let text = secs.map_or("-".to_owned(), |s| format!("{s:.2}"));
    format!("{text:>SECS_WIDTH$}")
}

/// `0.05x (target <= 0.10x)  OK`, or `-` when a figure is missing.
fn ratio_cell(value: Option<f64>, base: Option<f64>, target: f64) -> String {
    let text = match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => {
            let ratio = v / b;
            let verdict = if ratio <= target { "OK" } else { "MISSED" };
            format!("{ratio:.2}x (target <= {target:.2}x)  {verdict}")
        }
        _ => "-".to_owned(),
    };
    format!("  {text:<RATIO_WIDTH$}")
}

type Outcome<'a> = (&'a Scenario, Result<Vec<Sample>, String>);

fn print_report(args: &Args, results: &[Outcome]) {
    println!(
        "docker-image-sync benchmark: {} images (2 layers x {} KiB, 1 multi-arch), {} workers x {} copies",
        args.images, args.layer_kb, args.workers, args.concurrency
    );
    println!(
        "machine: {} CPUs (nproc), {}; {}",
        command_line("nproc", &[]),
        command_line("skopeo", &["--version"]),
        match args.runs {
            1 => "1 run".to_owned(),
            r => format!("median of {r} runs"),
        }
    );
    println!();
    let secs_headers = [
        "loop fresh",
        "loop unch.",
        "sync unch.",
        "svc fresh",
        "svc re-sync",
    ];
    let ratio_headers = ["re-sync / loop", "re-sync / sync", "fresh / loop"];
    let mut header = format!("{:<LABEL_WIDTH$}", "seconds");
    for h in secs_headers {
        header.push_str(&format!("{h:>SECS_WIDTH$}"));
    }
    for h in ratio_headers {
        header.push_str(&format!("  {h:<RATIO_WIDTH$}"));
    }
    println!("{}", header.trim_end());

    for (scenario, outcome) in results {
        let label = format!("{:<LABEL_WIDTH$}", scenario.label);
        let samples = match outcome {
            Ok(samples) => samples,
            Err(e) => {
                // The last line says why (a log tail's or skopeo's fatal message).
                let why = e.lines().rev().find(|l| !l.trim().is_empty());
                println!("{label}FAILED: {}", why.unwrap_or_default().trim());
                continue;
            }
        };
        let r = Row::of(samples);
        let mut line = label;
        for secs in [
            r.loop_fresh,
            r.loop_unchanged,
            r.sync_unchanged,
            r.service_fresh,
            r.service_resync,
        ] {
            line.push_str(&secs_cell(secs));
        }
        line.push_str(&ratio_cell(
            r.service_resync,
            r.loop_unchanged,
            RESYNC_VS_LOOP,
        ));
        line.push_str(&ratio_cell(
            r.service_resync,
            r.sync_unchanged,
            RESYNC_VS_SYNC,
        ));
        line.push_str(&ratio_cell(
            r.service_fresh,
            r.loop_fresh,
            scenario.fresh_target,
        ));
        println!("{}", line.trim_end());
    }

    println!();
    println!(
        "loop: `skopeo copy --all` per image, one after the other; sync: `skopeo sync --all` per \
         image, all already present; svc: one job of all images (ratios: service / skopeo)"
    );
    for (scenario, outcome) in results {
        let Ok(samples) = outcome else { continue };
        let r = Row::of(samples);
        let mut notes = vec![scenario.note.to_owned()];
        let records = match (r.record_fresh, r.record_resync) {
            (Some(f), Some(s)) => format!("job records fresh {f:.2} s, re-sync {s:.2} s"),
            (Some(f), None) => format!("job record fresh {f:.2} s"),
            _ => String::new(),
        };
        notes.push(records);
        if let Some(last) = samples.last().filter(|_| scenario.unchanged) {
            notes.push(format!(
                "re-sync skipped {} of {} images",
                last.resync_skipped, args.images
            ));
            if let Some((manifests, blobs, tunnels)) = last.proxy_during_resync {
                notes.push(format!(
                    "the proxy relayed {manifests} manifest GETs, {blobs} blob GETs, {tunnels} \
                     tunnels during the re-sync"
                ));
            }
        }
        println!("  {}: {}", scenario.label, notes.join("; "));
    }
}

/// The first line `program args` prints, or `?` when it cannot run.
fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into())
}
