//! Lines of an image list that select tags rather than name one, expanded against the tags the
//! source registry lists when a job is submitted.
//!
//! | line | selects |
//! |---|---|
//! | `nginx:1.25` | that image (any reference [`ImageRef::parse`] accepts, unchanged) |
//! | `nginx:1.25*`, `bitnami/redis:7.*`, `ghcr.io/a/b:v1.[0-9]*` | every tag matching the glob |
//! | `nginx:@latest=3` | the tags of the 3 highest release versions |
//!
//! **Globs** apply to the tag only: `*` any run of characters, `?` one character, `[...]` /
//! `[!...]` a class, `{a,b}` alternatives. The matches come in natural order (`1.9` before `1.10`).
//!
//! **`@latest=N`** (N from 1 to 1000) takes the N highest *release versions*, the way Renovate
//! and Dependabot read tags: a release tag is two or three dot-separated numbers with an optional
//! leading `v` — `1.25.3`, `v1.2`, `22.04` — and a missing patch counts as 0 (`1.25` is `1.25.0`).
//! Not releases, so never picked: anything with a suffix (`1.25.2-rc1`, `7.2.4-alpine`,
//! `1.25-debug`), single numbers (`7`, and build numbers or dates like `20240923` that would
//! otherwise outrank every release), four or more parts, and words (`latest`, `stable`). Tags
//! spelling the same version (`1.25`, `1.25.0`, `v1.25.0`) count as one version and all come
//! along, so `@latest=2` may copy more than two tags. The filters apply first: an excluded tag is
//! reported as dropped and the next version takes its place, so `@latest=3` still yields three
//! versions when one is excluded. For a variant line, use a glob (`redis:7.*-alpine`).
//!
//! A glob or `@latest=N` line selecting more than [`MAX_TAGS_PER_LINE`] tags, or matching none,
//! is an error for that line.

use std::fmt;

use globset::{GlobBuilder, GlobMatcher};

use crate::image::reference::{is_reference_char, split_tag, ImageRef, ImageRefError};

mod expand;
mod list;
mod version;

pub use expand::{ExpandError, Expansion, Rejected};
pub use list::{
    parse_selector_lines, parse_selector_list, LineError, ListedSelector, SelectorList,
};
pub use version::{natural_cmp, Release, Version};

/// Most tags one line may expand to.
pub const MAX_TAGS_PER_LINE: usize = 1000;
/// Most tags listed from one repository; a longer list is an error rather than a cut one.
pub const MAX_LISTED_TAGS: usize = 20_000;

/// A repository without a tag: what a pattern or `@latest=N` is expanded against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository {
    // Normalised like any reference; its `latest` tag is only a placeholder.
    image: ImageRef,
}

impl Repository {
    /// Parses `name` (no tag, no digest) the way [`ImageRef::parse`] reads names.
    pub fn parse(name: &str) -> Result<Self, ImageRefError> {
        Ok(Self {
            image: ImageRef::parse(name)?,
        })
    }

    /// Registry host (`docker.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        self.image.registry()
    }

    /// Path inside the registry (`library/nginx`).
    pub fn path(&self) -> &str {
        self.image.repository()
    }

    /// `registry/path`.
    pub fn name(&self) -> String {
        self.image.name()
    }

    /// As docker shows it (`nginx`, `gcr.io/a/b`).
    pub fn familiar_name(&self) -> String {
        self.image.familiar_name()
    }

    /// The image `repository:tag`.
    pub fn tagged(&self, tag: &str) -> Result<ImageRef, ImageRefError> {
        self.image.with_tag(tag)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar_name())
    }
}

/// A compiled tag glob.
#[derive(Debug, Clone)]
pub struct TagPattern {
    source: String,
    matcher: GlobMatcher,
}

impl PartialEq for TagPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for TagPattern {}

impl TagPattern {
    pub fn new(pattern: &str) -> Result<Self, SelectorError> {
        let bad = |reason: String| SelectorError::BadPattern {
            pattern: pattern.to_owned(),
            reason,
        };
        if let Some(ch) = pattern
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || "_.-*?[]!^{},".contains(c)))
        {
            return Err(bad(format!(
                "invalid character {ch:?}: a tag pattern is tag characters (letters, digits, \
                 '_', '.', '-') and glob characters (*, ?, [...], {{a,b}})"
            )));
        }
        if pattern.len() > 255 {
            return Err(bad("longer than 255 characters".into()));
        }
        let glob = GlobBuilder::new(pattern)
            .literal_separator(false)
            .build()
            .map_err(|e| bad(e.kind().to_string()))?;
        Ok(Self {
            source: pattern.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, tag: &str) -> bool {
        self.matcher.is_match(tag)
    }
}

/// One line of an image list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagSelector {
    /// A plain reference: exactly this image.
    Exact(ImageRef),
    /// Every listed tag matching the glob.
    Glob {
        repository: Repository,
        pattern: TagPattern,
    },
    /// The tags of the `n` highest release versions.
    Latest { repository: Repository, n: usize },
}

/// Why a line is neither a reference nor a valid selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error(transparent)]
    Image(#[from] ImageRefError),
    #[error("a tag pattern cannot be combined with a digest: a digest names exactly one image")]
    PatternWithDigest,
    #[error("`@latest=N` cannot be combined with a digest: a digest names exactly one image")]
    LatestWithDigest,
    #[error(
        "patterns select tags only: {0:?} has `*` or `?` in the repository name; list each \
         repository on its own line"
    )]
    PatternInName(String),
    #[error("invalid tag pattern {pattern:?}: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("`@latest` needs a count: write `@latest=N`, for example `nginx:@latest=3`")]
    LatestWithoutCount,
    #[error(
        "invalid count {0:?} in `@latest=N`: N is a whole number from 1 to {MAX_TAGS_PER_LINE}"
    )]
    LatestCount(String),
    #[error(
        "unknown selector `@{0}`: the only one is `@latest=N` (the N highest versions), for \
         example `nginx:@latest=3`"
    )]
    UnknownSelector(String),
    #[error("`@latest=N` takes the place of the tag: write `{name}:@latest={n}`")]
    LatestWithTag { name: String, n: usize },
    #[error("write `@latest=N` after a colon, in place of the tag: `{0}:@latest=N`")]
    LatestNeedsColon(String),
}

impl TagSelector {
    /// Parses one trimmed, non-comment line.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        if let Some(at) = input.find(":@") {
            return parse_latest(&input[..at], &input[at + 2..]);
        }
        if let Some(at) = input.find("@latest") {
            return Err(SelectorError::LatestNeedsColon(input[..at].to_owned()));
        }
        let is_pattern_char = |c: char| "*?[]{}!^,".contains(c);
        // Anything else out of place (whitespace, `!` in a name, ...) gets ImageRef's message.
        if let Some(ch) = input
            .chars()
            .find(|&c| !is_reference_char(c) && !is_pattern_char(c))
        {
            return Err(ImageRefError::InvalidCharacter {
                ch,
                part: input.to_owned(),
            }
            .into());
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (input, None),
        };
        let (name, tag) = split_tag(rest);
        if name.contains(['*', '?']) {
            return Err(SelectorError::PatternInName(name.to_owned()));
        }
        match tag {
            Some(tag) if tag.contains(['*', '?', '[', ']', '{', '}']) => {
                if digest.is_some() {
                    return Err(SelectorError::PatternWithDigest);
                }
                let repository = Repository::parse(name)?;
                let pattern = TagPattern::new(tag)?;
                Ok(Self::Glob {
                    repository,
                    pattern,
                })
            }
            _ => Ok(Self::Exact(ImageRef::parse(input)?)),
        }
    }

    /// The repository whose tags must be listed to expand this line (None for a plain image).
    pub fn repository(&self) -> Option<&Repository> {
        match self {
            Self::Exact(_) => None,
            Self::Glob { repository, .. } | Self::Latest { repository, .. } => Some(repository),
        }
    }
}

impl fmt::Display for TagSelector {
    /// The line as people write it: `nginx:1.25`, `nginx:1.25*`, `nginx:@latest=3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(image) => f.write_str(&image.familiar()),
            Self::Glob {
                repository,
                pattern,
            } => write!(f, "{repository}:{}", pattern.as_str()),
            Self::Latest { repository, n } => write!(f, "{repository}:@latest={n}"),
        }
    }
}

fn parse_latest(name: &str, selector: &str) -> Result<TagSelector, SelectorError> {
    let Some(rest) = selector.strip_prefix("latest") else {
        let word = selector.split(['=', '@']).next().unwrap_or(selector);
        return Err(SelectorError::UnknownSelector(word.to_owned()));
    };
    let count = match rest.strip_prefix('=') {
        Some(count) => count,
        None if rest.is_empty() => return Err(SelectorError::LatestWithoutCount),
        None => {
            let word = selector.split(['=', '@']).next().unwrap_or(selector);
            return Err(SelectorError::UnknownSelector(word.to_owned()));
        }
    };
    if count.contains('@') || name.contains('@') {
        return Err(SelectorError::LatestWithDigest);
    }
    let n = match count.parse::<usize>() {
        Ok(n)
            if count.bytes().all(|b| b.is_ascii_digit())
                && (1..=MAX_TAGS_PER_LINE).contains(&n) =>
        {
            n
        }
        _ => return Err(SelectorError::LatestCount(count.to_owned())),
    };
    let (bare, tag) = split_tag(name);
    if tag.is_some() {
        return Err(SelectorError::LatestWithTag {
            name: bare.to_owned(),
            n,
        });
    }
    if name.contains(['*', '?']) {
        return Err(SelectorError::PatternInName(name.to_owned()));
    }
    Ok(TagSelector::Latest {
        repository: Repository::parse(name)?,
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(s: &str) -> TagSelector {
        TagSelector::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn err(s: &str) -> String {
        match TagSelector::parse(s) {
            Ok(sel) => panic!("{s:?} parsed as {sel:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn plain_references_go_through_image_ref_unchanged() {
        for s in [
            "nginx",
            "nginx:1.25",
            "bitnami/redis:7.2",
            "[::1]:5000/img:1",
            "host:5000/ns/img",
            &format!("img:tag@{SHA}"),
        ] {
            assert_eq!(
                parse(s),
                TagSelector::Exact(ImageRef::parse(s).unwrap()),
                "{s}"
            );
        }
        assert_eq!(parse("nginx:1.25").repository(), None);
    }

    #[test]
    fn globs_in_the_tag() {
        let TagSelector::Glob {
            repository,
            pattern,
        } = parse("nginx:1.25*")
        else {
            panic!("expected a glob")
        };
        assert_eq!(repository.name(), "docker.io/library/nginx");
        assert_eq!(pattern.as_str(), "1.25*");
        for s in [
            "bitnami/redis:7.*",
            "ghcr.io/a/b:v1.[0-9]*",
            "[::1]:5000/img:1.?",
            "host:5000/a:{1,2}.0",
            "a:[!0-9]*",
        ] {
            assert!(matches!(parse(s), TagSelector::Glob { .. }), "{s}");
            assert_eq!(parse(s).to_string(), s.replace("docker.io/", ""), "{s}");
        }
        assert_eq!(
            parse("docker.io/library/nginx:1.*").to_string(),
            "nginx:1.*"
        );
    }

    #[test]
    fn latest_n() {
        let TagSelector::Latest { repository, n } = parse("nginx:@latest=3") else {
            panic!("expected @latest")
        };
        assert_eq!((repository.path(), n), ("library/nginx", 3));
        assert!(matches!(
            parse("host:5000/ns/img:@latest=1000"),
            TagSelector::Latest { n: 1000, .. }
        ));
        assert_eq!(
            parse("gcr.io/a/b:@latest=2").to_string(),
            "gcr.io/a/b:@latest=2"
        );
    }

    #[test]
    fn latest_errors() {
        assert_eq!(
            err("nginx:@latest=0"),
            "invalid count \"0\" in `@latest=N`: N is a whole number from 1 to 1000"
        );
        assert!(err("nginx:@latest=x").starts_with("invalid count \"x\""));
        assert!(err("nginx:@latest=1001").starts_with("invalid count \"1001\""));
        assert!(err("nginx:@latest=-1").starts_with("invalid count \"-1\""));
        assert!(err("nginx:@latest=").starts_with("invalid count \"\""));
        assert_eq!(
            err("nginx:@latest"),
            "`@latest` needs a count: write `@latest=N`, for example `nginx:@latest=3`"
        );
        assert!(err("nginx:@newest=3").starts_with("unknown selector `@newest`"));
        assert!(err("nginx:@latestx=3").starts_with("unknown selector `@latestx`"));
        assert_eq!(
            err("nginx@latest=3"),
            "write `@latest=N` after a colon, in place of the tag: `nginx:@latest=N`"
        );
        assert_eq!(
            err("nginx:1.25:@latest=3"),
            "`@latest=N` takes the place of the tag: write `nginx:@latest=3`"
        );
        assert_eq!(
            err(&format!("nginx:@latest=3@{SHA}")),
            "`@latest=N` cannot be combined with a digest: a digest names exactly one image"
        );
        assert!(err("Nginx:@latest=3").contains("lowercase"));
        assert!(err("ng*x:@latest=3").starts_with("patterns select tags only"));
    }

    #[test]
    fn glob_errors() {
        assert_eq!(
            err(&format!("nginx:1.*@{SHA}")),
            "a tag pattern cannot be combined with a digest: a digest names exactly one image"
        );
        assert_eq!(
            err("bitnami/*:7"),
            "patterns select tags only: \"bitnami/*\" has `*` or `?` in the repository name; \
             list each repository on its own line"
        );
        assert!(err("ngin?").starts_with("patterns select tags only"));
        assert!(
            err("nginx:1.[0-9").starts_with("invalid tag pattern \"1.[0-9\": "),
            "{}",
            err("nginx:1.[0-9")
        );
        assert!(err("Nginx:1.*").contains("lowercase"));
        // Other bad characters keep ImageRef's message.
        assert_eq!(
            err("nginx:1.* x"),
            "invalid character ' ' in \"nginx:1.* x\""
        );
        assert_eq!(err("bad tag!"), "invalid character ' ' in \"bad tag!\"");
    }
}
