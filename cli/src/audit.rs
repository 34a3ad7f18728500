//! `salur audit verify`: checks the audit log's hash chain on the server's database; exit 0 when
//! intact, 1 naming the first bad entry.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use salur_core::Error;

use super::serve::{runtime, server_error, DbArgs};

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
    #[command(flatten)]
    db: DbArgs,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check every entry against the one before it and the log's head (exit 1 on a break).
    Verify,
}

pub fn run(args: &AuditArgs) -> Result<ExitCode, Error> {
    let AuditCommand::Verify = args.command;
    let report = runtime()?.block_on(async { args.db.open().await?.verify_audit().await.map_err(server_error) })?;
    if args.json {
        println!("{}", serde_json::json!(report));
    }
    match &report.first_break {
        None => {
            if !args.json {
                println!("audit log intact: {} entries, head {}", report.entries, report.head);
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(b) => {
            if !args.json {
                println!("audit log BROKEN at entry {}: {}", b.seq, b.reason);
            }
            Ok(ExitCode::from(1))
        }
    }
}
