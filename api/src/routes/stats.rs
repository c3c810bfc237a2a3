//! `GET /api/stats`: the statistics page's figures over a time range, from the hourly and daily
//! aggregates the workers' script keeps (they outlive the jobs), and the pull limits left.

use axum::extract::{Query, State};
use axum::Json;
use docker_sync_common::now_ms;
use docker_sync_common::queue::aggregates::{self, Figures, Span};
use docker_sync_common::registry::{reported, Reported};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

/// Buckets per answer at most: a month of hours, or ten years of days.
const MAX_BUCKETS: u64 = 3660;
/// How many failure reasons and failing images are listed.
const TOP: usize = 10;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Start of the range (ms since the epoch); by default the start of the 24 hours (or 30
    /// days) that end with the current one.
    from: Option<u64>,
    /// End of the range (ms, exclusive); by default now.
    to: Option<u64>,
    /// `hour` or `day`.
    #[param(default = "hour")]
    bucket: Option<String>,
    /// Only this target registry's figures.
    registry: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Bucket {
    pub start_ms: u64,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegistryFigures {
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Count {
    pub name: String,
    pub count: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub bucket: String,
    pub from_ms: u64,
    pub to_ms: u64,
    /// One entry per bucket of the range, oldest first (empty buckets too, all zero).
    pub series: Vec<Bucket>,
    /// The whole range.
    pub totals: Figures,
    /// The range per target registry.
    pub registries: Vec<RegistryFigures>,
    /// The most frequent reasons tasks failed for, and the sources that failed most, over the
    /// days the range touches.
    pub top_reasons: Vec<Count>,
    pub top_failing: Vec<Count>,
    /// The pull limits sources reported (Docker Hub), as the workers last saw them.
    pub pull_limits: Vec<Reported>,
}

#[utoipa::path(get, path = "/api/stats", tag = "stats",
    params(StatsQuery),
    responses(
        (status = 200, description = "The figures per bucket, in total and per registry, the top failures and the pull limits left", body = Stats),
        (status = 400, description = "An unknown `bucket`, `from` not before `to`, or more than 3660 buckets", body = ErrorBody),
    ))]
pub async fn stats(
    State(state): State<AppState>,
    Query(q): Query<StatsQuery>,
) -> Result<Json<Stats>, AppError> {
    let span = match q.bucket.as_deref().unwrap_or("hour") {
        "hour" => Span::Hour,
        "day" => Span::Day,
        other => {
            return Err(AppError::BadRequest(format!(
                "bucket `{other}` is neither `hour` nor `day`"
            )))
        }
    };
    let to = q.to.unwrap_or_else(now_ms);
    // By default the last 24 hours or 30 days, the current one included, whole.
    let buckets = match span {
        Span::Hour => 24,
        Span::Day => 30,
    };
    let default_from = (to - to % span.ms() + span.ms()).saturating_sub(buckets * span.ms());
    let from = q.from.unwrap_or(default_from);
    if from >= to {
        return Err(AppError::BadRequest(format!(
            "`from` ({from}) must be before `to` ({to})"
        )));
    }
    if (to - from) / span.ms() > MAX_BUCKETS {
        return Err(AppError::BadRequest(format!(
            "the range holds more than {MAX_BUCKETS} {}s: ask for days, or a shorter range",
            span.as_str()
        )));
    }
    let registry = q
        .registry
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let range = aggregates::read_range(&state.pool, &state.keys, span, from, to, registry).await?;
    let mut totals = Figures::default();
    for (_, f) in &range.buckets {
        totals.add(f);
    }
    let count = |list: Vec<(String, u64)>| {
        list.into_iter()
            .map(|(name, count)| Count { name, count })
            .collect()
    };
    let reasons = aggregates::top(&state.pool, &state.keys, "reasons", from, to, TOP).await?;
    let failing = aggregates::top(&state.pool, &state.keys, "failing", from, to, TOP).await?;
    Ok(Json(Stats {
        bucket: span.as_str().to_owned(),
        from_ms: from,
        to_ms: to,
        series: range
            .buckets
            .into_iter()
            .map(|(start_ms, figures)| Bucket { start_ms, figures })
            .collect(),
        totals,
        registries: range
            .registries
            .into_iter()
            .map(|(name, figures)| RegistryFigures { name, figures })
            .collect(),
        top_reasons: count(reasons),
        top_failing: count(failing),
        pull_limits: reported(&state.pool, &state.keys).await?,
    }))
}
