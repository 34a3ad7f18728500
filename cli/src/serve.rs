//! `salur serve`: the disbursement API on embedded SQLite.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use salur_core::Error;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Folder for the database (created if missing; `serve` is one of the commands that may).
    #[arg(long, env = "SALUR_DATA_DIR", default_value = "salur-data", value_name = "DIR")]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://user@host/db) instead of the embedded SQLite in --data-dir.
    #[arg(long, env = "SALUR_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The bootstrap administrator's bearer token (default: SALUR_ADMIN_TOKEN, else the one in
    /// DIR/admin-token, created on first start).
    #[arg(long, env = "SALUR_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Names for post offices (and corrections to the bundled province and regency names), as
    /// `kind,code,name` lines (kind: province, regency or post_office).
    #[arg(long, value_name = "FILE")]
    area_names: Option<PathBuf>,
    /// Let phones without a key attestation chain register (emulators, tests, the demo): they stay
    /// pending until approved and are flagged on the dashboard. Never in production.
    #[arg(long)]
    allow_unattested_devices: bool,
    /// Requests per second one client address may send, with ten seconds' worth as a burst
    /// (default 50): raise it where many phones reach the server from one carrier NAT address.
    #[arg(long, value_name = "PER_SECOND", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    address_rate: Option<u32>,
    /// Connections open at once; more are reset as soon as they are accepted (default 4096; the
    /// server raises its open-file limit to fit, or lowers this to what fits, and says so).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: Option<u32>,
    /// Connections open at once from one client address, an IPv6 /64 counting as one (default
    /// 256): raise it with --address-rate where many phones share one carrier NAT address.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    address_connections: Option<u32>,
    /// Requests handled at once from one client address (default 64, of 512 in all); more are
    /// answered 503 with Retry-After at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    address_in_flight: Option<u32>,
    /// Seconds a connection may stay open with no request in flight, HTTP/1 or h2c, including one
    /// that never sends a byte (default 15).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=3600))]
    idle_timeout: Option<u32>,
    /// Seconds a request's body may take to arrive once its head has (default 30): a slower body
    /// is answered 408 `body_timeout` and its connection closed.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=3600))]
    body_timeout: Option<u32>,
    /// A reverse proxy (an address or a network, e.g. 10.0.0.0/8; repeatable) whose forwarding
    /// header names the client: every per-address limit and throttle and the audit log then
    /// use that client's address. Never list a network that untrusted callers can connect from.
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = salur_server::api::parse_cidr)]
    trusted_proxy: Vec<salur_server::IpNet>,
    /// The header the trusted proxies write the client's address in: x-forwarded-for (nginx's
    /// $proxy_add_x_forwarded_for, HAProxy's `option forwardfor`) or forwarded (RFC 7239). Only
    /// this one is read: the other arrives as the client sent it.
    #[arg(long, value_name = "HEADER", default_value = "x-forwarded-for", requires = "trusted_proxy")]
    proxy_header: salur_server::ForwardedHeader,
    /// Hours a face payment may wait for its evidence crop before the server counts it as
    /// `no_evidence` on the dashboard and in the closing report (default 24).
    #[arg(long, value_name = "HOURS", value_parser = clap::value_parser!(u32).range(0..=24 * 62))]
    evidence_window_hours: Option<u32>,
    /// The app's package name that key attestations must name (repeatable). Without it (and
    /// --app-signing-digest) the server warns at start that the app identity is not checked.
    #[arg(long = "app-package", value_name = "NAME")]
    app_package: Vec<String>,
    /// SHA-256 of the app's release signing certificate, 64 hex digits, colons allowed
    /// (repeatable, e.g. during a key rotation).
    #[arg(long = "app-signing-digest", value_name = "HEX",
        value_parser = salur_server::domain::attestation::AttestationPolicy::parse_digest)]
    app_signing_digest: Vec<[u8; 32]>,
    /// Lowest OS security patch level a registering phone may have, YYYYMM.
    #[arg(long, value_name = "YYYYMM",
        value_parser = salur_server::domain::attestation::AttestationPolicy::parse_patch_level)]
    min_patch_level: Option<u32>,
    /// Google's attestation revocation status list (the JSON of
    /// https://android.googleapis.com/attestation/status), read again whenever the file changes:
    /// a chain with a revoked or suspended certificate is refused.
    #[arg(long, value_name = "FILE")]
    attestation_revocations: Option<PathBuf>,
    /// What becomes of a phone that fails the attestation policy (app, boot state, bootloader,
    /// patch level): refused, or held pending for an approver with the reason in the audit log.
    /// A revoked certificate is refused either way.
    #[arg(long, value_name = "hold|refuse", default_value = "refuse", value_parser = ["hold", "refuse"])]
    attestation_failure: String,
}

/// The bootstrap administrator's token: `--admin-token`/`SALUR_ADMIN_TOKEN`, else the text in
/// DIR/admin-token (made on first start). The file holds exactly what is sent as the bearer token.
fn admin_token(args: &ServeArgs) -> Result<String, Error> {
    if let Some(t) = &args.admin_token {
        return Ok(t.clone());
    }
    let path = args.data_dir.join("admin-token");
    let token = bootstrap_token_file(&path)?;
    eprintln!(
        "bootstrap administrator token in {} (send it as `Authorization: Bearer $(cat {})`, or set \
         SALUR_ADMIN_TOKEN); add staff accounts with `salur users add`",
        path.display(),
        path.display()
    );
    Ok(token)
}

/// Reads (or creates, owner-only) the token file. Files from before held 32 raw bytes whose hex
/// was the token: they are rewritten as that hex, so the token in use stays valid.
pub fn bootstrap_token_file(path: &std::path::Path) -> Result<String, Error> {
    let io = |source| Error::Io { context: format!("admin token {}", path.display()), source };
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = std::str::from_utf8(&bytes).ok().map(str::trim).unwrap_or("");
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic()) {
                return Ok(text.to_string());
            }
            if bytes.len() != 32 {
                return Err(Error::InvalidArgument(format!(
                    "{} is not a token: delete it to make a new one",
                    path.display()
                )));
            }
            let token = hex::encode(&bytes);
            let tmp = path.with_extension("new");
            salur_server::store::seal::write_private(&tmp, &format!("{token}\n")).map_err(io)?;
            std::fs::rename(&tmp, path).map_err(io)?;
            Ok(token)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let token = salur_server::domain::credentials::new_secret("").map_err(|e| Error::Crypto(e.to_string()))?;
            salur_server::store::seal::write_private(path, &format!("{token}\n")).map_err(io)?;
            Ok(token)
        }
        Err(e) => Err(io(e)),
    }
}

/// Logs to stderr at `RUST_LOG`'s levels (`default` without it), coloured only on a terminal.
pub(crate) fn init_logs(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

pub fn run(args: &ServeArgs) -> Result<ExitCode, Error> {
    let token = admin_token(args)?;
    init_logs("info");
    let runtime = runtime()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(salur_server::TlsFiles { cert: cert.clone(), key: key.clone() }),
        _ => None,
    };
    let options = salur_server::ServeOptions {
        tls,
        area_names: args.area_names.clone(),
        allow_unattested_devices: args.allow_unattested_devices,
        limits: limits(args),
        evidence_window_ms: args.evidence_window_hours.map(|h| i64::from(h) * 3_600_000),
        attestation_policy: attestation_policy(args)?,
        trusted_proxies: salur_server::TrustedProxies { nets: args.trusted_proxy.clone(), header: args.proxy_header },
    };
    runtime
        .block_on(salur_server::run(
            &storage(&args.data_dir, args.database_url.as_deref()),
            args.listen,
            &token,
            &options,
        ))
        .map_err(server_error)?;
    Ok(ExitCode::SUCCESS)
}

/// The server's limits: the defaults, with what the flags change.
fn limits(args: &ServeArgs) -> salur_server::Limits {
    let mut limits = salur_server::Limits::default();
    let size = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    if let Some(per_second) = args.address_rate {
        limits.per_address = salur_server::Rate { per_second, burst: per_second.saturating_mul(10) };
    }
    if let Some(n) = args.max_connections {
        limits.max_connections = size(n);
    }
    if let Some(n) = args.address_connections {
        limits.max_connections_per_address = size(n);
    }
    if let Some(n) = args.address_in_flight {
        limits.max_in_flight_per_address = size(n);
    }
    if let Some(secs) = args.idle_timeout {
        limits.idle_timeout = std::time::Duration::from_secs(secs.into());
    }
    if let Some(secs) = args.body_timeout {
        limits.body_timeout = std::time::Duration::from_secs(secs.into());
    }
    limits
}

/// The attestation policy from the flags (the revocation list read now: a bad file stops the start).
fn attestation_policy(args: &ServeArgs) -> Result<salur_server::domain::attestation::AttestationPolicy, Error> {
    use salur_server::domain::attestation::{revocation::RevocationFile, AttestationPolicy, OnFail};
    let revocations = match &args.attestation_revocations {
        Some(path) => Some(std::sync::Arc::new(RevocationFile::open(path).map_err(Error::InvalidArgument)?)),
        None => None,
    };
    Ok(AttestationPolicy {
        package_names: args.app_package.clone(),
        signing_digests: args.app_signing_digest.clone(),
        min_os_patch_level: args.min_patch_level,
        on_fail: if args.attestation_failure == "hold" { OnFail::HoldPending } else { OnFail::Refuse },
        revocations,
        ..AttestationPolicy::default()
    })
}

/// Where a command finds the server's database (`--data-dir` or `--database-url`).
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// The server's data folder (it must exist: only serve, import-roster and the first
    /// administrator's `users add` make one).
    #[arg(long, global = true, env = "SALUR_DATA_DIR", default_value = "salur-data", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL instead of the embedded SQLite in --data-dir.
    #[arg(long, global = true, env = "SALUR_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DbArgs {
    /// Opens (and migrates) a database set up before, saying on stderr which one; a missing or
    /// empty data folder is an error naming it, never a new database.
    pub async fn open(&self) -> Result<salur_server::Db, Error> {
        let storage = storage(&self.data_dir, self.database_url.as_deref());
        let db = storage.open_existing().await.map_err(server_error)?;
        eprintln!("salur: using the {}", storage.describe());
        Ok(db)
    }

    /// Opens the database, making it (and its seal key) when missing: for the commands that set
    /// a server up, which say so when they do (the flag: it was made now).
    pub async fn open_or_create(&self) -> Result<(salur_server::Db, bool), Error> {
        let storage = storage(&self.data_dir, self.database_url.as_deref());
        if let Ok(db) = storage.open_existing().await {
            eprintln!("salur: using the {}", storage.describe());
            return Ok((db, false));
        }
        let db = storage.open().await.map_err(server_error)?;
        eprintln!("salur: set up a new database: {}", storage.describe());
        Ok((db, true))
    }
}

/// Who commands on the database are in the audit log: `cli`, from `local` (they run on the
/// server with its database credentials, so the operating system's own logs say which person).
pub fn cli_actor() -> salur_server::domain::audit::Actor {
    salur_server::domain::audit::Actor { name: salur_server::domain::credentials::CLI.into(), peer: "local".into() }
}

/// A tokio runtime for a command that talks to the database.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Runtime::new().map_err(|source| Error::Io { context: "starting tokio".into(), source })
}

/// Maps the server's error (or a domain rule's, through its HTTP answer) for a command line answer.
pub fn server_error(e: impl Into<salur_server::ApiError>) -> Error {
    let e: salur_server::ApiError = e.into();
    match e {
        salur_server::ApiError::Conflict(m)
        | salur_server::ApiError::BadRequest(m)
        | salur_server::ApiError::Unprocessable(m)
        | salur_server::ApiError::NotFound(m) => Error::InvalidArgument(m),
        // The operator runs this on the server: the detail an API caller is not shown helps here.
        salur_server::ApiError::Internal(detail) => Error::Storage(detail),
        other => Error::Storage(other.to_string()),
    }
}

/// The storage chosen by `--database-url` or `--data-dir`.
pub fn storage(data_dir: &std::path::Path, url: Option<&str>) -> salur_server::Storage {
    match url {
        Some(u) => salur_server::Storage::Url(u.to_string()),
        None => salur_server::Storage::Dir(data_dir.to_path_buf()),
    }
}
