//! The connection loop. `axum::serve` gives hyper no timer, so a client that sends half a request
//! line and stalls holds its connection for ever; here every HTTP/1 connection has a header-read
//! timeout (and, with TLS, a handshake deadline of the same length), the peer address reaches the
//! per-address rate limit, and shutdown is graceful.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::error::ApiError;

/// Longest wait for in-flight requests once shutdown is asked for.
const DRAIN: Duration = Duration::from_secs(30);

/// A TLS acceptor for the PEM certificate chain (leaf first) and private key in these files:
/// TLS 1.2 and 1.3 on ring, HTTP/2 and HTTP/1.1 offered by ALPN.
pub fn tls_acceptor(cert_pem: &Path, key_pem: &Path) -> Result<TlsAcceptor, ApiError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let read = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        ApiError::BadRequest(format!("{what} {}: {e} (a PEM file is expected)", path.display()))
    };
    let chain = CertificateDer::pem_file_iter(cert_pem)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| read("TLS certificate", cert_pem, &e))?;
    if chain.is_empty() {
        return Err(read("TLS certificate", cert_pem, &"no CERTIFICATE block"));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|e| read("TLS key", key_pem, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ApiError::Internal(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| ApiError::BadRequest(format!("TLS certificate and key do not fit together: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` on `listener` (through `tls` when given) until `shutdown` completes, each
/// connection given `header_timeout` to finish its handshake and to send its request head.
pub(crate) async fn connections(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // Out of file descriptors and the like: pause rather than spin, then go on.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = app.clone().map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.map(axum::body::Body::new)
        });
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
            builder.http2().timer(TokioTimer::new()).enable_connect_protocol();
            let service = TowerToHyperService::new(service);
            let served = match tls {
                None => watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), service)).await,
                Some(tls) => match tokio::time::timeout(header_timeout, tls.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), service)).await
                    }
                    Ok(Err(e)) => return tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                    Err(_) => return tracing::debug!(%peer, "TLS handshake too slow"),
                },
            };
            if let Err(e) = served {
                tracing::trace!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN:?}: closing them");
    }
    Ok(())
}
