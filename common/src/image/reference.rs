//! Container image references such as `nginx:1.25` or `gcr.io/a/b@sha256:…`, parsed once into
//! canonical form following the grammar of github.com/distribution/reference.
//!
//! ```text
//! reference := name [ ":" tag ] [ "@" digest ]
//! name      := [ registry "/" ] path          (at most 255 characters once normalised)
//! registry  := host [ ":" port ]              (host: dns name, IPv4 or "[" IPv6 "]")
//! path      := component ( "/" component )*
//! component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest    := "sha256:" 64 hex | "sha512:" 128 hex
//! ```
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const DOCKER_HUB: &str = "docker.io";
// Other spellings of Docker Hub that docker itself folds into `docker.io`.
const DOCKER_HUB_ALIASES: [&str; 2] = ["index.docker.io", "registry-1.docker.io"];
const OFFICIAL_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = "latest";
const NAME_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// A validated, normalised image reference. Always carries a tag, a digest, or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// Why a string or set of parts is not a valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    #[error("empty image reference")]
    Empty,
    #[error("invalid character {ch:?} in {part:?}")]
    InvalidCharacter { ch: char, part: String },
    #[error("invalid reference {0:?}: a 64-character hex string is an image ID, not a name")]
    ImageId(String),
    #[error("invalid registry host {host:?}: {reason}")]
    InvalidRegistry { host: String, reason: &'static str },
    #[error("repository name must be lowercase: {0:?}")]
    Uppercase(String),
    #[error("invalid repository name {repository:?}: {reason}")]
    InvalidRepository { repository: String, reason: String },
    #[error("invalid tag {tag:?}: {reason}")]
    InvalidTag { tag: String, reason: &'static str },
    #[error(
        "invalid digest {0:?}: digest must be sha256 followed by 64 hex characters \
         (or sha512 followed by 128), in lowercase"
    )]
    InvalidDigest(String),
    #[error("name longer than 255 characters ({len}): {name:?}")]
    NameTooLong { name: String, len: usize },
}

impl ImageRef {
    /// Parses a reference the way `docker pull` reads it; no tag and no digest means `latest`.
    pub fn parse(s: &str) -> Result<Self, ImageRefError> {
        if s.is_empty() {
            return Err(ImageRefError::Empty);
        }
        // Checked up front so whitespace and stray punctuation get one clear message
        // instead of a confusing complaint about whichever part they happen to land in.
        if let Some(ch) = s.chars().find(|&c| !is_reference_char(c)) {
            return Err(ImageRefError::InvalidCharacter {
                ch,
                part: s.to_owned(),
            });
        }
        // docker refuses these too: they are image IDs and would be ambiguous as names.
        if s.len() == 64 && is_lower_hex(s) {
            return Err(ImageRefError::ImageId(s.to_owned()));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (s, None),
        };
        let (name, tag) = split_tag(rest);
        let (registry, repository) = split_registry(name);
        Self::from_parts(registry, repository, tag, digest)
    }

    /// Builds a reference from its parts, validating and normalising them like [`ImageRef::parse`]
    /// (Docker Hub aliases, `library/` for one-part Hub names, `latest` when no tag or digest).
    pub fn from_parts(
        registry: &str,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Self, ImageRefError> {
        validate_registry(registry)?;
        validate_repository(repository)?;
        if let Some(tag) = tag {
            validate_tag(tag)?;
        }
        if let Some(digest) = digest {
            validate_digest(digest)?;
        }
        let registry = if DOCKER_HUB_ALIASES.contains(&registry) {
            DOCKER_HUB
        } else {
            registry
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("{OFFICIAL_PREFIX}{repository}")
        } else {
            repository.to_owned()
        };
        let len = registry.len() + 1 + repository.len();
        if len > NAME_MAX {
            return Err(ImageRefError::NameTooLong {
                name: format!("{registry}/{repository}"),
                len,
            });
        }
        let tag = match (tag, digest) {
            (None, None) => Some(DEFAULT_TAG),
            (tag, _) => tag,
        };
        Ok(Self {
            registry: registry.to_owned(),
            repository,
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }

    /// Registry host, with port if any (`docker.io`, `host:5000`, `[::1]:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Path inside the registry (`library/nginx`, `a/b/c`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag; `None` only for a reference pinned by digest alone.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest (`sha256:…`) when pinned.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What goes into `/v2/<repo>/manifests/<reference>`: the digest if pinned, else the tag.
    pub fn reference(&self) -> &str {
        // Construction guarantees a tag or a digest; the fallback only avoids a panic path.
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or(DEFAULT_TAG)
    }

    /// The name as docker shows it: `nginx`, `bitnami/redis`, `gcr.io/a/b`.
    pub fn familiar_name(&self) -> String {
        if self.registry != DOCKER_HUB {
            return self.name();
        }
        let path = match self.repository.strip_prefix(OFFICIAL_PREFIX) {
            Some(rest) if !rest.contains('/') => rest,
            _ => &self.repository,
        };
        // `docker.io/localhost/x` or `docker.io/a.b/x` would be read back as a registry host.
        match path.split_once('/') {
            Some((first, _)) if looks_like_host(first) => self.name(),
            _ => path.to_owned(),
        }
    }

    /// The reference as docker shows it: `nginx:1.25`, `bitnami/redis:7.2`, `gcr.io/a/b:t@sha256:…`.
    pub fn familiar(&self) -> String {
        format!("{}{}", self.familiar_name(), self.suffix())
    }

    /// How to name this image as a copy's source (skopeo's docker transport takes a tag or a
    /// digest, not both): the digest wins, since it pins the content.
    pub fn copy_source(&self) -> String {
        match self.digest() {
            Some(digest) => format!("{}@{digest}", self.name()),
            None => format!("{}:{}", self.name(), self.tag().unwrap_or("latest")),
        }
    }

    /// How to name this image as a copy's target: the tag wins, since the tag is what must point
    /// at the copied manifest (its digest is checked after the copy).
    pub fn copy_target(&self) -> String {
        match (self.tag(), self.digest()) {
            (Some(tag), _) => format!("{}:{tag}", self.name()),
            (None, Some(digest)) => format!("{}@{digest}", self.name()),
            (None, None) => format!("{}:latest", self.name()),
        }
    }

    /// The same image with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Self, ImageRefError> {
        validate_tag(tag)?;
        Ok(Self {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        })
    }

    fn suffix(&self) -> String {
        let mut out = String::new();
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.registry, self.repository, self.suffix())
    }
}

impl FromStr for ImageRef {
    type Err = ImageRefError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ImageRef {
    type Error = ImageRefError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ImageRef> for String {
    fn from(image: ImageRef) -> Self {
        image.to_string()
    }
}

/// Splits `name[:tag]`; a `:` before the last `/` belongs to a registry port.
pub(crate) fn split_tag(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
        _ => (s, None),
    }
}

fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest)) if looks_like_host(first) => (first, rest),
        _ => (DOCKER_HUB, name),
    }
}

/// docker's rule for telling `host/path` from a Docker Hub `namespace/path`.
fn looks_like_host(component: &str) -> bool {
    component.contains(['.', ':']) || component == "localhost" || component.starts_with('[')
}

pub(crate) fn is_reference_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-/:@[]".contains(c)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(crate) fn validate_registry(registry: &str) -> Result<(), ImageRefError> {
    let fail = |reason| {
        Err(ImageRefError::InvalidRegistry {
            host: registry.to_owned(),
            reason,
        })
    };
    if registry.is_empty() {
        return fail("empty host");
    }
    if !looks_like_host(registry) {
        // Otherwise the printed reference would be read back as a Docker Hub path.
        return fail("a registry host must contain '.' or ':' or be \"localhost\"");
    }
    let (host, port) = if let Some(bracketed) = registry.strip_prefix('[') {
        let Some((ip, after)) = bracketed.split_once(']') else {
            return fail("missing ']' after IPv6 address");
        };
        if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return fail("invalid IPv6 address");
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return fail("expected ':port' after IPv6 address"),
            },
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        if !host.split('.').all(is_domain_component) {
            return fail("host name parts must be letters, digits and inner '-', separated by '.'");
        }
    }
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return fail("port must be digits");
        }
    }
    Ok(())
}

fn is_domain_component(c: &str) -> bool {
    !c.is_empty()
        && !c.starts_with('-')
        && !c.ends_with('-')
        && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub(crate) fn validate_repository(repository: &str) -> Result<(), ImageRefError> {
    let invalid = |reason: String| {
        Err(ImageRefError::InvalidRepository {
            repository: repository.to_owned(),
            reason,
        })
    };
    if repository.is_empty() {
        return invalid("missing repository name".to_owned());
    }
    if repository.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ImageRefError::Uppercase(repository.to_owned()));
    }
    if let Some(ch) = repository
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "._-/".contains(c)))
    {
        return Err(ImageRefError::InvalidCharacter {
            ch,
            part: repository.to_owned(),
        });
    }
    for component in repository.split('/') {
        if component.is_empty() {
            return invalid("empty path component (leading, trailing or double '/')".to_owned());
        }
        if !is_path_component(component) {
            return invalid(format!(
                "path component {component:?} must be lowercase letters and digits \
                 separated by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*`
fn is_path_component(component: &str) -> bool {
    let is_alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut rest = component;
    loop {
        let word = rest.find(|c| !is_alnum(c)).unwrap_or(rest.len());
        if word == 0 {
            return false;
        }
        rest = &rest[word..];
        if rest.is_empty() {
            return true;
        }
        let sep_len = rest.find(is_alnum).unwrap_or(rest.len());
        let sep = &rest[..sep_len];
        if !matches!(sep, "." | "_" | "__") && !sep.bytes().all(|b| b == b'-') {
            return false;
        }
        rest = &rest[sep_len..];
    }
}

fn validate_tag(tag: &str) -> Result<(), ImageRefError> {
    let fail = |reason| {
        Err(ImageRefError::InvalidTag {
            tag: tag.to_owned(),
            reason,
        })
    };
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let Some(&first) = tag.as_bytes().first() else {
        return fail("tag is empty");
    };
    if tag.len() > TAG_MAX {
        return fail("longer than 128 characters");
    }
    if !is_word(first) || !tag.bytes().all(|b| is_word(b) || b == b'.' || b == b'-') {
        return fail(
            "must start with a letter, digit or '_' and contain only letters, digits, '_', '.' and '-'",
        );
    }
    Ok(())
}

fn validate_digest(digest: &str) -> Result<(), ImageRefError> {
    let valid = match digest.split_once(':') {
        Some(("sha256", hex)) => hex.len() == 64 && is_lower_hex(hex),
        Some(("sha512", hex)) => hex.len() == 128 && is_lower_hex(hex),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(ImageRefError::InvalidDigest(digest.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parts(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = ImageRef::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        (
            r.registry().to_owned(),
            r.repository().to_owned(),
            r.tag().map(str::to_owned),
            r.digest().map(str::to_owned),
        )
    }

    fn ok(
        registry: &str,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> (String, String, Option<String>, Option<String>) {
        (
            registry.to_owned(),
            repository.to_owned(),
            tag.map(str::to_owned),
            digest.map(str::to_owned),
        )
    }

    fn err(s: &str) -> String {
        match ImageRef::parse(s) {
            Ok(r) => panic!("{s:?} parsed as {r}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn docker_hub_official_image_gets_library_and_latest() {
        assert_eq!(
            parts("nginx"),
            ok("docker.io", "library/nginx", Some("latest"), None)
        );
        assert_eq!(
            parts("nginx:1.25"),
            ok("docker.io", "library/nginx", Some("1.25"), None)
        );
    }

    #[test]
    fn docker_hub_namespaced_image() {
        assert_eq!(
            parts("bitnami/redis:7.2"),
            ok("docker.io", "bitnami/redis", Some("7.2"), None)
        );
    }

    #[test]
    fn other_registries() {
        assert_eq!(
            parts("gcr.io/a/b/c:tag"),
            ok("gcr.io", "a/b/c", Some("tag"), None)
        );
        assert_eq!(
            parts("registry.k8s.io/pause:3.9"),
            ok("registry.k8s.io", "pause", Some("3.9"), None)
        );
        assert_eq!(
            parts("host:5000/ns/img:tag"),
            ok("host:5000", "ns/img", Some("tag"), None)
        );
        assert_eq!(
            parts("localhost/img"),
            ok("localhost", "img", Some("latest"), None)
        );
        assert_eq!(
            parts("127.0.0.1:5000/a/b/c/img:1"),
            ok("127.0.0.1:5000", "a/b/c/img", Some("1"), None)
        );
        assert_eq!(
            parts("[::1]:5000/img:1"),
            ok("[::1]:5000", "img", Some("1"), None)
        );
        assert_eq!(
            parts("quay.io/prometheus/node-exporter"),
            ok("quay.io", "prometheus/node-exporter", Some("latest"), None)
        );
    }

    #[test]
    fn docker_hub_aliases_normalise() {
        assert_eq!(
            parts("index.docker.io/nginx"),
            ok("docker.io", "library/nginx", Some("latest"), None)
        );
        assert_eq!(
            parts("registry-1.docker.io/bitnami/redis:7"),
            ok("docker.io", "bitnami/redis", Some("7"), None)
        );
        assert_eq!(
            parts("docker.io/nginx:1"),
            ok("docker.io", "library/nginx", Some("1"), None)
        );
    }

    #[test]
    fn digests() {
        assert_eq!(
            parts(&format!("img@{SHA}")),
            ok("docker.io", "library/img", None, Some(SHA))
        );
        assert_eq!(
            parts(&format!("img:tag@{SHA}")),
            ok("docker.io", "library/img", Some("tag"), Some(SHA))
        );
        let sha512 = format!("sha512:{}", "ab".repeat(64));
        assert_eq!(
            parts(&format!("gcr.io/x@{sha512}")),
            ok("gcr.io", "x", None, Some(&sha512))
        );
    }

    #[test]
    fn separators_in_path_components() {
        for s in ["a.b", "a_b", "a__b", "a-b", "a---b", "ns/a-b.c_d__e/f0-9"] {
            assert_eq!(parts(s).1.trim_start_matches("library/"), s, "{s}");
        }
    }

    #[test]
    fn tag_may_contain_uppercase_and_be_128_long() {
        assert_eq!(parts("img:V1.0_RC-2").2.as_deref(), Some("V1.0_RC-2"));
        assert!(ImageRef::parse(&format!("img:{}", "a".repeat(128))).is_ok());
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(
            ImageRef::parse("nginx:1.25").unwrap().to_string(),
            "docker.io/library/nginx:1.25"
        );
        assert_eq!(
            ImageRef::parse(&format!("gcr.io/a/b:t@{SHA}"))
                .unwrap()
                .to_string(),
            format!("gcr.io/a/b:t@{SHA}")
        );
        assert_eq!(
            ImageRef::parse("host:5000/x:1").unwrap().to_string(),
            "host:5000/x:1"
        );
    }

    #[test]
    fn familiar_is_what_docker_shows() {
        let f = |s: &str| ImageRef::parse(s).unwrap().familiar();
        assert_eq!(f("docker.io/library/nginx:1.25"), "nginx:1.25");
        assert_eq!(f("bitnami/redis:7.2"), "bitnami/redis:7.2");
        assert_eq!(f("gcr.io/a/b:t"), "gcr.io/a/b:t");
        assert_eq!(f(&format!("nginx@{SHA}")), format!("nginx@{SHA}"));
        assert_eq!(f("docker.io/library/a/b:1"), "library/a/b:1");
    }

    #[test]
    fn familiar_keeps_hub_prefix_when_the_path_would_look_like_a_host() {
        let r = ImageRef::from_parts("docker.io", "localhost/img", Some("1"), None).unwrap();
        assert_eq!(r.familiar(), "docker.io/localhost/img:1");
        let r = ImageRef::from_parts("docker.io", "a.b/img", Some("1"), None).unwrap();
        assert_eq!(ImageRef::parse(&r.familiar()).unwrap(), r);
    }

    #[test]
    fn name_and_reference() {
        let r = ImageRef::parse("nginx:1.25").unwrap();
        assert_eq!(r.name(), "docker.io/library/nginx");
        assert_eq!(r.reference(), "1.25");
        let r = ImageRef::parse(&format!("nginx:1.25@{SHA}")).unwrap();
        assert_eq!(r.reference(), SHA);
    }

    #[test]
    fn with_tag_replaces_tag_and_drops_digest() {
        let r = ImageRef::parse(&format!("nginx:1@{SHA}")).unwrap();
        let t = r.with_tag("2").unwrap();
        assert_eq!(t.to_string(), "docker.io/library/nginx:2");
        assert_eq!(
            r.with_tag("x@y").unwrap_err().to_string(),
            "invalid tag \"x@y\": must start with a letter, digit or '_' and contain only letters, digits, '_', '.' and '-'"
        );
    }

    #[test]
    fn from_parts_normalises_and_validates() {
        let r = ImageRef::from_parts("index.docker.io", "nginx", None, None).unwrap();
        assert_eq!(r.to_string(), "docker.io/library/nginx:latest");
        assert_eq!(
            ImageRef::from_parts("myhost", "x", Some("1"), None).unwrap_err().to_string(),
            "invalid registry host \"myhost\": a registry host must contain '.' or ':' or be \"localhost\""
        );
        assert!(ImageRef::from_parts("https://h.io", "x", None, None).is_err());
        assert!(ImageRef::from_parts("h.io:", "x", None, None).is_err());
        assert!(ImageRef::from_parts("-h.io", "x", None, None).is_err());
        assert!(ImageRef::from_parts("[zz]:1", "x", None, None).is_err());
    }

    #[test]
    fn serde_uses_the_canonical_string() {
        let r = ImageRef::parse("nginx:1.25").unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, "\"docker.io/library/nginx:1.25\"");
        assert_eq!(
            serde_json::from_str::<ImageRef>("\"nginx:1.25\"").unwrap(),
            r
        );
        let e = serde_json::from_str::<ImageRef>("\"Nginx\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("repository name must be lowercase"), "{e}");
    }

    #[test]
    fn error_empty() {
        assert_eq!(err(""), "empty image reference");
    }

    #[test]
    fn error_whitespace_and_bad_characters() {
        assert_eq!(err(" nginx"), "invalid character ' ' in \" nginx\"");
        assert_eq!(err("nginx\t"), "invalid character '\\t' in \"nginx\\t\"");
        assert_eq!(err("ng!nx"), "invalid character '!' in \"ng!nx\"");
        assert_eq!(err("h.io/[x]"), "invalid character '[' in \"[x]\"");
    }

    #[test]
    fn error_uppercase_repository() {
        assert_eq!(err("Nginx"), "repository name must be lowercase: \"Nginx\"");
        assert_eq!(
            err("gcr.io/Foo/bar:1"),
            "repository name must be lowercase: \"Foo/bar\""
        );
    }

    #[test]
    fn error_malformed_path() {
        assert_eq!(
            err("a//b"),
            "invalid repository name \"a//b\": empty path component (leading, trailing or double '/')"
        );
        for s in ["a..b", "-a", "a_", "a___b", "a.-b", "gcr.io/x/.y"] {
            assert!(
                err(s).contains("must be lowercase letters and digits separated by"),
                "{s}"
            );
        }
        assert!(err(":1").contains("missing repository name"));
        assert!(err("gcr.io/").contains("missing repository name"));
    }

    #[test]
    fn error_bad_tag() {
        assert!(err("nginx:").starts_with("invalid tag \"\": tag is empty"));
        assert!(err("nginx:-x").starts_with("invalid tag \"-x\""));
        assert!(err("nginx:.x").starts_with("invalid tag \".x\""));
        let long = "a".repeat(129);
        assert_eq!(
            err(&format!("nginx:{long}")),
            format!("invalid tag \"{long}\": longer than 128 characters")
        );
    }

    #[test]
    fn error_bad_digest() {
        let msg = |d: &str| {
            format!(
                "invalid digest \"{d}\": digest must be sha256 followed by 64 hex characters \
                 (or sha512 followed by 128), in lowercase"
            )
        };
        assert_eq!(err("nginx@sha256:abc"), msg("sha256:abc"));
        assert_eq!(err("nginx:x@y"), msg("y"));
        let md5 = format!("md5:{}", "a".repeat(32));
        assert_eq!(err(&format!("nginx@{md5}")), msg(&md5));
        let upper = SHA.to_uppercase().replace("SHA256", "sha256");
        assert_eq!(err(&format!("nginx@{upper}")), msg(&upper));
        assert!(err(&format!("nginx@{SHA}@{SHA}")).starts_with("invalid digest"));
    }

    #[test]
    fn error_name_too_long() {
        // docker.io/library/ is 18 characters; 237 more make exactly 255.
        assert!(ImageRef::parse(&"a".repeat(237)).is_ok());
        let e = err(&"a".repeat(238));
        assert!(
            e.starts_with("name longer than 255 characters (256): "),
            "{e}"
        );
    }

    #[test]
    fn error_image_id() {
        let id = "0123456789abcdef".repeat(4);
        assert!(err(&id).contains("is an image ID"));
        assert!(ImageRef::parse(&format!("{id}:1")).is_ok());
    }

    fn registry() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "docker.io",
                "index.docker.io",
                "gcr.io",
                "quay.io",
                "registry.k8s.io",
                "ghcr.io",
                "localhost",
                "localhost:5000",
                "127.0.0.1:5000",
                "[::1]:5000",
                "[fe80::1]",
            ])
            .prop_map(str::to_owned),
            "[a-zA-Z0-9]([a-zA-Z0-9-]{0,4}[a-zA-Z0-9])?(\\.[a-z0-9]{1,5}){1,2}(:[0-9]{1,5})?",
            "[a-z0-9]{1,8}:[0-9]{1,5}",
        ]
    }

    fn repository() -> impl Strategy<Value = String> {
        prop::collection::vec("[a-z0-9]{1,4}((\\.|_|__|-{1,3})[a-z0-9]{1,4}){0,2}", 1..5)
            .prop_map(|parts| parts.join("/"))
    }

    prop_compose! {
        fn image_ref()(
            registry in registry(),
            repository in repository(),
            tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            digest in prop::option::of("[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}"))),
        ) -> ImageRef {
            ImageRef::from_parts(&registry, &repository, tag.as_deref(), digest.as_deref()).unwrap()
        }
    }

    proptest! {
        #[test]
        fn display_and_familiar_round_trip(r in image_ref()) {
            prop_assert_eq!(ImageRef::parse(&r.to_string()).unwrap(), r.clone());
            prop_assert_eq!(ImageRef::parse(&r.familiar()).unwrap(), r);
        }
    }
}
