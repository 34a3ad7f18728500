//! `salur serve`: the disbursement API on embedded SQLite.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use salur_core::Error;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Folder for the database (created if missing).
    #[arg(long, default_value = "salur-data", value_name = "DIR")]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://user@host/db) instead of the embedded SQLite in --data-dir.
    #[arg(long, env = "SALUR_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Administrator bearer token (default: SALUR_ADMIN_TOKEN, else one created in DIR/admin-token).
    #[arg(long, env = "SALUR_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

fn admin_token(args: &ServeArgs) -> Result<String, Error> {
    if let Some(t) = &args.admin_token {
        return Ok(t.clone());
    }
    let path = args.data_dir.join("admin-token");
    let io = |source| Error::Io { context: format!("admin token {}", path.display()), source };
    std::fs::create_dir_all(&args.data_dir).map_err(io)?;
    let keys = salur_core::keys::KeyFile(path.clone());
    let token = hex::encode(salur_core::keys::KeyProvider::data_key(&keys)?.as_bytes());
    eprintln!("administrator token in {} (or set SALUR_ADMIN_TOKEN)", path.display());
    Ok(token)
}

pub fn run(args: &ServeArgs) -> Result<ExitCode, Error> {
    let token = admin_token(args)?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime =
        tokio::runtime::Runtime::new().map_err(|source| Error::Io { context: "starting tokio".into(), source })?;
    runtime
        .block_on(salur_server::run(&storage(&args.data_dir, args.database_url.as_deref()), args.listen, &token))
        .map_err(|e| Error::Storage(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}

/// The storage chosen by `--database-url` or `--data-dir`.
pub fn storage(data_dir: &std::path::Path, url: Option<&str>) -> salur_server::Storage {
    match url {
        Some(u) => salur_server::Storage::Url(u.to_string()),
        None => salur_server::Storage::Dir(data_dir.to_path_buf()),
    }
}
