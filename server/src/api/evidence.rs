//! Evidence face crops (resumable upload) and the administrator's 1:N face sweep.

use super::params::{Path, Query};
use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::{json_body, HandIn, Signed, Staff};
use super::AppState;
use crate::domain::audit::Action;
use crate::domain::devices::Device;
use crate::domain::roles::Permission;
use crate::domain::sweep::Sweep;
use crate::error::{ApiError, ErrorBody};
use crate::store::UploadStatus;

/// Part of an evidence face crop.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EvidenceChunk {
    /// Where the chunk starts (the `received` of the last status).
    offset: u64,
    /// Size of the whole crop.
    #[schema(minimum = 1, maximum = 262144)]
    total: u64,
    /// The bytes from `offset`, base64.
    #[schema(content_encoding = "base64")]
    chunk: String,
}

/// Which image of a payment's evidence.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EvidencePart {
    /// `face` (default): the live face crop; `card_face`: the face of the e-KTP photo it was
    /// compared with (e-KTP and proxy payments), to look at beside it.
    part: Option<String>,
}

/// A payment's evidence face crop (JPEG) for an auditor, or the e-KTP photo's face it was compared
/// with: each view is logged first, and the answer is never cached by the browser or a proxy.
#[utoipa::path(get, path = "/v1/admin/receipts/{id}/evidence", params(("id" = String, Path, description = "Receipt"), EvidencePart),
    responses((status = 200, description = "The signed face crop", content_type = "image/jpeg", body = Vec<u8>),
        (status = 400, description = "An unknown part", body = ErrorBody),
        (status = 404, description = "No such image for this receipt", body = ErrorBody)),
    extensions(("x-salur-permission" = json!("view_evidence"))))]
pub(super) async fn view(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<EvidencePart>,
    staff: Staff,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    staff.require(Permission::ViewEvidence)?;
    crate::domain::devices::check_identifier("receipt id", &id)?;
    let (jpeg, detail) = match q.part.as_deref().unwrap_or("face") {
        "face" => (state.db.evidence_crop(&id).await?, None),
        "card_face" => (state.db.reference_parts(&id).await?.card_face, Some("card face".to_string())),
        other => return Err(ApiError::BadRequest(format!("part {other:?}: use face or card_face"))),
    };
    let jpeg = jpeg.ok_or_else(|| ApiError::NotFound(format!("no such image for {id}")))?;
    state.db.audit(staff.did(Action::EvidenceViewed, Some(&id), detail)).await?;
    Ok(([("content-type", "image/jpeg"), ("cache-control", "no-store"), ("x-content-type-options", "nosniff")], jpeg)
        .into_response())
}

/// How much of a receipt's evidence crop the server holds (where to resume).
#[utoipa::path(get, path = "/v1/receipts/{id}/evidence", params(("id" = String, Path, description = "Receipt")),
    responses((status = 200, description = "Upload status", body = UploadStatus),
        (status = 404, description = "No such receipt of this device", body = ErrorBody)),
    security(("deviceSignature" = [])))]
pub(super) async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Signed { device, .. }: HandIn,
) -> Result<Json<UploadStatus>, ApiError> {
    let status = state.db.evidence_status(&device, &id).await?;
    if status.complete {
        if let Some(jpeg) = state.db.evidence_unprocessed(&id).await? {
            process(&state, &device, &id, jpeg).await?;
        }
    }
    Ok(Json(status))
}

/// Appends a chunk of a receipt's evidence crop at its offset (409 names the right offset).
#[utoipa::path(put, path = "/v1/receipts/{id}/evidence", params(("id" = String, Path, description = "Receipt")),
    request_body = EvidenceChunk,
    responses((status = 200, description = "Upload status after the chunk", body = UploadStatus),
        (status = 404, description = "No such receipt of this device", body = ErrorBody),
        (status = 409, description = "Wrong offset (the message names the right one) or another total", body = ErrorBody),
        (status = 422, description = "The whole crop does not match the receipt's hash", body = ErrorBody)),
    security(("deviceSignature" = [])))]
pub(super) async fn put(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Signed { device, body }: HandIn,
) -> Result<Json<UploadStatus>, ApiError> {
    let c: EvidenceChunk = json_body(&body)?;
    let chunk = B64.decode(&c.chunk).map_err(|_| ApiError::BadRequest("chunk is not base64".into()))?;
    let (status, completed) = state.db.put_evidence(&device, &id, c.offset, c.total, &chunk).await?;
    let unfinished = match completed {
        Some(jpeg) => Some(jpeg),
        // Completed before, but the server stopped before judging it: the phone's retry finishes it.
        None if status.complete => state.db.evidence_unprocessed(&id).await?,
        None => None,
    };
    if let Some(jpeg) = unfinished {
        process(&state, &device, &id, jpeg).await?;
    }
    Ok(Json(status))
}

/// What the server does with a completed crop, each step safe to run again: its own verdict (its
/// score of the crop against the reference it holds), the national 1:N face check, and last the
/// embedding kept for the sweep (its absence marks the crop as not yet processed).
pub(super) async fn process(state: &AppState, device: &Device, id: &str, jpeg: Vec<u8>) -> Result<(), ApiError> {
    let embedded = state.faces.embed(jpeg).await?;
    let receipt = state.db.device_receipt(device, id).await?;
    super::references::judge(state, &receipt, &embedded).await?;
    if let Ok(v) = &embedded {
        state.db.check_face(device, id, v).await?;
    }
    state.db.set_evidence_embedding(id, embedded).await
}

/// Which roster, at what similarity.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SweepQuery {
    /// Roster.
    roster: String,
    /// Cosine similarity from which two faces count as one (default: the match threshold).
    #[param(minimum = -1.0, maximum = 1.0)]
    threshold: Option<f64>,
}

/// The 1:N sweep of a roster's evidence faces: one face paid as several recipients.
#[utoipa::path(get, path = "/v1/admin/face-sweep", params(SweepQuery),
    responses((status = 200, description = "Pairs of payments that look like one face", body = Sweep)),
    extensions(("x-salur-permission" = json!("face_sweep"))))]
pub(super) async fn face_sweep(
    State(state): State<AppState>,
    Query(q): Query<SweepQuery>,
    staff: Staff,
) -> Result<Json<Sweep>, ApiError> {
    staff.require(Permission::FaceSweep)?;
    // Checked as sent, before narrowing: -1.0000000000000004 would round to -1 as an f32.
    let threshold = match q.threshold {
        None => salur_core::face::DEFAULT_MATCH_THRESHOLD,
        Some(t) if (-1.0..=1.0).contains(&t) => t as f32,
        Some(_) => return Err(ApiError::BadRequest("threshold is a cosine similarity, -1 to 1".into())),
    };
    let faces = state.db.paid_faces(&q.roster).await?;
    let found = crate::domain::sweep::sweep(faces, threshold);
    let detail = format!("threshold {threshold}");
    state.db.audit(staff.did(Action::FaceSweep, Some(&q.roster), Some(detail))).await?;
    Ok(Json(found))
}
