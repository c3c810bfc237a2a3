use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

/// 200 when Redis answers, 503 otherwise (a load balancer then stops sending traffic here).
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let redis_ok = match state.pool.get().await {
        Ok(mut conn) => redis::cmd("PING")
            .query_async::<String>(&mut *conn)
            .await
            .is_ok(),
        Err(_) => false,
    };
    if redis_ok {
        (
            StatusCode::OK,
            Json(json!({ "status": "ok", "redis": "ok" })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "redis": "unreachable" })),
        )
    }
}
