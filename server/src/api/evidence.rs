//! Evidence face crops (resumable upload) and the administrator's 1:N face sweep.

use axum::extract::{Path, Query, State};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{json_body, Signed, Staff};
use super::AppState;
use crate::domain::audit::Action;
use crate::domain::roles::Permission;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceChunk {
    offset: u64,
    total: u64,
    /// The bytes from `offset`, base64.
    chunk: String,
}

/// A payment's evidence face crop (JPEG) for an auditor: each view is logged first, and the
/// answer is never cached by the browser or a proxy.
pub(super) async fn view(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: Staff,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    staff.require(Permission::ViewEvidence)?;
    crate::domain::devices::check_identifier("receipt id", &id)?;
    let jpeg = state.db.evidence_crop(&id).await?.ok_or_else(|| ApiError::NotFound(format!("no evidence for {id}")))?;
    state.db.audit(staff.did(Action::EvidenceViewed, Some(&id), None)).await?;
    Ok(([("content-type", "image/jpeg"), ("cache-control", "no-store"), ("x-content-type-options", "nosniff")], jpeg)
        .into_response())
}

/// How much of a receipt's evidence crop the server holds (where to resume).
pub(super) async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Signed { device, .. }: Signed,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.db.evidence_status(&device, &id).await?)))
}

/// Appends a chunk of a receipt's evidence crop at its offset (409 names the right offset).
pub(super) async fn put(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Signed { device, body }: Signed,
) -> Result<Json<Value>, ApiError> {
    let c: EvidenceChunk = json_body(&body)?;
    let chunk = B64.decode(&c.chunk).map_err(|_| ApiError::BadRequest("chunk is not base64".into()))?;
    let (status, completed) = state.db.put_evidence(&device, &id, c.offset, c.total, &chunk).await?;
    if let Some(jpeg) = completed {
        let embedded = state.faces.embed(jpeg).await?;
        state.db.set_evidence_embedding(&id, embedded).await?;
    }
    Ok(Json(json!(status)))
}

#[derive(Deserialize)]
pub(super) struct SweepQuery {
    roster: String,
    threshold: Option<f32>,
}

/// The 1:N sweep of a roster's evidence faces: one face paid as several recipients.
pub(super) async fn face_sweep(
    State(state): State<AppState>,
    Query(q): Query<SweepQuery>,
    staff: Staff,
) -> Result<Json<Value>, ApiError> {
    staff.require(Permission::FaceSweep)?;
    let threshold = q.threshold.unwrap_or(salur_core::face::DEFAULT_MATCH_THRESHOLD);
    if !(-1.0..=1.0).contains(&threshold) {
        return Err(ApiError::BadRequest("threshold is a cosine similarity, -1 to 1".into()));
    }
    let faces = state.db.paid_faces(&q.roster).await?;
    let found = crate::domain::sweep::sweep(faces, threshold);
    let detail = format!("threshold {threshold}");
    state.db.audit(staff.did(Action::FaceSweep, Some(&q.roster), Some(detail))).await?;
    Ok(Json(json!(found)))
}
