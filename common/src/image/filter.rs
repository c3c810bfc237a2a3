//! Which images to sync: the user's `image_filters` with glob `include_patterns` and
//! `exclude_patterns`.
//!
//! Exclude is checked first and wins; then, if there are include patterns, an image must match
//! one of them; with no include patterns everything not excluded is allowed.
//!
//! Patterns are shell globs like Python's `fnmatch`: `*` matches any run of characters
//! *including* `/`, `?` one character, `[...]` / `[!...]` a class. (globset also accepts
//! `{a,b}` alternatives.) Matching is case-sensitive.
//!
//! A pattern matches an image if it matches ANY of these spellings of it:
//! - the familiar name: `nginx:1.25`, `bitnami/redis:7.2`, `gcr.io/a/b:t`
//! - the full canonical name: `docker.io/library/nginx:1.25`
//! - the repository without registry: `library/nginx:1.25`
//!
//! each as `name:tag` when the image has a tag and as `name@sha256:…` when it has a digest
//! (an image with both gets both spellings), so users can write whichever form they think in.
use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Serialize;
use std::fmt;

use crate::image::reference::ImageRef;

/// Compiled include and exclude patterns. The default allows every image.
#[derive(Debug, Clone)]
pub struct ImageFilter {
    include: Patterns,
    exclude: Patterns,
}

#[derive(Debug, Clone)]
struct Patterns {
    source: Vec<String>,
    set: GlobSet,
}

/// Whether an image passed the filter and, if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum FilterDecision {
    Allowed,
    /// Matched this exclude pattern (the first one, in configuration order).
    Excluded {
        pattern: String,
    },
    /// There are include patterns and none matched.
    NotIncluded,
}

/// The list a bad pattern came from, named like the configuration keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternList {
    Include,
    Exclude,
}

/// A pattern that is not a valid glob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid glob in {list}[{index}] {pattern:?}: {reason}")]
pub struct FilterError {
    pub list: PatternList,
    pub index: usize,
    pub pattern: String,
    pub reason: String,
}

impl fmt::Display for PatternList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Include => "include_patterns",
            Self::Exclude => "exclude_patterns",
        })
    }
}

impl FilterDecision {
    /// True for [`FilterDecision::Allowed`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed)
    }
}

impl Default for ImageFilter {
    fn default() -> Self {
        Self {
            include: Patterns::empty(),
            exclude: Patterns::empty(),
        }
    }
}

impl ImageFilter {
    /// Compiles the patterns; the first bad one is reported with its list and index.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, FilterError> {
        Ok(Self {
            include: Patterns::compile(include, PatternList::Include)?,
            exclude: Patterns::compile(exclude, PatternList::Exclude)?,
        })
    }

    /// Decides whether `image` should be synced.
    pub fn check(&self, image: &ImageRef) -> FilterDecision {
        let spellings = spellings(image);
        let candidates: Vec<Candidate<'_>> = spellings.iter().map(Candidate::new).collect();
        if let Some(pattern) = self.exclude.first_match(&candidates) {
            return FilterDecision::Excluded {
                pattern: pattern.to_owned(),
            };
        }
        if self.include.source.is_empty() || self.include.first_match(&candidates).is_some() {
            FilterDecision::Allowed
        } else {
            FilterDecision::NotIncluded
        }
    }
}

impl Patterns {
    fn empty() -> Self {
        Self {
            source: Vec::new(),
            set: GlobSet::empty(),
        }
    }

    fn compile(patterns: &[String], list: PatternList) -> Result<Self, FilterError> {
        let fail = |index: usize, reason: String| FilterError {
            list,
            index,
            pattern: patterns[index].clone(),
            reason,
        };
        let mut builder = GlobSetBuilder::new();
        for (index, pattern) in patterns.iter().enumerate() {
            // An empty pattern matches nothing, so an include list holding one would
            // silently block every image.
            if pattern.is_empty() {
                return Err(fail(index, "pattern is empty".to_owned()));
            }
            let glob = GlobBuilder::new(pattern)
                .literal_separator(false)
                .build()
                .map_err(|e| fail(index, e.kind().to_string()))?;
            builder.add(glob);
        }
        // Each glob compiled on its own, so building the set can only fail on resource limits.
        let set = builder.build().map_err(|e| fail(0, e.kind().to_string()))?;
        Ok(Self {
            source: patterns.to_vec(),
            set,
        })
    }

    /// The earliest pattern, in configuration order, that matches any candidate.
    fn first_match(&self, candidates: &[Candidate<'_>]) -> Option<&str> {
        candidates
            .iter()
            .flat_map(|c| self.set.matches_candidate(c))
            .min()
            .map(|index| self.source[index].as_str())
    }
}

fn spellings(image: &ImageRef) -> Vec<String> {
    let names = [
        image.familiar_name(),
        image.name(),
        image.repository().to_owned(),
    ];
    let mut out = Vec::with_capacity(names.len() * 2);
    for name in &names {
        if let Some(tag) = image.tag() {
            out.push(format!("{name}:{tag}"));
        }
        if let Some(digest) = image.digest() {
            out.push(format!("{name}@{digest}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: &[&str], exclude: &[&str]) -> ImageFilter {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        ImageFilter::new(&owned(include), &owned(exclude)).unwrap()
    }

    fn check(f: &ImageFilter, image: &str) -> FilterDecision {
        f.check(&ImageRef::parse(image).unwrap())
    }

    fn included(pattern: &str, image: &str) -> bool {
        check(&filter(&[pattern], &[]), image).is_allowed()
    }

    #[test]
    fn nginx_star() {
        assert!(included("nginx:*", "nginx:latest"));
        assert!(included("nginx:*", "nginx:1.21"));
        assert!(included("nginx:*", "nginx:alpine"));
    }

    #[test]
    fn star_debug() {
        assert!(included("*:debug", "nginx:debug"));
        assert!(included("*:debug", "redis:debug"));
        assert!(included("*:debug", "app:debug"));
    }

    #[test]
    fn redis_6() {
        assert!(included("redis:6.*", "redis:6.0"));
        assert!(included("redis:6.*", "redis:6.2.7"));
        assert!(!included("redis:6.*", "redis:7.0"));
    }

    #[test]
    fn mysql_8() {
        assert!(included("mysql:8*", "mysql:8.0"));
        assert!(included("mysql:8*", "mysql:8.0.33"));
    }

    #[test]
    fn node_18() {
        assert!(included("node:18.*", "node:18.0"));
        assert!(included("node:18.*", "node:18.16.0"));
    }

    #[test]
    fn python_3_9() {
        assert!(included("python:3.9*", "python:3.9"));
        assert!(included("python:3.9*", "python:3.9.16"));
    }

    #[test]
    fn namespace_star() {
        assert!(included("mycompany/*:*", "mycompany/app:1"));
    }

    #[test]
    fn rc_excluded() {
        assert_eq!(
            check(&filter(&[], &["*:rc*"]), "app:rc1"),
            FilterDecision::Excluded {
                pattern: "*:rc*".to_owned()
            }
        );
        assert!(check(&filter(&[], &["*:rc*"]), "app:1.0").is_allowed());
    }

    #[test]
    fn exclude_beats_include() {
        let f = filter(&["nginx:*"], &["*:debug"]);
        assert_eq!(
            check(&f, "nginx:debug"),
            FilterDecision::Excluded {
                pattern: "*:debug".to_owned()
            }
        );
        assert!(check(&f, "nginx:1.25").is_allowed());
    }

    #[test]
    fn include_list_requires_a_match() {
        assert_eq!(
            check(&filter(&["redis:*"], &[]), "nginx:latest"),
            FilterDecision::NotIncluded
        );
    }

    #[test]
    fn no_patterns_allow_everything() {
        assert!(check(&ImageFilter::default(), "nginx:latest").is_allowed());
        assert!(check(&filter(&[], &[]), "gcr.io/a/b:c").is_allowed());
    }

    #[test]
    fn other_spellings_match() {
        assert!(included("docker.io/library/nginx:*", "nginx:1.25"));
        assert!(included("library/nginx:*", "nginx:1.25"));
        assert!(included("gcr.io/*", "gcr.io/a/b:c"));
        assert!(included("bitnami/*", "docker.io/bitnami/redis:7.2"));
        assert!(!included("nginx:*", "gcr.io/x/nginx:1"));
    }

    #[test]
    fn question_mark_and_classes() {
        assert!(included("redis:?", "redis:7"));
        assert!(!included("redis:?", "redis:7.0"));
        assert!(included("redis:[67].*", "redis:6.2"));
        assert!(!included("redis:[!67].*", "redis:6.2"));
    }

    #[test]
    fn digests_are_matched_as_name_at_digest() {
        let sha = format!("sha256:{}", "a".repeat(64));
        assert!(included("nginx@sha256:*", &format!("nginx@{sha}")));
        assert!(!included("nginx:*", &format!("nginx@{sha}")));
        assert!(included("nginx:1.*", &format!("nginx:1.25@{sha}")));
    }

    #[test]
    fn first_matching_exclude_is_reported() {
        let f = filter(&[], &["redis:*", "*:debug", "nginx:*"]);
        assert_eq!(
            check(&f, "nginx:debug"),
            FilterDecision::Excluded {
                pattern: "*:debug".to_owned()
            }
        );
    }

    #[test]
    fn bad_patterns_are_named() {
        let e =
            ImageFilter::new(&["ok:*".to_owned()], &["a".to_owned(), "[x".to_owned()]).unwrap_err();
        assert_eq!(e.list, PatternList::Exclude);
        assert_eq!(e.index, 1);
        assert!(
            e.to_string()
                .starts_with("invalid glob in exclude_patterns[1] \"[x\": "),
            "{e}"
        );
        let e = ImageFilter::new(&[String::new()], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid glob in include_patterns[0] \"\": pattern is empty"
        );
    }

    #[test]
    fn decision_serialises_with_a_tag() {
        let json = |d: &FilterDecision| serde_json::to_string(d).unwrap();
        assert_eq!(json(&FilterDecision::Allowed), r#"{"decision":"allowed"}"#);
        assert_eq!(
            json(&FilterDecision::NotIncluded),
            r#"{"decision":"not_included"}"#
        );
        assert_eq!(
            json(&FilterDecision::Excluded {
                pattern: "*:rc*".to_owned()
            }),
            r#"{"decision":"excluded","pattern":"*:rc*"}"#
        );
    }
}
