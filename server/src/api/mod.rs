//! HTTP routes: device registration, receipt upload, evidence, server time, staff login and
//! administration. Handlers parse and authenticate (devices by signature, staff by token or
//! session, each route checking its `Permission`), call the store or the read model, append to
//! the audit log, and shape the answer; the rules they rely on live in `domain`.

mod admin;
mod audit;
mod auth;
mod checks;
mod client;
mod devices;
mod enrolments;
mod evidence;
mod held;
mod limits;
mod openapi;
mod page;
mod params;
mod receipts;
mod references;
mod session;
mod throttle;
mod users;

use std::sync::{Arc, OnceLock};

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{middleware, Json, Router};
use serde::Serialize;
use tower::ServiceBuilder;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

pub use crate::store::devices::EXPORT_FORMAT;
pub use auth::{Signed, Staff};
pub use client::{parse_cidr, ClientAddr, ForwardedHeader, IpNet, TrustedProxies};
pub(crate) use limits::address_key;
pub use limits::{Limits, Rate};
pub use receipts::MAX_BATCH;
pub use session::{LOGIN_PAGE, SESSION_MS};
pub use throttle::LoginThrottle;

use crate::clock::now_ms;
use crate::error::ApiError;
use crate::store::Db;

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
    /// Enrolment attempts (nonces and registrations) per address.
    pub(crate) enrol_throttle: Arc<LoginThrottle>,
    /// Whether a device may register without a key attestation chain (`--allow-unattested-devices`:
    /// the demo, tests, emulators); such devices stay pending and flagged.
    pub(crate) allow_unattested: bool,
    /// What a verified key attestation must say (app, boot state, patch level, revocations).
    pub(crate) attestation_policy: Arc<crate::domain::attestation::AttestationPolicy>,
    /// Prometheus metrics.
    pub metrics: Arc<crate::read::metrics::Metrics>,
    /// The dashboard's answers, kept a few seconds.
    pub(crate) dashboards: Arc<crate::read::cache::DashboardCache>,
    /// Names for area and post-office codes.
    pub(crate) names: Arc<crate::read::names::AreaNames>,
    /// The face engine for evidence embeddings (loaded on first use).
    pub faces: crate::faces::Faces,
    /// Time, concurrency and rate limits, and the replay memory.
    pub(crate) guards: Arc<limits::Guards>,
    /// The reverse proxies whose forwarding header names the client (none: the peer is).
    pub(crate) proxies: Arc<TrustedProxies>,
}

impl AppState {
    /// State over `db`, with the bootstrap administrator's bearer token (empty: none).
    pub fn new(db: Db, admin_token: &str) -> Self {
        let token = admin_token.trim();
        Self {
            db,
            bootstrap_sha256: (!token.is_empty()).then(|| Arc::new(salur_core::crypto::sha256(token.as_bytes()))),
            throttle: Arc::default(),
            // 10 attempts per address, then one every 6 seconds: a 50-bit code is out of reach.
            enrol_throttle: Arc::new(LoginThrottle::new(
                1,
                std::time::Duration::from_secs(60),
                10,
                std::time::Duration::from_secs(6),
            )),
            allow_unattested: false,
            attestation_policy: Arc::default(),
            metrics: Arc::default(),
            dashboards: Arc::default(),
            names: Arc::new(crate::read::names::AreaNames::bundled()),
            faces: crate::faces::Faces::default(),
            guards: Arc::new(limits::Guards::new(Limits::default())),
            proxies: Arc::default(),
        }
    }

    /// The same state with other login limits (tests).
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Arc::new(throttle);
        self
    }

    /// The same state with these area and post-office names.
    pub fn with_names(mut self, names: crate::read::names::AreaNames) -> Self {
        self.names = Arc::new(names);
        self
    }

    /// The same state, letting devices without a key attestation register (pending and flagged).
    pub fn allow_unattested_devices(mut self, allow: bool) -> Self {
        self.allow_unattested = allow;
        self
    }

    /// The same state under this attestation policy.
    pub fn with_attestation_policy(mut self, policy: crate::domain::attestation::AttestationPolicy) -> Self {
        self.attestation_policy = Arc::new(policy);
        self
    }

    /// The same state with another enrolment throttle (tests).
    pub fn with_enrolment_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.enrol_throttle = Arc::new(throttle);
        self
    }

    /// The same state, believing these reverse proxies' forwarding header (`--trusted-proxy`).
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = Arc::new(proxies);
        self
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
fn limited((schemas, paths, route): UtoipaMethodRouter<AppState>, max: usize) -> UtoipaMethodRouter<AppState> {
    let guard = middleware::from_fn(move |req, next| limits::declared_length(max, req, next));
    (schemas, paths, route.layer::<_, std::convert::Infallible>(guard).layer(DefaultBodyLimit::max(max)))
}

/// Whether the server answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "ok", content_type = "text/plain", body = String)))]
async fn health() -> &'static str {
    "ok"
}

/// The server's clock.
#[derive(Serialize, ToSchema)]
struct ServerTime {
    /// Unix milliseconds.
    server_ms: i64,
}

/// The server's clock, for the phone's offset.
#[utoipa::path(get, path = "/v1/time", responses((status = 200, description = "Server time", body = ServerTime)))]
async fn time() -> Json<ServerTime> {
    Json(ServerTime { server_ms: now_ms() })
}

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
async fn openapi_json() -> Result<impl IntoResponse, ApiError> {
    Ok(([("content-type", "application/json")], openapi()?))
}

/// Every route with its body limit, and its description.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(limited(routes!(health), NO_BODY))
        .routes(limited(routes!(admin::metrics), NO_BODY))
        .routes(limited(routes!(openapi_json), NO_BODY))
        .routes(limited(routes!(time), NO_BODY))
        .routes(limited(routes!(devices::register), SMALL))
        .routes(limited(routes!(enrolments::challenge), SMALL))
        .routes(limited(routes!(enrolments::list, enrolments::issue), SMALL))
        .routes(limited(routes!(receipts::upload_batch), BATCH))
        .routes(limited(routes!(receipts::upload_one), SMALL))
        .routes(limited(routes!(evidence::status, evidence::put), EVIDENCE))
        .routes(limited(routes!(references::put), SMALL))
        .routes(limited(routes!(held::list), NO_BODY))
        .routes(limited(routes!(held::decide), SMALL))
        .routes(limited(routes!(devices::chain), NO_BODY))
        .routes(limited(routes!(devices::chain_status), NO_BODY))
        .routes(limited(routes!(evidence::face_sweep), NO_BODY))
        .routes(limited(routes!(session::page), NO_BODY))
        .routes(limited(routes!(session::login), SMALL))
        .routes(limited(routes!(session::logout), NO_BODY))
        .routes(limited(routes!(session::whoami), NO_BODY))
        .routes(limited(routes!(users::list, users::add), SMALL))
        .routes(limited(routes!(users::disable), NO_BODY))
        .routes(limited(routes!(users::token), NO_BODY))
        .routes(limited(routes!(audit::list), NO_BODY))
        .routes(limited(routes!(audit::verify), NO_BODY))
        .routes(limited(routes!(admin::dashboard), NO_BODY))
        .routes(limited(routes!(admin::roster), NO_BODY))
        .routes(limited(routes!(admin::rosters), NO_BODY))
        .routes(limited(routes!(admin::reallocations), NO_BODY))
        .routes(limited(routes!(admin::decide_reallocation), SMALL))
        .routes(limited(routes!(devices::list), NO_BODY))
        .routes(limited(routes!(devices::set_status), SMALL))
        .routes(limited(routes!(devices::export), NO_BODY))
        .routes(limited(routes!(evidence::view), NO_BODY))
        .routes(limited(routes!(checks::page), NO_BODY))
        .routes(limited(routes!(checks::check), NO_BODY))
        .routes(limited(routes!(checks::complain), SMALL))
        .routes(limited(routes!(checks::list), NO_BODY))
}

/// The OpenAPI 3.1 description of this API, generated from the routes (built once).
pub fn openapi() -> Result<&'static str, ApiError> {
    static DOCUMENT: OnceLock<Result<String, String>> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| openapi::document(routes().split_for_parts().1).map_err(|e| e.to_string()))
        .as_deref()
        .map_err(|e| ApiError::Internal(format!("OpenAPI document: {e}")))
}

/// All routes, each with a body limit, under a request timeout, a limit of requests in flight
/// and the per-address rate limit (per-device limits apply once a signature verifies).
pub fn router(state: AppState) -> Router {
    let limits = state.guards.limits.clone();
    routes()
        .split_for_parts()
        .0
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
