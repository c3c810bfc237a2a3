//! The language of messages the UI shows as they come (connection-test steps): the UI sends its
//! own choice as `Accept-Language`; anything but Chinese gets English.

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// The first language of an `Accept-Language` value that we speak.
    pub fn from_header(value: &str) -> Lang {
        for part in value.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag == "zh" || tag.starts_with("zh-") {
                return Lang::Zh;
            }
            if tag == "en" || tag.starts_with("en-") {
                return Lang::En;
            }
        }
        Lang::En
    }

    /// `en` or `zh`, whichever is ours.
    pub fn pick(self, en: String, zh: String) -> String {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Lang::from_header)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_only_when_asked_for_first() {
        assert_eq!(Lang::from_header("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(Lang::from_header("zh"), Lang::Zh);
        assert_eq!(Lang::from_header("en-US,zh;q=0.5"), Lang::En);
        assert_eq!(Lang::from_header("fr, zh;q=0.1"), Lang::Zh);
        assert_eq!(Lang::from_header("de"), Lang::En);
        assert_eq!(Lang::from_header(""), Lang::En);
    }
}
