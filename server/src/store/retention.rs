//! Applies the retention rules (`domain::retention`): evidence crops and embeddings past their
//! days are deleted; NIKs, names, addresses and templates of rosters past theirs are cleared.

use serde::Serialize;

use super::Db;
use crate::domain::dates::wib_day;
use crate::domain::retention::{evidence_cutoff_ms, roster_expired};
use crate::domain::targets::period;
use crate::error::ApiError;

/// What a purge removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PurgeReport {
    /// Evidence crops (and their embeddings) deleted.
    pub evidence_deleted: u64,
    /// Rosters whose recipients' personal data was cleared.
    pub rosters_cleared: Vec<String>,
    /// Recipients whose NIK, name, address and template were cleared.
    pub recipients_cleared: u64,
    /// Whether nothing was changed.
    pub dry_run: bool,
}

impl Db {
    /// Purges personal data older than a retention of `days` at `now_ms`.
    pub async fn purge(&self, days: i64, now_ms: i64, dry_run: bool) -> Result<PurgeReport, ApiError> {
        let mut report = PurgeReport { dry_run, ..PurgeReport::default() };
        let rosters: Vec<(String, Option<i64>)> = sqlx::query_as(
            "SELECT r.roster_id, (SELECT MIN(d.day) FROM daily_paid d WHERE d.roster_id = r.roster_id) FROM rosters r
             ORDER BY r.roster_id",
        )
        .fetch_all(&self.read)
        .await?;
        let today = wib_day(now_ms);
        let expired: Vec<String> = rosters
            .into_iter()
            .filter(|(id, first)| period(id, *first).is_some_and(|p| roster_expired(&p, today, days)))
            .map(|(id, _)| id)
            .collect();
        let cutoff = evidence_cutoff_ms(now_ms, days);
        let mut tx = self.write.begin().await?;
        let old: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM evidence e JOIN receipts r ON r.id = e.receipt_id WHERE r.received_ms < $1",
        )
        .bind(cutoff)
        .fetch_one(&mut *tx)
        .await?;
        report.evidence_deleted = old.max(0) as u64;
        if !dry_run {
            // The packed faces of the 1:N check, the card faces and the enrolments handed in are
            // biometric data too: they go with their crops.
            for sql in [
                "DELETE FROM evidence WHERE receipt_id IN (SELECT id FROM receipts WHERE received_ms < $1)",
                "DELETE FROM faces WHERE receipt_id IN (SELECT id FROM receipts WHERE received_ms < $1)",
                "DELETE FROM receipt_references WHERE receipt_id IN (SELECT id FROM receipts WHERE received_ms < $1)",
            ] {
                sqlx::query(sql).bind(cutoff).execute(&mut *tx).await?;
            }
        }
        for roster in &expired {
            let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recipients WHERE roster_id = $1 AND nik <> ''")
                .bind(roster)
                .fetch_one(&mut *tx)
                .await?;
            if held == 0 {
                continue;
            }
            report.recipients_cleared += held.max(0) as u64;
            report.rosters_cleared.push(roster.clone());
            if dry_run {
                continue;
            }
            // The reference, area, amount and standing stay: the receipts still name them.
            sqlx::query(
                "UPDATE recipients SET nik = '', name = '', address = '', template = NULL, enrolled_template = NULL
                 WHERE roster_id = $1 AND nik <> ''",
            )
            .bind(roster)
            .execute(&mut *tx)
            .await?;
            // The KK members' NIKs and names go too (their references stay in proxy receipts).
            sqlx::query("UPDATE household SET nik = '', name = '' WHERE roster_id = $1")
                .bind(roster)
                .execute(&mut *tx)
                .await?;
            let gone: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM evidence WHERE receipt_id IN (SELECT id FROM receipts WHERE roster_id = $1)",
            )
            .bind(roster)
            .fetch_one(&mut *tx)
            .await?;
            report.evidence_deleted += gone.max(0) as u64;
            for sql in [
                "DELETE FROM evidence WHERE receipt_id IN (SELECT id FROM receipts WHERE roster_id = $1)",
                "DELETE FROM receipt_references WHERE receipt_id IN (SELECT id FROM receipts WHERE roster_id = $1)",
            ] {
                sqlx::query(sql).bind(roster).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(report)
    }
}
