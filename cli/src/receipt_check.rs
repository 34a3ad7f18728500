//! `salur receipt check CODE --server URL`: what a recipient (or anyone holding their code) can
//! learn of a receipt without logging in, as the public `/cek` page shows it; and `salur receipt
//! verify QR_TEXT`: the signed receipt from the QR code on the phone's screen, checked offline
//! against the device's public key.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use salur_core::sync::{SyncClient, SyncConfig};
use salur_core::Error;

use super::serve::{runtime, server_error, DbArgs};

#[derive(Args, Debug)]
pub struct ReceiptArgs {
    #[command(subcommand)]
    command: ReceiptCommand,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
enum ReceiptCommand {
    /// Look a receipt code up on the server (exit 0 found, 1 no such receipt, 2 error).
    Check {
        /// The 12-character code on the receipt (hyphens, spaces and case ignored).
        code: String,
        /// The server (`https://…`; plain http only to loopback).
        #[arg(long, value_name = "URL")]
        server: String,
        /// PEM of the CA that signed the server's certificate, when not a public one.
        #[arg(long, value_name = "FILE")]
        ca: Option<std::path::PathBuf>,
    },
    /// Check the signed receipt in the QR code the phone showed (exit 0 valid, 1 invalid, 2
    /// error), against the device's key from the database in --data-dir or from --public-key.
    Verify {
        /// The QR code's text (`SALUR-R1:...`).
        qr: String,
        /// The device's public key (SPKI, PEM or DER) instead of the database.
        #[arg(long, value_name = "FILE")]
        public_key: Option<std::path::PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Runs `salur receipt`.
pub fn run(args: &ReceiptArgs) -> Result<ExitCode, Error> {
    let (code, server, ca) = match &args.command {
        ReceiptCommand::Check { code, server, ca } => (code, server, ca),
        ReceiptCommand::Verify { qr, public_key, db } => return verify(qr, public_key.as_deref(), db, args.json),
    };
    let mut config = SyncConfig::new(server);
    config.allow_http_loopback = true;
    config.ca_pem = ca
        .as_ref()
        .map(|p| std::fs::read(p).map_err(|source| Error::Io { context: format!("reading {}", p.display()), source }))
        .transpose()?;
    let client = SyncClient::new(&config)?;
    match runtime()?.block_on(client.check_receipt(code)) {
        Ok(r) if args.json => {
            println!("{}", serde_json::to_string(&r).map_err(|e| Error::InvalidArgument(e.to_string()))?);
            Ok(ExitCode::SUCCESS)
        }
        Ok(r) => {
            let what = match r.outcome.as_str() {
                "paid" => "paid",
                "ineligible" => "recorded ineligible:",
                "not_home" => "recorded not home:",
                _ => "recorded refused:",
            };
            let office = match &r.post_office_name {
                Some(name) => format!("{name} ({})", r.post_office),
                None => r.post_office.clone(),
            };
            println!(
                "receipt {}: {what} {} on {} at post office {office} ({})",
                r.code,
                salur_core::slip::rupiah(r.amount),
                r.paid_at,
                r.roster_id
            );
            if r.complaints > 0 {
                println!("{} complaint(s) filed against it", r.complaints);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::NotFound(why)) => {
            if args.json {
                println!("{}", serde_json::json!({ "found": false, "reason": why }));
            } else {
                println!("{why}");
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e),
    }
}

/// `salur receipt verify`: the QR text's signed receipt against its device's key.
fn verify(qr: &str, public_key: Option<&std::path::Path>, db: &DbArgs, json: bool) -> Result<ExitCode, Error> {
    use salur_core::receipt;
    let checked = receipt::from_qr_text(qr).and_then(|cose| {
        let spki = match public_key {
            Some(path) => super::letters::read_public_key(path)?,
            None => {
                // The device named inside is looked up, then the signature decides.
                let claimed = receipt::decode_payload(&unverified_payload(&cose)?)?;
                let device = runtime()?
                    .block_on(async { db.open().await?.device(&claimed.device_id).await.map_err(server_error) })?;
                device
                    .ok_or_else(|| {
                        Error::InvalidReceipt(format!("no device {} is registered here", claimed.device_id))
                    })?
                    .public_key
            }
        };
        Ok((receipt::verify(&cose, &spki)?, cose))
    });
    match checked {
        Ok((signed, cose)) => {
            let r = &signed.receipt;
            if json {
                let body = serde_json::json!({ "valid": true, "code": receipt::code(&cose), "receipt": r });
                println!("{body}");
            } else {
                println!(
                    "valid: receipt {} (code {}) signed by device {} of worker {}: {} {} on {}",
                    r.id,
                    receipt::code(&cose),
                    r.device_id,
                    r.worker_id,
                    serde_json::to_value(&r.outcome)
                        .ok()
                        .and_then(|o| o["kind"].as_str().map(str::to_string))
                        .unwrap_or_default(),
                    salur_core::slip::rupiah(r.amount),
                    salur_core::dates::wib_minute(r.time.wall_ms)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ Error::InvalidReceipt(_)) => {
            if json {
                println!("{}", serde_json::json!({ "valid": false, "reason": e.to_string() }));
            } else {
                println!("INVALID: {e}");
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e),
    }
}

/// The payload of a COSE_Sign1 before its signature is checked (only to find whose key checks it).
fn unverified_payload(cose: &[u8]) -> Result<Vec<u8>, Error> {
    use coset::TaggedCborSerializable;
    let sign1 = coset::CoseSign1::from_tagged_slice(cose)
        .map_err(|_| Error::InvalidReceipt("the QR code holds no signed receipt".into()))?;
    sign1.payload.ok_or_else(|| Error::InvalidReceipt("the signed receipt has no payload".into()))
}
