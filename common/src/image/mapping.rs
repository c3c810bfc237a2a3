//! Where a source image lands in the private registry: `<host>/<namespace>/<mapped path>`,
//! the mapped path being the source repository with leading parts dropped per [`ReplaceLevel`].
//!
//! | level | `a/b/c/img` becomes |
//! |-------|---------------------|
//! | skip  | `ns/a/b/c/img`      |
//! | all   | `ns/img`            |
//! | 1     | `ns/b/c/img`        |
//! | 2     | `ns/c/img`          |
//! | 3     | `ns/img`            |
//!
//! The image name itself is never dropped, and Docker Hub official images count their
//! `library/` part (`nginx` is `library/nginx`).
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::image::reference::{validate_registry, validate_repository, ImageRef, ImageRefError};

/// The levels the user's spec names; deeper paths are rare and `all` covers them.
const VALID_LEVELS: &str = "skip, all, 1, 2, 3";

/// How many leading path parts of the source repository to drop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ReplaceLevel {
    /// Keep the whole path.
    #[default]
    Skip,
    /// Keep only the image name (the last part).
    All,
    /// Drop this many leading parts, always keeping the last one.
    Drop(u8),
}

/// Why a level or a target name is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("invalid replacement level {0:?}: expected one of {VALID_LEVELS}")]
    InvalidLevel(String),
    #[error("invalid target registry {host:?}: {source}")]
    InvalidHost { host: String, source: ImageRefError },
    #[error("invalid target namespace {namespace:?}: {source}")]
    InvalidNamespace {
        namespace: String,
        source: ImageRefError,
    },
    #[error("invalid target for {image}: {source}")]
    InvalidTarget {
        image: String,
        source: ImageRefError,
    },
}

impl FromStr for ReplaceLevel {
    type Err = MappingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Exactly one digit 1..=3; `parse::<u8>` would also take "+3" or "03".
        match (s, s.as_bytes()) {
            ("skip", _) => Ok(Self::Skip),
            ("all", _) => Ok(Self::All),
            (_, &[d @ b'1'..=b'3']) => Ok(Self::Drop(d - b'0')),
            _ => Err(MappingError::InvalidLevel(s.to_owned())),
        }
    }
}

impl fmt::Display for ReplaceLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Skip => f.write_str("skip"),
            Self::All => f.write_str("all"),
            Self::Drop(n) => write!(f, "{n}"),
        }
    }
}

impl TryFrom<String> for ReplaceLevel {
    type Error = MappingError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ReplaceLevel> for String {
    fn from(level: ReplaceLevel) -> Self {
        level.to_string()
    }
}

/// The source repository path with leading parts dropped per `level`; never empty.
pub fn mapped_path(repository: &str, level: ReplaceLevel) -> String {
    let parts: Vec<&str> = repository.split('/').collect();
    let last = parts.len().saturating_sub(1);
    let start = match level {
        ReplaceLevel::Skip => 0,
        ReplaceLevel::All => last,
        ReplaceLevel::Drop(n) => usize::from(n).min(last),
    };
    parts[start..].join("/")
}

/// The target of `source` in `target_host` (host[:port]) under `namespace` (may be empty or
/// several parts); keeps the source's tag and digest.
pub fn map_target(
    source: &ImageRef,
    target_host: &str,
    namespace: &str,
    level: ReplaceLevel,
) -> Result<ImageRef, MappingError> {
    validate_registry(target_host).map_err(|source| MappingError::InvalidHost {
        host: target_host.to_owned(),
        source,
    })?;
    let namespace = namespace.trim_matches('/');
    let path = mapped_path(source.repository(), level);
    let repository = if namespace.is_empty() {
        path
    } else {
        validate_repository(namespace).map_err(|source| MappingError::InvalidNamespace {
            namespace: namespace.to_owned(),
            source,
        })?;
        format!("{namespace}/{path}")
    };
    ImageRef::from_parts(target_host, &repository, source.tag(), source.digest()).map_err(|err| {
        MappingError::InvalidTarget {
            image: source.to_string(),
            source: err,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn target(source: &str, namespace: &str, level: &str) -> String {
        let source = ImageRef::parse(source).unwrap();
        map_target(
            &source,
            "harbor.local:5000",
            namespace,
            level.parse().unwrap(),
        )
        .unwrap()
        .to_string()
    }

    #[test]
    fn skip_keeps_the_whole_path() {
        assert_eq!(
            target("gcr.io/a/b/c/img:1", "ns", "skip"),
            "harbor.local:5000/ns/a/b/c/img:1"
        );
    }

    #[test]
    fn all_keeps_only_the_image_name() {
        assert_eq!(
            target("gcr.io/a/b/c/img:1", "ns", "all"),
            "harbor.local:5000/ns/img:1"
        );
    }

    #[test]
    fn level_1_drops_one_part() {
        assert_eq!(
            target("gcr.io/a/b/c/img:1", "ns", "1"),
            "harbor.local:5000/ns/b/c/img:1"
        );
    }

    #[test]
    fn level_2_drops_two_parts() {
        assert_eq!(
            target("gcr.io/a/b/c/img:1", "ns", "2"),
            "harbor.local:5000/ns/c/img:1"
        );
    }

    #[test]
    fn level_3_drops_three_parts() {
        assert_eq!(
            target("gcr.io/a/b/c/img:1", "ns", "3"),
            "harbor.local:5000/ns/img:1"
        );
    }

    #[test]
    fn level_beyond_the_path_keeps_the_name() {
        assert_eq!(
            target("quay.io/x/img:1", "ns", "3"),
            "harbor.local:5000/ns/img:1"
        );
        assert_eq!(
            target("registry.k8s.io/pause:3.9", "ns", "3"),
            "harbor.local:5000/ns/pause:3.9"
        );
    }

    #[test]
    fn official_images_count_library() {
        assert_eq!(
            target("nginx:1.25", "ns", "skip"),
            "harbor.local:5000/ns/library/nginx:1.25"
        );
        assert_eq!(
            target("nginx:1.25", "ns", "1"),
            "harbor.local:5000/ns/nginx:1.25"
        );
        assert_eq!(
            target("nginx:1.25", "ns", "all"),
            "harbor.local:5000/ns/nginx:1.25"
        );
    }

    #[test]
    fn digests_are_kept_with_their_tag() {
        assert_eq!(
            target(&format!("gcr.io/a/img@{SHA}"), "ns", "all"),
            format!("harbor.local:5000/ns/img@{SHA}")
        );
        assert_eq!(
            target(&format!("gcr.io/a/img:v1@{SHA}"), "ns", "all"),
            format!("harbor.local:5000/ns/img:v1@{SHA}")
        );
    }

    #[test]
    fn namespace_may_be_empty_nested_or_slashed() {
        assert_eq!(
            target("gcr.io/a/img:1", "", "skip"),
            "harbor.local:5000/a/img:1"
        );
        assert_eq!(
            target("gcr.io/a/img:1", "/", "all"),
            "harbor.local:5000/img:1"
        );
        assert_eq!(
            target("gcr.io/a/img:1", "team/mirror", "1"),
            "harbor.local:5000/team/mirror/img:1"
        );
        assert_eq!(
            target("gcr.io/a/img:1", "/team/", "all"),
            "harbor.local:5000/team/img:1"
        );
    }

    #[test]
    fn docker_hub_target_gets_library_for_one_part_names() {
        let source = ImageRef::parse("gcr.io/a/img:1").unwrap();
        let t = map_target(&source, "docker.io", "", ReplaceLevel::All).unwrap();
        assert_eq!(t.to_string(), "docker.io/library/img:1");
    }

    #[test]
    fn bad_namespace_is_named() {
        let source = ImageRef::parse("nginx").unwrap();
        let e = map_target(&source, "h.io", "Team", ReplaceLevel::Skip).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid target namespace \"Team\": repository name must be lowercase: \"Team\""
        );
        let e = map_target(&source, "h.io", "a//b", ReplaceLevel::Skip).unwrap_err();
        assert!(matches!(e, MappingError::InvalidNamespace { .. }), "{e}");
    }

    #[test]
    fn bad_host_is_named() {
        let source = ImageRef::parse("nginx").unwrap();
        let e = map_target(&source, "https://h.io", "ns", ReplaceLevel::Skip).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid target registry \"https://h.io\": "),
            "{e}"
        );
    }

    #[test]
    fn too_long_target_is_reported() {
        let source = ImageRef::parse(&"a".repeat(200)).unwrap();
        let e = map_target(&source, "h.io", &"n".repeat(60), ReplaceLevel::Skip).unwrap_err();
        assert!(
            e.to_string().contains("name longer than 255 characters"),
            "{e}"
        );
    }

    #[test]
    fn levels_parse_and_print() {
        for s in ["skip", "all", "1", "2", "3"] {
            assert_eq!(s.parse::<ReplaceLevel>().unwrap().to_string(), s);
        }
        assert_eq!("3".parse::<ReplaceLevel>().unwrap(), ReplaceLevel::Drop(3));
        for s in ["0", "4", "9", "10", "03", "+3", "Skip", " all", ""] {
            assert_eq!(
                s.parse::<ReplaceLevel>().unwrap_err().to_string(),
                format!("invalid replacement level {s:?}: expected one of skip, all, 1, 2, 3")
            );
        }
        assert_eq!(ReplaceLevel::default(), ReplaceLevel::Skip);
    }

    #[test]
    fn levels_serde_as_strings() {
        assert_eq!(
            serde_json::to_string(&ReplaceLevel::Drop(2)).unwrap(),
            "\"2\""
        );
        assert_eq!(
            serde_json::from_str::<ReplaceLevel>("\"all\"").unwrap(),
            ReplaceLevel::All
        );
        assert!(serde_json::from_str::<ReplaceLevel>("\"x\"").is_err());
    }

    fn level() -> impl Strategy<Value = ReplaceLevel> {
        prop_oneof![
            Just(ReplaceLevel::Skip),
            Just(ReplaceLevel::All),
            (1u8..=3).prop_map(ReplaceLevel::Drop),
        ]
    }

    fn path_parts() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[a-z0-9]{1,4}((\\.|_|__|-{1,2})[a-z0-9]{1,4}){0,1}", 1..=6)
    }

    proptest! {
        #[test]
        fn mapped_path_keeps_the_right_trailing_parts(parts in path_parts(), level in level()) {
            let mapped = mapped_path(&parts.join("/"), level);
            let kept: Vec<&str> = mapped.split('/').collect();
            prop_assert_eq!(kept.last().copied(), parts.last().map(String::as_str));
            let expected = match level {
                ReplaceLevel::Skip => parts.len(),
                ReplaceLevel::All => 1,
                ReplaceLevel::Drop(n) => parts.len().saturating_sub(n.into()).max(1),
            };
            prop_assert_eq!(kept.len(), expected);
            prop_assert_eq!(&kept[..], &parts[parts.len() - expected..]);
        }

        #[test]
        fn map_target_round_trips_and_keeps_tag_and_digest(
            parts in path_parts(),
            level in level(),
            namespace in prop::option::of("[a-z0-9]{1,5}(/[a-z0-9]{1,5}){0,2}"),
            tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}"),
            digest in prop::option::of("[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}"))),
        ) {
            let source = ImageRef::from_parts("gcr.io", &parts.join("/"), tag.as_deref(), digest.as_deref()).unwrap();
            let namespace = namespace.unwrap_or_default();
            let t = map_target(&source, "localhost:5000", &namespace, level).unwrap();
            prop_assert_eq!(ImageRef::parse(&t.to_string()).unwrap(), t.clone());
            prop_assert_eq!(t.tag(), source.tag());
            prop_assert_eq!(t.digest(), source.digest());
            prop_assert_eq!(t.registry(), "localhost:5000");
            let expected = mapped_path(source.repository(), level);
            prop_assert!(t.repository().ends_with(&expected));
        }
    }
}
