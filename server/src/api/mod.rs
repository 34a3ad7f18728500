//! HTTP routes: device registration, receipt upload, evidence, server time, staff login and
//! administration. Handlers parse and authenticate (devices by signature, staff by token or
//! session, each route checking its `Permission`), call the store or the read model, append to
//! the audit log, and shape the answer; the rules they rely on live in `domain`.

mod admin;
mod audit;
mod auth;
mod devices;
mod evidence;
mod receipts;
mod session;
mod throttle;
mod users;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;

pub use auth::{Signed, Staff};
pub use session::{LOGIN_PAGE, SESSION_MS};
pub use throttle::LoginThrottle;

use crate::clock::now_ms;
use crate::store::Db;

/// The OpenAPI 3.1 description of this API (kept beside the code; a test checks it covers every route).
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// Most receipts accepted in one upload.
pub const MAX_BATCH: usize = 500;

/// Shared state of the service.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// SHA-256 of the bootstrap administrator's token (compared as digests in constant time);
    /// `None` when the server runs without one.
    pub(crate) bootstrap_sha256: Option<Arc<[u8; 32]>>,
    /// Login attempts per name and per address.
    pub(crate) throttle: Arc<LoginThrottle>,
    /// Prometheus metrics.
    pub metrics: Arc<crate::read::metrics::Metrics>,
    /// The face engine for evidence embeddings (loaded on first use).
    pub faces: crate::faces::Faces,
}

impl AppState {
    /// State over `db`, with the bootstrap administrator's bearer token (empty: none).
    pub fn new(db: Db, admin_token: &str) -> Self {
        let token = admin_token.trim();
        Self {
            db,
            bootstrap_sha256: (!token.is_empty()).then(|| Arc::new(salur_core::crypto::sha256(token.as_bytes()))),
            throttle: Arc::default(),
            metrics: Arc::default(),
            faces: crate::faces::Faces::default(),
        }
    }

    /// The same state with other login limits (tests).
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Arc::new(throttle);
        self
    }
}

/// All routes, with a body limit on each.
pub fn router(state: AppState) -> Router {
    let small = DefaultBodyLimit::max(64 * 1024);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(admin::metrics))
        .route("/openapi.json", get(|| async { ([("content-type", "application/json")], OPENAPI) }))
        .route("/v1/time", get(|| async { Json(json!({ "server_ms": now_ms() })) }))
        .route("/v1/devices", post(devices::register).layer(small))
        .route("/v1/receipts", post(receipts::upload_batch).layer(DefaultBodyLimit::max(4 * 1024 * 1024)))
        .route("/v1/receipts/{id}", put(receipts::upload_one).layer(small))
        .route(
            "/v1/receipts/{id}/evidence",
            get(evidence::status).put(evidence::put).layer(DefaultBodyLimit::max(512 * 1024)),
        )
        .route("/v1/devices/{id}/chain", get(devices::chain))
        .route("/v1/admin/face-sweep", get(evidence::face_sweep))
        .route("/", get(session::page))
        .route("/v1/login", post(session::login).layer(small))
        .route("/v1/logout", post(session::logout))
        .route("/v1/session", get(session::whoami))
        .route("/v1/admin/users", get(users::list).post(users::add).layer(small))
        .route("/v1/admin/users/{name}/disable", post(users::disable))
        .route("/v1/admin/users/{name}/tokens", post(users::token))
        .route("/v1/admin/audit", get(audit::list))
        .route("/v1/admin/audit/verify", get(audit::verify))
        .route("/v1/dashboard", get(admin::dashboard))
        .route("/v1/roster/{roster_id}", get(admin::roster))
        .route("/v1/rosters", get(admin::rosters))
        .route("/v1/admin/reallocations", get(admin::reallocations))
        .route("/v1/admin/devices", get(devices::list))
        .route("/v1/admin/devices/{id}/{action}", post(devices::set_status).layer(small))
        .with_state(state)
}
