//! Enrolment codes over HTTP: approvers issue and list them; a phone with one asks for the nonce
//! it puts into its key attestation challenge (the code is the credential, so that route is open
//! and throttled per address).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{check_json, json_body, peer, Staff};
use super::AppState;
use crate::clock::now_ms;
use crate::domain::devices::check_identifier;
use salur_core::enrolment_qr::EnrolmentInvite;

use crate::domain::enrolment::{code_hash, new_nonce, refused, NONCE_TTL_MS};
use crate::domain::roles::Permission;
use crate::error::{ApiError, ErrorBody};
use crate::store::OpenEnrolment;

/// Whom a code is for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EnrolmentRequest)]
struct Issue {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    worker_id: String,
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    post_office: String,
    /// Minutes until it expires (default 60; at most 7 days).
    #[schema(minimum = 1, maximum = 10080)]
    #[serde(default)]
    ttl_minutes: Option<u32>,
    /// Issue it even though no imported roster places this worker at this post office (a worker
    /// whose roster comes later); refused otherwise, so that a typo cannot make a phone that
    /// downloads nothing.
    #[serde(default)]
    allow_unknown: bool,
}

/// A new one-time enrolment code (shown only here).
#[derive(Serialize, ToSchema)]
pub(super) struct IssuedCode {
    /// 10 Crockford base32 characters.
    code: String,
    expires_ms: i64,
    worker_id: String,
    /// The text of the QR code to show the worker (code, worker and post office), which the
    /// phone's sign-in scans (salur_core::enrolment_qr).
    qr_text: String,
}

/// Open enrolment codes (without the codes).
#[derive(Serialize, ToSchema)]
pub(super) struct OpenCodes {
    enrolments: Vec<OpenEnrolment>,
}

/// A registration nonce for the key attestation challenge.
#[derive(Serialize, ToSchema)]
pub(super) struct Nonce {
    /// 32 bytes, base64.
    nonce: String,
    expires_ms: i64,
}

/// Issues a one-time code for a worker's phone (approvers and administrators), logged without the code.
#[utoipa::path(post, path = "/v1/admin/enrolments", request_body = Issue,
    responses((status = 201, description = "The code", body = IssuedCode)),
    extensions(("x-salur-permission" = json!("manage_devices"))))]
pub(super) async fn issue(
    State(state): State<AppState>,
    staff: Staff,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<IssuedCode>), ApiError> {
    staff.require(Permission::ManageDevices)?;
    let ask: Issue = json_body(&body)?;
    check_identifier("worker_id", &ask.worker_id)?;
    check_identifier("post_office", &ask.post_office)?;
    let (code, expires_ms) = state
        .db
        .issue_enrolment(&staff.actor(), &ask.worker_id, &ask.post_office, ask.ttl_minutes, ask.allow_unknown)
        .await?;
    let invite = EnrolmentInvite { code: code.clone(), worker_id: ask.worker_id.clone(), post_office: ask.post_office };
    let qr_text = invite.to_qr_text().map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(IssuedCode { code, expires_ms, worker_id: ask.worker_id, qr_text })))
}

/// Unused, unexpired codes (without the codes themselves).
#[utoipa::path(get, path = "/v1/admin/enrolments", responses((status = 200, description = "Open codes", body = OpenCodes)),
    extensions(("x-salur-permission" = json!("manage_devices"))))]
pub(super) async fn list(State(state): State<AppState>, staff: Staff) -> Result<Json<OpenCodes>, ApiError> {
    staff.require(Permission::ManageDevices)?;
    Ok(Json(OpenCodes { enrolments: state.db.open_enrolments().await? }))
}

/// The code a nonce is asked for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChallengeAsk {
    enrolment_code: String,
}

/// A fresh registration nonce for an open code (the newest replaces any earlier one); open to
/// anyone with a code, throttled per address.
#[utoipa::path(post, path = "/v1/devices/challenge", request_body = ChallengeAsk,
    responses((status = 200, description = "The nonce", body = Nonce),
        (status = 403, description = "Unknown, used or expired code", body = ErrorBody)))]
pub(super) async fn challenge(State(state): State<AppState>, req: Request) -> Result<Json<Nonce>, ApiError> {
    let (parts, body) = req.into_parts();
    state.enrol_throttle.attempt_enrolment(peer(&parts).map(|p| p.ip()))?;
    check_json(&parts.headers)?;
    let body = axum::body::to_bytes(body, super::SMALL).await.map_err(|_| super::auth::too_large())?;
    let ask: ChallengeAsk = json_body(&body)?;
    let hash = code_hash(&ask.enrolment_code).ok_or_else(refused)?;
    let nonce = new_nonce()?;
    let expires_ms = now_ms() + NONCE_TTL_MS;
    if !state.db.set_enrolment_nonce(&hash, &nonce, expires_ms).await? {
        return Err(refused().into());
    }
    Ok(Json(Nonce { nonce: B64.encode(nonce), expires_ms }))
}
