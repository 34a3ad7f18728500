//! `salur receipt check CODE --server URL`: what a recipient (or anyone holding their code) can
//! learn of a receipt without logging in, as the public `/cek` page shows it.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use salur_core::sync::{SyncClient, SyncConfig};
use salur_core::Error;

use super::serve::runtime;

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
}

/// Runs `salur receipt`.
pub fn run(args: &ReceiptArgs) -> Result<ExitCode, Error> {
    let ReceiptCommand::Check { code, server, ca } = &args.command;
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
            println!(
                "receipt {}: {what} {} on {} at post office {} ({})",
                r.code,
                salur_core::slip::rupiah(r.amount),
                r.paid_at,
                r.post_office,
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
