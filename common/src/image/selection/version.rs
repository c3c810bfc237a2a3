//! Tags read as release versions (`1.25.3`, `v1.2`) for `@latest=N`, and the natural order
//! (`1.9` before `1.10`) glob matches come in.

use std::cmp::{Ordering, Reverse};

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
    pub(super) fn rank(&self, other: &Release) -> Ordering {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn natural_order() {
        let mut v = vec!["1.10", "1.9", "1.10-alpine", "1.09", "a", "1", "10", "2"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            ["1", "1.09", "1.9", "1.10", "1.10-alpine", "2", "10", "a"]
        );
    }
}
