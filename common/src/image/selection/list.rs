//! A pasted list of selectors, one a line: every valid line and every bad one with its number,
//! blank lines and `# comments` left out.

use std::fmt;

use serde::Serialize;

use super::TagSelector;

/// A line of a pasted list that is neither an image reference nor a valid selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineError {
    pub line: usize,
    pub input: String,
    pub message: String,
    /// What is wrong as a stable code and its parameters, for the UI's languages.
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Value,
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
                code: crate::image::codes::Coded::code(&err).to_owned(),
                params: crate::image::codes::Coded::params(&err),
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
