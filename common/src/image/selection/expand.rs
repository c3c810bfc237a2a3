//! A selector expanded against the tags the source registry lists: the glob's matches in natural
//! order, or the tags of the N highest release versions, each checked against the filters.

use crate::image::filter::{FilterDecision, ImageFilter};
use crate::image::reference::ImageRef;

use super::version::{natural_cmp, Release, Version};
use super::{TagSelector, MAX_TAGS_PER_LINE};

impl TagSelector {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> TagSelector {
        TagSelector::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
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
}
