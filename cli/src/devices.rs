//! `salur devices enrol --worker W --post-office P`: an approver issues a worker's one-time
//! enrolment code on the server's database, printed once with a QR code of it (terminal, or
//! `--svg FILE` to print on paper) for the phone's sign-in screen. Logged without the code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use qrcode::render::{svg, unicode};
use qrcode::QrCode;
use salur_core::Error;
use serde_json::json;

use super::serve::{cli_actor, runtime, server_error, DbArgs};

#[derive(Args, Debug)]
pub struct DevicesArgs {
    #[command(subcommand)]
    command: DevicesCommand,
    #[command(flatten)]
    db: DbArgs,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
enum DevicesCommand {
    /// Issue a one-time enrolment code for a worker's phone (printed once, with its QR code).
    Enrol {
        /// The worker the phone is for.
        #[arg(long)]
        worker: String,
        /// Their post office.
        #[arg(long)]
        post_office: String,
        /// How long the code stays valid (1 to 10080 minutes; default 60).
        #[arg(long)]
        ttl_minutes: Option<u32>,
        /// Also write the QR code as an SVG file (to print).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
}

pub fn run(args: &DevicesArgs) -> Result<ExitCode, Error> {
    let DevicesCommand::Enrol { worker, post_office, ttl_minutes, svg: svg_file } = &args.command;
    let (code, expires_ms) = runtime()?.block_on(async {
        let db = args.db.open().await?;
        db.issue_enrolment(&cli_actor(), worker, post_office, *ttl_minutes).await.map_err(server_error)
    })?;
    let qr = QrCode::new(code.as_bytes()).map_err(|e| Error::InvalidArgument(format!("QR code: {e}")))?;
    if let Some(path) = svg_file {
        let image = qr.render::<svg::Color>().min_dimensions(240, 240).build();
        std::fs::write(path, image)
            .map_err(|source| Error::Io { context: format!("writing {}", path.display()), source })?;
    }
    let expires = salur_server::domain::dates::civil_date(salur_server::domain::dates::wib_day(expires_ms));
    if args.json {
        println!(
            "{}",
            json!({ "code": code, "worker_id": worker, "post_office": post_office, "expires_ms": expires_ms })
        );
    } else {
        let picture = qr.render::<unicode::Dense1x2>().quiet_zone(true).build();
        println!("{picture}");
        println!("enrolment code for worker {worker} at {post_office} (valid until {expires} WIB, used once):");
        println!("    {code}");
        println!("type it (or scan it) on the phone's sign-in screen: Kode pendaftaran");
    }
    Ok(ExitCode::SUCCESS)
}
