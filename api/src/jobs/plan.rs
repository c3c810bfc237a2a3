//! From a sync request to the list of copies it means: every line parsed, filtered and mapped to
//! its target name. Pure: no I/O, so every rule is unit-tested here.

use std::collections::HashMap;

use docker_sync_common::config::Config;
use docker_sync_common::filter::FilterDecision;
use docker_sync_common::image_ref::{parse_image_lines, parse_image_list, ImageRef, LineError};
use docker_sync_common::mapping::{map_target, ReplaceLevel};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    pub images: Images,
    /// Name of a configured registry.
    pub target: String,
    #[serde(default)]
    pub replace_level: ReplaceLevel,
    /// Defaults to the registry's namespace / project / repository.
    #[serde(default)]
    pub namespace: Option<String>,
}

/// The image list as pasted text (one per line) or as a JSON array.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Images {
    Text(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedTask {
    pub line: usize,
    pub source: ImageRef,
    pub target: ImageRef,
}

/// A line that is valid but not copied.
#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub line: usize,
    pub image: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub registry: String,
    pub namespace: String,
    pub replace_level: ReplaceLevel,
    pub tasks: Vec<PlannedTask>,
    pub dropped: Vec<Dropped>,
}

pub fn plan(req: &JobRequest, config: &Config) -> Result<Plan, AppError> {
    let registry = config.registries.get(&req.target).ok_or_else(|| {
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

    let parsed = match &req.images {
        Images::Text(text) => parse_image_list(text),
        Images::List(lines) => parse_image_lines(lines),
    };
    let mut errors = parsed.errors;
    let mut tasks = Vec::new();
    let mut dropped = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for listed in parsed.images {
        let image = listed.image;
        match config.filter.check(&image) {
            FilterDecision::Allowed => {}
            FilterDecision::Excluded { pattern } => {
                dropped.push(Dropped {
                    line: listed.line,
                    image: image.to_string(),
                    reason: format!("excluded by pattern {pattern}"),
                });
                continue;
            }
            FilterDecision::NotIncluded => {
                dropped.push(Dropped {
                    line: listed.line,
                    image: image.to_string(),
                    reason: "matches no include pattern".into(),
                });
                continue;
            }
        }
        if let Some(first) = seen.get(&image.to_string()) {
            dropped.push(Dropped {
                line: listed.line,
                image: image.to_string(),
                reason: format!("duplicate of line {first}"),
            });
            continue;
        }
        match map_target(&image, &registry.host, &namespace, req.replace_level) {
            Ok(target) => {
                seen.insert(image.to_string(), listed.line);
                tasks.push(PlannedTask {
                    line: listed.line,
                    source: image,
                    target,
                });
            }
            Err(e) => errors.push(LineError {
                line: listed.line,
                input: image.familiar(),
                message: e.to_string(),
            }),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
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
        registry: req.target.clone(),
        namespace,
        replace_level: req.replace_level,
        tasks,
        dropped,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config() -> Config {
        Config::parse(
            "registries:\n  harbor:\n    url: harbor.example.com\n    project: mirror\n\
             image_filters:\n  exclude_patterns: ['*:debug']\n",
            Path::new("r.yaml"),
            false,
        )
        .unwrap()
    }

    fn request(images: &str) -> JobRequest {
        JobRequest {
            images: Images::Text(images.into()),
            target: "harbor".into(),
            replace_level: ReplaceLevel::Skip,
            namespace: None,
        }
    }

    #[test]
    fn maps_every_line_to_the_registry_namespace() {
        let p = plan(
            &request("nginx:1.25\n# comment\n\ngcr.io/a/b/c:1\n"),
            &config(),
        )
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
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let Err(AppError::InvalidLines(errors)) =
            plan(&request("nginx\nNginx:1\nok:1\nbad tag!\n"), &config())
        else {
            panic!("expected line errors");
        };
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4]);
        assert!(
            errors[0].message.contains("lowercase"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn filtered_and_duplicate_lines_are_dropped_with_a_reason() {
        let p = plan(&request("nginx:debug\nnginx:1\nnginx:1\n"), &config()).unwrap();
        assert_eq!(p.tasks.len(), 1);
        assert_eq!(p.dropped[0].reason, "excluded by pattern *:debug");
        assert_eq!(p.dropped[1].reason, "duplicate of line 2");
    }

    #[test]
    fn an_unknown_target_is_refused() {
        let mut r = request("nginx");
        r.target = "nope".into();
        let Err(AppError::BadRequest(m)) = plan(&r, &config()) else {
            panic!("expected a bad request");
        };
        assert!(m.contains("nope") && m.contains("harbor"), "{m}");
    }

    #[test]
    fn a_bad_namespace_is_reported_per_line() {
        let mut r = request("nginx");
        r.namespace = Some("Bad NS".into());
        assert!(matches!(
            plan(&r, &config()),
            Err(AppError::InvalidLines(_))
        ));
    }
}
