//! The audit log for auditors and administrators: JSON pages or CSV, and the chain check; every
//! read is itself logged.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::auth::Staff;
use super::AppState;
use crate::domain::audit::Action;
use crate::domain::roles::Permission;
use crate::error::ApiError;

/// Most entries in one answer.
const PAGE: i64 = 1000;

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    /// Entries after this position (0: from the start).
    after: Option<i64>,
    /// At most this many (up to 1000).
    limit: Option<i64>,
    format: Option<String>,
}

/// Entries after `after`, oldest first, as JSON or CSV.
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
        _ => Json(json!({ "entries": entries })).into_response(),
    })
}

/// Checks the whole chain (what `salur audit verify` does), naming the first bad entry.
pub(super) async fn verify(State(state): State<AppState>, staff: Staff) -> Result<Json<serde_json::Value>, ApiError> {
    staff.require(Permission::ReadAudit)?;
    state.db.audit(staff.did(Action::AuditRead, None, Some("verify".into()))).await?;
    Ok(Json(json!(state.db.verify_audit().await?)))
}
