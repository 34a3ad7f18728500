//! Who is calling: the device signature on every phone request, the administrator's token.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use salur_core::request_auth;
use serde::Deserialize;

use super::AppState;
use crate::clock::now_ms;
use crate::domain::devices::Device;
use crate::error::ApiError;

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized(format!("missing {name} header: sign the request with the device key")))
}

fn path_and_query(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |p| p.as_str())
}

/// What the signature headers say, checked before the body is read: a request without them,
/// signed at a time outside the clock skew, or with a malformed or high-S signature costs no read.
pub(super) struct SignedHeaders<'a> {
    /// The device the request names (not yet proven).
    pub device_id: &'a str,
}

/// Checks the signature headers that need no body and no database.
pub(super) fn signed_headers(headers: &HeaderMap) -> Result<SignedHeaders<'_>, ApiError> {
    let device_id = header(headers, request_auth::DEVICE_HEADER)?;
    let unauthorized = |e: salur_core::Error| ApiError::Unauthorized(e.to_string());
    request_auth::check_fresh(header(headers, request_auth::TIME_HEADER)?, now_ms()).map_err(unauthorized)?;
    request_auth::decode_signature(header(headers, request_auth::SIGNATURE_HEADER)?).map_err(unauthorized)?;
    Ok(SignedHeaders { device_id })
}

/// Checks the request's device signature against `spki`; the verified signature names the request.
pub(super) fn check_signature(
    spki: &[u8],
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<[u8; 64], ApiError> {
    request_auth::verify_request(
        spki,
        method.as_str(),
        path_and_query(uri),
        header(headers, request_auth::TIME_HEADER)?,
        header(headers, request_auth::SIGNATURE_HEADER)?,
        body,
        now_ms(),
    )
    .map_err(|e| ApiError::Unauthorized(e.to_string()))
}

/// After a signature verified: the device's rate limit, then the replay memory (a rate-limited
/// request is not remembered, so it costs no room there).
pub(super) fn accept_signed(state: &AppState, device_id: &str, signature: &[u8; 64]) -> Result<(), ApiError> {
    state.guards.check_device(device_id)?;
    state.guards.remember(signature)
}

/// The registered device a request names, looked up before its body is read.
async fn named_device(state: &AppState, headers: &HeaderMap) -> Result<Device, ApiError> {
    let id = signed_headers(headers)?.device_id;
    state.db.device(id).await?.ok_or_else(|| ApiError::Unauthorized("unknown device: register it first".into()))
}

/// The approved device that signed this request (whose body is `body`).
async fn verified_device(
    state: &AppState,
    device: Device,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Device, ApiError> {
    let signature = check_signature(&device.public_key, method, uri, headers, body)?;
    device.may_upload()?;
    accept_signed(state, &device.device_id, &signature)?;
    Ok(device)
}

/// The approved device that signed this bodiless request.
pub(super) async fn device(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Device, ApiError> {
    let device = named_device(state, headers).await?;
    verified_device(state, device, method, uri, headers, b"").await
}

/// A request whose signature headers were verified against the approved device that sent it,
/// with its body (JSON, within the route's size limit).
pub struct Signed {
    /// The device.
    pub device: Device,
    /// The raw body the signature covers.
    pub body: Bytes,
}

impl FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        // Headers, freshness, content type and the device first: only then is the body read.
        let device = named_device(state, &parts.headers).await?;
        if parts.method != Method::GET {
            check_json(&parts.headers)?;
        }
        let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(body_error)?;
        let device = verified_device(state, device, &parts.method, &parts.uri, &parts.headers, &body).await?;
        Ok(Self { device, body })
    }
}

pub(super) fn check_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType("send the body as application/json".into()))
    }
}

/// The answer to a body over the route's limit.
pub(super) fn too_large() -> ApiError {
    ApiError::PayloadTooLarge("the body is larger than this route accepts: send fewer receipts per upload".into())
}

pub(super) fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::BadRequest(e.body_text())
    }
}

pub(super) fn admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = header(headers, "authorization")
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::Unauthorized("administrator bearer token required".into()))?;
    if salur_core::crypto::sha256(token.as_bytes()) != *state.admin_token_sha256 {
        return Err(ApiError::Unauthorized("wrong administrator token".into()));
    }
    Ok(())
}

pub(super) fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("malformed JSON body: {e}")))
}
