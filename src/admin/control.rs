//! The test-control plane over HTTP/JSON: the routes below answer only on a broker started
//! with `control.enable`; elsewhere they are unknown paths (404), so a production broker
//! exposes none of it. Bodies are JSON; every answer is JSON; a refused request is
//! `{"error": "..."}` with 400 (bad request), 404 (no such rule), 409 (the clock is not
//! manual) or 503 (broker down/up failed, or the broker is still starting).
//!
//! | route | body | answer |
//! |---|---|---|
//! | `GET /control` | | status: broker up/down, clock, rule count, capture state, seeded topics |
//! | `GET /faults` | | the rules in order, each with `id`, `fired`, `remaining` |
//! | `POST /faults[?position=N]` | a rule (see `control::rules::Rule`) | 201 `{"id": N}` |
//! | `DELETE /faults` | | `{"cleared": N}` |
//! | `DELETE /faults/{id}` | | `{"removed": id}` |
//! | `POST /broker/down`, `POST /broker/up` | | `{"broker": "down"}` once done |
//! | `GET /clock` | | `{"manual": true, "now_ms": N}` |
//! | `POST /clock/advance` | `{"ms": N, "over_ms": M}` (`over_ms` optional) | the clock |
//! | `POST /clock/set` | `{"ms": N}` | the clock |
//! | `POST /capture/start` | `{"capacity": N}` (optional) | the capture state |
//! | `POST /capture/stop` | | the capture state |
//! | `GET /capture[?api=&client_id=&group_id=&topic=&after=&limit=]` | | `{"state": ..., "requests": [...]}` |
//! | `DELETE /capture` | | `{"cleared": N}` |
//! | `POST /reset` | | what was reset (`control::ResetReport`) |

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AdminState;
use crate::control::{self, ControlError, ControlHandle, Rule};

type Shared = State<Arc<AdminState>>;

pub fn routes() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/control", get(status))
        .route("/faults", get(faults).post(add_fault).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
        .route("/broker/down", post(broker_down))
        .route("/broker/up", post(broker_up))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/clock/set", post(set_clock))
        .route("/capture", get(captured).delete(clear_capture))
        .route("/capture/start", post(start_capture))
        .route("/capture/stop", post(stop_capture))
        .route("/reset", post(reset))
}

fn refuse(code: StatusCode, message: impl Into<String>) -> Response {
    (code, Json(json!({ "error": message.into() }))).into_response()
}

fn refused(e: ControlError) -> Response {
    let code = match &e {
        ControlError::Invalid(_) => StatusCode::BAD_REQUEST,
        ControlError::NoSuchRule(_) => StatusCode::NOT_FOUND,
        ControlError::NotManual => StatusCode::CONFLICT,
        ControlError::Outage(_) => StatusCode::SERVICE_UNAVAILABLE,
        ControlError::Reset(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    refuse(code, e.to_string())
}

/// The broker's control plane, or the answer when there is none (boxed: a response is large
/// next to the handle).
fn control(state: &AdminState) -> Result<ControlHandle, Box<Response>> {
    let Some(broker) = state.broker() else {
        return Err(Box::new(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the broker is starting",
        )));
    };
    ControlHandle::of(broker).ok_or_else(|| Box::new(super::routes::not_found_response()))
}

/// Parses a JSON body; an empty body is the type's default.
fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, Box<Response>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        Box::new(refuse(
            StatusCode::BAD_REQUEST,
            format!("bad JSON body: {e}"),
        ))
    })
}

fn answer<T: Serialize>(result: Result<T, ControlError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(e) => refused(e),
    }
}

macro_rules! control_or_return {
    ($state:expr) => {
        match control(&$state) {
            Ok(control) => control,
            Err(response) => return *response,
        }
    };
}

async fn status(State(state): Shared) -> Response {
    let c = control_or_return!(state);
    Json(c.status()).into_response()
}

async fn faults(State(state): Shared) -> Response {
    let c = control_or_return!(state);
    Json(c.faults()).into_response()
}

#[derive(Deserialize)]
struct Position {
    position: Option<usize>,
}

async fn add_fault(State(state): Shared, Query(at): Query<Position>, bytes: Bytes) -> Response {
    let c = control_or_return!(state);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "POST /faults takes a rule as its JSON body",
        );
    }
    let rule: Rule = match body(&bytes) {
        Ok(rule) => rule,
        Err(response) => return *response,
    };
    match c.insert_fault(at.position, rule) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Err(e) => refused(e),
    }
}

async fn clear_faults(State(state): Shared) -> Response {
    let c = control_or_return!(state);
    Json(json!({ "cleared": c.clear_faults() })).into_response()
}

async fn remove_fault(State(state): Shared, Path(id): Path<u64>) -> Response {
    let c = control_or_return!(state);
    answer(c.remove_fault(id).map(|()| json!({ "removed": id })))
}

async fn broker_down(State(state): Shared) -> Response {
    let c = control_or_return!(state);
    answer(c.broker_down().await.map(|()| json!({ "broker": "down" })))
}

async fn broker_up(State(state): Shared) -> Response {
    let c = control_or_return!(state);
    answer(c.broker_up().await.map(|()| json!({ "broker": "up" })))
}

async fn clock(State(state): Shared) -> Response {
    let c = control_or_return!(state);
    Json(c.clock()).into_response()
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    ms: Option<u64>,
    over_ms: Option<u64>,
}

async fn advance(State(state): Shared, bytes: Bytes) -> Response {
    let c = control_or_return!(state);
    let a: Advance = match body(&bytes) {
        Ok(a) => a,
        Err(response) => return *response,
    };
    let Some(ms) = a.ms else {
        return refuse(
            StatusCode::BAD_REQUEST,
            r#"POST /clock/advance takes {"ms": N}"#,
        );
    };
    let by = Duration::from_millis(ms);
    answer(match a.over_ms {
        Some(over) if over > 0 => c.advance_over(by, Duration::from_millis(over)).await,
        _ => c.advance(by),
    })
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetClock {
    ms: Option<i64>,
}

async fn set_clock(State(state): Shared, bytes: Bytes) -> Response {
    let c = control_or_return!(state);
    let set: SetClock = match body(&bytes) {
        Ok(s) => s,
        Err(response) => return *response,
    };
    match set.ms {
        Some(ms) => answer(c.set_clock(ms)),
        None => refuse(
            StatusCode::BAD_REQUEST,
            r#"POST /clock/set takes {"ms": N}"#,
        ),
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartCapture {
    capacity: Option<usize>,
}

async fn start_capture(State(state): Shared, bytes: Bytes) -> Response {
    let c = control_or_return!(state);
    let start: StartCapture = match body(&bytes) {
        Ok(s) => s,
        Err(response) => return *response,
    };
    answer(c.capture_start(start.capacity))
}

async fn stop_capture(State(state): Shared) -> Response {
    let c = control_or_return!(state);
    Json(c.capture_stop()).into_response()
}

async fn captured(State(state): Shared, Query(query): Query<control::Query>) -> Response {
    let c = control_or_return!(state);
    answer(
        c.captured(&query)
            .map(|requests| json!({ "state": c.capture_state(), "requests": requests })),
    )
}

async fn clear_capture(State(state): Shared) -> Response {
    let c = control_or_return!(state);
    Json(json!({ "cleared": c.capture_clear() })).into_response()
}

async fn reset(State(state): Shared) -> Response {
    let c = control_or_return!(state);
    answer(c.reset().await)
}
