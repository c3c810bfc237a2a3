//! A rule as written in rules.yaml (or sent to the api), and the checks that make it one: a
//! schedule that parses, a target registry that exists, a list with at least one line. Errors
//! name the file, the line and the key, as registries.yaml's do.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::schedule::ScheduleSpec;
use crate::bundle::ArchiveFormat;
use crate::config::{line_of, parse_yaml, ConfigError};
use crate::image::mapping::ReplaceLevel;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleSpec {
    /// The image lines exactly as the sync form takes them (tag globs and `@latest=N`
    /// included); expanded again at each run.
    pub images: String,
    /// The target registry's name; left out with `export`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    /// Write the images into a new bundle at each run instead of a registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<RuleExport>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "skip"))]
    pub replace_level: ReplaceLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Also copy each image's signatures and referrers, as the sync form's option does.
    #[serde(default, skip_serializing_if = "is_false")]
    pub with_signatures: bool,
    #[serde(default = "enabled")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A rule's export: the archive format (`docker-archive` needs the rule's `platform`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleExport {
    pub format: ArchiveFormat,
}

fn enabled() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !b
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rules: BTreeMap<String, RuleSpec>,
}

/// What is wrong with a rule: the key under the rule (`schedule.cron`, `target`, ...) and why.
#[derive(Debug, PartialEq, Eq)]
pub struct RuleProblem {
    pub key: &'static str,
    pub message: String,
}

impl RuleSpec {
    /// Every check but the image lines' own grammar, which the api's planner reports line by
    /// line. `registry_exists` says whether a target name is configured.
    pub fn check(&self, registry_exists: impl Fn(&str) -> bool) -> Result<(), RuleProblem> {
        if self.images.lines().all(|l| l.trim().is_empty()) {
            return Err(RuleProblem {
                key: "images",
                message: "lists no image".into(),
            });
        }
        if let Some(export) = &self.export {
            if !self.target.is_empty() {
                return Err(RuleProblem {
                    key: "target",
                    message: "give either `target` or `export`, not both".into(),
                });
            }
            if !export.format.holds_every_platform() && self.platform.is_none() {
                return Err(RuleProblem {
                    key: "platform",
                    message: format!(
                        "a {} holds one platform: give `platform` (e.g. linux/amd64)",
                        export.format.as_str()
                    ),
                });
            }
        } else if !registry_exists(&self.target) {
            return Err(RuleProblem {
                key: "target",
                message: format!("no registry named `{}`", self.target),
            });
        }
        if let Some(schedule) = &self.schedule {
            if let Err(e) = schedule.parse() {
                let key = match e {
                    super::schedule::ScheduleError::Zone(_) => "schedule.timezone",
                    _ => "schedule.cron",
                };
                return Err(RuleProblem {
                    key,
                    message: e.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// A rule name: like a registry's, so it can stand in a URL and a Redis key.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "rule name `{name}`: 1 to 63 letters, digits, `-`, `_` or `.`"
        ))
    }
}

/// Reads rules.yaml: every rule checked, the first problem reported with file, line and key.
pub fn parse_rules(
    text: &str,
    file: &Path,
    registry_exists: impl Fn(&str) -> bool,
) -> Result<BTreeMap<String, RuleSpec>, ConfigError> {
    let parsed: RulesFile = parse_yaml(text, file)?;
    for (name, rule) in &parsed.rules {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            file: file.to_owned(),
            line: line_of_rule_key(text, name, &key),
            key,
            message,
        };
        check_name(name).map_err(|m| invalid(format!("rules.{name}"), m))?;
        rule.check(&registry_exists)
            .map_err(|p| invalid(format!("rules.{name}.{}", p.key), p.message))?;
    }
    Ok(parsed.rules)
}

/// The file in the config folder that declares rules.
pub const RULES_FILE: &str = "rules.yaml";

/// `<dir>/rules.yaml` when there is one (no file: no declared rules). Targets are checked
/// against `registry_exists`: the api passes the registries of registries.yaml, since those
/// added through the api are not known before Redis is.
pub fn load_rules(
    dir: &Path,
    registry_exists: impl Fn(&str) -> bool,
) -> Result<BTreeMap<String, RuleSpec>, ConfigError> {
    let file = dir.join(RULES_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) => parse_rules(&text, &file, registry_exists),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(ConfigError::Read { file, source }),
    }
}

/// The line of `key` (its last part) inside the rule's block, else the rule's own line.
fn line_of_rule_key(text: &str, rule: &str, key: &str) -> usize {
    let start = line_of(text, rule);
    let leaf = key.rsplit('.').next().unwrap_or(key);
    let needle = format!("{leaf}:");
    text.lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.trim_start().starts_with(&needle))
        .map_or(start, |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "rules.yaml";

    fn parse(text: &str) -> Result<BTreeMap<String, RuleSpec>, String> {
        parse_rules(text, Path::new(FILE), |r| r == "harbor").map_err(|e| e.to_string())
    }

    #[test]
    fn a_rules_file_as_a_user_writes_it() {
        let rules = parse(
            "rules:\n  nightly-k8s:\n    images: |\n      registry.k8s.io/pause:3.*\n      nginx@latest=3\n    target: harbor\n    replace_level: \"1\"\n    schedule:\n      cron: \"0 3 * * *\"\n      timezone: Asia/Shanghai\n",
        )
        .unwrap();
        let rule = &rules["nightly-k8s"];
        assert!(rule.enabled, "enabled unless it says otherwise");
        assert_eq!(rule.images.lines().count(), 2);
        let schedule = rule.schedule.as_ref().unwrap();
        assert_eq!(schedule.missed, super::super::Missed::Run);
        assert!(schedule.parse().is_ok());
        assert!(!rule.with_signatures, "signatures only when asked");
        let bad =
            "rules:\n  a:\n    images: nginx:1\n    target: harbor\n    with_signatures: maybe\n";
        let e = parse(bad).unwrap_err();
        assert!(
            e.starts_with("rules.yaml:5: `rules.a.with_signatures`"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_key() {
        let bad_cron = "rules:\n  a:\n    images: nginx:1\n    target: harbor\n    schedule:\n      cron: \"0 3 * *\"\n";
        assert_eq!(
            parse(bad_cron).unwrap_err(),
            "rules.yaml:6: `rules.a.schedule.cron`: `0 3 * *` has 4 fields; a schedule has 5: minute hour day-of-month month day-of-week"
        );
        let unknown = "rules:\n  a:\n    images: nginx:1\n    target: gitlab\n";
        assert_eq!(
            parse(unknown).unwrap_err(),
            "rules.yaml:4: `rules.a.target`: no registry named `gitlab`"
        );
        let typo = "rules:\n  a:\n    images: nginx:1\n    target: harbor\n    enabeld: false\n";
        let e = parse(typo).unwrap_err();
        assert!(
            e.starts_with("rules.yaml:5: `rules.a.enabeld`") && e.contains("unknown field"),
            "{e}"
        );
        let zone = "rules:\n  a:\n    images: nginx:1\n    target: harbor\n    schedule:\n      cron: \"0 3 * * *\"\n      timezone: Moon/Base\n";
        assert!(parse(zone)
            .unwrap_err()
            .starts_with("rules.yaml:7: `rules.a.schedule.timezone`"));
        let empty = "rules:\n  a:\n    images: \"\"\n    target: harbor\n";
        assert!(parse(empty)
            .unwrap_err()
            .starts_with("rules.yaml:3: `rules.a.images`: lists no image"));
        let name = "rules:\n  \"a b\":\n    images: nginx:1\n    target: harbor\n";
        assert!(parse(name).unwrap_err().contains("rule name `a b`"));
    }
}

#[cfg(test)]
mod example {
    use std::path::Path;

    #[test]
    fn the_example_rules_file_parses_against_the_example_registries() {
        let registries = crate::config::Config::parse(
            include_str!("../../../config/registries.yaml.example"),
            Path::new("registries.yaml"),
            false,
        )
        .unwrap();
        let rules = super::parse_rules(
            include_str!("../../../config/rules.yaml.example"),
            Path::new("rules.yaml"),
            |name| registries.registries.contains_key(name),
        )
        .unwrap();
        assert_eq!(rules.len(), 2);
        let nightly = &rules["nightly-kubernetes"];
        assert_eq!(nightly.images.lines().count(), 3);
        assert!(nightly.schedule.as_ref().unwrap().parse().is_ok());
        assert_eq!(
            rules["base-images"].platform.as_deref(),
            Some("linux/amd64")
        );
        assert!(nightly.with_signatures && !rules["base-images"].with_signatures);
    }

    #[test]
    fn the_kubernetes_configmaps_rules_file_parses() {
        let map: serde_yaml::Value =
            serde_yaml::from_str(include_str!("../../../k8s/configmap.yaml")).unwrap();
        let file = |key: &str| map["data"][key].as_str().unwrap().to_owned();
        // Its registries' passwords are files of the Secret, so only their names are read here.
        let registries: serde_yaml::Value = serde_yaml::from_str(&file("registries.yaml")).unwrap();
        let rules = super::parse_rules(&file("rules.yaml"), Path::new("rules.yaml"), |name| {
            registries["registries"].get(name).is_some()
        })
        .unwrap();
        assert!(rules.is_empty(), "the example stays commented out");
    }
}
