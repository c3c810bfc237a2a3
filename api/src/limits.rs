//! The bound of every free-text field that reaches Redis or the log, in one place; the README's
//! api section lists the same numbers. A longer value is refused with a 400 naming the field and
//! the bound, before anything is stored.

use crate::error::AppError;

/// An API token's name.
pub const TOKEN_NAME: usize = 100;
/// An API token's lifetime: ten years at most, so an expiry always fits Redis's clock.
pub const TOKEN_EXPIRY_DAYS: u64 = 3650;

/// A job's namespace (the target path before the image's own path).
pub const JOB_NAMESPACE: usize = 255;
/// Lines in one image list (text or array).
pub const IMAGE_LINES: usize = 10_000;
/// Characters in one line of an image list.
pub const IMAGE_LINE: usize = 1024;

/// A user's display name and e-mail address.
pub const DISPLAY_NAME: usize = 200;
pub const EMAIL: usize = 254;

/// A stored registry's fields (its name's grammar is `check_name` in common's config).
pub const REGISTRY_NAME: usize = 63;
pub const REGISTRY_DISPLAY_NAME: usize = 200;
pub const REGISTRY_URL: usize = 2048;
pub const REGISTRY_USERNAME: usize = 256;
pub const REGISTRY_NAMESPACE: usize = 255;
pub const REGISTRY_DESCRIPTION: usize = 1000;
pub const REGISTRY_PROXY: usize = 2048;
pub const REGISTRY_NO_PROXY: usize = 4096;

/// A sync rule's description.
pub const RULE_DESCRIPTION: usize = 1000;

/// `Err(400)` when `value` has more than `max` characters.
pub fn check_len(field: &str, value: &str, max: usize) -> Result<(), AppError> {
    let len = value.chars().count();
    if len > max {
        return Err(AppError::BadRequest(format!(
            "{field} is too long: {len} characters, at most {max}"
        )));
    }
    Ok(())
}

/// [`check_len`] for an optional field.
pub fn check_opt(field: &str, value: Option<&str>, max: usize) -> Result<(), AppError> {
    value.map_or(Ok(()), |v| check_len(field, v, max))
}
