//! Who is calling: the device signature on every phone request; staff by bearer token (a user's
//! token or the bootstrap administrator's) or by browser session cookie, with the CSRF token on
//! every state-changing cookie request.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use salur_core::request_auth;
use serde::Deserialize;

use super::client::ClientAddr;
use super::AppState;
use crate::clock::now_ms;
use crate::domain::audit::{Action, Actor, NewEntry};
use crate::domain::credentials::{csrf_token, digest, same_secret, BOOTSTRAP, TOKEN_PREFIX};
use crate::domain::devices::Device;
use crate::domain::roles::{Permission, Role};
use crate::error::ApiError;

/// The browser session cookie (HttpOnly: scripts never see it).
pub(super) const SESSION_COOKIE: &str = "salur_session";

/// The header that carries the session's CSRF token on state-changing browser requests.
pub(super) const CSRF_HEADER: &str = "x-csrf-token";

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

/// Which of the phone's keys signed the request, as its `x-salur-key` header names it.
pub(super) fn key_role(headers: &HeaderMap) -> Result<request_auth::KeyRole, ApiError> {
    let named = headers.get(request_auth::KEY_HEADER).map(|v| v.to_str().unwrap_or("?"));
    request_auth::KeyRole::from_header(named).map_err(|e| ApiError::Unauthorized(e.to_string()))
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
pub(super) async fn accept_signed(state: &AppState, device_id: &str, signature: &[u8; 64]) -> Result<(), ApiError> {
    state.guards.check_device(device_id)?;
    state.guards.remember(&state.db, signature).await
}

/// The registered device a request names, looked up before its body is read.
async fn named_device(state: &AppState, headers: &HeaderMap) -> Result<Device, ApiError> {
    let id = signed_headers(headers)?.device_id;
    state.db.device(id).await?.ok_or_else(|| ApiError::Unauthorized("unknown device: register it first".into()))
}

/// The approved device that signed this request (whose body is `body`); with `hand_in`, a
/// revoked one too (it may hand in what it signed, see [`Device::may_hand_in`]).
async fn verified_device(
    state: &AppState,
    device: Device,
    req: (&Method, &Uri, &HeaderMap),
    body: &[u8],
    hand_in: bool,
) -> Result<Device, ApiError> {
    let (method, uri, headers) = req;
    let signature = check_signature(device.request_key(key_role(headers)?, hand_in)?, method, uri, headers, body)?;
    if hand_in {
        device.may_hand_in()?;
    } else {
        device.may_upload()?;
    }
    accept_signed(state, &device.device_id, &signature).await?;
    Ok(device)
}

/// The device that signed this bodiless request (approved; with `hand_in`, revoked too).
pub(super) async fn device(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    hand_in: bool,
) -> Result<Device, ApiError> {
    let device = named_device(state, headers).await?;
    verified_device(state, device, (method, uri, headers), b"", hand_in).await
}

/// A request whose signature headers were verified against the approved device that sent it,
/// with its body (JSON, within the route's size limit). `HAND_IN`: the route takes what a
/// device already signed (receipts, evidence), so a revoked device is let through too.
pub struct Signed<const HAND_IN: bool = false> {
    /// The device.
    pub device: Device,
    /// The raw body the signature covers.
    pub body: Bytes,
}

/// A signed request handing in what the device already signed: revoked devices included.
pub type HandIn = Signed<true>;

impl<const HAND_IN: bool> FromRequest<AppState> for Signed<HAND_IN> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        // Headers, freshness, content type and the device first: only then is the body read.
        let device = named_device(state, &parts.headers).await?;
        if parts.method != Method::GET {
            check_json(&parts.headers)?;
        }
        let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(body_error)?;
        let req = (&parts.method, &parts.uri, &parts.headers);
        let device = verified_device(state, device, req, &body, HAND_IN).await?;
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

pub(super) fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    let malformed = |e: serde_json::Error| ApiError::BadRequest(format!("malformed JSON body: {e}"));
    // JSON can carry a NUL only as the escape `\u0000`; only then is the body walked to tell
    // a NUL in a string from an escaped backslash followed by "u0000".
    if body.windows(6).any(|w| w == b"\\u0000") {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(malformed)?;
        if holds_nul(&value) {
            return Err(super::params::nul_refused());
        }
    }
    serde_json::from_slice(body).map_err(malformed)
}

/// Whether any string (or key) in `value` holds a NUL character.
fn holds_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// The caller's address: the client the outermost layer found (the peer, or behind a trusted
/// proxy the address it forwarded), else the socket's peer; `None` for in-process calls.
pub(super) fn peer(parts: &Parts) -> Option<ClientAddr> {
    parts
        .extensions
        .get::<ClientAddr>()
        .copied()
        .or_else(|| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| ClientAddr::direct(c.0)))
}

/// A staff member, authenticated, with where the request came from.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Login name (`bootstrap` for the static administrator token).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Peer address for the audit log.
    pub peer: String,
    /// The session secret, when the caller came by cookie (for logout and the CSRF token).
    pub(super) session: Option<String>,
}

impl Staff {
    /// Refuses with 403 unless the role allows `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        Ok(self.role.require(p)?)
    }

    /// Who this caller is and from where, as the audit log names them.
    pub fn actor(&self) -> Actor {
        Actor { name: self.name.clone(), peer: self.peer.clone() }
    }

    /// An audit entry of this caller doing `action` to `target`.
    pub fn did(&self, action: Action, target: Option<&str>, detail: Option<String>) -> NewEntry {
        NewEntry { actor: self.actor(), action, target: target.map(str::to_string), detail }
    }
}

/// The value of cookie `name` in the request, if sent.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// Whether the request carries any staff credential (so a route that also serves devices knows
/// which to check).
pub(super) fn has_staff_credential(headers: &HeaderMap) -> bool {
    headers.contains_key("authorization") || cookie(headers, SESSION_COOKIE).is_some()
}

/// Authenticates staff: a bearer token first, else the session cookie (and, on anything but
/// GET/HEAD, its CSRF token). 401 without a valid credential.
pub(super) async fn staff(state: &AppState, parts: &Parts) -> Result<Staff, ApiError> {
    let peer = peer(parts).map_or_else(|| "unknown".to_string(), |p| p.to_string());
    let headers = &parts.headers;
    if let Some(auth) = headers.get("authorization") {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::Unauthorized("send Authorization: Bearer <token>".into()))?
            .trim();
        if let Some(boot) = &state.bootstrap_sha256 {
            if same_secret(&salur_core::crypto::sha256(token.as_bytes()), &boot[..]) {
                // The bootstrap token sets the first accounts up; once a named administrator
                // exists every change is someone's, so it stops working (read from the write
                // pool: an account added a moment ago counts).
                if state.db.has_administrator().await? {
                    return Err(ApiError::Unauthorized(
                        "the bootstrap token stopped working when the first administrator account was added: \
                         log in with a named account (salur users token NAME for a token)"
                            .into(),
                    ));
                }
                return Ok(Staff { name: BOOTSTRAP.into(), role: Role::Administrator, peer, session: None });
            }
        }
        let holder = match token.starts_with(TOKEN_PREFIX) {
            true => state.db.token_holder(&digest(token)).await?,
            false => None,
        };
        let holder = holder.ok_or_else(|| ApiError::Unauthorized("unknown token, or its user is disabled".into()))?;
        return Ok(Staff { name: holder.name, role: holder.role, peer, session: None });
    }
    let Some(session) = cookie(headers, SESSION_COOKIE) else {
        return Err(ApiError::Unauthorized("log in (POST /v1/login) or send a bearer token".into()));
    };
    let holder = state
        .db
        .session_holder(&digest(session))
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the session ended: log in again".into()))?;
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        let sent = headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        if !same_secret(sent, csrf_token(session).as_bytes()) {
            return Err(ApiError::Forbidden(format!("missing or wrong {CSRF_HEADER} header (see GET /v1/session)")));
        }
    }
    Ok(Staff { name: holder.name, role: holder.role, peer, session: Some(session.to_string()) })
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        staff(state, parts).await
    }
}
