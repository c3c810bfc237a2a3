//! One platform of a multi-arch image, `os/arch[/variant]` (`linux/amd64`, `linux/arm64/v8`):
//! the job option that copies only that platform's image out of an index, and the rule that
//! picks it from the index's entries the way skopeo 1.9 does.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What the option expects, for error messages.
pub const FORMAT: &str = "os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm64/v8 \
(\"all\" or nothing copies every platform)";

/// Longest part accepted (GOOS, GOARCH and variant names are far shorter).
const MAX_PART: usize = 32;

/// `os/arch[/variant]`. Parsed from user input with [`FromStr`] (lowercased, checked); an index
/// entry's platform is taken as the registry wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform `{input}`: {reason}; expected {FORMAT}")]
pub struct PlatformError {
    input: String,
    reason: &'static str,
}

impl Platform {
    pub fn new(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: os.to_owned(),
            arch: arch.to_owned(),
            variant: variant.map(str::to_owned),
        }
    }

    /// The job option: None (every platform, `--all`) for an absent or empty value or `all`,
    /// else one platform.
    pub fn parse_option(value: Option<&str>) -> Result<Option<Platform>, PlatformError> {
        match value.map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("all") => Ok(None),
            Some(v) => v.parse().map(Some),
        }
    }

    /// The variants skopeo 1.9 (containers/image 5.23) accepts for this platform, best first:
    /// a requested variant, then the older ones it is compatible with (`arm`: v7, v6, v5), then
    /// an entry without a variant; without a requested variant, an entry without one first, then
    /// every known variant of the architecture (`arm64`: v8; `arm`: v7, v6, v5).
    fn wanted_variants(&self) -> Vec<&str> {
        let known: &[&str] = match self.arch.as_str() {
            "arm" => &["v7", "v6", "v5"],
            "arm64" => &["v8"],
            _ => &[],
        };
        match self.variant.as_deref() {
            Some(v) => {
                let mut out: Vec<&str> = match known.iter().position(|k| *k == v) {
                    Some(i) => known[i..].to_vec(),
                    None => vec![v],
                };
                out.push("");
                out
            }
            None => std::iter::once("").chain(known.iter().copied()).collect(),
        }
    }

    /// The entry skopeo 1.9 copies for this platform out of an index's `entries` (in index
    /// order): for each wanted variant in turn, the first entry with this os and architecture and
    /// exactly that variant. skopeo would fall back to an entry without any platform; we do not:
    /// asking for `linux/s390x` never copies an unlabelled image.
    pub fn choose<'a, T>(
        &self,
        entries: &'a [T],
        platform_of: impl Fn(&T) -> Option<&Platform>,
    ) -> Option<&'a T> {
        self.wanted_variants().into_iter().find_map(|variant| {
            entries.iter().find(|e| {
                platform_of(e).is_some_and(|p| {
                    p.os == self.os
                        && p.arch == self.arch
                        && p.variant.as_deref().unwrap_or("") == variant
                })
            })
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| PlatformError {
            input: s.to_owned(),
            reason,
        };
        let lower = s.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lower.split('/').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(err("it needs two or three parts separated by `/`"));
        }
        for part in &parts {
            if part.is_empty() {
                return Err(err("a part is empty"));
            }
            if part.len() > MAX_PART {
                return Err(err("a part is longer than 32 characters"));
            }
            if !part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            {
                return Err(err("only letters, digits, `_`, `.` and `-` are allowed"));
            }
        }
        Ok(Platform::new(parts[0], parts[1], parts.get(2).copied()))
    }
}

impl TryFrom<String> for Platform {
    type Error = PlatformError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Platform> for String {
    fn from(p: Platform) -> String {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn parses_two_or_three_parts_and_prints_them_back() {
        assert_eq!(p("linux/amd64"), Platform::new("linux", "amd64", None));
        assert_eq!(
            p(" Linux/ARM64/v8 "),
            Platform::new("linux", "arm64", Some("v8"))
        );
        assert_eq!(p("linux/arm64/v8").to_string(), "linux/arm64/v8");
        assert_eq!(p("windows/amd64").to_string(), "windows/amd64");
        assert_eq!(p("linux/ppc64le").arch, "ppc64le");
    }

    #[test]
    fn refuses_anything_else_naming_the_format() {
        for bad in [
            "linux",
            "amd64",
            "linux/",
            "/amd64",
            "linux//v8",
            "linux/arm64/v8/x",
            "linux/amd 64",
            "linux/$(id)",
            "linux/amd64;rm",
            "linux,arm64",
        ] {
            let e = bad.parse::<Platform>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("invalid platform `{bad}`: ")), "{e}");
            assert!(e.contains("expected os/arch or os/arch/variant"), "{e}");
        }
        assert!(format!("linux/{}", "a".repeat(33))
            .parse::<Platform>()
            .is_err());
    }

    #[test]
    fn the_option_means_every_platform_when_absent_empty_or_all() {
        assert_eq!(Platform::parse_option(None), Ok(None));
        assert_eq!(Platform::parse_option(Some("")), Ok(None));
        assert_eq!(Platform::parse_option(Some("  ")), Ok(None));
        assert_eq!(Platform::parse_option(Some("all")), Ok(None));
        assert_eq!(Platform::parse_option(Some("ALL")), Ok(None));
        assert_eq!(
            Platform::parse_option(Some("linux/arm64")),
            Ok(Some(p("linux/arm64")))
        );
        assert!(Platform::parse_option(Some("arm64")).is_err());
    }

    #[test]
    fn serde_goes_through_the_text_form() {
        let json = serde_json::to_string(&p("linux/arm/v7")).unwrap();
        assert_eq!(json, "\"linux/arm/v7\"");
        assert_eq!(
            serde_json::from_str::<Platform>(&json).unwrap(),
            p("linux/arm/v7")
        );
        assert!(serde_json::from_str::<Platform>("\"linux\"").is_err());
    }

    /// Index entries as (platform, name); the cases were checked against skopeo 1.9.3 copying
    /// an OCI layout with `--override-os/--override-arch/--override-variant`.
    fn pick<'a>(wanted: &str, entries: &'a [(Option<&str>, &'a str)]) -> Option<&'a str> {
        let entries: Vec<(Option<Platform>, &str)> = entries
            .iter()
            .map(|(platform, name)| (platform.map(p), *name))
            .collect();
        p(wanted)
            .choose(&entries, |(platform, _)| platform.as_ref())
            .map(|(_, name)| *name)
    }

    #[test]
    fn chooses_like_skopeo() {
        let amd_arm = [
            (Some("linux/amd64"), "amd"),
            (Some("linux/arm64/v8"), "arm"),
        ];
        assert_eq!(pick("linux/arm64", &amd_arm), Some("arm"));
        assert_eq!(pick("linux/arm64/v8", &amd_arm), Some("arm"));
        assert_eq!(pick("linux/amd64", &amd_arm), Some("amd"));
        assert_eq!(pick("linux/s390x", &amd_arm), None);
        assert_eq!(pick("windows/amd64", &amd_arm), None);
        assert_eq!(pick("linux/amd64/v3", &amd_arm), Some("amd"));
        // An entry without a variant comes first when none is asked for...
        let both = [
            (Some("linux/arm64/v8"), "v8"),
            (Some("linux/arm64"), "plain"),
        ];
        assert_eq!(pick("linux/arm64", &both), Some("plain"));
        assert_eq!(pick("linux/arm64/v8", &both), Some("v8"));
        // ... and last when one is: older compatible variants first.
        let arm = [(Some("linux/arm/v6"), "v6"), (Some("linux/arm"), "plain")];
        assert_eq!(pick("linux/arm/v7", &arm), Some("v6"));
        let arm = [(Some("linux/arm/v6"), "v6"), (Some("linux/arm/v7"), "v7")];
        assert_eq!(pick("linux/arm", &arm), Some("v7"));
        assert_eq!(pick("linux/arm/v6", &arm), Some("v6"));
        assert_eq!(pick("linux/arm/v5", &arm), None);
        // A variant nothing is known about matches itself only (and no variant).
        assert_eq!(pick("linux/arm64", &[(Some("linux/arm64/v9"), "v9")]), None);
        assert_eq!(pick("linux/amd64", &[(Some("linux/amd64/v3"), "v3")]), None);
        // Entries without a platform are never chosen.
        assert_eq!(
            pick(
                "linux/arm64",
                &[(None, "unlabelled"), (Some("linux/amd64"), "amd")]
            ),
            None
        );
    }
}
