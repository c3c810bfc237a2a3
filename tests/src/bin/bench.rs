//! The service against the shell loop it replaces.
//!
//! `cargo run --release -p docker-sync-tests --bin bench -- [--images N] [--workers W]
//! [--concurrency C] [--layer-kb K] [--runs R]`
//!
//! Each run starts a fresh [`Stack`] (Redis, source and target registries, api, W workers) and
//! pushes N images to its source, then times:
//! 1. a sequential `skopeo copy --all` per image into a second, fresh auth registry (what a
//!    hand-written script does);
//! 2. the same loop again, nothing having changed (skopeo re-pushes every manifest);
//! 3. one job of the N images through the service, from the POST to the job being finished;
//! 4. the same job again, every task expected to be skipped.
//!
//! With several runs each figure is the median over the runs. Failed copies, wrong digests or
//! statuses exit non-zero; a missed target is reported, not an error: this is a benchmark.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Parser;
use docker_sync_tests::{
    build_image, push_layout, require_tool, write_authfile, ImageSpec, OciImage, Registry, Stack,
    StackOptions, TARGET_PASSWORD, TARGET_USER,
};
use serde_json::Value;

/// The tag of every benchmark image.
const TAG: &str = "1";
/// The namespace the stack's target registry maps images under (replace level `skip`).
const NAMESPACE: &str = "mirror";
/// How long one job may take before the benchmark gives up.
const JOB_TIMEOUT: Duration = Duration::from_secs(600);
/// The service's goals, as a fraction of the loop's time.
const FRESH_TARGET: f64 = 1.0;
const RESYNC_TARGET: f64 = 0.10;

#[derive(Parser, Debug)]
#[command(about = "Times docker-image-sync against a sequential `skopeo copy` loop")]
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
}

/// One benchmark image: its repository in the source registry and its built OCI layout.
struct BenchImage {
    repo: String,
    layout: OciImage,
}

/// Seconds of each measurement, one entry per run.
#[derive(Default)]
struct Figures {
    loop_fresh: Vec<f64>,
    loop_unchanged: Vec<f64>,
    service_fresh: Vec<f64>,
    service_resync: Vec<f64>,
    /// The same two jobs as their own record times them (created to finished), free of the
    /// client's polling interval.
    record_fresh: Vec<f64>,
    record_resync: Vec<f64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.images == 0 || args.workers == 0 || args.concurrency == 0 || args.runs == 0 {
        eprintln!("bench: --images, --workers, --concurrency and --runs must be at least 1");
        return ExitCode::from(2);
    }
    eprintln!("building {} images...", args.images);
    let images = build_images(args.images, args.layer_kb * 1024);
    let mut figures = Figures::default();
    for run in 1..=args.runs {
        eprintln!("run {run}/{}", args.runs);
        if let Err(e) = run_once(&args, &images, &mut figures) {
            eprintln!("bench: run {run} failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    print_report(&args, &figures);
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

/// One run of the four measurements, on a fresh stack and a fresh loop target.
fn run_once(args: &Args, images: &[BenchImage], figures: &mut Figures) -> Result<(), String> {
    let stack = Stack::start(StackOptions {
        workers: args.workers,
        concurrency: args.concurrency,
        ..StackOptions::default()
    });
    for image in images {
        push_layout(&stack.source, &image.layout, &image.repo, TAG);
    }
    let loop_target = Registry::start_with_auth(TARGET_USER, TARGET_PASSWORD);

    let secs = skopeo_loop(&stack.source, &loop_target, images)?;
    check_digests("skopeo loop", &loop_target, images)?;
    report("skopeo loop, fresh", secs, &mut figures.loop_fresh);
    let secs = skopeo_loop(&stack.source, &loop_target, images)?;
    check_digests("skopeo loop", &loop_target, images)?;
    report("skopeo loop, unchanged", secs, &mut figures.loop_unchanged);

    let refs: Vec<String> = images
        .iter()
        .map(|i| format!("{}/{}:{TAG}", stack.source.host(), i.repo))
        .collect();
    let (secs, record) = service_job(&stack, &refs, "succeeded")?;
    check_digests("service", &stack.target, images)?;
    report("service, fresh", secs, &mut figures.service_fresh);
    report(
        "service, fresh (job record)",
        record,
        &mut figures.record_fresh,
    );
    let (secs, record) = service_job(&stack, &refs, "skipped")?;
    check_digests("service", &stack.target, images)?;
    report("service, re-sync", secs, &mut figures.service_resync);
    report(
        "service, re-sync (job record)",
        record,
        &mut figures.record_resync,
    );
    Ok(())
}

fn report(what: &str, secs: f64, into: &mut Vec<f64>) {
    eprintln!("  {what}: {secs:.2}s");
    into.push(secs);
}

/// Copies every image, one after the other, as a cron script would; returns the seconds taken.
fn skopeo_loop(source: &Registry, target: &Registry, images: &[BenchImage]) -> Result<f64, String> {
    let skopeo = require_tool("skopeo", "skopeo");
    let (user, password) = target.credentials().expect("the loop target has auth");
    let authfile = write_authfile(&[(target.host().as_str(), user.as_str(), password.as_str())]);
    let start = Instant::now();
    for image in images {
        let src = format!("docker://{}/{}:{TAG}", source.host(), image.repo);
        let dest = format!(
            "docker://{}/{NAMESPACE}/{}:{TAG}",
            target.host(),
            image.repo
        );
        let out = Command::new(&skopeo)
            .args([
                "copy",
                "--all",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
            ])
            .arg("--authfile")
            .arg(authfile.path())
            .args([&src, &dest])
            .output()
            .map_err(|e| format!("cannot run skopeo: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "skopeo copy {src} {dest} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Submits one job of `refs` and waits for it; every task must end `want`. Returns the seconds
/// from before the POST to the job being seen finished, and from the job's `created_at_ms` to
/// its `finished_at_ms`.
fn service_job(stack: &Stack, refs: &[String], want: &str) -> Result<(f64, f64), String> {
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
    let tasks = done["tasks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if tasks.len() != refs.len() {
        return Err(format!(
            "job {id} has {} tasks, expected {}",
            tasks.len(),
            refs.len()
        ));
    }
    if let Some(task) = tasks.iter().find(|t| t["status"] != want) {
        return Err(format!(
            "job {id}: a task is not {want}: {}",
            task_summary(task)
        ));
    }
    let ms = |field: &str| {
        done[field]
            .as_u64()
            .ok_or_else(|| format!("job {id}: no {field}"))
    };
    let record = ms("finished_at_ms")?.saturating_sub(ms("created_at_ms")?) as f64 / 1000.0;
    Ok((secs, record))
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

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    // The middle value, or the mean of the two middle values.
    (v[(v.len() - 1) / 2] + v[v.len() / 2]) / 2.0
}

fn print_report(args: &Args, f: &Figures) {
    let n = args.images;
    println!(
        "docker-image-sync benchmark: {n} images (2 layers x {} KiB, 1 multi-arch), {} workers x {} copies",
        args.layer_kb, args.workers, args.concurrency
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
    println!(
        "{:<28}{:>9}{:>12}{:>10}",
        "", "seconds", "per image", "vs loop"
    );
    let (loop_fresh, loop_unchanged) = (median(&f.loop_fresh), median(&f.loop_unchanged));
    let row = |label: &str, secs: f64, base: f64, target: Option<f64>| {
        let ratio = secs / base;
        let verdict = match target {
            Some(t) if ratio <= t => format!("  (target <= {t:.2}x)  OK"),
            Some(t) => format!("  (target <= {t:.2}x)  MISSED"),
            None => String::new(),
        };
        println!(
            "{label:<28}{secs:>9.2}{:>12.3}{ratio:>9.2}x{verdict}",
            secs / n as f64
        );
    };
    row("skopeo loop, fresh", loop_fresh, loop_fresh, None);
    let service_fresh = median(&f.service_fresh);
    row(
        "service, fresh",
        service_fresh,
        loop_fresh,
        Some(FRESH_TARGET),
    );
    row(
        "skopeo loop, unchanged",
        loop_unchanged,
        loop_unchanged,
        None,
    );
    let resync = median(&f.service_resync);
    row(
        "service, re-sync unchanged",
        resync,
        loop_unchanged,
        Some(RESYNC_TARGET),
    );
    let (record_fresh, record_resync) = (median(&f.record_fresh), median(&f.record_resync));
    println!(
        "job records (created -> finished, no 50 ms polling): fresh {record_fresh:.2} s ({:.2}x), \
         re-sync {record_resync:.2} s ({:.2}x)",
        record_fresh / loop_fresh,
        record_resync / loop_unchanged
    );
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
