//! `salur receipts list|show|verify-chain --db PATH`: a phone store, read-only, for an auditor;
//! `salur receipts verify FILE... --public-key SPKI`: signed receipts as files (an export, a
//! test vector), each checked by the same `receipt::verify` as the phone and the server;
//! `salur receipts verify-chain --bundle FILE [--public-key SPKI]`: a device's receipts as the
//! server exported them (`GET /v1/admin/devices/{id}/export`), checked offline.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use salur_core::receipt::{payload_json, verify};
use salur_core::store::AuditLog;
use salur_core::Error;
use serde_json::json;

#[derive(Args, Debug)]
pub struct ReceiptsArgs {
    #[command(subcommand)]
    command: ReceiptsCommand,
    /// The phone's store (SQLite file).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Verify against this public key (SPKI DER file, e.g. from the server's device registry)
    /// instead of the key recorded in the store itself.
    #[arg(long, global = true, value_name = "FILE")]
    public_key: Option<PathBuf>,
    /// A device export bundle from the server (`GET /v1/admin/devices/{id}/export`), instead of --db.
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "db")]
    bundle: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
enum ReceiptsCommand {
    /// One line per receipt: sequence, id, outcome, amount, upload state.
    List,
    /// One receipt in full (by sequence number or id), with its signature check.
    Show {
        /// Sequence number or receipt id.
        receipt: String,
    },
    /// Check every signature and link of the device's hash chain (exit 1 when broken).
    VerifyChain,
    /// Check signed receipts given as files (COSE bytes, raw or hex) against --public-key, or
    /// the key recorded in --db (exit 1 when any is refused).
    Verify {
        /// Files each holding one COSE_Sign1 receipt.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// One receipt file: its bytes as they are, or decoded when the file is hex text.
fn read_cose(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    let bytes =
        std::fs::read(path).map_err(|source| Error::Io { context: format!("reading {}", path.display()), source })?;
    // A COSE_Sign1 starts with the tag byte 0xd2, never an ASCII hex digit, so this cannot misread.
    Ok(std::str::from_utf8(&bytes).ok().and_then(|t| hex::decode(t.trim()).ok()).unwrap_or(bytes))
}

/// `salur receipts verify`: the verdict of each file, exit 1 when any receipt is refused.
fn verify_files(files: &[PathBuf], spki: &[u8], json_out: bool) -> Result<ExitCode, Error> {
    let mut all_valid = true;
    let mut verdicts = Vec::new();
    for f in files {
        let verdict = match verify(&read_cose(f)?, spki) {
            Ok(s) => json!({ "file": f, "valid": true, "id": s.receipt.id, "seq": s.receipt.seq }),
            Err(e) => {
                all_valid = false;
                json!({ "file": f, "valid": false, "error": e.to_string() })
            }
        };
        if !json_out {
            match verdict["error"].as_str() {
                None => println!("{}: valid (receipt {}, sequence {})", f.display(), verdict["id"], verdict["seq"]),
                Some(e) => println!("{}: REFUSED: {e}", f.display()),
            }
        }
        verdicts.push(verdict);
    }
    if json_out {
        println!("{}", json!({ "valid": all_valid, "receipts": verdicts }));
    }
    Ok(if all_valid { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// What an export bundle holds for the chain check.
struct Bundle {
    /// Signed receipts, in sequence order.
    receipts: Vec<Vec<u8>>,
    /// The key the server registered (SPKI DER).
    public_key: Vec<u8>,
    /// The device's id.
    device: String,
}

/// The receipts and registered key in a server's export bundle.
fn read_bundle(path: &std::path::Path) -> Result<Bundle, Error> {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;
    let text =
        std::fs::read(path).map_err(|source| Error::Io { context: format!("reading {}", path.display()), source })?;
    let bad = |why: &str| Error::InvalidArgument(format!("{}: not a Salur device export ({why})", path.display()));
    let bundle: serde_json::Value = serde_json::from_slice(&text).map_err(|_| bad("not JSON"))?;
    if bundle["format"] != salur_server::api::EXPORT_FORMAT {
        return Err(bad("unknown format"));
    }
    let decode = |v: &serde_json::Value| v.as_str().and_then(|s| B64.decode(s).ok()).ok_or_else(|| bad("bad base64"));
    let receipts: Result<Vec<_>, _> =
        bundle["receipts"].as_array().ok_or_else(|| bad("no receipts"))?.iter().map(decode).collect();
    let device = bundle["device"]["device_id"].as_str().unwrap_or("?").to_string();
    Ok(Bundle { receipts: receipts?, public_key: decode(&bundle["public_key"])?, device })
}

/// Prints a chain check; exit 1 when broken.
fn print_chain(report: &salur_core::receipt::ChainReport, key_source: &str, json_out: bool, hint: bool) -> ExitCode {
    if json_out {
        println!("{}", json!({ "valid": report.is_valid(), "checked_with": key_source, "report": report }));
    } else if let Some(b) = &report.first_break {
        println!(
            "BROKEN at sequence {}: {} ({} receipts read, checked with the {key_source})",
            b.seq, b.reason, report.receipts
        );
    } else {
        println!(
            "chain valid: {} receipts, last sequence {} (checked with the {key_source})",
            report.receipts, report.last_seq
        );
        if hint {
            println!("note: pass --public-key with the key the server registered to rule out a replaced key");
        }
    }
    if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub fn run(args: &ReceiptsArgs) -> Result<ExitCode, Error> {
    if let Some(path) = &args.bundle {
        let ReceiptsCommand::VerifyChain = args.command else {
            return Err(Error::InvalidArgument("--bundle goes with verify-chain".into()));
        };
        let Bundle { receipts, public_key: bundled_key, device } = read_bundle(path)?;
        let (spki, source) = match &args.public_key {
            Some(p) => (
                std::fs::read(p).map_err(|source| Error::Io { context: format!("reading {}", p.display()), source })?,
                "given public key",
            ),
            None => (bundled_key, "key in the bundle"),
        };
        if !args.json {
            println!("device {device}, {} receipt(s) in {}", receipts.len(), path.display());
        }
        let report = salur_core::receipt::verify_chain(&spki, receipts.iter().map(Vec::as_slice));
        return Ok(print_chain(&report, source, args.json, args.public_key.is_none()));
    }
    // Receipt files need no store: the key comes from --public-key (or, with --db, the store's).
    if let (ReceiptsCommand::Verify { files }, None) = (&args.command, &args.db) {
        let p = args
            .public_key
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("--public-key FILE (the device's SPKI DER) is required".into()))?;
        let spki =
            std::fs::read(p).map_err(|source| Error::Io { context: format!("reading {}", p.display()), source })?;
        return verify_files(files, &spki, args.json);
    }
    let db = args.db.as_ref().ok_or_else(|| Error::InvalidArgument("--db PATH is required".into()))?;
    let log = AuditLog::open(db)?;
    let device = log.device()?.ok_or_else(|| Error::NotFound("the store has no registered device".into()))?;
    let spki = match &args.public_key {
        Some(p) => {
            std::fs::read(p).map_err(|source| Error::Io { context: format!("reading {}", p.display()), source })?
        }
        None => device.public_key.clone(),
    };
    let key_source = if args.public_key.is_some() { "given public key" } else { "key recorded in the store" };
    match &args.command {
        ReceiptsCommand::List => {
            let rows: Vec<_> = log
                .receipts()?
                .into_iter()
                .map(|r| {
                    let payload = verify(&r.cose, &spki).ok().map(|s| s.receipt);
                    json!({
                        "seq": r.seq,
                        "id": r.id,
                        "signature_valid": payload.is_some(),
                        "outcome": payload.as_ref().map(|p| serde_json::to_value(&p.outcome).unwrap_or_default()),
                        "amount": payload.as_ref().map(|p| p.amount),
                        "state": r.state,
                        "reason": r.reason,
                    })
                })
                .collect();
            if args.json {
                println!("{}", json!({ "device": device, "receipts": rows }));
            } else {
                println!("device {} (worker {}), {} receipt(s)", device.device_id, device.worker_id, rows.len());
                for r in &rows {
                    let outcome = r["outcome"]["kind"].as_str().unwrap_or("?");
                    let sig = if r["signature_valid"].as_bool() == Some(true) { "" } else { "  BAD SIGNATURE" };
                    println!(
                        "{:>6}  {}  {:<10}  {:>14}  {}{sig}",
                        r["seq"],
                        r["id"].as_str().unwrap_or(""),
                        outcome,
                        salur_core::slip::rupiah(r["amount"].as_u64().unwrap_or(0)),
                        r["state"].as_str().unwrap_or("")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ReceiptsCommand::Show { receipt } => {
            let all = log.receipts()?;
            let r = all
                .iter()
                .find(|r| r.id == *receipt || r.seq.to_string() == *receipt)
                .ok_or_else(|| Error::NotFound(format!("no receipt {receipt} in this store")))?;
            let sign1 = <coset::CoseSign1 as coset::TaggedCborSerializable>::from_tagged_slice(&r.cose)
                .map_err(|e| Error::InvalidReceipt(e.to_string()))?;
            let payload = payload_json(sign1.payload.as_deref().unwrap_or_default())?;
            let check = verify(&r.cose, &spki).map(|_| ()).map_err(|e| e.to_string());
            let out = json!({
                "seq": r.seq, "id": r.id, "state": r.state, "reason": r.reason,
                "signature_valid": check.is_ok(), "signature_error": check.as_ref().err(), "checked_with": key_source,
                "payload": payload, "cose_hex": hex::encode(&r.cose),
            });
            if args.json {
                println!("{out}");
            } else {
                println!("{}", serde_json::to_string_pretty(&out).expect("serializable"));
            }
            Ok(ExitCode::SUCCESS)
        }
        ReceiptsCommand::VerifyChain => {
            let report = log.verify_chain(Some(&spki))?;
            Ok(print_chain(&report, key_source, args.json, args.public_key.is_none()))
        }
        ReceiptsCommand::Verify { files } => verify_files(files, &spki, args.json),
    }
}
