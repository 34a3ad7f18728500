//! The dashboard, the worker's roster, the reallocation queue and metrics.

use axum::extract::Path;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{Signed, Staff};
use super::AppState;
use crate::domain::audit::Action;
use crate::domain::reallocation::{CaseStatus, Decision};
use crate::domain::roles::Permission;
use crate::domain::roster::RosterRow;
use crate::error::ApiError;

#[derive(Deserialize)]
pub(super) struct RosterQuery {
    roster: Option<String>,
    format: Option<String>,
    status: Option<String>,
}

/// Aggregates for the dashboard (no personal data).
pub(super) async fn dashboard(
    State(state): State<AppState>,
    Query(q): Query<RosterQuery>,
    staff: Staff,
) -> Result<Json<Value>, ApiError> {
    staff.require(Permission::ViewDashboard)?;
    Ok(Json(json!(*state.dashboards.get(&state.db, &state.names, q.roster.as_deref()).await?)))
}

/// The recipients of a roster assigned to the signing device's worker (the pseudonymisation key
/// stays on the server).
pub(super) async fn roster(
    State(state): State<AppState>,
    Path(roster_id): Path<String>,
    Signed { device, .. }: Signed,
) -> Result<Json<Value>, ApiError> {
    let recipients = state.db.roster_for_worker(&roster_id, &device.worker_id).await?;
    Ok(Json(json!({ "roster_id": roster_id, "recipients": recipients })))
}

/// The rosters with recipients assigned to the signing device's worker (to pick one to download).
pub(super) async fn rosters(
    State(state): State<AppState>,
    Signed { device, .. }: Signed,
) -> Result<Json<Value>, ApiError> {
    let rosters = state.db.rosters_for_worker(&device.worker_id).await?;
    Ok(Json(json!({ "worker_id": device.worker_id, "rosters": rosters })))
}

/// The reallocation cases (`?roster=`, `?status=`), as JSON or (`?format=csv`) CSV.
pub(super) async fn reallocations(
    State(state): State<AppState>,
    Query(q): Query<RosterQuery>,
    staff: Staff,
) -> Result<Response, ApiError> {
    staff.require(Permission::ReadReallocations)?;
    let status = q.status.as_deref().map(str::parse::<CaseStatus>).transpose()?;
    let rows = state.db.reallocations(q.roster.as_deref(), status).await?;
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

/// The family that reallocated funds go to: a roster row without its amount (the case's).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewRecipient {
    nik: String,
    name: String,
    address: String,
    province: String,
    regency: String,
    district: String,
    village: String,
    post_office: String,
    worker_id: String,
    /// Roster to add the family to (default: the case's roster).
    roster_id: Option<String>,
}

/// A finance decision on a case.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CaseDecision {
    decision: String,
    reason: String,
    new_recipient: Option<NewRecipient>,
}

/// Finance decides a case: approve, reject, or reallocate to a named new family (audited).
pub(super) async fn decide_reallocation(
    State(state): State<AppState>,
    Path((roster_id, recipient)): Path<(String, String)>,
    staff: Staff,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    staff.require(Permission::DecideReallocations)?;
    let body: CaseDecision = super::auth::json_body(&body)?;
    let decision: Decision = body.decision.parse()?;
    let new = body.new_recipient.map(|n| RosterRow {
        nik: n.nik,
        name: n.name,
        address: n.address,
        province: n.province,
        regency: n.regency,
        district: n.district,
        village: n.village,
        post_office: n.post_office,
        amount: 0,
        period: n.roster_id.unwrap_or_else(|| roster_id.clone()),
        worker_id: n.worker_id,
        photo: None,
    });
    let case = state.db.decide_reallocation(&roster_id, &recipient, decision, &staff.name, &body.reason, new).await?;
    state.dashboards.changed();
    let detail = match &case.new_recipient {
        Some(to) if case.status == "reallocated" => {
            format!("{} Rp {} to {} in {}", case.status, case.amount, to, case.new_roster_id.as_deref().unwrap_or(""))
        }
        _ => format!("{} Rp {}", case.status, case.amount),
    };
    let target = format!("{roster_id}/{recipient}");
    state.db.audit(staff.did(Action::ReallocationDecided, Some(&target), Some(detail))).await?;
    Ok(Json(json!({ "reallocation": case })))
}

/// Prometheus metrics (viewers and above).
pub(super) async fn metrics(State(state): State<AppState>, staff: Staff) -> Result<Response, ApiError> {
    staff.require(Permission::ViewDashboard)?;
    let body = state.metrics.render(&state.db).await?;
    Ok(([("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")], body).into_response())
}
