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

pub use api::{router, AppState, ForwardedHeader, IpNet, Limits, LoginThrottle, Rate, TrustedProxies};
pub use error::ApiError;
pub use store::Db;

/// Serves the API on `listener` until Ctrl-C (or the future `shutdown` completes).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = serve::Settings {
        limits: state.guards.limits.clone(),
        metrics: state.metrics.clone(),
        proxies: state.proxies.clone(),
    };
    let app = router(state).layer(tower_http::trace::TraceLayer::new_for_http());
    // The peer address (ConnectInfo, set by the connection loop), or behind a trusted proxy the
    // client it names, keys the per-address limits, the login throttle and the audit log.
    serve::connections(listener, app, settings, None, shutdown).await
}

/// [`serve`] over TLS with the certificate chain and key in these PEM files.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: AppState,
    cert_pem: &std::path::Path,
    key_pem: &std::path::Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    let tls = serve::tls_acceptor(cert_pem, key_pem)?;
    let settings = serve::Settings {
        limits: state.guards.limits.clone(),
        metrics: state.metrics.clone(),
        proxies: state.proxies.clone(),
    };
    let app = router(state).layer(tower_http::trace::TraceLayer::new_for_http());
    serve::connections(listener, app, settings, Some(tls), shutdown)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// How `salur serve` runs besides its database and address.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Serve HTTPS with these files (plain HTTP without).
    pub tls: Option<TlsFiles>,
    /// A `kind,code,name` file naming post offices (and correcting area names).
    pub area_names: Option<std::path::PathBuf>,
    /// Let devices without a key attestation register (pending and flagged: the demo, tests,
    /// emulators; never in production).
    pub allow_unattested_devices: bool,
    /// Every limit the server applies (connections, timeouts, requests in flight, rates, the
    /// replay memory); `salur serve` starts from [`Limits::default`] and applies its flags.
    pub limits: Limits,
    /// How long a face payment may wait for its evidence crop before the server counts it as
    /// `no_evidence`; `None` keeps [`domain::verdict::DEFAULT_EVIDENCE_WINDOW_MS`].
    pub evidence_window_ms: Option<i64>,
    /// What a verified key attestation must say (`--app-package`, `--app-signing-digest`,
    /// `--min-patch-level`, `--attestation-revocations`, `--attestation-failure`).
    pub attestation_policy: domain::attestation::AttestationPolicy,
    /// The reverse proxies whose forwarding header names the client (`--trusted-proxy`).
    pub trusted_proxies: TrustedProxies,
}

/// A certificate chain and private key (PEM files) to serve TLS with.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: std::path::PathBuf,
    /// Its private key (PKCS#8, SEC1 or PKCS#1).
    pub key: std::path::PathBuf,
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

    /// Opens a database that was set up before (by `salur serve`, `salur import-roster` or the
    /// first `salur users add`), never making one: a command run from the wrong folder must not
    /// answer from a new, empty database. The error names where it looked and what to do.
    pub async fn open_existing(&self) -> Result<Db, ApiError> {
        match self {
            Self::Dir(d) => {
                let missing = if !d.join("salur.db").is_file() {
                    Some("no salur.db")
                } else if !store::seal::key_path(Some(d))?.is_file() {
                    Some("no seal key beside salur.db")
                } else {
                    None
                };
                if let Some(what) = missing {
                    return Err(ApiError::NotFound(format!(
                        "no Salur data in {} ({what}): pass the folder `salur serve` uses with --data-dir DIR \
                         (or set SALUR_DATA_DIR), or --database-url",
                        absolute(d).display()
                    )));
                }
                Db::open(d).await
            }
            Self::Url(u) => {
                sqlx::any::install_default_drivers();
                let where_ = self.describe();
                let pool = sqlx::any::AnyPoolOptions::new()
                    .max_connections(1)
                    .connect(u)
                    .await
                    .map_err(|e| ApiError::NotFound(format!("cannot open the {where_}: {e}")))?;
                let set_up =
                    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(&pool).await;
                pool.close().await;
                if set_up.is_err() {
                    return Err(ApiError::NotFound(format!(
                        "the {where_} was never set up by Salur: start `salur serve --database-url URL` once (or \
                         import a roster into it) before other commands"
                    )));
                }
                Db::connect(u).await
            }
        }
    }

    /// Where the data is, for a log line (never the credentials of a URL).
    pub fn describe(&self) -> String {
        match self {
            Self::Dir(d) => format!("data in {}", absolute(d).display()),
            // Never print credentials: scheme and host part only.
            Self::Url(u) => format!("database {}", u.split('@').next_back().unwrap_or("?")),
        }
    }
}

/// `path` made absolute against the current folder (for messages: which folder was meant).
fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Opens the database, binds `addr` and serves (as `options` say) until Ctrl-C.
pub async fn run(
    storage: &Storage,
    addr: SocketAddr,
    admin_token: &str,
    options: &ServeOptions,
) -> Result<(), ApiError> {
    // A bad certificate, key or names file is reported before anything else starts.
    let tls = options.tls.as_ref();
    if let Some(t) = tls {
        serve::tls_acceptor(&t.cert, &t.key)?;
    }
    let names = match &options.area_names {
        Some(path) => read::names::AreaNames::bundled_and(path)?,
        None => read::names::AreaNames::bundled(),
    };
    let new = match storage {
        Storage::Dir(d) => !d.join("salur.db").is_file(),
        Storage::Url(_) => false,
    };
    let mut db = storage.open().await?;
    if new {
        eprintln!("salur: set up a new database: {}", storage.describe());
    }
    if let Some(ms) = options.evidence_window_ms {
        db = db.with_evidence_window(ms);
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ApiError::Internal(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map_err(|e| ApiError::Internal(e.to_string()))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%local, storage = %storage.describe(), scheme, "salur API listening");
    eprintln!("salur API on {scheme}://{local} ({}); dashboard at {scheme}://{local}/", storage.describe());
    let policy = &options.attestation_policy;
    if !policy.checks_app_identity() {
        let what = match (policy.package_names.is_empty(), policy.signing_digests.is_empty()) {
            (true, true) => "neither the package name nor the signing certificate",
            (true, false) => "the package name",
            _ => "the signing certificate",
        };
        tracing::warn!("the app identity is NOT checked ({what}): any app on a phone with a key in secure hardware may register; set --app-package and --app-signing-digest");
        eprintln!("WARNING: key attestation does NOT check the app's identity ({what}): a modified or foreign app may register. Set --app-package NAME and --app-signing-digest HEX.");
    }
    if options.allow_unattested_devices {
        tracing::warn!("devices without a key attestation may register (pending and flagged on the dashboard)");
    }
    let mut limits = options.limits.clone();
    limits.max_connections = serve::fit_descriptors(limits.max_connections);
    let state = AppState::new(db, admin_token)
        .with_names(names)
        .allow_unattested_devices(options.allow_unattested_devices)
        .with_attestation_policy(options.attestation_policy.clone())
        .with_trusted_proxies(options.trusted_proxies.clone())
        .with_limits(limits);
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match tls {
        Some(t) => serve_tls(listener, state, &t.cert, &t.key, ctrl_c).await,
        None => serve(listener, state, ctrl_c).await.map_err(|e| ApiError::Internal(e.to_string())),
    }
}
