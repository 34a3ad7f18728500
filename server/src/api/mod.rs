//! HTTP routes: device registration, receipt upload, evidence, server time, administration.
//! Handlers parse and authenticate, call the store or the read model, and shape the answer;
//! the rules they rely on live in `domain`.

mod admin;
mod auth;
mod devices;
mod evidence;
mod receipts;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;

pub use auth::Signed;

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
    /// SHA-256 of the administrator token (compared as digests, so timing reveals nothing).
    pub(crate) admin_token_sha256: Arc<[u8; 32]>,
    /// Prometheus metrics.
    pub metrics: Arc<crate::read::metrics::Metrics>,
    /// The face engine for evidence embeddings (loaded on first use).
    pub faces: crate::faces::Faces,
}

impl AppState {
    /// State over `db`, with the administrator's bearer token.
    pub fn new(db: Db, admin_token: &str) -> Self {
        Self {
            db,
            admin_token_sha256: Arc::new(salur_core::crypto::sha256(admin_token.as_bytes())),
            metrics: Arc::default(),
            faces: crate::faces::Faces::default(),
        }
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
        .route("/", get(|| async { axum::response::Html(crate::read::dashboard::PAGE) }))
        .route("/v1/dashboard", get(admin::dashboard))
        .route("/v1/roster/{roster_id}", get(admin::roster))
        .route("/v1/rosters", get(admin::rosters))
        .route("/v1/admin/reallocations", get(admin::reallocations))
        .route("/v1/admin/devices", get(devices::list))
        .route("/v1/admin/devices/{id}/{action}", post(devices::set_status).layer(small))
        .with_state(state)
}
