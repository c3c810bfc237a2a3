//! File names in the downloads folder: made from image names at plan time, and checked when a
//! request names one.

use std::collections::HashSet;
use std::fmt;

use super::ArchiveFormat;

/// Longest name accepted: well under every file system's 255 bytes, with room for a `-N` suffix.
const MAX_LEN: usize = 160;

/// A name that is safe as one path segment: ASCII letters, digits, `.`, `_` and `-`, starting
/// with a letter or digit (so never `.`, `..` or a hidden file), at most 160 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SafeName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name must not be empty")]
    Empty,
    #[error("a name is at most {MAX_LEN} characters")]
    TooLong,
    #[error("a name starts with a letter or a digit")]
    BadStart,
    #[error("a name holds only letters, digits, '.', '_' and '-' (found {0:?})")]
    BadCharacter(char),
}

impl SafeName {
    pub fn parse(s: &str) -> Result<SafeName, NameError> {
        let first = s.chars().next().ok_or(NameError::Empty)?;
        if s.len() > MAX_LEN {
            return Err(NameError::TooLong);
        }
        if !first.is_ascii_alphanumeric() {
            return Err(NameError::BadStart);
        }
        if let Some(c) = s.chars().find(|c| !allowed(*c)) {
            return Err(NameError::BadCharacter(c));
        }
        Ok(SafeName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SafeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The archive's file name for an image whose target path is `path` (`library/nginx`) and tag
/// `tag`: `library_nginx_1.25.oci.tar`. Anything outside [`SafeName`]'s characters becomes `_`;
/// a name already in `taken` (two images mapped to one name) gets `-2`, `-3`, ... before the
/// extension. The result is always a valid [`SafeName`] and is added to `taken`.
pub fn file_name(
    path: &str,
    tag: &str,
    format: ArchiveFormat,
    taken: &mut HashSet<String>,
) -> SafeName {
    let raw = format!("{}_{}", path.replace('/', "_"), tag);
    let mut stem: String = raw
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    let stem_start = stem
        .find(|c: char| c.is_ascii_alphanumeric())
        .unwrap_or(stem.len());
    stem.drain(..stem_start);
    if stem.is_empty() {
        stem.push_str("image");
    }
    // Room for the extension and a suffix.
    stem.truncate(MAX_LEN - format.extension().len() - 6);
    let mut name = format!("{stem}{}", format.extension());
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{stem}-{n}{}", format.extension());
        n += 1;
    }
    taken.insert(name.clone());
    SafeName::parse(&name).expect("made of allowed characters")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_names_that_could_leave_the_folder_are_refused() {
        for bad in [
            "",
            "..",
            ".",
            ".hidden",
            "a/b",
            "a\\b",
            "../etc",
            "x\0y",
            "über",
            &"a".repeat(161),
        ] {
            assert!(SafeName::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["0b1c2d3e-job", "library_nginx_1.25.oci.tar", "a"] {
            assert_eq!(SafeName::parse(good).unwrap().as_str(), good);
        }
        assert_eq!(SafeName::parse("a/b"), Err(NameError::BadCharacter('/')));
    }

    #[test]
    fn file_names_are_safe_readable_and_unique_in_a_bundle() {
        let mut taken = HashSet::new();
        let oci = ArchiveFormat::OciArchive;
        assert_eq!(
            file_name("library/nginx", "1.25", oci, &mut taken).as_str(),
            "library_nginx_1.25.oci.tar"
        );
        assert_eq!(
            file_name("library/nginx", "1.25", oci, &mut taken).as_str(),
            "library_nginx_1.25-2.oci.tar"
        );
        assert_eq!(
            file_name(
                "_odd/na me",
                "v1+b",
                ArchiveFormat::DockerArchive,
                &mut taken
            )
            .as_str(),
            "odd_na_me_v1_b.docker.tar"
        );
        let long = file_name(&"x".repeat(400), "1", oci, &mut taken);
        assert!(long.as_str().len() <= MAX_LEN);
        assert!(long.as_str().ends_with(".oci.tar"));
    }
}
