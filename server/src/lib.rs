//! The Salur disbursement API: devices register their keys, upload signed receipts, and the
//! server verifies every signature and chain link and stores each receipt exactly once.
//!
//! Layers (see `docs/architecture.md`): `domain` (pure rules) ← `store` (SQL) ← `read`
//! (dashboard, metrics) ← `api` (HTTP). Each imports only the layers to its left.

pub mod api;
pub mod clock;
pub mod domain;
pub mod error;
pub mod faces;
pub mod read;
mod serve;
pub mod store;

use std::net::SocketAddr;

pub use api::{router, AppState, Limits, LoginThrottle, Rate};
pub use error::ApiError;
pub use store::Db;

/// Serves the API on `listener` until Ctrl-C (or the future `shutdown` completes).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = state.guards.limits.header_timeout;
    let app = router(state).layer(tower_http::trace::TraceLayer::new_for_http());
    // The peer address (ConnectInfo, set by the connection loop) keys the per-address limits,
    // the login throttle and the audit log.
    serve::connections(listener, app, header_timeout, shutdown).await
}

/// Where the server keeps its data.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Embedded SQLite in this folder (the default).
    Dir(std::path::PathBuf),
    /// A `postgres://` (or `sqlite:`) URL.
    Url(String),
}

impl Storage {
    /// Opens the database.
    pub async fn open(&self) -> Result<Db, ApiError> {
        match self {
            Self::Dir(d) => Db::open(d).await,
            Self::Url(u) => Db::connect(u).await,
        }
    }

    /// Where the data is, for a log line (never the credentials of a URL).
    pub fn describe(&self) -> String {
        match self {
            Self::Dir(d) => format!("data in {}", d.display()),
            // Never print credentials: scheme and host part only.
            Self::Url(u) => format!("database {}", u.split('@').next_back().unwrap_or("?")),
        }
    }
}

/// Opens the database, binds `addr` and serves until Ctrl-C; `allow_unattested` lets devices
/// without a key attestation register (pending and flagged: the demo, tests and emulators).
pub async fn run(
    storage: &Storage,
    addr: SocketAddr,
    admin_token: &str,
    allow_unattested: bool,
) -> Result<(), ApiError> {
    let db = storage.open().await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ApiError::Internal(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map_err(|e| ApiError::Internal(e.to_string()))?;
    tracing::info!(%local, storage = %storage.describe(), "salur API listening");
    eprintln!("salur API on http://{local} ({}); dashboard at http://{local}/", storage.describe());
    if allow_unattested {
        tracing::warn!("devices without a key attestation may register (pending and flagged on the dashboard)");
    }
    serve(listener, AppState::new(db, admin_token).allow_unattested_devices(allow_unattested), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))
}
