//! `salur purge --days N`: deletes evidence face crops older than N days and clears the NIKs,
//! names, addresses and templates of rosters whose period ended more than N days ago (rules in
//! `salur_server::domain::retention`; meant for a daily cron job). Logged in the audit log.

use std::process::ExitCode;

use clap::Args;
use salur_core::Error;
use salur_server::domain::audit::{Action, NewEntry};
use salur_server::domain::retention::MIN_DAYS;
use serde_json::json;

use super::serve::{cli_actor, runtime, server_error, DbArgs};

#[derive(Args, Debug)]
pub struct PurgeArgs {
    /// Retention in days (at least 30): evidence older than this, and rosters whose period
    /// ended longer ago, lose their personal data.
    #[arg(long)]
    days: i64,
    /// Report what would go, change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    db: DbArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &PurgeArgs) -> Result<ExitCode, Error> {
    if args.days < MIN_DAYS {
        return Err(Error::InvalidArgument(format!(
            "--days {}: keep at least {MIN_DAYS} days for the period's complaints and audit",
            args.days
        )));
    }
    let report = runtime()?.block_on(async {
        let db = args.db.open().await?;
        let report = db.purge(args.days, salur_server::clock::now_ms(), args.dry_run).await.map_err(server_error)?;
        if !args.dry_run {
            let detail = format!(
                "retention {} days: {} evidence crops, {} recipients in {} rosters",
                args.days,
                report.evidence_deleted,
                report.recipients_cleared,
                report.rosters_cleared.len()
            );
            let entry = NewEntry { actor: cli_actor(), action: Action::DataPurged, target: None, detail: Some(detail) };
            db.audit(entry).await.map_err(server_error)?;
        }
        Ok::<_, Error>(report)
    })?;
    if args.json {
        println!("{}", json!(report));
    } else {
        let verb = if args.dry_run { "would delete" } else { "deleted" };
        println!(
            "{verb} {} evidence crop(s); {} the personal data of {} recipient(s) in {}",
            report.evidence_deleted,
            if args.dry_run { "would clear" } else { "cleared" },
            report.recipients_cleared,
            if report.rosters_cleared.is_empty() { "no roster".to_string() } else { report.rosters_cleared.join(", ") }
        );
    }
    Ok(ExitCode::SUCCESS)
}
