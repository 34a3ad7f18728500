//! The connection loop. `axum::serve` gives hyper no timer, so a client that sends half a request
//! line and stalls would hold its connection for ever; here every connection is counted against
//! a global cap and its address's cap (refused ones are reset as soon as they are accepted), has
//! an idle timeout whether it speaks HTTP/1 or h2c or has not yet sent a byte, a header-read
//! timeout for HTTP/1 (and, with TLS, a handshake deadline of the same length), the peer address
//! reaches the per-address limits, and shutdown is graceful.
//!
//! The connection caps key on the TCP peer: a connection is counted before it has sent a byte,
//! so no forwarding header can be read yet. A trusted reverse proxy's connections count only
//! against the global cap (it carries many clients; it caps each of them itself), and the
//! per-address limits after it key on the client it names (`api/client.rs`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Body as HttpBody;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::api::{address_key, Limits, TrustedProxies};
use crate::error::ApiError;
use crate::read::metrics::Metrics;

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

/// Descriptors kept for everything but client connections (the database pool, files, the listener).
const RESERVED_DESCRIPTORS: u64 = 256;

/// Raises this process's open-file limit as far as `max_connections` needs (up to the hard
/// limit) and returns the connection cap that fits under it: past the limit `accept` fails
/// ("Too many open files") and the server could no longer tell honest callers from others.
pub(crate) fn fit_descriptors(max_connections: usize) -> usize {
    #[cfg(unix)]
    {
        let want = u64::try_from(max_connections).unwrap_or(u64::MAX).saturating_add(RESERVED_DESCRIPTORS);
        match rlimit::increase_nofile_limit(want) {
            Ok(soft) if soft < want => {
                let fits = usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS).max(1)).unwrap_or(1);
                tracing::warn!(
                    max_connections,
                    fits,
                    open_file_limit = soft,
                    "the open-file limit allows fewer connections than asked: raise `ulimit -Hn` or lower --max-connections"
                );
                fits
            }
            Ok(_) => max_connections,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read or raise the open-file limit");
                max_connections
            }
        }
    }
    #[cfg(not(unix))]
    max_connections
}

/// What the connection loop needs besides the router: the limits and where to count refusals.
pub(crate) struct Settings {
    /// Connection caps and timeouts (`Limits::max_connections`, `idle_timeout`, ...).
    pub(crate) limits: Limits,
    /// Counts open and refused connections for `/metrics`.
    pub(crate) metrics: Arc<Metrics>,
    /// Peers exempt from the per-address connection cap (`--trusted-proxy`).
    pub(crate) proxies: Arc<TrustedProxies>,
}

/// Why a connection was refused as soon as it was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The server holds `max_connections` already.
    Full,
    /// Its address holds `max_connections_per_address` already.
    Address,
}

impl Refusal {
    /// The label on `/metrics`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Full => "server_full",
            Self::Address => "address_full",
        }
    }
}

/// Open connections, in all and per address key (an entry leaves when its count falls to zero).
struct Table {
    max: usize,
    max_per_address: usize,
    proxies: Arc<TrustedProxies>,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One open connection's place in the [`Table`], given back on drop.
struct Slot {
    table: Arc<Table>,
    key: IpAddr,
}

impl Table {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let key = address_key(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, by_address) = &mut *open;
        if *total >= self.max {
            return Err(Refusal::Full);
        }
        let n = by_address.entry(key).or_insert(0);
        if *n >= self.max_per_address && !self.proxies.trusts(ip) {
            return Err(Refusal::Address);
        }
        *n += 1;
        *total += 1;
        Ok(Slot { table: Arc::clone(self), key })
    }

    fn total(&self) -> usize {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).0
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, by_address) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = by_address.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                by_address.remove(&self.key);
            }
        }
    }
}

/// Whether a connection has a request in flight, and since when it has had none. A request
/// counts from its head until its answer's body is sent or dropped.
struct Activity {
    in_flight: AtomicUsize,
    idle_since: Mutex<Instant>,
}

/// A request in flight on its connection (ends on drop).
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self { in_flight: AtomicUsize::new(0), idle_since: Mutex::new(Instant::now()) })
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(self))
    }

    /// Completes once the connection has had no request in flight for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let since = *self.idle_since.lock().unwrap_or_else(PoisonError::into_inner);
            let busy = self.in_flight.load(Ordering::Acquire) > 0;
            if !busy && Instant::now() >= since + timeout {
                return;
            }
            // Busy: look again a whole timeout later (a request then ending restarts the clock).
            let next = if busy { Instant::now() + timeout } else { since + timeout };
            tokio::time::sleep_until(next).await;
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        // The clock first, so that the watcher never sees zero in flight with an old clock.
        *self.0.idle_since.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An answer's body that keeps its request in flight until it is sent or dropped, so that a
/// long download is not taken for an idle connection.
struct TrackedBody {
    inner: axum::body::Body,
    _busy: Busy,
}

impl HttpBody for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// After an idle connection is asked to close, how long it may take to say goodbye (an HTTP/2
/// GOAWAY) before it is dropped.
const GOODBYE: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` (through `tls` when given) until `shutdown` completes, under the
/// connection caps and timeouts of `settings.limits`.
pub(crate) async fn connections(
    listener: tokio::net::TcpListener,
    app: Router,
    settings: Settings,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = settings.limits;
    let table = Arc::new(Table {
        max: limits.max_connections,
        max_per_address: limits.max_connections_per_address,
        proxies: Arc::clone(&settings.proxies),
        open: Mutex::default(),
    });
    let (closing, _) = tokio::sync::watch::channel(false);
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
        let slot = match table.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                // A reset, not a goodbye: no FIN handshake and no TIME_WAIT kept on our side.
                let _ = stream.set_zero_linger();
                drop(stream);
                settings.metrics.connection_refused(refusal.as_str());
                tracing::debug!(%peer, reason = refusal.as_str(), "connection refused");
                continue;
            }
        };
        let conn = Conn {
            app: app.clone(),
            peer,
            limits: limits.clone(),
            closing: closing.subscribe(),
            metrics: Arc::clone(&settings.metrics),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let served = match tls {
                None => conn.serve(stream).await,
                Some(tls) => match tokio::time::timeout(conn.limits.header_timeout, tls.accept(stream)).await {
                    Ok(Ok(stream)) => conn.serve(stream).await,
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
    let _ = closing.send(true);
    let drained = tokio::time::timeout(DRAIN, async {
        while table.total() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    if drained.await.is_err() {
        tracing::warn!("connections still open after {DRAIN:?}: closing them");
    }
    Ok(())
}

/// One accepted connection and what serving it needs.
struct Conn {
    app: Router,
    peer: SocketAddr,
    limits: Limits,
    closing: tokio::sync::watch::Receiver<bool>,
    metrics: Arc<Metrics>,
}

impl Conn {
    /// Serves HTTP/1 or h2c (or h2 inside TLS) on `io` until the client leaves, the connection
    /// has been idle for the idle timeout, or the server shuts down.
    async fn serve<I>(mut self, io: I) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let _open = self.metrics.connection_opened();
        let activity = Activity::new();
        let (app, peer, watched) = (self.app, self.peer, Arc::clone(&activity));
        let service = hyper::service::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let busy = watched.begin();
            let app = app.clone();
            async move {
                let res = app.oneshot(req.map(axum::body::Body::new)).await?;
                Ok::<_, std::convert::Infallible>(res.map(|inner| TrackedBody { inner, _busy: busy }))
            }
        });
        let mut builder = Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(self.limits.header_timeout);
        builder.http2().timer(TokioTimer::new()).enable_connect_protocol();
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        let mut conn = std::pin::pin!(conn);
        let idle = self.limits.idle_timeout;
        tokio::select! {
            served = conn.as_mut() => return served,
            () = activity.idle_for(idle) => tracing::trace!(%peer, "idle connection closed"),
            _ = self.closing.wait_for(|closing| *closing) => {}
        }
        // HTTP/1 closes at once when idle; HTTP/2 says GOAWAY and lets open streams finish (all
        // of them at shutdown, which the caller bounds; none when idle, so a goodbye is short);
        // a connection still reading its first bytes stops.
        conn.as_mut().graceful_shutdown();
        let closing = *self.closing.borrow();
        if closing {
            return conn.await;
        }
        tokio::time::timeout(GOODBYE, conn).await.unwrap_or(Ok(()))
    }
}
