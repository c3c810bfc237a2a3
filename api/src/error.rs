//! The api's one error type. Client errors carry their message (and, for an image list, every
//! bad line); server errors are logged in full and answered with a bare 500.

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use docker_sync_common::bundle::QuotaError;
use docker_sync_common::config::stored::StoreError;
use docker_sync_common::image::selection::LineError;
use docker_sync_common::queue::QueueError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid image list")]
    InvalidLines(Vec<LineError>),
    #[error("{0}")]
    BadRequest(String),
    /// A 400 with a stable code and its parameters (the UI says it in the user's language),
    /// and the request field it is about, when one.
    #[error("{}", issue.message)]
    Invalid {
        issue: docker_sync_common::image::codes::Issue,
        field: Option<&'static str>,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{message}")]
    Forbidden {
        message: String,
        /// Machine-readable reason, e.g. `password_change_required`.
        code: Option<&'static str>,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 507: the downloads folder has no room for it (its quota or free-space floor).
    #[error("{0}")]
    InsufficientStorage(String),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error(transparent)]
    Json(#[from] JsonRejection),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis pool: {0}")]
    Pool(#[from] docker_sync_common::redis::deadpool_redis::PoolError),
    #[error("{0}")]
    Internal(String),
}

impl From<QueueError> for AppError {
    fn from(e: QueueError) -> AppError {
        match e {
            QueueError::Redis(e) => AppError::Redis(e),
            QueueError::Pool(e) => AppError::Pool(e),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Invalid(m) => AppError::BadRequest(m),
            StoreError::NoKey => AppError::BadRequest(e.to_string()),
            StoreError::Exists(_) | StoreError::Busy(_) => AppError::Conflict(e.to_string()),
            StoreError::NotFound(_) => AppError::NotFound(e.to_string()),
            StoreError::Redis(e) => AppError::Redis(e),
            StoreError::Pool(e) => AppError::Pool(e),
        }
    }
}

/// A refusal says the numbers (507); a folder that cannot be measured is the server's (500).
impl From<QuotaError> for AppError {
    fn from(e: QuotaError) -> AppError {
        match e {
            QuotaError::Io { .. } => AppError::Internal(e.to_string()),
            QuotaError::Quota { .. } | QuotaError::Disk { .. } => {
                AppError::InsufficientStorage(e.to_string())
            }
        }
    }
}

/// What every 4xx and 500 answers, as the OpenAPI document shows it; `into_response` writes
/// the same keys.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What was wrong, for people.
    pub error: String,
    /// Machine-readable reason, e.g. `password_change_required` (403) or `namespace_invalid`
    /// (400, with `params`): the UI says it in the user's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The values the code's sentence names.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub params: Option<serde_json::Value>,
    /// The request field the error is about (`namespace`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// An image list's bad lines, each with its number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<LineError>>,
    /// 429: seconds until a new attempt may succeed (also in `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::Forbidden {
            message: message.into(),
            code: None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            AppError::InvalidLines(errors) => (
                StatusCode::BAD_REQUEST,
                json!({ "error": self.to_string(), "errors": errors }),
            ),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, json!({ "error": m })),
            AppError::Invalid { issue, field } => (
                StatusCode::BAD_REQUEST,
                json!({ "error": issue.message, "code": issue.code, "params": issue.params, "field": field }),
            ),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, json!({ "error": m })),
            AppError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, json!({ "error": m })),
            AppError::Forbidden { message, code } => (
                StatusCode::FORBIDDEN,
                json!({ "error": message, "code": code }),
            ),
            AppError::Conflict(m) => (StatusCode::CONFLICT, json!({ "error": m })),
            AppError::UnsupportedMediaType(m) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, json!({ "error": m }))
            }
            AppError::InsufficientStorage(m) => {
                (StatusCode::INSUFFICIENT_STORAGE, json!({ "error": m }))
            }
            AppError::TooManyRequests {
                message,
                retry_after,
            } => {
                let body = json!({ "error": message, "retry_after": retry_after });
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(axum::http::header::RETRY_AFTER, retry_after.to_string())],
                    Json(body),
                )
                    .into_response();
            }
            // A body that parses but breaks a field's rule is as much a client mistake as any
            // other: one status (400) for every "your input is wrong".
            AppError::Json(rejection) => (
                match rejection.status() {
                    StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
                    other => other,
                },
                json!({ "error": format!("invalid request body: {}", rejection.body_text()) }),
            ),
            AppError::Redis(_) | AppError::Pool(_) | AppError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "error": "internal error; see the server log" }),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
