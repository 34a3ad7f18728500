//! Receipts revoked devices handed in: the auditor's list and their decision on each.

use super::params::{Path, Query};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Staff;
use super::AppState;
use crate::domain::held::HeldDecision;
use crate::domain::roles::Permission;
use crate::error::{ApiError, ErrorBody};
use crate::store::HeldReceipt;

/// Which roster.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct HeldQuery {
    /// Roster (every roster when absent).
    roster: Option<String>,
}

/// The receipts revoked devices handed in, those awaiting a decision first.
#[utoipa::path(get, path = "/v1/admin/held-receipts", params(HeldQuery),
    responses((status = 200, description = "Held receipts (at most 500)", body = Vec<HeldReceipt>)),
    extensions(("x-salur-permission" = json!("decide_held_receipts"))))]
pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<HeldQuery>,
    staff: Staff,
) -> Result<Json<Vec<HeldReceipt>>, ApiError> {
    staff.require(Permission::DecideHeldReceipts)?;
    Ok(Json(state.db.held_receipts(q.roster.as_deref()).await?))
}

/// An auditor's decision on a held receipt.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Decision {
    /// `count` or `refuse`.
    decision: HeldDecision,
    /// What was checked and with whom (1 to 500 characters).
    #[schema(max_length = 500)]
    note: String,
}

/// Counts or refuses a receipt a revoked device handed in (once, audited).
#[utoipa::path(post, path = "/v1/admin/receipts/{id}/held-decision", params(("id" = String, Path, description = "Receipt")),
    request_body = Decision,
    responses((status = 200, description = "The receipt after the decision", body = HeldReceipt),
        (status = 404, description = "No such receipt", body = ErrorBody),
        (status = 409, description = "Not held, or decided already", body = ErrorBody),
        (status = 422, description = "No reason given", body = ErrorBody)),
    extensions(("x-salur-permission" = json!("decide_held_receipts"))))]
pub(super) async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: Staff,
    body: axum::body::Bytes,
) -> Result<Json<HeldReceipt>, ApiError> {
    staff.require(Permission::DecideHeldReceipts)?;
    crate::domain::devices::check_identifier("receipt id", &id)?;
    let d: Decision = super::auth::json_body(&body)?;
    let decided = state.db.decide_held(&staff.actor(), &id, d.decision, &d.note).await?;
    state.dashboards.changed();
    Ok(Json(decided))
}
