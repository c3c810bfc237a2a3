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

use std::cmp::{Ordering, Reverse};
use std::fmt;

use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;

use crate::image::filter::{FilterDecision, ImageFilter};
use crate::image::reference::{is_reference_char, split_tag, ImageRef, ImageRefError};

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

    /// The images this line selects from `tags` (the repository's listing; ignored for a plain
    /// image), each checked against `filter`.
    pub fn expand(&self, tags: &[String], filter: &ImageFilter) -> Result<Expansion, ExpandError> {
        let mut out = Expansion::default();
        let keep = |image: ImageRef, out: &mut Expansion| match filter.check(&image) {
            FilterDecision::Allowed => {
                out.images.push(image);
                true
            }
            decision => {
                out.dropped.push(Rejected { image, decision });
                false
            }
        };
        match self {
            Self::Exact(image) => {
                keep(image.clone(), &mut out);
            }
            Self::Glob {
                repository,
                pattern,
            } => {
                let mut matches: Vec<&str> = tags
                    .iter()
                    .map(String::as_str)
                    .filter(|t| pattern.is_match(t))
                    .collect();
                matches.sort_by(|a, b| natural_cmp(a, b));
                matches.dedup();
                if matches.is_empty() {
                    return Err(ExpandError::NoMatch {
                        repository: repository.familiar_name(),
                        pattern: pattern.as_str().to_owned(),
                        listed: tags.len(),
                    });
                }
                if matches.len() > MAX_TAGS_PER_LINE {
                    return Err(ExpandError::TooMany {
                        selector: self.to_string(),
                        count: matches.len(),
                    });
                }
                for tag in matches {
                    // A registry listing a tag that is not one is skipped, not fatal.
                    if let Ok(image) = repository.tagged(tag) {
                        keep(image, &mut out);
                    }
                }
            }
            Self::Latest { repository, n } => {
                let mut releases: Vec<(Release, &str)> = tags
                    .iter()
                    .filter_map(|t| Release::parse(t).map(|r| (r, t.as_str())))
                    .collect();
                if releases.is_empty() {
                    return Err(ExpandError::NoVersions {
                        repository: repository.familiar_name(),
                        listed: tags.len(),
                    });
                }
                releases.sort_by(|(a, ta), (b, tb)| a.rank(b).then_with(|| ta.cmp(tb)));
                releases.dedup_by(|(_, a), (_, b)| a == b);
                let mut taken = 0;
                let mut current: Option<Version> = None;
                for (release, tag) in releases {
                    let new_version = current != Some(release.version);
                    if new_version && taken == *n {
                        break;
                    }
                    let Ok(image) = repository.tagged(tag) else {
                        continue;
                    };
                    if keep(image, &mut out) && new_version {
                        taken += 1;
                        current = Some(release.version);
                    }
                }
                if out.images.len() > MAX_TAGS_PER_LINE {
                    return Err(ExpandError::TooMany {
                        selector: self.to_string(),
                        count: out.images.len(),
                    });
                }
            }
        }
        Ok(out)
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

/// What a line selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The images to copy, in order.
    pub images: Vec<ImageRef>,
    /// Selected, then dropped by the filters.
    pub dropped: Vec<Rejected>,
}

/// An image the filters dropped, and the decision that did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub image: ImageRef,
    pub decision: FilterDecision,
}

/// Why a line's selection cannot be made from the listed tags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    #[error("no tag of `{repository}` matches `{pattern}` ({listed} tags listed)")]
    NoMatch {
        repository: String,
        pattern: String,
        listed: usize,
    },
    #[error(
        "`{repository}` has no release tags (`x.y` or `x.y.z`, optionally with a leading `v`) \
         among its {listed} tags"
    )]
    NoVersions { repository: String, listed: usize },
    #[error(
        "`{selector}` selects {count} tags; at most {MAX_TAGS_PER_LINE} per line: narrow the \
         pattern"
    )]
    TooMany { selector: String, count: usize },
}

/// A release version: `major.minor.patch`, a missing patch being 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

/// A tag read as a release, with how it was spelled (for a stable order among equal versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    pub version: Version,
    /// 2 for `1.25`, 3 for `1.25.0`.
    pub parts: u8,
    /// Written with a leading `v`.
    pub prefixed: bool,
}

impl Release {
    /// `1.25.3`, `v1.2`, `22.04` are releases; `7`, `1.2.3.4`, `1.25.2-rc1`, `7.2-alpine`,
    /// `latest`, `v`, `1..2` are not.
    pub fn parse(tag: &str) -> Option<Release> {
        let (prefixed, rest) = match tag.strip_prefix(['v', 'V']) {
            Some(rest) => (true, rest),
            None => (false, tag),
        };
        let mut numbers = [0u64; 3];
        let mut parts = 0;
        for part in rest.split('.') {
            if parts == 3 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            numbers[parts] = part.parse().ok()?;
            parts += 1;
        }
        if parts < 2 {
            return None;
        }
        Some(Release {
            version: Version {
                major: numbers[0],
                minor: numbers[1],
                patch: numbers[2],
            },
            parts: parts as u8,
            prefixed,
        })
    }

    /// Highest version first; for one version the fuller spelling first (`1.25.0` before
    /// `1.25`), then the one without `v` (`1.25.0` before `v1.25.0`).
    fn rank(&self, other: &Release) -> Ordering {
        (Reverse(self.version), Reverse(self.parts), self.prefixed).cmp(&(
            Reverse(other.version),
            Reverse(other.parts),
            other.prefixed,
        ))
    }
}

/// Compares runs of digits by value and the rest as text: `1.9` < `1.10` < `1.10-alpine`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return a.cmp(b),
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let (dx, dy) = (digits(x), digits(y));
        let order = if dx > 0 && dy > 0 {
            let (nx, ny) = (
                x[..dx].trim_start_matches('0'),
                y[..dy].trim_start_matches('0'),
            );
            nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny))
        } else {
            x.as_bytes()[0].cmp(&y.as_bytes()[0])
        };
        if order != Ordering::Equal {
            return order;
        }
        let (sx, sy) = if dx > 0 && dy > 0 { (dx, dy) } else { (1, 1) };
        x = &x[sx..];
        y = &y[sy..];
    }
}

/// A line of a pasted list that is neither an image reference nor a valid selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub line: usize,
    pub input: String,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {:?}: {}", self.line, self.input, self.message)
    }
}

impl std::error::Error for LineError {}

/// One selector of a pasted list, with its 1-based line and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSelector {
    pub line: usize,
    pub input: String,
    pub selector: TagSelector,
}

/// Every valid line of a list and every bad one; parsing never stops at the first error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectorList {
    pub selectors: Vec<ListedSelector>,
    pub errors: Vec<LineError>,
}

/// Parses one selector per line, ignoring blank lines, `# comment` lines and trailing
/// ` # comments`.
pub fn parse_selector_list(text: &str) -> SelectorList {
    collect(text.lines())
}

/// Like [`parse_selector_list`] for a JSON array of strings; entry `i` is line `i + 1`.
pub fn parse_selector_lines(lines: &[String]) -> SelectorList {
    collect(lines.iter().map(String::as_str))
}

fn collect<'a>(lines: impl Iterator<Item = &'a str>) -> SelectorList {
    let mut list = SelectorList::default();
    for (line, input) in meaningful_lines(lines) {
        match TagSelector::parse(input) {
            Ok(selector) => list.selectors.push(ListedSelector {
                line,
                input: input.to_owned(),
                selector,
            }),
            Err(err) => list.errors.push(LineError {
                line,
                input: input.to_owned(),
                message: err.to_string(),
            }),
        }
    }
    list
}

/// The 1-based number and trimmed text of every line that is not blank or a comment.
fn meaningful_lines<'a>(
    lines: impl Iterator<Item = &'a str>,
) -> impl Iterator<Item = (usize, &'a str)> {
    lines
        .enumerate()
        .map(|(index, raw)| (index + 1, strip_comment(raw.trim())))
        .filter(|(_, input)| !input.is_empty())
}

/// Drops a whole-line `#` comment or one that follows whitespace; a `#` glued to a name is
/// left in place so the user hears about it instead of having half the line silently ignored.
fn strip_comment(line: &str) -> &str {
    if line.starts_with('#') {
        return "";
    }
    let cut = line
        .char_indices()
        .find(|&(i, c)| c == '#' && line[..i].ends_with(char::is_whitespace))
        .map_or(line.len(), |(i, _)| i);
    line[..cut].trim_end()
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

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn filter(exclude: &[&str]) -> ImageFilter {
        let exclude: Vec<String> = exclude.iter().map(|s| (*s).to_owned()).collect();
        ImageFilter::new(&[], &exclude).unwrap()
    }

    fn selected(line: &str, listed: &[&str], exclude: &[&str]) -> Vec<String> {
        parse(line)
            .expand(&tags(listed), &filter(exclude))
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .images
            .iter()
            .map(|i| i.tag().unwrap().to_owned())
            .collect()
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

    #[test]
    fn release_versions() {
        let v = |s: &str| {
            Release::parse(s).map(|r| {
                (
                    r.version.major,
                    r.version.minor,
                    r.version.patch,
                    r.parts,
                    r.prefixed,
                )
            })
        };
        assert_eq!(v("1.25.3"), Some((1, 25, 3, 3, false)));
        assert_eq!(v("1.25"), Some((1, 25, 0, 2, false)));
        assert_eq!(v("v1.2"), Some((1, 2, 0, 2, true)));
        assert_eq!(v("V2.0.1"), Some((2, 0, 1, 3, true)));
        assert_eq!(v("22.04"), Some((22, 4, 0, 2, false)));
        for not in [
            "7",
            "20240923",
            "1.2.3.4",
            "1.25.2-rc1",
            "7.2.4-alpine",
            "1.25-debug",
            "latest",
            "v",
            "1..2",
            "1.",
            ".1",
            "1.2.x",
            "vv1.2",
            "1.2.3_build",
            "",
        ] {
            assert_eq!(Release::parse(not), None, "{not}");
        }
    }

    #[test]
    fn latest_takes_the_highest_releases_highest_first() {
        let listed = [
            "1.24.0",
            "1.25.0",
            "1.25.1",
            "1.25.2-rc1",
            "1.26.0",
            "latest",
            "1.25-debug",
            "7",
            "20240923",
            "1.9.9",
            "1.10.0",
        ];
        assert_eq!(
            selected("x.io/r:@latest=2", &listed, &[]),
            ["1.26.0", "1.25.1"]
        );
        assert_eq!(
            selected("x.io/r:@latest=4", &listed, &[]),
            ["1.26.0", "1.25.1", "1.25.0", "1.24.0"]
        );
        // Numbers compare as numbers.
        assert_eq!(
            selected("x.io/r:@latest=100", &listed, &[])
                .last()
                .map(String::as_str),
            Some("1.9.9")
        );
    }

    #[test]
    fn spellings_of_one_version_count_once_and_all_come_along() {
        let listed = ["1.25", "1.25.0", "v1.25.0", "1.24.1", "1.24"];
        assert_eq!(
            selected("x.io/r:@latest=1", &listed, &[]),
            ["1.25.0", "v1.25.0", "1.25"]
        );
        assert_eq!(
            selected("x.io/r:@latest=2", &listed, &[]),
            ["1.25.0", "v1.25.0", "1.25", "1.24.1"]
        );
    }

    #[test]
    fn filters_apply_before_counting() {
        let listed = ["1.0.0", "2.0.0", "3.0.0"];
        let sel = parse("x.io/r:@latest=2");
        let e = sel.expand(&tags(&listed), &filter(&["*:3.*"])).unwrap();
        let kept: Vec<_> = e.images.iter().map(|i| i.tag().unwrap()).collect();
        assert_eq!(kept, ["2.0.0", "1.0.0"]);
        assert_eq!(e.dropped.len(), 1);
        assert_eq!(e.dropped[0].image.to_string(), "x.io/r:3.0.0");
        assert_eq!(
            e.dropped[0].decision,
            FilterDecision::Excluded {
                pattern: "*:3.*".into()
            }
        );
    }

    #[test]
    fn latest_without_releases_is_an_error() {
        let e = parse("x.io/r:@latest=2")
            .expand(&tags(&["latest", "7", "1.0-rc1"]), &filter(&[]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`x.io/r` has no release tags (`x.y` or `x.y.z`, optionally with a leading `v`) \
             among its 3 tags"
        );
    }

    #[test]
    fn globs_match_the_tag_in_natural_order_and_are_filtered() {
        let listed = [
            "1.25.1",
            "1.25.0",
            "1.25.10",
            "1.25.2-rc1",
            "1.250",
            "1.24.0",
            "latest",
            "debug",
            "1.25-debug",
        ];
        assert_eq!(
            selected("x.io/r:1.25*", &listed, &[]),
            [
                "1.25-debug",
                "1.25.0",
                "1.25.1",
                "1.25.2-rc1",
                "1.25.10",
                "1.250"
            ]
        );
        assert_eq!(
            selected("x.io/r:1.25.[0-9]", &listed, &[]),
            ["1.25.0", "1.25.1"]
        );
        assert_eq!(
            selected("x.io/r:{latest,debug}", &listed, &[]),
            ["debug", "latest"]
        );
        let e = parse("x.io/r:*")
            .expand(&tags(&listed), &filter(&["*:debug", "*-debug"]))
            .unwrap();
        assert_eq!(e.images.len(), 7);
        let dropped: Vec<_> = e.dropped.iter().map(|d| d.image.tag().unwrap()).collect();
        assert_eq!(dropped, ["1.25-debug", "debug"]);
    }

    #[test]
    fn a_glob_matching_nothing_or_too_much_is_an_error() {
        let e = parse("nginx:9.*")
            .expand(&tags(&["1.0", "2.0"]), &filter(&[]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "no tag of `nginx` matches `9.*` (2 tags listed)"
        );
        let many: Vec<String> = (0..1001).map(|i| format!("1.{i}")).collect();
        let e = parse("nginx:1.*").expand(&many, &filter(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`nginx:1.*` selects 1001 tags; at most 1000 per line: narrow the pattern"
        );
        let ok = parse("nginx:1.*")
            .expand(&many[..1000], &filter(&[]))
            .unwrap();
        assert_eq!(ok.images.len(), 1000);
    }

    #[test]
    fn exact_images_are_filtered_too() {
        let e = parse("nginx:debug")
            .expand(&[], &filter(&["*:debug"]))
            .unwrap();
        assert!(e.images.is_empty());
        assert_eq!(e.dropped[0].image.familiar(), "nginx:debug");
        assert_eq!(
            parse("nginx:1")
                .expand(&[], &filter(&["*:debug"]))
                .unwrap()
                .images,
            [ImageRef::parse("nginx:1").unwrap()]
        );
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["1.10", "1.9", "1.10-alpine", "1.09", "a", "1", "10", "2"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            ["1", "1.09", "1.9", "1.10", "1.10-alpine", "2", "10", "a"]
        );
    }

    #[test]
    fn list_reports_every_bad_line_with_its_number() {
        let text = "# mirrors\nnginx:1.25*\n\nnginx:@latest=0\nbitnami/redis:7.*   # cache\nNginx\nx:@latest=2\nnginx:1.*@sha256:abc\n";
        let list = parse_selector_list(text);
        let ok: Vec<_> = list
            .selectors
            .iter()
            .map(|s| (s.line, s.input.as_str()))
            .collect();
        assert_eq!(
            ok,
            [
                (2, "nginx:1.25*"),
                (5, "bitnami/redis:7.*"),
                (7, "x:@latest=2")
            ]
        );
        let errors: Vec<_> = list.errors.iter().map(|e| e.line).collect();
        assert_eq!(errors, [4, 6, 8]);
        assert!(list.errors[0].message.starts_with("invalid count \"0\""));
        let lines = parse_selector_lines(&["a:1*".into(), String::new(), "b:@latest".into()]);
        assert_eq!(lines.selectors[0].line, 1);
        assert_eq!(lines.errors[0].line, 3);
    }

    #[test]
    fn list_keeps_a_glued_hash() {
        let list = parse_selector_list("nginx#x");
        assert_eq!(
            list.errors[0].message,
            "invalid character '#' in \"nginx#x\""
        );
    }
}
