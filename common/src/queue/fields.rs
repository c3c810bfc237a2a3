//! Reading hash fields that may be missing (a record written by an older release, or a field no
//! worker has set yet): a missing or unparsable number reads as its default.

use std::collections::HashMap;

pub(crate) fn text(f: &HashMap<String, String>, k: impl AsRef<str>) -> String {
    f.get(k.as_ref()).cloned().unwrap_or_default()
}

pub(crate) fn opt_text(f: &HashMap<String, String>, k: impl AsRef<str>) -> Option<String> {
    f.get(k.as_ref()).filter(|v| !v.is_empty()).cloned()
}

pub(crate) fn num<T: std::str::FromStr + Default>(
    f: &HashMap<String, String>,
    k: impl AsRef<str>,
) -> T {
    opt_num(f, k).unwrap_or_default()
}

pub(crate) fn opt_num<T: std::str::FromStr>(
    f: &HashMap<String, String>,
    k: impl AsRef<str>,
) -> Option<T> {
    f.get(k.as_ref()).and_then(|v| v.parse().ok())
}
