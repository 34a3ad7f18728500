//! `salur devices enrol|list|approve|revoke|export|held|count|refuse`: an approver's work on the
//! phones, and an auditor's decisions on what revoked phones handed in, on the server's database. `enrol` issues a worker's one-time enrolment code, printed once with a QR
//! code of it (terminal, or `--svg FILE` to print on paper) for the phone's sign-in screen, logged
//! without the code; `approve` and `revoke` are logged like the dashboard's buttons; `export` writes
//! the bundle `salur receipts verify-chain --bundle` checks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use qrcode::render::{svg, unicode};
use qrcode::QrCode;
use salur_core::enrolment_qr::EnrolmentInvite;
use salur_core::Error;
use salur_server::domain::dates::indonesian_minute;
use salur_server::domain::devices::DeviceStatus;
use salur_server::domain::held::HeldDecision;
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
        /// Also write the QR code as a PNG file (to show on a screen). Like the code, it is a secret
        /// until used: whoever scans it first registers a phone as this worker.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// Issue it although no imported roster places this worker at this post office (a worker
        /// whose roster is imported later); without it such a code is refused.
        #[arg(long)]
        allow_unknown: bool,
    },
    /// Every registered phone: worker, post office, state and what its key attestation proved.
    List,
    /// Approve a phone waiting for an approver (one without a proven hardware key), logged.
    Approve {
        /// The device id (`salur devices list`).
        device: String,
    },
    /// Revoke a phone (lost, stolen, or its worker left): it can no longer download rosters or
    /// sign in; what it already signed is still received and held for an auditor. Logged.
    Revoke {
        /// The device id.
        device: String,
    },
    /// The receipts revoked phones handed in: held out of every count until an auditor counts or
    /// refuses each (those waiting first).
    Held {
        /// Only this roster's.
        #[arg(long)]
        roster: Option<String>,
    },
    /// Count a held receipt: as far as you checked (the worker, the recipient, the evidence) it was
    /// signed before the phone was revoked. From then on it counts like any other. Logged, once.
    Count {
        /// The receipt id (`salur devices held`).
        receipt: String,
        /// What you checked and with whom (kept with the decision and in the audit log).
        #[arg(long)]
        note: String,
    },
    /// Refuse a held receipt: it stays out of every count, flagged as refused. Logged, once.
    Refuse {
        /// The receipt id.
        receipt: String,
        /// Why.
        #[arg(long)]
        note: String,
    },
    /// Write a phone's receipts, key and attestation as one bundle for an offline chain check.
    Export {
        /// The device id.
        device: String,
        /// Where to write the bundle (JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

pub fn run(args: &DevicesArgs) -> Result<ExitCode, Error> {
    match &args.command {
        DevicesCommand::Enrol { worker, post_office, ttl_minutes, svg, png, allow_unknown } => {
            let files = QrFiles { svg: svg.as_deref(), png: png.as_deref() };
            enrol(args, worker, post_office, *ttl_minutes, files, *allow_unknown)
        }
        DevicesCommand::List => list(args),
        DevicesCommand::Approve { device } => decide(args, device, DeviceStatus::Approved),
        DevicesCommand::Revoke { device } => decide(args, device, DeviceStatus::Revoked),
        DevicesCommand::Export { device, out } => export(args, device, out),
        DevicesCommand::Held { roster } => held(args, roster.as_deref()),
        DevicesCommand::Count { receipt, note } => decide_held(args, receipt, HeldDecision::Count, note),
        DevicesCommand::Refuse { receipt, note } => decide_held(args, receipt, HeldDecision::Refuse, note),
    }
}

/// Where to write the enrolment QR code as a picture.
struct QrFiles<'a> {
    svg: Option<&'a Path>,
    png: Option<&'a Path>,
}

fn enrol(
    args: &DevicesArgs,
    worker: &str,
    post_office: &str,
    ttl_minutes: Option<u32>,
    files: QrFiles<'_>,
    allow_unknown: bool,
) -> Result<ExitCode, Error> {
    let (code, expires_ms) = runtime()?.block_on(async {
        let db = args.db.open().await?;
        db.issue_enrolment(&cli_actor(), worker, post_office, ttl_minutes, allow_unknown).await.map_err(server_error)
    })?;
    // The QR code carries the worker and post office with the code: the phone's sign-in fills
    // all three from one scan (salur_core::enrolment_qr).
    let invite = EnrolmentInvite { code: code.clone(), worker_id: worker.into(), post_office: post_office.into() };
    let qr_text = invite.to_qr_text()?;
    let qr = QrCode::new(qr_text.as_bytes()).map_err(|e| Error::InvalidArgument(format!("QR code: {e}")))?;
    let write = |path: &Path, bytes: &[u8]| {
        std::fs::write(path, bytes)
            .map_err(|source| Error::Io { context: format!("writing {}", path.display()), source })
    };
    if let Some(path) = files.svg {
        write(path, qr.render::<svg::Color>().min_dimensions(240, 240).build().as_bytes())?;
    }
    if let Some(path) = files.png {
        let image = qr.render::<image::Luma<u8>>().min_dimensions(240, 240).build();
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| Error::InvalidArgument(format!("PNG: {e}")))?;
        write(path, &png)?;
    }
    let expires = indonesian_minute(expires_ms);
    if args.json {
        println!(
            "{}",
            json!({ "code": code, "worker_id": worker, "post_office": post_office, "expires_ms": expires_ms,
                    "expires": expires, "qr_text": qr_text })
        );
    } else {
        let picture = qr.render::<unicode::Dense1x2>().quiet_zone(true).build();
        println!("{picture}");
        println!("enrolment code for worker {worker} at {post_office}, used once, valid until {expires}:");
        println!("    {code}");
        println!("scan it on the phone's sign-in screen (Pindai kode pendaftaran), or type the code there with the worker and post office");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: &DevicesArgs) -> Result<ExitCode, Error> {
    let devices = runtime()?.block_on(async {
        let db = args.db.open().await?;
        db.devices().await.map_err(server_error)
    })?;
    if args.json {
        println!("{}", json!({ "devices": devices }));
        return Ok(ExitCode::SUCCESS);
    }
    if devices.is_empty() {
        println!("no phone is registered yet: `salur devices enrol --worker W --post-office P` issues a code");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<24} {:<16} {:<18} {:<9} key", "device", "worker", "post office", "state");
    for d in &devices {
        let key = if d.flagged {
            format!("{} (not proven hardware)", d.security_level.as_str())
        } else {
            d.security_level.as_str().to_string()
        };
        println!("{:<24} {:<16} {:<18} {:<9} {key}", d.device_id, d.worker_id, d.post_office, d.status.as_str());
    }
    let waiting = devices.iter().filter(|d| d.status == DeviceStatus::Pending).count();
    if waiting > 0 {
        println!(
            "{waiting} waiting for an approver: `salur devices approve DEVICE` once you know the phone is the worker's"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn decide(args: &DevicesArgs, device: &str, status: DeviceStatus) -> Result<ExitCode, Error> {
    let d = runtime()?.block_on(async {
        let db = args.db.open().await?;
        db.decide_device(&cli_actor(), device, status).await.map_err(server_error)
    })?;
    if args.json {
        println!("{}", json!({ "device": d }));
    } else {
        println!("device {} of worker {} at {}: {}", d.device_id, d.worker_id, d.post_office, d.status.as_str());
    }
    Ok(ExitCode::SUCCESS)
}

fn held(args: &DevicesArgs, roster: Option<&str>) -> Result<ExitCode, Error> {
    let held = runtime()?.block_on(async {
        let db = args.db.open().await?;
        db.held_receipts(roster).await.map_err(server_error)
    })?;
    if args.json {
        println!("{}", json!({ "held": held }));
        return Ok(ExitCode::SUCCESS);
    }
    if held.is_empty() {
        println!("no receipt from a revoked phone: nothing to decide");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<38} {:<20} {:<14} {:<11} {:>13}  {:<17} decision",
        "receipt", "device", "worker", "outcome", "amount", "signed (phone)"
    );
    for h in &held {
        let decision = match (&h.decision, &h.decided_by) {
            (Some(d), Some(by)) => format!("{d} by {by}"),
            _ => "waiting".to_string(),
        };
        println!(
            "{:<38} {:<20} {:<14} {:<11} {:>13}  {:<17} {decision}",
            h.receipt_id,
            h.device_id,
            h.worker_id,
            h.outcome,
            salur_core::slip::rupiah(h.amount.max(0) as u64),
            indonesian_minute(h.signed_ms),
        );
    }
    let waiting = held.iter().filter(|h| h.decision.is_none()).count();
    if waiting > 0 {
        println!(
            "{waiting} waiting: `salur devices count RECEIPT --note \"...\"` or `salur devices refuse RECEIPT --note \"...\"`"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn decide_held(args: &DevicesArgs, receipt: &str, decision: HeldDecision, note: &str) -> Result<ExitCode, Error> {
    let h = runtime()?.block_on(async {
        let db = args.db.open().await?;
        db.decide_held(&cli_actor(), receipt, decision, note).await.map_err(server_error)
    })?;
    if args.json {
        println!("{}", json!({ "held": h }));
    } else {
        let what = match decision {
            HeldDecision::Count => "counted: it counts like any receipt from now on",
            HeldDecision::Refuse => "refused: it stays out of every count",
        };
        println!(
            "receipt {} of device {} ({}, {}): {what}",
            h.receipt_id,
            h.device_id,
            h.outcome,
            salur_core::slip::rupiah(h.amount.max(0) as u64)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn export(args: &DevicesArgs, device: &str, out: &Path) -> Result<ExitCode, Error> {
    let bundle = runtime()?.block_on(async {
        let db = args.db.open().await?;
        db.export_device(&cli_actor(), device).await.map_err(server_error)
    })?;
    let bytes = serde_json::to_vec_pretty(&bundle).map_err(|e| Error::InvalidArgument(format!("bundle: {e}")))?;
    std::fs::write(out, bytes).map_err(|source| Error::Io { context: format!("writing {}", out.display()), source })?;
    if args.json {
        println!(
            "{}",
            json!({ "device": device, "receipts": bundle.receipts.len(), "file": out.display().to_string() })
        );
    } else {
        println!(
            "wrote {} receipts of device {device} to {}: check it with `salur receipts verify-chain --bundle {}`",
            bundle.receipts.len(),
            out.display(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
