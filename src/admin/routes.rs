//! What the admin listener serves. A route is one line in [`router`] plus its handler; handlers
//! answer JSON (axum's `Json`) unless the format is fixed elsewhere (OpenMetrics text).
//!
//! | route | answer |
//! |---|---|
//! | `GET /metrics` | the broker's metrics (OpenMetrics text); 503 until the broker is up |
//! | `GET /health/live` | 200 `{"status":"live"}` while the process serves HTTP |
//! | `GET /health/ready` | 200 `{"status":"ready"}` while the broker accepts Kafka connections; 503 with `starting` or `stopping` otherwise |
//!
//! With `control.enable`, the test-control plane's routes too (listed in `control.rs`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::{AdminState, Phase};
use crate::metrics::Metrics;

type Shared = State<Arc<AdminState>>;

pub fn router(state: Arc<AdminState>, response_timeout: Duration) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .merge(super::control::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(move |request, next| {
            time_limit(response_timeout, request, next)
        }))
        .with_state(state)
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

fn status(code: StatusCode, status: &'static str) -> Response {
    (code, Json(Status { status })).into_response()
}

async fn metrics(State(state): Shared) -> Response {
    let Some(broker) = state.broker() else {
        return status(StatusCode::SERVICE_UNAVAILABLE, "starting");
    };
    let text = broker.metrics().scrape(broker).await;
    ([(header::CONTENT_TYPE, Metrics::CONTENT_TYPE)], text).into_response()
}

async fn live() -> Response {
    status(StatusCode::OK, "live")
}

async fn ready(State(state): Shared) -> Response {
    match state.phase() {
        Phase::Ready => status(StatusCode::OK, "ready"),
        Phase::Starting => status(StatusCode::SERVICE_UNAVAILABLE, "starting"),
        Phase::Stopping => status(StatusCode::SERVICE_UNAVAILABLE, "stopping"),
    }
}

async fn not_found() -> Response {
    not_found_response()
}

pub(super) fn not_found_response() -> Response {
    (
        StatusCode::NOT_FOUND,
        "not found: try /metrics, /health/live or /health/ready\n",
    )
        .into_response()
}

/// Answers 503 when a handler takes longer than `limit`.
async fn time_limit(limit: Duration, request: Request, next: Next) -> Response {
    match crate::clock::monotonic::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => status(StatusCode::SERVICE_UNAVAILABLE, "timed out"),
    }
}
