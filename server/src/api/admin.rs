//! The dashboard, the worker's roster, the reallocation queue and metrics.

use axum::extract::Path;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{Signed, Staff};
use super::AppState;
use crate::domain::audit::Action;
use crate::domain::roles::Permission;
use crate::error::ApiError;

#[derive(Deserialize)]
pub(super) struct RosterQuery {
    roster: Option<String>,
    format: Option<String>,
}

/// Aggregates for the dashboard (no personal data).
pub(super) async fn dashboard(
    State(state): State<AppState>,
    Query(q): Query<RosterQuery>,
    staff: Staff,
) -> Result<Json<Value>, ApiError> {
    staff.require(Permission::ViewDashboard)?;
    Ok(Json(json!(state.db.dashboard(q.roster.as_deref()).await?)))
}

/// The recipients of a roster assigned to the signing device's worker, with the roster key.
pub(super) async fn roster(
    State(state): State<AppState>,
    Path(roster_id): Path<String>,
    Signed { device, .. }: Signed,
) -> Result<Json<Value>, ApiError> {
    let (key, recipients) = state.db.roster_for_worker(&roster_id, &device.worker_id).await?;
    Ok(Json(json!({ "roster_id": roster_id, "roster_key": B64.encode(key), "recipients": recipients })))
}

/// The rosters with recipients assigned to the signing device's worker (to pick one to download).
pub(super) async fn rosters(
    State(state): State<AppState>,
    Signed { device, .. }: Signed,
) -> Result<Json<Value>, ApiError> {
    let rosters = state.db.rosters_for_worker(&device.worker_id).await?;
    Ok(Json(json!({ "worker_id": device.worker_id, "rosters": rosters })))
}

/// The reallocation queue, as JSON or (`?format=csv`) CSV.
pub(super) async fn reallocations(
    State(state): State<AppState>,
    Query(q): Query<RosterQuery>,
    staff: Staff,
) -> Result<Response, ApiError> {
    staff.require(Permission::ReadReallocations)?;
    let rows = state.db.reallocations(q.roster.as_deref()).await?;
    // The queue names recipients: each read is logged before it is answered.
    let detail = format!("{} rows, format {}", rows.len(), q.format.as_deref().unwrap_or("json"));
    state.db.audit(staff.did(Action::ReallocationsRead, q.roster.as_deref(), Some(detail))).await?;
    Ok(match q.format.as_deref() {
        Some("csv") => {
            ([("content-type", "text/csv; charset=utf-8")], crate::store::reallocations_csv(&rows)?).into_response()
        }
        None | Some("json") => Json(json!({ "reallocations": rows })).into_response(),
        Some(other) => return Err(ApiError::BadRequest(format!("format {other}: use json or csv"))),
    })
}

/// Prometheus metrics (viewers and above).
pub(super) async fn metrics(State(state): State<AppState>, staff: Staff) -> Result<Response, ApiError> {
    staff.require(Permission::ViewDashboard)?;
    let body = state.metrics.render(&state.db).await?;
    Ok(([("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")], body).into_response())
}
