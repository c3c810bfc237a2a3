//! A task: one image of a job. What travels on the task stream ([`TaskMessage`]), the task
//! hash's fields ([`TaskField`], read back as [`TaskRecord`]) and the states a task goes through.
//!
//! A stream entry names registries, never credentials: a worker looks the credentials up in its
//! own configuration, so `XRANGE` shows nothing secret.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::bundle::ArchiveFormat;
use crate::image::Platform;

use super::fields::{num, opt_num, opt_text, text};

/// One image to copy, as written to the task stream (fields `task`, `job`, `source`, `target`,
/// `registry`, `platform` when the job copies one platform, `signatures` = `1` when it also
/// copies the image's signatures and referrers, and `export` or `import` with `bundle` and
/// `file` when one side is an archive in the downloads folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub task: String,
    pub job: String,
    /// Full source reference, e.g. `docker.io/library/nginx:1.25`.
    pub source: String,
    /// Full target reference, e.g. `harbor.example.com/library/nginx:1.25`.
    pub target: String,
    /// Name of the target registry in the configuration.
    pub registry: String,
    /// Copy only this platform's image out of a multi-arch index (field `platform`, written only
    /// when set); None copies every platform.
    pub platform: Option<Platform>,
    /// Also copy the image's cosign tags and OCI referrers (field `signatures` = `1`, written
    /// only when asked).
    pub signatures: bool,
    /// One side is a bundle's archive instead of a registry.
    pub archive: Option<ArchiveLeg>,
}

/// The stream entry's field that asks for signatures and referrers too.
const SIGNATURES_FIELD: &str = "signatures";

/// Which side of a copy is an archive file, `<downloads>/<bundle>/<file>`.
///
/// An export reads `source` from its registry and writes the file; `target` is then the name
/// below a registry that `push.sh` gives it (`mirror/nginx:1.25`, no host) and `registry` is
/// [`EXPORT_REGISTRY`]. An import reads the file and pushes it to `target` in `registry`;
/// `source` is the image the bundle was exported from, shown but not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveLeg {
    pub direction: Direction,
    pub format: ArchiveFormat,
    /// The bundle's folder name and the file's name in it, both [`crate::bundle::SafeName`]s.
    pub bundle: String,
    pub file: String,
    /// The manifest digest the bundle's manifest.json records for the file (imports), which the
    /// target must end up with.
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Export,
    Import,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Export => "export",
            Direction::Import => "import",
        }
    }
}

/// The `registry` of an export job and its tasks: not a valid registry name (those have no
/// `@`), so it can never be mistaken for one, and it labels exports in the statistics.
pub const EXPORT_REGISTRY: &str = "@bundle";

/// A stream entry that cannot be a task.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FieldError {
    #[error("task stream entry has no field `{0}`")]
    Missing(&'static str),
    #[error("task stream entry field `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl TaskMessage {
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("task", self.task.clone()),
            ("job", self.job.clone()),
            ("source", self.source.clone()),
            ("target", self.target.clone()),
            ("registry", self.registry.clone()),
        ];
        if let Some(platform) = &self.platform {
            fields.push(("platform", platform.to_string()));
        }
        if self.signatures {
            fields.push((SIGNATURES_FIELD, "1".to_owned()));
        }
        if let Some(leg) = &self.archive {
            fields.push((leg.direction.as_str(), leg.format.as_str().to_owned()));
            fields.push(("bundle", leg.bundle.clone()));
            fields.push(("file", leg.file.clone()));
            if let Some(digest) = &leg.digest {
                fields.push(("digest", digest.clone()));
            }
        }
        fields
    }

    pub fn from_fields(fields: &HashMap<String, String>) -> Result<Self, FieldError> {
        let get = |name: &'static str| fields.get(name).cloned().ok_or(FieldError::Missing(name));
        let platform =
            Platform::parse_option(fields.get("platform").map(String::as_str)).map_err(|e| {
                FieldError::Invalid {
                    field: "platform",
                    message: e.to_string(),
                }
            })?;
        Ok(Self {
            task: get("task")?,
            job: get("job")?,
            source: get("source")?,
            target: get("target")?,
            registry: get("registry")?,
            platform,
            signatures: match fields.get(SIGNATURES_FIELD).map(String::as_str) {
                None | Some("0") => false,
                Some("1") => true,
                Some(other) => {
                    return Err(FieldError::Invalid {
                        field: SIGNATURES_FIELD,
                        message: format!("`{other}` is neither 1 nor 0"),
                    })
                }
            },
            archive: archive_leg(fields)?,
        })
    }
}

fn archive_leg(fields: &HashMap<String, String>) -> Result<Option<ArchiveLeg>, FieldError> {
    let (direction, name, format) = match (fields.get("export"), fields.get("import")) {
        (None, None) => return Ok(None),
        (Some(f), None) => (Direction::Export, "export", f),
        (None, Some(f)) => (Direction::Import, "import", f),
        (Some(_), Some(_)) => {
            return Err(FieldError::Invalid {
                field: "import",
                message: "a task cannot both export and import".into(),
            })
        }
    };
    let format = ArchiveFormat::parse(format).ok_or_else(|| FieldError::Invalid {
        field: name,
        message: format!("`{format}` is not docker-archive or oci-archive"),
    })?;
    let safe = |field: &'static str| -> Result<String, FieldError> {
        let value = fields.get(field).ok_or(FieldError::Missing(field))?;
        crate::bundle::SafeName::parse(value)
            .map(|n| n.as_str().to_owned())
            .map_err(|e| FieldError::Invalid {
                field,
                message: e.to_string(),
            })
    };
    Ok(Some(ArchiveLeg {
        direction,
        format,
        bundle: safe("bundle")?,
        file: safe("file")?,
        digest: fields.get("digest").cloned(),
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Queued,
    Running,
    Succeeded,
    Skipped,
    Failed,
    /// An operator cancelled the job before the task ended.
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 6] = [
        TaskStatus::Queued,
        TaskStatus::Running,
        TaskStatus::Succeeded,
        TaskStatus::Skipped,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Skipped => "skipped",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded
                | TaskStatus::Skipped
                | TaskStatus::Failed
                | TaskStatus::Cancelled
        )
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown task status `{0}`")]
pub struct UnknownStatus(String);

impl FromStr for TaskStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// The task hash's fields (`<prefix>:task:<id>`). The api writes the first ones when it queues
/// the task; the workers' script and the worker's updates write the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskField {
    Id,
    Job,
    /// Position in the submitted list.
    Index,
    /// Line of the submitted image list the task came from.
    Line,
    Source,
    Target,
    Status,
    /// Copy attempts so far, over every delivery.
    Attempts,
    CreatedAtMs,
    /// The consumer running it; empty when none is.
    Worker,
    /// How often the stream entry was delivered, as of the last start.
    Deliveries,
    StartedAtMs,
    FinishedAtMs,
    Error,
    /// skopeo's last output lines of a failed copy.
    OutputTail,
    Digest,
    BlobsDone,
    ImagesDone,
    ImagesTotal,
    /// Why the worker holds the task (the source's pull limit), and until when at most.
    Waiting,
    WaitingUntilMs,
    /// Why the target's digest was not compared before copying.
    Unchecked,
    /// A failure's kind as a stable code (`manifest_unknown`, `unauthorized`, ...), for the
    /// UI's languages; absent when the error is not one we recognise.
    ErrorCode,
    /// The id of the task's entry in the task stream, so a cancel can delete it unread.
    Entry,
    /// Signatures and referrers copied, and found at the target already (written only when the
    /// job asked for them).
    RelatedCopied,
    RelatedSkipped,
    /// An export's archive in its bundle folder, once written: name, bytes, hex SHA-256.
    File,
    Size,
    Sha256,
}

impl TaskField {
    pub const ALL: [TaskField; 29] = [
        TaskField::Id,
        TaskField::Job,
        TaskField::Index,
        TaskField::Line,
        TaskField::Source,
        TaskField::Target,
        TaskField::Status,
        TaskField::Attempts,
        TaskField::CreatedAtMs,
        TaskField::Worker,
        TaskField::Deliveries,
        TaskField::StartedAtMs,
        TaskField::FinishedAtMs,
        TaskField::Error,
        TaskField::OutputTail,
        TaskField::Digest,
        TaskField::BlobsDone,
        TaskField::ImagesDone,
        TaskField::ImagesTotal,
        TaskField::Waiting,
        TaskField::WaitingUntilMs,
        TaskField::Unchecked,
        TaskField::ErrorCode,
        TaskField::Entry,
        TaskField::RelatedCopied,
        TaskField::RelatedSkipped,
        TaskField::File,
        TaskField::Size,
        TaskField::Sha256,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            TaskField::Id => "id",
            TaskField::Job => "job",
            TaskField::Index => "index",
            TaskField::Line => "line",
            TaskField::Source => "source",
            TaskField::Target => "target",
            TaskField::Status => "status",
            TaskField::Attempts => "attempts",
            TaskField::CreatedAtMs => "created_at_ms",
            TaskField::Worker => "worker",
            TaskField::Deliveries => "deliveries",
            TaskField::StartedAtMs => "started_at_ms",
            TaskField::FinishedAtMs => "finished_at_ms",
            TaskField::Error => "error",
            TaskField::OutputTail => "output_tail",
            TaskField::Digest => "digest",
            TaskField::BlobsDone => "blobs_done",
            TaskField::ImagesDone => "images_done",
            TaskField::ImagesTotal => "images_total",
            TaskField::Waiting => "waiting",
            TaskField::WaitingUntilMs => "waiting_until_ms",
            TaskField::Unchecked => "unchecked",
            TaskField::ErrorCode => "error_code",
            TaskField::Entry => "entry",
            TaskField::RelatedCopied => "related_copied",
            TaskField::RelatedSkipped => "related_skipped",
            TaskField::File => "file",
            TaskField::Size => "size",
            TaskField::Sha256 => "sha256",
        }
    }

    pub fn is_known(name: &str) -> bool {
        TaskField::ALL.iter().any(|f| f.as_str() == name)
    }
}

impl AsRef<str> for TaskField {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// A task hash as read back; also what `GET /api/jobs/{id}` shows of each task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskRecord {
    pub id: String,
    pub index: u32,
    pub line: u32,
    pub source: String,
    pub target: String,
    pub status: TaskStatus,
    pub attempts: u32,
    pub error: Option<String>,
    /// skopeo's last output lines (field `output_tail`).
    pub output: Option<String>,
    pub digest: Option<String>,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    pub blobs_done: u32,
    pub images_done: u32,
    pub images_total: Option<u32>,
    /// Why a worker holds this running task, and until when at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_until_ms: Option<u64>,
    /// Why the target's digest was not compared before copying (the check could not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unchecked: Option<String>,
    /// A failure's kind as a stable code (`manifest_unknown`), when recognised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// With signatures: how many of the image's cosign tags and referrers this task copied;
    /// absent when the job did not ask for them (or the task has not got that far).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_copied: Option<u32>,
    /// With signatures: how many of them the target had already with the same digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_skipped: Option<u32>,
    /// An export's archive in the bundle, once written: its name, bytes and hex SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl TaskRecord {
    /// None for an empty hash (the task expired).
    pub fn from_hash(f: &HashMap<String, String>) -> Option<TaskRecord> {
        if f.is_empty() {
            return None;
        }
        let status = f
            .get(TaskField::Status.as_str())
            .and_then(|s| s.parse().ok())
            .unwrap_or(TaskStatus::Queued);
        // A hold is only news while the task runs; a later delivery's start clears it anyway.
        let running = status == TaskStatus::Running;
        Some(TaskRecord {
            id: text(f, TaskField::Id),
            index: num(f, TaskField::Index),
            line: num(f, TaskField::Line),
            source: text(f, TaskField::Source),
            target: text(f, TaskField::Target),
            status,
            attempts: num(f, TaskField::Attempts),
            error: opt_text(f, TaskField::Error),
            output: opt_text(f, TaskField::OutputTail),
            digest: opt_text(f, TaskField::Digest),
            started_at_ms: opt_num(f, TaskField::StartedAtMs),
            finished_at_ms: opt_num(f, TaskField::FinishedAtMs),
            blobs_done: num(f, TaskField::BlobsDone),
            images_done: num(f, TaskField::ImagesDone),
            images_total: opt_num(f, TaskField::ImagesTotal),
            waiting: opt_text(f, TaskField::Waiting).filter(|_| running),
            waiting_until_ms: opt_num(f, TaskField::WaitingUntilMs).filter(|_| running),
            unchecked: opt_text(f, TaskField::Unchecked),
            error_code: opt_text(f, TaskField::ErrorCode),
            related_copied: opt_num(f, TaskField::RelatedCopied),
            related_skipped: opt_num(f, TaskField::RelatedSkipped),
            file: opt_text(f, TaskField::File),
            size: opt_num(f, TaskField::Size),
            sha256: opt_text(f, TaskField::Sha256),
        })
    }

    /// A task just queued, as the api shows it before any worker touched it.
    pub fn queued(id: String, index: u32, line: u32, message: &TaskMessage) -> TaskRecord {
        TaskRecord {
            id,
            index,
            line,
            source: message.source.clone(),
            target: message.target.clone(),
            status: TaskStatus::Queued,
            attempts: 0,
            error: None,
            output: None,
            digest: None,
            started_at_ms: None,
            finished_at_ms: None,
            blobs_done: 0,
            images_done: 0,
            images_total: None,
            waiting: None,
            waiting_until_ms: None,
            unchecked: None,
            error_code: None,
            related_copied: None,
            related_skipped: None,
            file: None,
            size: None,
            sha256: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_round_trips_through_stream_fields() {
        let m = TaskMessage {
            task: "t".into(),
            job: "j".into(),
            source: "docker.io/library/nginx:1".into(),
            target: "h/ns/nginx:1".into(),
            registry: "harbor".into(),
            platform: None,
            signatures: false,
            archive: None,
        };
        let fields = |m: &TaskMessage| -> HashMap<String, String> {
            m.to_fields()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        };
        let map = fields(&m);
        assert!(!map.contains_key("platform"), "absent means every platform");
        assert_eq!(map.len(), 5);
        assert_eq!(TaskMessage::from_fields(&map).unwrap(), m);
        let mut partial = map.clone();
        partial.remove("registry");
        assert_eq!(
            TaskMessage::from_fields(&partial),
            Err(FieldError::Missing("registry"))
        );

        let one = TaskMessage {
            platform: Some("linux/arm64/v8".parse().unwrap()),
            ..m.clone()
        };
        let map = fields(&one);
        assert_eq!(map["platform"], "linux/arm64/v8");
        assert_eq!(TaskMessage::from_fields(&map).unwrap(), one);
        let mut bad = map.clone();
        bad.insert("platform".into(), "arm64".into());
        assert!(matches!(
            TaskMessage::from_fields(&bad),
            Err(FieldError::Invalid {
                field: "platform",
                ..
            })
        ));
        let mut all = map;
        all.insert("platform".into(), "all".into());
        assert_eq!(TaskMessage::from_fields(&all).unwrap(), m);
    }

    #[test]
    fn signatures_travel_only_when_asked() {
        let m = TaskMessage {
            task: "t".into(),
            job: "j".into(),
            source: "docker.io/library/nginx:1".into(),
            target: "h/ns/nginx:1".into(),
            registry: "harbor".into(),
            platform: None,
            signatures: true,
            archive: None,
        };
        let mut map: HashMap<String, String> = m
            .to_fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(map["signatures"], "1");
        assert_eq!(TaskMessage::from_fields(&map).unwrap(), m);
        map.insert("signatures".into(), "yes".into());
        assert_eq!(
            TaskMessage::from_fields(&map),
            Err(FieldError::Invalid {
                field: "signatures",
                message: "`yes` is neither 1 nor 0".into()
            })
        );
        map.remove("signatures");
        assert!(!TaskMessage::from_fields(&map).unwrap().signatures);
    }

    #[test]
    fn an_archive_side_round_trips_and_its_names_are_checked() {
        let export = TaskMessage {
            task: "t".into(),
            job: "j".into(),
            source: "docker.io/library/nginx:1".into(),
            target: "mirror/nginx:1".into(),
            registry: EXPORT_REGISTRY.into(),
            platform: None,
            signatures: false,
            archive: Some(ArchiveLeg {
                direction: Direction::Export,
                format: ArchiveFormat::OciArchive,
                bundle: "b1".into(),
                file: "mirror_nginx_1.oci.tar".into(),
                digest: None,
            }),
        };
        let map: HashMap<String, String> = export
            .to_fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(map["export"], "oci-archive");
        assert_eq!(TaskMessage::from_fields(&map).unwrap(), export);
        let mut escape = map.clone();
        escape.insert("file".into(), "../../etc/passwd".into());
        assert!(matches!(
            TaskMessage::from_fields(&escape),
            Err(FieldError::Invalid { field: "file", .. })
        ));
        let mut both = map;
        both.insert("import".into(), "oci-archive".into());
        assert!(TaskMessage::from_fields(&both).is_err());
    }
}
