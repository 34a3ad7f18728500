//! HTTP routes: device registration, receipt upload, evidence, server time, administration.
//! Handlers parse and authenticate, call the store or the read model, and shape the answer;
//! the rules they rely on live in `domain`.

mod admin;
mod auth;
mod devices;
mod evidence;
mod limits;
mod receipts;

use std::sync::Arc;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put, MethodRouter};
use axum::{middleware, Json, Router};
use serde_json::json;
use tower::ServiceBuilder;

pub use auth::Signed;
pub use limits::{Limits, Rate};

use crate::clock::now_ms;
use crate::error::ApiError;
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
    /// Time, concurrency and rate limits, and the replay memory.
    pub(crate) guards: Arc<limits::Guards>,
}

impl AppState {
    /// State over `db`, with the administrator's bearer token.
    pub fn new(db: Db, admin_token: &str) -> Self {
        Self {
            db,
            admin_token_sha256: Arc::new(salur_core::crypto::sha256(admin_token.as_bytes())),
            metrics: Arc::default(),
            faces: crate::faces::Faces::default(),
            guards: Arc::new(limits::Guards::new(Limits::default())),
        }
    }

    /// The same state under other limits (tests shrink them; `salur serve` may widen them).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.guards = Arc::new(limits::Guards::new(limits));
        self
    }
}

/// Body limits per route: none for reads, small for JSON, larger for evidence and batches.
const NO_BODY: usize = 0;
const SMALL: usize = 64 * 1024;
const EVIDENCE: usize = 512 * 1024;
const BATCH: usize = 4 * 1024 * 1024;

/// `route` with a body limit of `max` bytes: a declared length over it is refused before the
/// handler runs, and a body without a declared length is cut at `max` while read.
fn limited(route: MethodRouter<AppState>, max: usize) -> MethodRouter<AppState> {
    let guard = middleware::from_fn(move |req, next| limits::declared_length(max, req, next));
    route.layer::<_, std::convert::Infallible>(guard).layer(DefaultBodyLimit::max(max))
}

/// All routes, each with a body limit, under a request timeout, a limit of requests in flight
/// and the per-address rate limit (per-device limits apply once a signature verifies).
pub fn router(state: AppState) -> Router {
    let limits = state.guards.limits.clone();
    let openapi = || async { ([("content-type", "application/json")], OPENAPI) };
    let page = || async { axum::response::Html(crate::read::dashboard::PAGE) };
    Router::new()
        .route("/healthz", limited(get(|| async { "ok" }), NO_BODY))
        .route("/metrics", limited(get(admin::metrics), NO_BODY))
        .route("/openapi.json", limited(get(openapi), NO_BODY))
        .route("/v1/time", limited(get(|| async { Json(json!({ "server_ms": now_ms() })) }), NO_BODY))
        .route("/v1/devices", limited(post(devices::register), SMALL))
        .route("/v1/receipts", limited(post(receipts::upload_batch), BATCH))
        .route("/v1/receipts/{id}", limited(put(receipts::upload_one), SMALL))
        .route("/v1/receipts/{id}/evidence", limited(get(evidence::status).put(evidence::put), EVIDENCE))
        .route("/v1/devices/{id}/chain", limited(get(devices::chain), NO_BODY))
        .route("/v1/admin/face-sweep", limited(get(evidence::face_sweep), NO_BODY))
        .route("/", limited(get(page), NO_BODY))
        .route("/v1/dashboard", limited(get(admin::dashboard), NO_BODY))
        .route("/v1/roster/{roster_id}", limited(get(admin::roster), NO_BODY))
        .route("/v1/rosters", limited(get(admin::rosters), NO_BODY))
        .route("/v1/admin/reallocations", limited(get(admin::reallocations), NO_BODY))
        .route("/v1/admin/devices", limited(get(devices::list), NO_BODY))
        .route("/v1/admin/devices/{id}/{action}", limited(post(devices::set_status), SMALL))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(state.clone(), limits::per_address))
                // tower-http answers a bare 408; per_address above gives it the API's error body.
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    limits.request_timeout,
                ))
                // Over the limit a request is refused at once (503), not queued past its timeout.
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    ApiError::Busy {
                        message: "the server is at its limit of requests: retry later".into(),
                        retry_after_secs: 1,
                    }
                    .into_response()
                }))
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(limits.max_in_flight)),
        )
        .with_state(state)
}
