//! Devices: registration (signed with the key being registered, with an enrolment code and a
//! verified key attestation), approval, the chain a device holds here.

use super::params::Path;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::receipt::ChainReport;
use salur_core::request_auth;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{
    accept_signed, body_error, check_json, check_signature, device, has_staff_credential, header, json_body, key_role,
    peer, signed_headers, staff, Staff,
};
use super::AppState;
use crate::clock::now_ms;
use crate::domain::attestation::{self, SecurityLevel, MAX_CHAIN};
use crate::domain::audit::{Action, Actor, NewEntry};
use crate::domain::chain::ChainStatus;
use crate::domain::devices::{check_identifier, check_upload_key, Device, DeviceError, DeviceStatus};
use crate::domain::enrolment;
use crate::domain::roles::Permission;
use crate::error::{ApiError, ErrorBody};
use crate::store::NewDevice;

/// A phone's registration, signed with the key it registers.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Registration {
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    device_id: String,
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    worker_id: String,
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    post_office: String,
    /// SPKI DER of the P-256 key, base64.
    #[schema(content_encoding = "base64")]
    public_key: String,
    /// Android key attestation chain (base64 DER certificates, leaf first), made with the nonce
    /// issued for the enrolment code as its challenge.
    #[serde(default)]
    #[schema(max_items = 8)]
    attestation: Vec<String>,
    /// The one-time code an approver issued for this worker.
    #[serde(default)]
    enrolment_code: Option<String>,
    /// SPKI DER of the phone's upload key, base64: a second key, needing no unlock, accepted only
    /// for handing in receipts, their evidence and the chain's status (`x-salur-key: upload`).
    #[serde(default)]
    #[schema(content_encoding = "base64")]
    upload_key: Option<String>,
    /// The upload key's attestation chain, made with the same nonce (required when the device
    /// key's chain is sent).
    #[serde(default)]
    #[schema(max_items = 8)]
    upload_attestation: Vec<String>,
}

/// A device and the id of its key.
#[derive(Serialize, ToSchema)]
pub(super) struct Registered {
    device: Device,
    /// hex SHA-256 of the key's SPKI, first 16 bytes: what receipts name.
    key_id: String,
    /// The same for the upload key the server holds, if any (the phone signs uploads with it
    /// only when this names its key).
    upload_key_id: Option<String>,
}

impl Registered {
    fn new(device: Device) -> Self {
        let key_id = hex::encode(salur_core::crypto::key_id(&device.public_key));
        Self { upload_key_id: device.upload_key_id.clone(), device, key_id }
    }
}

/// Decodes a chain as sent (base64 DER certificates, leaf first), within the bounds.
fn decode_chain(what: &str, certs: &[String]) -> Result<Vec<Vec<u8>>, ApiError> {
    if certs.len() > MAX_CHAIN || certs.iter().any(|c| c.len() > 16 * 1024) {
        return Err(ApiError::BadRequest(format!("{what}: at most 8 base64 DER certificates of 12 KiB")));
    }
    certs
        .iter()
        .map(|c| B64.decode(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ApiError::BadRequest(format!("{what}: certificates are base64 DER")))
}

/// A P-256 SPKI as sent (base64 DER).
fn decode_key(what: &str, b64: &str) -> Result<Vec<u8>, ApiError> {
    let spki = B64.decode(b64).map_err(|_| ApiError::BadRequest(format!("{what} is not base64")))?;
    salur_core::crypto::p256_point(&spki).map_err(|e| ApiError::BadRequest(format!("{what}: {e}")))?;
    Ok(spki)
}

/// Registration is signed with the key being registered: proof that the caller holds it. A
/// retry of a registration already held answers 201 again without the code.
#[utoipa::path(post, path = "/v1/devices", request_body = Registration,
    responses((status = 201, description = "Registered (pending or approved by its attestation)", body = Registered),
        (status = 409, description = "The device id is taken by another key", body = ErrorBody)),
    security(("deviceSignature" = [])))]
pub(super) async fn register(
    State(state): State<AppState>,
    req: Request,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let (parts, body) = req.into_parts();
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    // The key is in the body, so only what needs no key is checked before reading it.
    signed_headers(headers)?;
    check_json(headers)?;
    let body = Bytes::from_request(Request::from_parts(parts.clone(), body), &state).await.map_err(body_error)?;
    let reg: Registration = json_body(&body)?;
    let spki = decode_key("public_key", &reg.public_key)?;
    let upload_spki = reg.upload_key.as_deref().map(|k| decode_key("upload_key", k)).transpose()?;
    if upload_spki.is_none() && !reg.upload_attestation.is_empty() {
        return Err(ApiError::BadRequest("upload_attestation without an upload_key".into()));
    }
    // A registration is signed by the device key it registers, never by an upload key.
    if key_role(headers)? != request_auth::KeyRole::Device {
        return Err(DeviceError::UploadKeyScope.into());
    }
    for (name, v) in [("device_id", &reg.device_id), ("worker_id", &reg.worker_id), ("post_office", &reg.post_office)] {
        check_identifier(name, v)?;
    }
    if header(headers, request_auth::DEVICE_HEADER)? != reg.device_id {
        return Err(ApiError::Unauthorized("x-salur-device does not match device_id".into()));
    }
    // The signature proves only that the caller holds the key it sends, which anyone can make:
    // the request is not remembered against replays until the key is one the server knows or
    // the enrolment code has been checked, so that a flood of self-signed registrations cannot
    // fill the replay memory and lock every device out of signed requests.
    let signature = check_signature(&spki, method, uri, headers, &body)?;
    // Counted by the key, not the claimed id: anyone may sign a registration naming a real
    // device's id with a key of their own, and must not use up that device's allowance.
    let key = format!("key:{}", hex::encode(salur_core::crypto::key_id(&spki)));
    let chain = decode_chain("attestation", &reg.attestation)?;
    let upload_chain = decode_chain("upload_attestation", &reg.upload_attestation)?;
    // A retry of a registration the server already holds (its answer was lost) needs no code.
    if let Some(d) = state.db.device(&reg.device_id).await? {
        if d.public_key == spki && d.worker_id == reg.worker_id && d.post_office == reg.post_office {
            // Signed by a registered key: authenticated, so now remembered.
            accept_signed(&state, &key, &signature).await?;
            return Ok((StatusCode::CREATED, Json(Registered::new(d))));
        }
    }
    state.enrol_throttle.attempt_enrolment(peer(&parts).map(|p| p.ip()))?;
    let code = reg.enrolment_code.as_deref().ok_or_else(|| {
        ApiError::EnrolmentRefused("registration needs an enrolment code: ask your supervisor for one".into())
    })?;
    let hash = enrolment::code_hash(code).ok_or_else(enrolment::refused)?;
    let now = now_ms();
    let code_row = state.db.enrolment(&hash).await?.filter(|e| e.open_at(now)).ok_or_else(enrolment::refused)?;
    if code_row.worker_id != reg.worker_id || code_row.post_office != reg.post_office {
        return Err(ApiError::EnrolmentRefused(
            "this enrolment code was issued for another worker or post office: ask your supervisor".into(),
        ));
    }
    // The code is open and issued for this worker: the request is authenticated.
    accept_signed(&state, &key, &signature).await?;
    let attested = if chain.is_empty() {
        if !state.allow_unattested {
            return Err(ApiError::AttestationRefused(
                "this phone sent no key attestation: registration needs a key made in the phone's secure hardware"
                    .into(),
            ));
        }
        None
    } else {
        let nonce = code_row.nonce.filter(|(_, until)| *until > now).map(|(n, _)| n).ok_or_else(|| {
            ApiError::AttestationRefused(
                "no fresh registration nonce for this code: ask for one (POST /v1/devices/challenge) and try again"
                    .into(),
            )
        })?;
        Some(attestation::verify(&chain, &spki, &nonce, now)?)
    };
    let level = attested.as_ref().map_or(SecurityLevel::None, |a| a.security_level);
    // The upload key's chain must carry the same nonce and pass the same policy (same app,
    // locked bootloader, ...): it is the same phone's keystore, asked at the same moment.
    let upload_attested = match (&upload_spki, upload_chain.is_empty(), attested.as_ref()) {
        (Some(upload), false, Some(a)) => Some(
            attestation::verify(&upload_chain, upload, &a.challenge, now)
                .map_err(|e| ApiError::AttestationRefused(format!("upload key: {e}")))?,
        ),
        (Some(_), false, None) => {
            return Err(ApiError::BadRequest("upload_attestation sent without the device key's attestation".into()))
        }
        (Some(_), true, Some(_)) => {
            return Err(ApiError::BadRequest(
                "upload_key without upload_attestation: an attested device key needs its upload key attested too"
                    .into(),
            ))
        }
        _ => None,
    };
    if let Some(upload) = &upload_spki {
        let upload_level = upload_attested.as_ref().map_or(SecurityLevel::None, |a| a.security_level);
        check_upload_key(&spki, upload, level, upload_level)?;
    }
    // The operator's policy over what each chain says: refused, or held pending with the reason.
    let mut held = None;
    for judged in [attested.as_ref(), upload_attested.as_ref()].into_iter().flatten() {
        match state.attestation_policy.judge(judged) {
            Err(v) if v.always_refused() || state.attestation_policy.on_fail == attestation::OnFail::Refuse => {
                return Err(attestation::AttestationError::Policy(v).into());
            }
            Err(v) => held = held.or(Some(v)),
            Ok(()) => {}
        }
    }
    let status = if held.is_some() { DeviceStatus::Pending } else { enrolment::initial_status(level) };
    let new = NewDevice {
        device_id: &reg.device_id,
        worker_id: &reg.worker_id,
        post_office: &reg.post_office,
        spki: &spki,
        attestation: &reg.attestation,
        security_level: level,
        attestation_version: attested.as_ref().map(|a| a.attestation_version),
        challenge: attested.as_ref().map(|a| a.challenge.as_slice()),
        status,
        upload: upload_spki.as_deref().map(|k| (k, reg.upload_attestation.as_slice())),
    };
    let device = state.db.enrol_device(&new, &hash).await?;
    let entry = NewEntry {
        actor: Actor {
            name: format!("device:{}", reg.device_id),
            peer: peer(&parts).map_or_else(|| "unknown".to_string(), |p| p.to_string()),
        },
        action: Action::DeviceEnrolled,
        target: Some(reg.device_id.clone()),
        detail: Some(match &held {
            None => format!(
                "worker {}, security level {}, {}{}",
                reg.worker_id,
                level.as_str(),
                status.as_str(),
                if upload_spki.is_some() { ", with an upload key" } else { "" }
            ),
            Some(v) => format!("worker {}, security level {}, pending: {v}", reg.worker_id, level.as_str()),
        }),
    };
    state.db.audit(entry).await?;
    Ok((StatusCode::CREATED, Json(Registered::new(device))))
}

/// A device's chain as the server holds it, and its re-verification.
#[derive(Serialize, ToSchema)]
pub(super) struct Chain {
    status: ChainStatus,
    verification: ChainReport,
    /// Every receipt held verifies and links.
    valid: bool,
}

/// A device's chain as the server holds it, with a full re-verification: for the signing device
/// itself, or for staff who may read chains.
#[utoipa::path(get, path = "/v1/devices/{id}/chain", params(("id" = String, Path, description = "Device")),
    responses((status = 200, description = "The chain", body = Chain),
        (status = 404, description = "No such device", body = ErrorBody)),
    security(("deviceSignature" = []), ("staffBearer" = []), ("sessionCookie" = [])),
    extensions(("x-salur-permission" = json!("read_chains"))))]
pub(super) async fn chain(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<Chain>, ApiError> {
    let device = chain_reader(&state, req, &id, false).await?;
    let status = state.db.chain_status(&id).await?;
    let receipts = state.db.device_receipts(&id).await?;
    let report = salur_core::receipt::verify_chain(&device.public_key, receipts.iter().map(Vec::as_slice));
    Ok(Json(Chain { status, valid: report.is_valid(), verification: report }))
}

/// Which sequences the server holds, without the re-verification.
#[derive(Serialize, ToSchema)]
pub(super) struct ChainStatusAnswer {
    status: ChainStatus,
}

/// Which of a device's sequences the server holds (count, contiguous prefix, gaps): what a phone
/// asks at every sync. Unlike `/chain` it checks no signature again (each was checked on
/// arrival), so it costs one index scan where `/chain` costs one P-256 verification per receipt.
#[utoipa::path(get, path = "/v1/devices/{id}/chain/status", params(("id" = String, Path, description = "Device")),
    responses((status = 200, description = "The sequences held", body = ChainStatusAnswer),
        (status = 404, description = "No such device", body = ErrorBody)),
    security(("deviceSignature" = []), ("staffBearer" = []), ("sessionCookie" = [])),
    extensions(("x-salur-permission" = json!("read_chains"))))]
pub(super) async fn chain_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<ChainStatusAnswer>, ApiError> {
    chain_reader(&state, req, &id, true).await?;
    Ok(Json(ChainStatusAnswer { status: state.db.chain_status(&id).await? }))
}

/// The device whose chain `req` may read: its own signature, or staff who may read chains
/// (audited). `status_only`: the chain's status, which the upload key may read too; the full
/// re-verification costs a P-256 check per receipt and needs the device key.
async fn chain_reader(state: &AppState, req: Request, id: &str, status_only: bool) -> Result<Device, ApiError> {
    let (parts, _) = req.into_parts();
    let staff_credential = has_staff_credential(&parts.headers);
    // One credential per request: with both, which one was checked would depend on the order
    // of the code below, and a bad device signature would go unnoticed beside a good token.
    let device_headers = [request_auth::DEVICE_HEADER, request_auth::TIME_HEADER, request_auth::SIGNATURE_HEADER];
    if staff_credential && device_headers.iter().any(|h| parts.headers.contains_key(*h)) {
        return Err(ApiError::BadRequest("send a staff credential or a device signature, not both".into()));
    }
    let device = if staff_credential {
        let staff = staff(state, &parts).await?;
        staff.require(Permission::ReadChains)?;
        let device = state.db.device(id).await?.ok_or_else(|| ApiError::NotFound(format!("no device {id}")))?;
        state.db.audit(staff.did(Action::ChainRead, Some(id), None)).await?;
        device
    } else {
        if !status_only && key_role(&parts.headers)? == request_auth::KeyRole::Upload {
            return Err(DeviceError::UploadKeyScope.into());
        }
        // A revoked phone still learns what the server holds of its chain (it hands in the rest).
        device(state, &parts.method, &parts.uri, &parts.headers, true).await?
    };
    if device.device_id != id {
        return Err(ApiError::Forbidden("a device may only read its own chain".into()));
    }
    Ok(device)
}

/// A device's receipts as the server holds them, in sequence order, with its registered public
/// key and attestation chain: what an auditor needs to check the chain offline
/// (`salur receipts verify-chain --bundle FILE`). Logged.
#[utoipa::path(get, path = "/v1/admin/devices/{id}/export", params(("id" = String, Path, description = "Device")),
    responses((status = 200, description = "The bundle", body = crate::store::devices::DeviceExport),
        (status = 404, description = "No such device", body = ErrorBody)),
    extensions(("x-salur-permission" = json!("read_chains"))))]
pub(super) async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: Staff,
) -> Result<Json<crate::store::devices::DeviceExport>, ApiError> {
    staff.require(Permission::ReadChains)?;
    Ok(Json(state.db.export_device(&staff.actor(), &id).await?))
}

/// Registered devices.
#[derive(Serialize, ToSchema)]
pub(super) struct Devices {
    devices: Vec<Device>,
}

/// One device.
#[derive(Serialize, ToSchema)]
pub(super) struct OneDevice {
    device: Device,
}

/// Every registered device (approvers and administrators).
#[utoipa::path(get, path = "/v1/admin/devices", responses((status = 200, description = "The devices", body = Devices)),
    extensions(("x-salur-permission" = json!("manage_devices"))))]
pub(super) async fn list(State(state): State<AppState>, staff: Staff) -> Result<Json<Devices>, ApiError> {
    staff.require(Permission::ManageDevices)?;
    Ok(Json(Devices { devices: state.db.devices().await? }))
}

/// Approves or revokes a device (approvers and administrators), logged.
#[utoipa::path(post, path = "/v1/admin/devices/{id}/{action}",
    params(("id" = String, Path, description = "Device"), ("action" = String, Path, description = "`approve` or `revoke`")),
    responses((status = 200, description = "The device", body = OneDevice),
        (status = 404, description = "No such device or action", body = ErrorBody)),
    extensions(("x-salur-permission" = json!("manage_devices"))))]
pub(super) async fn set_status(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    staff: Staff,
) -> Result<Json<OneDevice>, ApiError> {
    staff.require(Permission::ManageDevices)?;
    let status = match action.as_str() {
        "approve" => DeviceStatus::Approved,
        "revoke" => DeviceStatus::Revoked,
        other => return Err(ApiError::NotFound(format!("no action {other}: use approve or revoke"))),
    };
    let device = state.db.decide_device(&staff.actor(), &id, status).await?;
    state.dashboards.changed();
    Ok(Json(OneDevice { device }))
}
