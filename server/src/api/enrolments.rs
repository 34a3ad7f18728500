//! Enrolment codes over HTTP: approvers issue and list them; a phone with one asks for the nonce
//! it puts into its key attestation challenge (the code is the credential, so that route is open
//! and throttled per address).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{check_json, json_body, peer, Staff};
use super::AppState;
use crate::clock::now_ms;
use crate::domain::devices::check_identifier;
use crate::domain::enrolment::{code_hash, new_nonce, refused, NONCE_TTL_MS};
use crate::domain::roles::Permission;
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Issue {
    worker_id: String,
    post_office: String,
    #[serde(default)]
    ttl_minutes: Option<u32>,
}

/// Issues a one-time code for a worker's phone (approvers and administrators), logged without the code.
pub(super) async fn issue(
    State(state): State<AppState>,
    staff: Staff,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    staff.require(Permission::ManageDevices)?;
    let ask: Issue = json_body(&body)?;
    check_identifier("worker_id", &ask.worker_id)?;
    check_identifier("post_office", &ask.post_office)?;
    let (code, expires_ms) =
        state.db.issue_enrolment(&staff.actor(), &ask.worker_id, &ask.post_office, ask.ttl_minutes).await?;
    Ok((StatusCode::CREATED, Json(json!({ "code": code, "expires_ms": expires_ms, "worker_id": ask.worker_id }))))
}

/// Unused, unexpired codes (without the codes themselves).
pub(super) async fn list(State(state): State<AppState>, staff: Staff) -> Result<Json<Value>, ApiError> {
    staff.require(Permission::ManageDevices)?;
    Ok(Json(json!({ "enrolments": state.db.open_enrolments().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChallengeAsk {
    enrolment_code: String,
}

/// A fresh registration nonce for an open code (the newest replaces any earlier one).
pub(super) async fn challenge(State(state): State<AppState>, req: Request) -> Result<Json<Value>, ApiError> {
    let (parts, body) = req.into_parts();
    state.enrol_throttle.attempt_enrolment(peer(&parts).map(|p| p.ip()))?;
    check_json(&parts.headers)?;
    let body = axum::body::to_bytes(body, super::SMALL).await.map_err(|_| super::auth::too_large())?;
    let ask: ChallengeAsk = json_body(&body)?;
    let hash = code_hash(&ask.enrolment_code).ok_or_else(refused)?;
    let nonce = new_nonce()?;
    let expires_ms = now_ms() + NONCE_TTL_MS;
    if !state.db.set_enrolment_nonce(&hash, &nonce, expires_ms).await? {
        return Err(refused());
    }
    Ok(Json(json!({ "nonce": B64.encode(nonce), "expires_ms": expires_ms })))
}
