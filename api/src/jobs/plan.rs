//! From a sync request to the list of copies it means: every line parsed (a reference, a tag
//! glob like `nginx:1.25*`, or `nginx:@latest=3`), expanded against the tags the source lists,
//! filtered, de-duplicated and mapped to its target name.
//!
//! Listing tags is the only I/O, behind [`ListTags`]; [`assemble`] does everything else without
//! any and is unit-tested here with fixed listings. [`expand`] keeps every line's outcome (the
//! preview shows them all); [`plan`] turns that into the tasks of a job, or refuses the job with
//! every bad line.

use std::collections::HashMap;

use docker_sync_common::bundle::ArchiveFormat;
use docker_sync_common::config::{Config, RegistryType};
use docker_sync_common::image::codes::Issue;
use docker_sync_common::image::mapping::{map_target, MappingError, ReplaceLevel};
use docker_sync_common::image::naming::check_target;
use docker_sync_common::image::selection::{
    parse_selector_lines, parse_selector_list, LineError, Repository, SelectorList,
};
use docker_sync_common::image::{FilterDecision, ImageRef, Platform};
use docker_sync_common::queue::submit::BundleSide;
use docker_sync_common::queue::task::EXPORT_REGISTRY;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::AppError;
use crate::jobs::tags::ListTags;
use crate::limits;

/// Repositories listed at once while expanding one request.
const LISTINGS_AT_ONCE: usize = 4;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    pub images: Images,
    /// Name of a configured registry; leave out (or empty) with `export`.
    #[serde(default)]
    pub target: String,
    /// Write the images into a bundle of archives in the downloads folder instead of a
    /// registry.
    #[serde(default)]
    pub export: Option<ExportRequest>,
    /// `skip` (keep the whole path), `all` (keep only the name) or how many leading parts to drop.
    #[serde(default)]
    #[schema(value_type = String, example = "skip")]
    pub replace_level: ReplaceLevel,
    /// Defaults to the registry's namespace / project / repository.
    #[serde(default)]
    pub namespace: Option<String>,
    /// `os/arch[/variant]`: copy only that platform's image of a multi-arch index. Absent, empty
    /// or `all`: every platform (the whole index).
    #[serde(default)]
    pub platform: Option<String>,
    /// Also copy each image's cosign signatures, attestations and SBOMs (`sha256-<hex>.sig`,
    /// `.att`, `.sbom`) and its OCI 1.1 referrers, each skipped when the target has it.
    #[serde(default)]
    pub with_signatures: bool,
}

/// An export job's archive format. `docker-archive` holds one platform, so it needs the
/// request's `platform`; `oci-archive` keeps every platform of a multi-arch image.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub format: ArchiveFormat,
}

/// The host export jobs' targets are mapped into: the naming rules want one, and `.invalid`
/// can never be a registry. It is cut off again before the target is stored
/// ([`PlannedTask::stored_target`]).
const EXPORT_HOST: &str = "bundle.invalid";

/// Where an import job reads its images: a bundle's archives, one per task.
#[derive(Debug, Clone)]
pub struct Import {
    pub format: ArchiveFormat,
    pub bundle: String,
    /// Per task, in the plan's order: the file, and the digest the target must end up with
    /// (None when the archive cannot keep it).
    pub files: Vec<(String, Option<String>)>,
}

impl Plan {
    /// Where the job's archives are, for the queue.
    pub fn bundle(&self) -> Option<BundleSide<'_>> {
        match (&self.export, &self.import) {
            (Some(format), _) => Some(BundleSide::Export(*format)),
            (None, Some(import)) => Some(BundleSide::Import {
                format: import.format,
                bundle: &import.bundle,
            }),
            (None, None) => None,
        }
    }
}

/// The image list as pasted text (one per line) or as a JSON array.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Images {
    Text(String),
    List(Vec<String>),
}

impl Images {
    /// The list as one text, a line per image: how a job keeps it for "sync again".
    pub fn to_text(&self) -> String {
        match self {
            Images::Text(text) => text.clone(),
            Images::List(list) => list.join("\n"),
        }
    }
}

/// One copy, remembering the input line it came from.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedTask {
    pub line: usize,
    pub source: ImageRef,
    pub target: ImageRef,
}

impl PlannedTask {
    /// The target as the task keeps it: the full reference, or for an export the name below
    /// whatever registry `push.sh` is given (`mirror/nginx:1.25`).
    pub fn stored_target(&self) -> String {
        let full = self.target.to_string();
        match full.strip_prefix(EXPORT_HOST) {
            Some(rest) => rest.trim_start_matches('/').to_owned(),
            None => full,
        }
    }
}

/// An image a line selected that is not copied.
#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub line: usize,
    pub image: String,
    pub reason: String,
    /// The exclude pattern that dropped it, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// What one input line comes to: its copies, what it selected but drops, or why it is bad.
#[derive(Debug, Clone)]
pub struct LinePlan {
    pub line: usize,
    pub input: String,
    pub tasks: Vec<PlannedTask>,
    pub dropped: Vec<Dropped>,
    pub error: Option<Issue>,
}

/// Every line of a request with its outcome, in line order.
#[derive(Debug, Clone)]
pub struct Expanded {
    pub registry: String,
    /// An export job's archive format; None for a registry target.
    pub export: Option<ArchiveFormat>,
    pub namespace: String,
    pub replace_level: ReplaceLevel,
    /// None: every platform.
    pub platform: Option<Platform>,
    pub with_signatures: bool,
    pub lines: Vec<LinePlan>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub registry: String,
    /// An export job's archive format; None for a registry target.
    pub export: Option<ArchiveFormat>,
    /// An import job's bundle and, for each task in order, the file it reads.
    pub import: Option<Import>,
    pub namespace: String,
    pub replace_level: ReplaceLevel,
    /// None: every platform.
    pub platform: Option<Platform>,
    pub with_signatures: bool,
    pub tasks: Vec<PlannedTask>,
    pub dropped: Vec<Dropped>,
}

/// The job a request means, or a 400 naming every bad line (or the unknown target, or an
/// empty result). Tag patterns and `@latest=N` are expanded through `tags`.
pub async fn plan(
    req: &JobRequest,
    config: &Config,
    tags: &impl ListTags,
) -> Result<Plan, AppError> {
    expand(req, config, tags).await?.into_plan()
}

fn parse(req: &JobRequest) -> SelectorList {
    match &req.images {
        Images::Text(text) => parse_selector_list(text),
        Images::List(lines) => parse_selector_lines(lines),
    }
}

/// Every line's outcome; only an unknown target registry or a bad platform is an error here.
pub async fn expand(
    req: &JobRequest,
    config: &Config,
    tags: &impl ListTags,
) -> Result<Expanded, AppError> {
    check_bounds(req)?;
    let platform = Platform::parse_option(req.platform.as_deref())
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (host, namespace) = target_of(req, config)?;
    let parsed = parse(req);
    let listings = list_repositories(&parsed, tags).await;
    Ok(outcome(
        req, config, host, namespace, platform, parsed, &listings,
    ))
}

/// The request's sizes within `crate::limits`, before any line is parsed or any tag listed.
pub fn check_bounds(req: &JobRequest) -> Result<(), AppError> {
    limits::check_opt("namespace", req.namespace.as_deref(), limits::JOB_NAMESPACE)?;
    let lines: Vec<&str> = match &req.images {
        Images::Text(text) => text.lines().collect(),
        Images::List(lines) => lines.iter().flat_map(|l| l.lines()).collect(),
    };
    if lines.len() > limits::IMAGE_LINES {
        return Err(AppError::BadRequest(format!(
            "images has {} lines, at most {}; split the list into several jobs",
            lines.len(),
            limits::IMAGE_LINES
        )));
    }
    for (n, line) in lines.iter().enumerate() {
        limits::check_len(&format!("images line {}", n + 1), line, limits::IMAGE_LINE)?;
    }
    Ok(())
}

fn outcome(
    req: &JobRequest,
    config: &Config,
    host: String,
    namespace: String,
    platform: Option<Platform>,
    parsed: SelectorList,
    listings: &Listings,
) -> Expanded {
    let level = req.replace_level;
    let mut lines = assemble(parsed, listings, config, &host, &namespace, level);
    if let Some(platform) = &platform {
        for line in &mut lines {
            refuse_index_digest_targets(line, platform);
        }
    }
    Expanded {
        registry: match &req.export {
            Some(_) => EXPORT_REGISTRY.to_owned(),
            None => req.target.clone(),
        },
        export: req.export.as_ref().map(|e| e.format),
        namespace,
        replace_level: level,
        platform,
        with_signatures: req.with_signatures,
        lines,
    }
}

/// An image pinned by digest only is pushed under that digest, which one platform's manifest
/// cannot have when the digest is an index's: such a line needs a tag with one platform.
fn refuse_index_digest_targets(line: &mut LinePlan, platform: &Platform) {
    for task in &line.tasks {
        if let (None, Some(digest)) = (task.target.tag(), task.target.digest()) {
            line.error.get_or_insert_with(|| {
                let message = format!(
                    "`{}` is pinned by digest only, so its target would be `@{digest}`: a copy of \
                     {platform} alone cannot keep the digest of a multi-arch index; add a tag \
                     (`name:tag@sha256:...`) or copy all platforms",
                    task.source.familiar()
                );
                let params = json!({ "image": task.source.familiar(), "digest": digest, "platform": platform.to_string() });
                Issue::new("platform_digest_only", params, message)
            });
        }
    }
}

/// The target registry's host and the namespace images go under.
fn target_of(req: &JobRequest, config: &Config) -> Result<(String, String), AppError> {
    if let Some(export) = &req.export {
        return export_target(req, export);
    }
    if req.target.is_empty() {
        return Err(AppError::BadRequest(
            "give `target` (a configured registry's name) or `export` (write a bundle)".into(),
        ));
    }
    let registry = config.registries.get(&req.target).ok_or_else(|| {
        if let Some(reason) = config.unusable.get(&req.target) {
            return AppError::BadRequest(format!(
                "target registry `{}` cannot be used: {reason}",
                req.target
            ));
        }
        let known: Vec<&str> = config.registries.keys().map(String::as_str).collect();
        AppError::BadRequest(format!(
            "unknown target registry `{}`; configured: {}",
            req.target,
            known.join(", ")
        ))
    })?;
    let namespace = req
        .namespace
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .or(registry.namespace.as_deref())
        .unwrap_or("")
        .trim_matches('/')
        .to_owned();
    // Checked once here: a bad namespace is the field's error, not every line's.
    if !namespace.is_empty() {
        let probe = ImageRef::parse("x").expect("a valid reference");
        let mapped = map_target(&probe, &registry.host, &namespace, ReplaceLevel::Skip);
        if let Err(e @ MappingError::InvalidNamespace { .. }) = mapped {
            return Err(AppError::Invalid {
                issue: Issue::of(&e),
                field: Some("namespace"),
            });
        }
    }
    Ok((registry.host.clone(), namespace))
}

/// An export's namespace (the request's, or none) checked like a registry's.
fn export_target(req: &JobRequest, export: &ExportRequest) -> Result<(String, String), AppError> {
    if !req.target.is_empty() {
        return Err(AppError::BadRequest(format!(
            "give either `target` or `export`, not both (target `{}`)",
            req.target
        )));
    }
    if req.with_signatures {
        return Err(AppError::Invalid {
            issue: Issue::new(
                "export_without_signatures",
                json!({ "format": export.format.as_str() }),
                "`with_signatures` copies signatures into a registry; a bundle holds the                  images only: leave it out, or sync to a registry"
                    .to_owned(),
            ),
            field: Some("with_signatures"),
        });
    }
    let platform = Platform::parse_option(req.platform.as_deref())
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    if !export.format.holds_every_platform() && platform.is_none() {
        return Err(AppError::Invalid {
            issue: Issue::new(
                "export_needs_platform",
                json!({ "format": export.format.as_str() }),
                format!(
                    "a {} holds one platform: give `platform` (e.g. linux/amd64), or export \
                     to oci-archive, which keeps every platform",
                    export.format.as_str()
                ),
            ),
            field: Some("platform"),
        });
    }
    let namespace = req
        .namespace
        .as_deref()
        .map(str::trim)
        .unwrap_or("")
        .trim_matches('/')
        .to_owned();
    if !namespace.is_empty() {
        let probe = ImageRef::parse("x").expect("a valid reference");
        if let Err(e @ MappingError::InvalidNamespace { .. }) =
            map_target(&probe, EXPORT_HOST, &namespace, ReplaceLevel::Skip)
        {
            return Err(AppError::Invalid {
                issue: Issue::of(&e),
                field: Some("namespace"),
            });
        }
    }
    Ok((EXPORT_HOST.to_owned(), namespace))
}

/// Tag listings by repository name (`registry/path`), each repository listed once.
pub type Listings = HashMap<String, Result<Vec<String>, String>>;

async fn list_repositories(parsed: &SelectorList, tags: &impl ListTags) -> Listings {
    let mut repositories: Vec<Repository> = Vec::new();
    for listed in &parsed.selectors {
        if let Some(repo) = listed.selector.repository() {
            if !repositories.iter().any(|r| r.name() == repo.name()) {
                repositories.push(repo.clone());
            }
        }
    }
    // Owned repositories: a closure over borrowed ones makes the handler's future not `Send`
    // for every lifetime (rust-lang/rust#102211).
    futures::stream::iter(repositories)
        .map(|repo| async move {
            let tags = tags.list_tags(&repo).await;
            (repo.name(), tags)
        })
        .buffer_unordered(LISTINGS_AT_ONCE)
        .collect()
        .await
}

/// Expands, filters, de-duplicates and maps every line. Pure: the tags come in `listings`.
pub fn assemble(
    parsed: SelectorList,
    listings: &Listings,
    config: &Config,
    host: &str,
    namespace: &str,
    level: ReplaceLevel,
) -> Vec<LinePlan> {
    let mut lines: Vec<LinePlan> = parsed
        .errors
        .into_iter()
        .map(|e| LinePlan {
            line: e.line,
            input: e.input,
            tasks: Vec::new(),
            dropped: Vec::new(),
            error: Some(Issue {
                code: e.code,
                params: e.params,
                message: e.message,
            }),
        })
        .collect();
    // The target registry's type, for its naming rules (ACR: exactly namespace/repo, ...).
    let kind = config
        .registry_for_host(host)
        .map_or(RegistryType::Generic, |(_, r)| r.kind);
    // Canonical source -> the line that copies it first.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for listed in parsed.selectors {
        let line = listed.line;
        let mut out = LinePlan {
            line,
            input: listed.input,
            tasks: Vec::new(),
            dropped: Vec::new(),
            error: None,
        };
        let tags: &[String] = match listed.selector.repository() {
            None => &[],
            Some(repo) => match listings.get(&repo.name()) {
                Some(Ok(tags)) => tags,
                Some(Err(message)) => {
                    let params = json!({ "repository": repo.to_string(), "error": message });
                    out.error = Some(Issue::new("tags_list_failed", params, message.clone()));
                    lines.push(out);
                    continue;
                }
                None => {
                    let message = format!("the tags of `{repo}` were not listed");
                    let params = json!({ "repository": repo.to_string() });
                    out.error = Some(Issue::new("tags_not_listed", params, message));
                    lines.push(out);
                    continue;
                }
            },
        };
        let expansion = match listed.selector.expand(tags, &config.filter) {
            Ok(e) => e,
            Err(e) => {
                out.error = Some(Issue::of(&e));
                lines.push(out);
                continue;
            }
        };
        for rejected in expansion.dropped {
            let (reason, pattern) = match rejected.decision {
                FilterDecision::Excluded { pattern } => {
                    (format!("excluded by pattern {pattern}"), Some(pattern))
                }
                FilterDecision::NotIncluded => ("matches no include pattern".to_owned(), None),
                FilterDecision::Allowed => continue,
            };
            out.dropped.push(Dropped {
                line,
                image: rejected.image.to_string(),
                reason,
                pattern,
            });
        }
        for image in expansion.images {
            let key = image.to_string();
            if let Some(first) = seen.get(&key) {
                out.dropped.push(Dropped {
                    line,
                    image: key,
                    reason: format!("duplicate of line {first}"),
                    pattern: None,
                });
                continue;
            }
            let mapped = map_target(&image, host, namespace, level)
                .map_err(|e| Issue::of(&e))
                .and_then(|target| {
                    check_target(kind, &target, namespace, &image, level)
                        .map(|()| target)
                        .map_err(|e| Issue::of(&e))
                });
            match mapped {
                Ok(target) => {
                    seen.insert(key, line);
                    out.tasks.push(PlannedTask {
                        line,
                        source: image,
                        target,
                    });
                }
                Err(e) => {
                    out.error.get_or_insert(e);
                }
            }
        }
        lines.push(out);
    }
    lines.sort_by_key(|l| l.line);
    lines
}

impl Expanded {
    /// The job: every task in line order, or a 400 naming every bad line.
    pub fn into_plan(self) -> Result<Plan, AppError> {
        let mut errors = Vec::new();
        let mut tasks = Vec::new();
        let mut dropped = Vec::new();
        for line in self.lines {
            if let Some(issue) = line.error {
                errors.push(LineError {
                    line: line.line,
                    input: line.input,
                    message: issue.message,
                    code: issue.code,
                    params: issue.params,
                });
            }
            tasks.extend(line.tasks);
            dropped.extend(line.dropped);
        }
        if !errors.is_empty() {
            return Err(AppError::InvalidLines(errors));
        }
        if tasks.is_empty() {
            return Err(AppError::BadRequest(if dropped.is_empty() {
                "the image list is empty".into()
            } else {
                "every image of the list was dropped by the filters".into()
            }));
        }
        Ok(Plan {
            registry: self.registry,
            export: self.export,
            import: None,
            namespace: self.namespace,
            replace_level: self.replace_level,
            platform: self.platform,
            with_signatures: self.with_signatures,
            tasks,
            dropped,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn config() -> Config {
        Config::parse(
            "registries:\n  harbor:\n    url: harbor.example.com\n    project: mirror\n\
             image_filters:\n  exclude_patterns: ['*:debug', '*-debug']\n",
            Path::new("r.yaml"),
            false,
        )
        .unwrap()
    }

    fn request(images: &str) -> JobRequest {
        JobRequest {
            images: Images::Text(images.into()),
            target: "harbor".into(),
            export: None,
            replace_level: ReplaceLevel::Skip,
            namespace: None,
            platform: None,
            with_signatures: false,
        }
    }

    /// Fixed listings by repository name; counts the listings asked for.
    #[derive(Default)]
    struct Fake {
        repos: HashMap<String, Result<Vec<String>, String>>,
        calls: AtomicUsize,
    }

    impl Fake {
        fn with(mut self, repo: &str, tags: &[&str]) -> Self {
            let tags = tags.iter().map(|t| (*t).to_owned()).collect();
            self.repos.insert(repo.to_owned(), Ok(tags));
            self
        }

        fn failing(mut self, repo: &str, message: &str) -> Self {
            self.repos.insert(repo.to_owned(), Err(message.to_owned()));
            self
        }
    }

    impl ListTags for Fake {
        async fn list_tags(&self, repository: &Repository) -> Result<Vec<String>, String> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.repos
                .get(&repository.name())
                .cloned()
                .unwrap_or_else(|| Err(format!("no such repository {}", repository.name())))
        }
    }

    const REPO: &str = "src.io:5000/team/app";
    const TAGS: [&str; 8] = [
        "1.24.0",
        "1.25.0",
        "1.25.1",
        "1.25.2-rc1",
        "1.26.0",
        "latest",
        "1.25-debug",
        "debug",
    ];

    fn fake() -> Fake {
        Fake::default().with(REPO, &TAGS)
    }

    fn sources(tasks: &[PlannedTask]) -> Vec<String> {
        tasks.iter().map(|t| t.source.familiar()).collect()
    }

    #[tokio::test]
    async fn maps_every_line_to_the_registry_namespace() {
        let tags = Fake::default();
        let p = plan(
            &request("nginx:1.25\n# comment\n\ngcr.io/a/b/c:1\n"),
            &config(),
            &tags,
        )
        .await
        .unwrap();
        let targets: Vec<String> = p.tasks.iter().map(|t| t.target.to_string()).collect();
        assert_eq!(
            targets,
            [
                "harbor.example.com/mirror/library/nginx:1.25",
                "harbor.example.com/mirror/a/b/c:1"
            ]
        );
        assert_eq!(p.tasks[1].line, 4);
        assert_eq!(
            tags.calls.load(Ordering::SeqCst),
            0,
            "plain images list nothing"
        );
    }

    #[tokio::test]
    async fn every_bad_line_is_reported_with_its_number() {
        let Err(AppError::InvalidLines(errors)) = plan(
            &request("nginx\nNginx:1\nok:1\nbad tag!\nok:@latest=0\n"),
            &config(),
            &fake(),
        )
        .await
        else {
            panic!("expected line errors");
        };
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 5]);
        assert!(
            errors[0].message.contains("lowercase"),
            "{}",
            errors[0].message
        );
        assert!(errors[2].message.starts_with("invalid count \"0\""));
    }

    #[tokio::test]
    async fn filtered_and_duplicate_lines_are_dropped_with_a_reason() {
        let p = plan(
            &request("nginx:debug\nnginx:1\nnginx:1\n"),
            &config(),
            &fake(),
        )
        .await
        .unwrap();
        assert_eq!(p.tasks.len(), 1);
        assert_eq!(p.dropped[0].reason, "excluded by pattern *:debug");
        assert_eq!(p.dropped[0].pattern.as_deref(), Some("*:debug"));
        assert_eq!(p.dropped[1].reason, "duplicate of line 2");
        assert_eq!(p.dropped[1].pattern, None);
    }

    #[tokio::test]
    async fn a_target_breaking_the_registry_type_naming_rule_is_refused() {
        let config = Config::parse(
            "registries:\n  acr:\n    type: acr\n    url: registry.cn-hangzhou.aliyuncs.com\n    \
             namespace: ns\n",
            std::path::Path::new("registries.yaml"),
            false,
        )
        .unwrap();
        let mut r = request("nginx:1.25\n");
        r.target = "acr".into();
        let Err(AppError::InvalidLines(errors)) = plan(&r, &config, &fake()).await else {
            panic!("expected line errors");
        };
        assert_eq!(
            errors[0].message,
            "Alibaba Cloud ACR takes exactly namespace/repository; `ns/library/nginx` has 3 \
             parts; replacement level `all` gives `ns/nginx`"
        );
        r.replace_level = ReplaceLevel::All;
        assert!(plan(&r, &config, &fake()).await.is_ok());
    }

    #[tokio::test]
    async fn an_unknown_target_is_refused() {
        let mut r = request("nginx");
        r.target = "nope".into();
        let Err(AppError::BadRequest(m)) = plan(&r, &config(), &fake()).await else {
            panic!("expected a bad request");
        };
        assert!(m.contains("nope") && m.contains("harbor"), "{m}");
    }

    #[tokio::test]
    async fn a_bad_namespace_is_the_fields_error_once_not_every_lines() {
        let mut r = request("nginx\nsrc.io:5000/team/app:1.26*");
        r.namespace = Some("Bad NS".into());
        let Err(AppError::Invalid { issue, field }) = plan(&r, &config(), &fake()).await else {
            panic!("expected the namespace's error");
        };
        assert_eq!(
            (issue.code.as_str(), field),
            ("namespace_invalid", Some("namespace"))
        );
    }

    #[tokio::test]
    async fn a_glob_becomes_one_task_per_matching_tag() {
        let p = plan(&request(&format!("# x\n{REPO}:1.25*")), &config(), &fake())
            .await
            .unwrap();
        assert_eq!(
            sources(&p.tasks),
            [
                "src.io:5000/team/app:1.25.0",
                "src.io:5000/team/app:1.25.1",
                "src.io:5000/team/app:1.25.2-rc1"
            ]
        );
        assert!(p.tasks.iter().all(|t| t.line == 2));
        assert_eq!(
            p.tasks[0].target.to_string(),
            "harbor.example.com/mirror/team/app:1.25.0"
        );
        assert_eq!(p.dropped.len(), 1);
        assert_eq!(p.dropped[0].image, "src.io:5000/team/app:1.25-debug");
        assert_eq!(p.dropped[0].pattern.as_deref(), Some("*-debug"));
    }

    #[tokio::test]
    async fn latest_picks_the_highest_releases_and_overlaps_are_duplicates() {
        let tags = fake();
        let text = format!("{REPO}:1.25*\n{REPO}:@latest=2\n{REPO}:1.26.0\n");
        let expanded = expand(&request(&text), &config(), &tags).await.unwrap();
        assert_eq!(
            tags.calls.load(Ordering::SeqCst),
            1,
            "one listing per repository"
        );
        let line2 = &expanded.lines[1];
        assert_eq!(sources(&line2.tasks), ["src.io:5000/team/app:1.26.0"]);
        assert_eq!(line2.dropped[0].image, "src.io:5000/team/app:1.25.1");
        assert_eq!(line2.dropped[0].reason, "duplicate of line 1");
        let line3 = &expanded.lines[2];
        assert!(line3.tasks.is_empty());
        assert_eq!(line3.dropped[0].reason, "duplicate of line 2");
        let p = expanded.into_plan().unwrap();
        assert_eq!(p.tasks.len(), 4);
    }

    #[tokio::test]
    async fn a_listing_failure_is_that_line_error_only() {
        let tags = fake().failing("gcr.io/a/b", "cannot list the tags: boom");
        let text = format!("gcr.io/a/b:1.*\n{REPO}:@latest=1\ngcr.io/a/b:@latest=2\nnginx:1");
        let expanded = expand(&request(&text), &config(), &tags).await.unwrap();
        let errors: Vec<_> = expanded
            .lines
            .iter()
            .map(|l| {
                (
                    l.line,
                    l.error.as_ref().map(|e| e.message.as_str()),
                    l.tasks.len(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            [
                (1, Some("cannot list the tags: boom"), 0),
                (2, None, 1),
                (3, Some("cannot list the tags: boom"), 0),
                (4, None, 1)
            ]
        );
        let Err(AppError::InvalidLines(errors)) = expanded.into_plan() else {
            panic!("expected line errors");
        };
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(errors[0].input, "gcr.io/a/b:1.*");
    }

    #[tokio::test]
    async fn a_glob_matching_nothing_is_an_error() {
        let Err(AppError::InvalidLines(errors)) =
            plan(&request(&format!("{REPO}:9.*")), &config(), &fake()).await
        else {
            panic!("expected line errors");
        };
        assert_eq!(
            errors[0].message,
            "no tag of `src.io:5000/team/app` matches `9.*` (8 tags listed)"
        );
    }

    #[tokio::test]
    async fn signatures_are_carried_to_the_plan_and_refused_for_a_bundle() {
        let mut r = request("nginx:1.25");
        assert!(!plan(&r, &config(), &fake()).await.unwrap().with_signatures);
        r.with_signatures = true;
        assert!(plan(&r, &config(), &fake()).await.unwrap().with_signatures);
        r.target = String::new();
        r.export = Some(ExportRequest {
            format: ArchiveFormat::OciArchive,
        });
        let Err(AppError::Invalid { issue, field }) = plan(&r, &config(), &fake()).await else {
            panic!("an export with signatures is refused");
        };
        assert_eq!(
            (issue.code.as_str(), field),
            ("export_without_signatures", Some("with_signatures"))
        );
    }

    #[tokio::test]
    async fn a_platform_is_checked_and_carried_to_the_plan() {
        let mut r = request("nginx:1.25");
        for all in [None, Some(""), Some("all")] {
            r.platform = all.map(str::to_owned);
            let p = plan(&r, &config(), &fake()).await.unwrap();
            assert_eq!(p.platform, None, "{all:?}");
        }
        r.platform = Some("linux/ARM64/v8".into());
        let p = plan(&r, &config(), &fake()).await.unwrap();
        assert_eq!(p.platform.unwrap().to_string(), "linux/arm64/v8");

        r.platform = Some("arm64".into());
        let Err(AppError::BadRequest(m)) = plan(&r, &config(), &fake()).await else {
            panic!("expected a bad request");
        };
        assert!(m.starts_with("invalid platform `arm64`: "), "{m}");
        assert!(m.contains("expected os/arch or os/arch/variant"), "{m}");
        // The preview refuses it the same way.
        assert!(matches!(
            expand(&r, &config(), &fake()).await,
            Err(AppError::BadRequest(_))
        ));
    }

    #[tokio::test]
    async fn one_platform_needs_a_tag_on_an_image_pinned_by_digest() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let mut r = request(&format!("nginx@{digest}\nnginx:1@{digest}"));
        assert!(plan(&r, &config(), &fake()).await.is_ok());
        r.platform = Some("linux/amd64".into());
        let Err(AppError::InvalidLines(errors)) = plan(&r, &config(), &fake()).await else {
            panic!("expected line errors");
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 1);
        assert!(
            errors[0].message.contains("add a tag") && errors[0].message.contains("linux/amd64"),
            "{}",
            errors[0].message
        );
    }

    #[tokio::test]
    async fn a_glob_whose_tags_are_all_excluded_drops_the_job() {
        let Err(AppError::BadRequest(m)) =
            plan(&request(&format!("{REPO}:*debug")), &config(), &fake()).await
        else {
            panic!("expected a bad request");
        };
        assert_eq!(m, "every image of the list was dropped by the filters");
    }
}
