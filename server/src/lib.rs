//! The Salur disbursement API: devices register their keys, upload signed receipts, and the
//! server verifies every signature and chain link and stores each receipt exactly once.

pub mod api;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod metrics;
pub mod roster;

use std::net::SocketAddr;
use std::path::Path;

pub use api::{router, AppState};
pub use db::Db;
pub use error::ApiError;

/// Serves the API on `listener` until Ctrl-C (or the future `shutdown` completes).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).layer(tower_http::trace::TraceLayer::new_for_http());
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// Opens the database in `data_dir`, binds `addr` and serves until Ctrl-C.
pub async fn run(data_dir: &Path, addr: SocketAddr, admin_token: &str) -> Result<(), ApiError> {
    let db = Db::open(data_dir).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ApiError::Internal(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map_err(|e| ApiError::Internal(e.to_string()))?;
    tracing::info!(%local, data_dir = %data_dir.display(), "salur API listening");
    eprintln!("salur API on http://{local} (data in {})", data_dir.display());
    serve(listener, AppState::new(db, admin_token), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))
}
