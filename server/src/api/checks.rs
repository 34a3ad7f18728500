//! The recipient's side: check a receipt by its code without logging in (`/cek`, and the JSON it
//! reads), file a complaint against it; and the complaints list for auditors.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{json_body, Staff};
use super::params::{Path, Query};
use super::AppState;
use crate::domain::audit::Action;
use crate::domain::complaints::ComplaintKind;
use crate::domain::roles::Permission;
use crate::error::{ApiError, ErrorBody};
use crate::store::{Complaint, PublicReceipt};

/// The check page (Bahasa Indonesia), with its script inline: one file, no build step.
pub(super) const PAGE: &str = include_str!("cek.html");

/// The public page where a recipient checks their receipt code and reports a problem.
#[utoipa::path(get, path = "/cek",
    responses((status = 200, description = "The check page", content_type = "text/html", body = String)))]
pub(super) async fn page() -> axum::response::Response {
    super::page::html(PAGE)
}

/// What a receipt code names: paid (or not), how much, when and where; no name, NIK or face.
#[utoipa::path(get, path = "/v1/public/receipts/{code}",
    params(("code" = String, Path, description = "The 12-character receipt code (hyphens, spaces and case ignored)")),
    responses((status = 200, description = "The receipt", body = PublicReceipt),
        (status = 404, description = "No receipt has this code", body = ErrorBody)))]
pub(super) async fn check(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<PublicReceipt>, ApiError> {
    Ok(Json(state.db.public_receipt(&code, &state.names).await?))
}

/// A recipient's complaint against the receipt they hold.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewComplaint {
    /// What happened.
    kind: ComplaintKind,
    /// Whole rupiah received (for `received_less`: less than the receipt says).
    #[schema(maximum = 100_000_000)]
    amount_received: Option<u64>,
    /// In the recipient's words (at most 500 characters).
    #[schema(max_length = 500)]
    note: Option<String>,
}

/// The complaint's number.
#[derive(Serialize, ToSchema)]
pub(super) struct ComplaintFiled {
    id: i64,
}

/// Files a complaint against the receipt (at most three per receipt); auditors see it with the
/// worker and device.
#[utoipa::path(post, path = "/v1/public/receipts/{code}/complaints", request_body = NewComplaint,
    params(("code" = String, Path, description = "The 12-character receipt code")),
    responses((status = 201, description = "Filed", body = ComplaintFiled),
        (status = 404, description = "No receipt has this code", body = ErrorBody),
        (status = 409, description = "The receipt has its three complaints already", body = ErrorBody),
        (status = 422, description = "Not a payment, or an amount that is not less than paid", body = ErrorBody)))]
pub(super) async fn complain(
    State(state): State<AppState>,
    Path(code): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<ComplaintFiled>), ApiError> {
    let c: NewComplaint = json_body(&body)?;
    let id = state.db.add_complaint(&code, c.kind, c.amount_received, c.note.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(ComplaintFiled { id })))
}

/// Which complaints.
#[derive(Deserialize, IntoParams)]
pub(super) struct ComplaintsQuery {
    /// Only this roster's.
    roster: Option<String>,
}

/// Complaints, newest first.
#[derive(Serialize, ToSchema)]
pub(super) struct Complaints {
    complaints: Vec<Complaint>,
}

/// Every complaint with the receipt, worker and device it concerns; each read is logged.
#[utoipa::path(get, path = "/v1/admin/complaints", params(ComplaintsQuery),
    responses((status = 200, description = "The complaints", body = Complaints)),
    extensions(("x-salur-permission" = json!("read_complaints"))))]
pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<ComplaintsQuery>,
    staff: Staff,
) -> Result<Json<Complaints>, ApiError> {
    staff.require(Permission::ReadComplaints)?;
    let complaints = state.db.complaints(q.roster.as_deref()).await?;
    let detail = format!("{} complaints", complaints.len());
    state.db.audit(staff.did(Action::ComplaintsRead, q.roster.as_deref(), Some(detail))).await?;
    Ok(Json(Complaints { complaints }))
}
