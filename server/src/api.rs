//! HTTP routes: device registration, receipt upload, server time, administration.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::request_auth;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::db::{now_ms, Db, Device, DeviceStatus, Ingest, IngestResult};
use crate::error::ApiError;

/// The OpenAPI 3.1 description of this API (kept beside the code; a test checks it covers every route).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Most receipts accepted in one upload.
pub const MAX_BATCH: usize = 500;

/// Shared state of the service.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// SHA-256 of the administrator token (compared as digests, so timing reveals nothing).
    admin_token_sha256: Arc<[u8; 32]>,
    /// Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The face engine for evidence embeddings (loaded on first use).
    pub faces: crate::evidence::Faces,
}

impl AppState {
    /// State over `db`, with the administrator's bearer token.
    pub fn new(db: Db, admin_token: &str) -> Self {
        Self {
            db,
            admin_token_sha256: Arc::new(salur_core::crypto::sha256(admin_token.as_bytes())),
            metrics: Arc::default(),
            faces: crate::evidence::Faces::default(),
        }
    }
}

/// All routes, with a body limit on each.
pub fn router(state: AppState) -> Router {
    let small = DefaultBodyLimit::max(64 * 1024);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(|| async { ([("content-type", "application/json")], OPENAPI) }))
        .route("/v1/time", get(|| async { Json(json!({ "server_ms": now_ms() })) }))
        .route("/v1/devices", post(register).layer(small))
        .route("/v1/receipts", post(upload_batch).layer(DefaultBodyLimit::max(4 * 1024 * 1024)))
        .route("/v1/receipts/{id}", put(upload_one).layer(small))
        .route(
            "/v1/receipts/{id}/evidence",
            get(evidence_status).put(put_evidence).layer(DefaultBodyLimit::max(512 * 1024)),
        )
        .route("/v1/devices/{id}/chain", get(chain))
        .route("/v1/admin/face-sweep", get(face_sweep))
        .route("/", get(|| async { axum::response::Html(crate::dashboard::PAGE) }))
        .route("/v1/dashboard", get(dashboard))
        .route("/v1/roster/{roster_id}", get(roster))
        .route("/v1/admin/reallocations", get(reallocations))
        .route("/v1/admin/devices", get(list_devices))
        .route("/v1/admin/devices/{id}/{action}", post(set_status).layer(small))
        .with_state(state)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized(format!("missing {name} header: sign the request with the device key")))
}

fn path_and_query(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |p| p.as_str())
}

/// Checks the request's device signature against `spki`.
fn check_signature(spki: &[u8], method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
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

/// The approved device that signed this request.
async fn device(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Device, ApiError> {
    let id = header(headers, request_auth::DEVICE_HEADER)?;
    let device =
        state.db.device(id).await?.ok_or_else(|| ApiError::Unauthorized("unknown device: register it first".into()))?;
    check_signature(&device.public_key, method, uri, headers, body)?;
    match device.status {
        DeviceStatus::Approved => Ok(device),
        DeviceStatus::Pending => {
            Err(ApiError::Forbidden("the device is waiting for approval by an administrator".into()))
        }
        DeviceStatus::Revoked => Err(ApiError::Forbidden("the device was revoked: contact your supervisor".into())),
    }
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
        if parts.method != Method::GET {
            check_json(&parts.headers)?;
        }
        let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(body_error)?;
        let device = device(state, &parts.method, &parts.uri, &parts.headers, &body).await?;
        Ok(Self { device, body })
    }
}

fn check_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType("send the body as application/json".into()))
    }
}

fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("the body is larger than this route accepts: send fewer receipts per upload".into())
    } else {
        ApiError::BadRequest(e.body_text())
    }
}

fn admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = header(headers, "authorization")
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::Unauthorized("administrator bearer token required".into()))?;
    if salur_core::crypto::sha256(token.as_bytes()) != *state.admin_token_sha256 {
        return Err(ApiError::Unauthorized("wrong administrator token".into()));
    }
    Ok(())
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("malformed JSON body: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    device_id: String,
    worker_id: String,
    post_office: String,
    /// SPKI DER, base64.
    public_key: String,
    /// Android key attestation chain (base64 DER certificates, leaf first), when the phone has one.
    #[serde(default)]
    attestation: Vec<String>,
}

/// Registration is signed with the key being registered: proof that the caller holds it.
async fn register(State(state): State<AppState>, req: Request) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (parts, body) = req.into_parts();
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    check_json(headers)?;
    let body = Bytes::from_request(Request::from_parts(parts.clone(), body), &state).await.map_err(body_error)?;
    let reg: Registration = json_body(&body)?;
    let spki = B64.decode(&reg.public_key).map_err(|_| ApiError::BadRequest("public_key is not base64".into()))?;
    salur_core::crypto::p256_point(&spki).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    for (name, v) in [("device_id", &reg.device_id), ("worker_id", &reg.worker_id), ("post_office", &reg.post_office)] {
        if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(ApiError::BadRequest(format!("{name} must be 1 to 64 letters, digits, '-', '_' or '.'")));
        }
    }
    if header(headers, request_auth::DEVICE_HEADER)? != reg.device_id {
        return Err(ApiError::Unauthorized("x-salur-device does not match device_id".into()));
    }
    check_signature(&spki, method, uri, headers, &body)?;
    if reg.attestation.len() > 8 || reg.attestation.iter().any(|c| c.len() > 16 * 1024 || B64.decode(c).is_err()) {
        return Err(ApiError::BadRequest("attestation: at most 8 base64 DER certificates of 12 KiB".into()));
    }
    let device =
        state.db.register_device(&reg.device_id, &reg.worker_id, &reg.post_office, &spki, &reg.attestation).await?;
    let key_id = hex::encode(salur_core::crypto::key_id(&spki));
    Ok((StatusCode::CREATED, Json(json!({ "device": device, "key_id": key_id }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    /// COSE_Sign1 receipts, base64.
    receipts: Vec<String>,
}

async fn ingest_all(state: &AppState, device: &Device, receipts: &[String]) -> Result<Vec<IngestResult>, ApiError> {
    let decoded: Vec<Result<Vec<u8>, String>> =
        receipts.iter().map(|r| B64.decode(r).map_err(|_| "not base64".to_string())).collect();
    let results = state.db.ingest_batch(device, &decoded).await?;
    for r in &results {
        state.metrics.uploaded(r.result);
    }
    Ok(results)
}

/// Uploads up to [`MAX_BATCH`] receipts; one result per receipt, in order.
async fn upload_batch(State(state): State<AppState>, Signed { device, body }: Signed) -> Result<Json<Value>, ApiError> {
    let batch: Batch = json_body(&body)?;
    if batch.receipts.len() > MAX_BATCH {
        return Err(ApiError::BadRequest(format!("at most {MAX_BATCH} receipts per upload")));
    }
    let results = ingest_all(&state, &device, &batch.receipts).await?;
    let chain = state.db.chain_status(&device.device_id).await?;
    Ok(Json(json!({ "results": results, "chain": chain })))
}

/// Uploads one receipt by id: 201 stored, 200 already stored, 409 id or sequence taken, 422 refused.
async fn upload_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Signed { device, body }: Signed,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let one: Batch = json_body(&body)?;
    let [receipt] = one.receipts.as_slice() else {
        return Err(ApiError::BadRequest("send exactly one receipt".into()));
    };
    // Check the URL before storing anything; a receipt that does not verify is refused below.
    let named = B64.decode(receipt).ok().and_then(|b| salur_core::receipt::verify(&b, &device.public_key).ok());
    if named.is_some_and(|s| s.receipt.id != id) {
        return Err(ApiError::BadRequest("the receipt's id does not match the URL".into()));
    }
    let result = ingest_all(&state, &device, std::slice::from_ref(receipt)).await?.remove(0);
    let status = match result.result {
        Ingest::Accepted => StatusCode::CREATED,
        Ingest::Duplicate => StatusCode::OK,
        Ingest::Conflict => StatusCode::CONFLICT,
        Ingest::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Ok((status, Json(json!(result))))
}

/// The signing device's chain as the server holds it, with a full re-verification.
async fn chain(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let caller = admin(&state, &headers);
    let device = match caller {
        Ok(()) => state.db.device(&id).await?.ok_or_else(|| ApiError::NotFound(format!("no device {id}")))?,
        Err(_) => device(&state, &method, &uri, &headers, b"").await?,
    };
    if device.device_id != id {
        return Err(ApiError::Forbidden("a device may only read its own chain".into()));
    }
    let status = state.db.chain_status(&id).await?;
    let receipts = state.db.device_receipts(&id).await?;
    let report = salur_core::receipt::verify_chain(&device.public_key, receipts.iter().map(Vec::as_slice));
    Ok(Json(json!({ "status": status, "verification": report, "valid": report.is_valid() })))
}

async fn list_devices(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    admin(&state, &headers)?;
    Ok(Json(json!({ "devices": state.db.devices().await? })))
}

async fn set_status(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    admin(&state, &headers)?;
    let status = match action.as_str() {
        "approve" => DeviceStatus::Approved,
        "revoke" => DeviceStatus::Revoked,
        other => return Err(ApiError::NotFound(format!("no action {other}: use approve or revoke"))),
    };
    Ok(Json(json!({ "device": state.db.set_device_status(&id, status).await? })))
}

#[derive(Deserialize)]
struct RosterQuery {
    roster: Option<String>,
    format: Option<String>,
}

/// Aggregates for the dashboard (no personal data).
async fn dashboard(State(state): State<AppState>, Query(q): Query<RosterQuery>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.db.dashboard(q.roster.as_deref()).await?)))
}

/// The recipients of a roster assigned to the signing device's worker, with the roster key.
async fn roster(
    State(state): State<AppState>,
    Path(roster_id): Path<String>,
    Signed { device, .. }: Signed,
) -> Result<Json<Value>, ApiError> {
    let (key, recipients) = state.db.roster_for_worker(&roster_id, &device.worker_id).await?;
    Ok(Json(json!({ "roster_id": roster_id, "roster_key": B64.encode(key), "recipients": recipients })))
}

/// The reallocation queue, as JSON or (`?format=csv`) CSV.
async fn reallocations(
    State(state): State<AppState>,
    Query(q): Query<RosterQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    admin(&state, &headers)?;
    let rows = state.db.reallocations(q.roster.as_deref()).await?;
    Ok(match q.format.as_deref() {
        Some("csv") => {
            ([("content-type", "text/csv; charset=utf-8")], crate::roster::reallocations_csv(&rows)?).into_response()
        }
        None | Some("json") => Json(json!({ "reallocations": rows })).into_response(),
        Some(other) => return Err(ApiError::BadRequest(format!("format {other}: use json or csv"))),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceChunk {
    offset: u64,
    total: u64,
    /// The bytes from `offset`, base64.
    chunk: String,
}

/// How much of a receipt's evidence crop the server holds (where to resume).
async fn evidence_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Signed { device, .. }: Signed,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.db.evidence_status(&device, &id).await?)))
}

/// Appends a chunk of a receipt's evidence crop at its offset (409 names the right offset).
async fn put_evidence(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Signed { device, body }: Signed,
) -> Result<Json<Value>, ApiError> {
    let c: EvidenceChunk = json_body(&body)?;
    let chunk = B64.decode(&c.chunk).map_err(|_| ApiError::BadRequest("chunk is not base64".into()))?;
    Ok(Json(json!(state.db.put_evidence(&state.faces, &device, &id, c.offset, c.total, &chunk).await?)))
}

#[derive(Deserialize)]
struct SweepQuery {
    roster: String,
    threshold: Option<f32>,
}

/// The 1:N sweep of a roster's evidence faces: one face paid as several recipients.
async fn face_sweep(
    State(state): State<AppState>,
    Query(q): Query<SweepQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    admin(&state, &headers)?;
    let threshold = q.threshold.unwrap_or(salur_core::face::DEFAULT_MATCH_THRESHOLD);
    if !(-1.0..=1.0).contains(&threshold) {
        return Err(ApiError::BadRequest("threshold is a cosine similarity, -1 to 1".into()));
    }
    Ok(Json(json!(state.db.face_sweep(&q.roster, threshold).await?)))
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = state.metrics.render(&state.db).await?;
    Ok(([("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")], body).into_response())
}
