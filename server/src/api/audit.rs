//! The audit log for auditors and administrators: JSON pages or CSV, and the chain check; every
//! read is itself logged.

use super::params::Query;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Staff;
use super::AppState;
use crate::domain::audit::{Action, ChainReport, Entry};
use crate::domain::roles::Permission;
use crate::error::ApiError;

/// Most entries in one answer.
const PAGE: i64 = 1000;

/// Which entries, in which form.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditQuery {
    /// Entries after this position (0: from the start).
    after: Option<i64>,
    /// At most this many (up to 1000).
    limit: Option<i64>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// A page of the audit log.
#[derive(Serialize, ToSchema)]
pub(super) struct Entries {
    entries: Vec<Entry>,
}

/// Entries after `after`, oldest first, as JSON or CSV.
#[utoipa::path(get, path = "/v1/admin/audit", params(AuditQuery),
    responses((status = 200, description = "Entries, oldest first", content(
        (Entries = "application/json"),
        (String = "text/csv"),
    ))),
    extensions(("x-salur-permission" = json!("read_audit"))))]
pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
    staff: Staff,
) -> Result<Response, ApiError> {
    staff.require(Permission::ReadAudit)?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv") {
        return Err(ApiError::BadRequest(format!("format {format}: use json or csv")));
    }
    // Logged before the read, so the answer includes its own entry.
    state.db.audit(staff.did(Action::AuditRead, None, Some(format!("format {format}")))).await?;
    let entries = state.db.audit_entries(q.after.unwrap_or(0).max(0), q.limit.unwrap_or(PAGE).clamp(1, PAGE)).await?;
    Ok(match format {
        "csv" => ([("content-type", "text/csv; charset=utf-8")], crate::store::audit_csv(&entries)?).into_response(),
        _ => Json(Entries { entries }).into_response(),
    })
}

/// Checks the whole chain (what `salur audit verify` does), naming the first bad entry.
#[utoipa::path(get, path = "/v1/admin/audit/verify",
    responses((status = 200, description = "The chain's check", body = ChainReport)),
    extensions(("x-salur-permission" = json!("read_audit"))))]
pub(super) async fn verify(State(state): State<AppState>, staff: Staff) -> Result<Json<ChainReport>, ApiError> {
    staff.require(Permission::ReadAudit)?;
    state.db.audit(staff.did(Action::AuditRead, None, Some("verify".into()))).await?;
    Ok(Json(state.db.verify_audit().await?))
}
