//! The dashboard, the worker's roster, the reallocation queue and metrics.

use super::params::Path;
use super::params::Query;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use salur_core::slip::rupiah;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Signed, Staff};
use super::AppState;
use crate::domain::audit::Action;
use crate::domain::reallocation::{CaseStatus, Decision};
use crate::domain::roles::Permission;
use crate::domain::roster::{RosterEntry, RosterRow};
use crate::error::{ApiError, ErrorBody};
use crate::read::dashboard::Dashboard;
use crate::store::{AssignedRoster, Reallocation};

/// Which roster, cases and form of answer.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RosterQuery {
    /// Roster id (default: the dashboard's newest roster; for reallocations, every roster).
    roster: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
    /// Only cases in this state (`queued`, `approved`, `rejected`, `reallocated`, `cancelled`).
    status: Option<String>,
}

/// A worker's recipients in one roster.
#[derive(Serialize, ToSchema)]
pub(super) struct RosterDownload {
    roster_id: String,
    recipients: Vec<RosterEntry>,
    /// The programme's public key (SPKI DER, base64): invitation letters verify against it.
    #[schema(content_encoding = "base64")]
    programme_key: String,
}

/// The rosters a worker has recipients in.
#[derive(Serialize, ToSchema)]
pub(super) struct WorkerRosters {
    worker_id: String,
    rosters: Vec<AssignedRoster>,
}

/// The reallocation queue.
#[derive(Serialize, ToSchema)]
pub(super) struct Reallocations {
    reallocations: Vec<Reallocation>,
}

/// One case after a decision.
#[derive(Serialize, ToSchema)]
pub(super) struct Decided {
    reallocation: Reallocation,
}

/// Paid against target by region and post office, fallbacks, refusals (aggregates only).
#[utoipa::path(get, path = "/v1/dashboard", params(RosterQuery),
    responses((status = 200, description = "The dashboard", body = Dashboard)),
    extensions(("x-salur-permission" = json!("view_dashboard"))))]
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
#[utoipa::path(get, path = "/v1/roster/{roster_id}", params(("roster_id" = String, Path, description = "Roster")),
    responses((status = 200, description = "The worker's recipients", body = RosterDownload),
        (status = 404, description = "No such roster for this worker", body = ErrorBody)),
    security(("deviceSignature" = [])))]
pub(super) async fn roster(
    State(state): State<AppState>,
    Path(roster_id): Path<String>,
    Signed { device, .. }: Signed,
) -> Result<Json<RosterDownload>, ApiError> {
    let recipients = state.db.roster_for_worker(&roster_id, &device.worker_id).await?;
    let programme_key = base64::engine::general_purpose::STANDARD.encode(state.db.programme_public_key().await?);
    Ok(Json(RosterDownload { roster_id, recipients, programme_key }))
}

/// The rosters with recipients assigned to the signing device's worker (to pick one to download).
#[utoipa::path(get, path = "/v1/rosters",
    responses((status = 200, description = "The worker's rosters", body = WorkerRosters)),
    security(("deviceSignature" = [])))]
pub(super) async fn rosters(
    State(state): State<AppState>,
    Signed { device, .. }: Signed,
) -> Result<Json<WorkerRosters>, ApiError> {
    let rosters = state.db.rosters_for_worker(&device.worker_id).await?;
    Ok(Json(WorkerRosters { worker_id: device.worker_id, rosters }))
}

/// The reallocation cases (`?roster=`, `?status=`), as JSON or (`?format=csv`) CSV; each read is logged.
#[utoipa::path(get, path = "/v1/admin/reallocations", params(RosterQuery),
    responses((status = 200, description = "The cases", content(
        (Reallocations = "application/json"),
        (String = "text/csv", example = "roster_id,recipient,nik,name,..."),
    ))),
    extensions(("x-salur-permission" = json!("read_reallocations"))))]
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
        None | Some("json") => Json(Reallocations { reallocations: rows }).into_response(),
        Some(other) => return Err(ApiError::BadRequest(format!("format {other}: use json or csv"))),
    })
}

/// The family that reallocated funds go to: a roster row without its amount (the case's).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewRecipient {
    /// 16 digits.
    #[schema(pattern = "^[0-9]{16}$")]
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
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CaseDecision {
    /// `approve`, `reject` or `reallocate` (with `new_recipient`).
    decision: String,
    /// Why (kept with the case and in the audit log).
    reason: String,
    /// The family the funds go to (only with `reallocate`).
    new_recipient: Option<NewRecipient>,
}

/// Finance decides a case: approve, reject, or reallocate to a named new family (audited; the
/// approver of a case may not also reallocate it).
#[utoipa::path(post, path = "/v1/admin/reallocations/{roster_id}/{recipient}/decision",
    params(("roster_id" = String, Path, description = "Roster"), ("recipient" = String, Path, description = "The case's recipient reference")),
    request_body = CaseDecision,
    responses((status = 200, description = "The case after the decision", body = Decided),
        (status = 404, description = "No such case", body = ErrorBody),
        (status = 409, description = "Not allowed from the case's state, or the four-eyes rule", body = ErrorBody)),
    extensions(("x-salur-permission" = json!("decide_reallocations"))))]
pub(super) async fn decide_reallocation(
    State(state): State<AppState>,
    Path((roster_id, recipient)): Path<(String, String)>,
    staff: Staff,
    body: axum::body::Bytes,
) -> Result<Json<Decided>, ApiError> {
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
        kk_members: None,
    });
    let case = state.db.decide_reallocation(&roster_id, &recipient, decision, &staff.name, &body.reason, new).await?;
    state.dashboards.changed();
    let detail = match &case.new_recipient {
        Some(to) if case.status == "reallocated" => {
            format!(
                "{} {} to {} in {}",
                case.status,
                rupiah(case.amount),
                to,
                case.new_roster_id.as_deref().unwrap_or("")
            )
        }
        _ => format!("{} {}", case.status, rupiah(case.amount)),
    };
    let target = format!("{roster_id}/{recipient}");
    state.db.audit(staff.did(Action::ReallocationDecided, Some(&target), Some(detail))).await?;
    Ok(Json(Decided { reallocation: case }))
}

/// Prometheus metrics (viewers and above).
#[utoipa::path(get, path = "/metrics",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String)),
    extensions(("x-salur-permission" = json!("view_dashboard"))))]
pub(super) async fn metrics(State(state): State<AppState>, staff: Staff) -> Result<Response, ApiError> {
    staff.require(Permission::ViewDashboard)?;
    let body = state.metrics.render(&state.db).await?;
    Ok(([("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")], body).into_response())
}
