//! The server's verdict on each face payment (`domain::verdict`): judged when its evidence crop
//! arrives, read back for the dashboard and the closing report.

use serde::Serialize;

use super::Db;
use crate::clock::now_ms;
use crate::domain::verdict::{self, Verdict};
use crate::error::ApiError;

/// A payment the server could not verify, for the auditor: both scores, no name or NIK.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UnverifiedPayment {
    /// Receipt.
    pub receipt_id: String,
    /// Device that signed it.
    pub device_id: String,
    /// Its worker.
    pub worker_id: String,
    /// Its post office.
    pub post_office: String,
    /// How the phone identified the recipient.
    pub method: Option<String>,
    /// `mismatch` or `no_evidence`.
    pub verdict: String,
    /// The score the phone signed, in millionths.
    pub signed_score_e6: Option<i64>,
    /// The server's own score of the crop against its reference, in millionths.
    pub server_score_e6: Option<i64>,
    /// The server's score of the card or enrolment the phone brought against the recipient's
    /// reference it holds, in millionths (e-KTP and enrolment payments where it holds one).
    pub reference_score_e6: Option<i64>,
}

/// Server-verified against phone-only payments, for one worker at one post office.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct VerifiedShare {
    /// Post office.
    pub post_office: String,
    /// Worker.
    pub worker_id: String,
    /// Face payments the server verified itself.
    pub verified: i64,
    /// Face payments that rest on the phone's word alone (every other verdict).
    pub phone_only: i64,
}

/// Most rows in each list the dashboard shows.
pub const VERDICT_LIST_LIMIT: i64 = 200;

/// A payment whose verdict its evidence may still change.
#[derive(sqlx::FromRow)]
pub struct Awaiting {
    /// Roster.
    pub roster_id: String,
    /// Recipient reference.
    pub recipient: Vec<u8>,
    /// The score the phone signed, in millionths.
    pub score_e6: Option<i64>,
    /// The verdict now.
    pub verdict: Option<String>,
    /// Held from a revoked device (1).
    pub held: i64,
    /// Flagged for an auditor.
    pub flag: Option<String>,
    /// Arrived after the period closed (1).
    pub late: i64,
}

impl Awaiting {
    /// Whether the receipt counts like any payment: not held, not flagged, not late.
    pub fn counts(&self) -> bool {
        self.held == 0 && self.flag.is_none() && self.late == 0
    }
}

impl Db {
    /// The payment `receipt_id` when its verdict may still change: `pending`, or `no_reference`
    /// when its crop turned out `unreadable` (a crop that is no image of a face is a mismatch even
    /// where the server holds no reference, else a proxy could hand in anything).
    pub async fn awaiting_verdict(&self, receipt_id: &str, unreadable: bool) -> Result<Option<Awaiting>, ApiError> {
        let row: Option<Awaiting> = sqlx::query_as(
            "SELECT roster_id, recipient, score_e6, verdict, held, flag, late FROM receipts WHERE id = $1",
        )
        .bind(receipt_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.filter(|r| {
            r.verdict.as_deref() == Some(Verdict::Pending.as_str())
                || (unreadable && r.verdict.as_deref() == Some(Verdict::NoReference.as_str()))
        }))
    }

    /// Records the server's verdict and scores, only if the verdict is still `was` (two
    /// instances judging one payment write once).
    pub async fn set_verdict(
        &self,
        receipt_id: &str,
        was: Option<&str>,
        judged: Verdict,
        scores: verdict::Scores,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "UPDATE receipts SET verdict = $1, server_score_e6 = $2, reference_score_e6 = $3
             WHERE id = $4 AND verdict = $5",
        )
        .bind(judged.as_str())
        .bind(scores.live)
        .bind(scores.reference.flatten())
        .bind(receipt_id)
        .bind(was)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The roster's face payments by verdict as of now (a crop awaited longer than the evidence
    /// window counts as `no_evidence`), in [`Verdict::ALL`] order; receipts held from revoked
    /// devices and late ones are left out, as everywhere money is counted.
    pub async fn verdict_counts(&self, roster_id: &str) -> Result<Vec<(Verdict, u64)>, ApiError> {
        let window_ms = self.evidence_window_ms;
        let rows: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT v, CAST(COUNT(*) AS BIGINT) FROM (SELECT {effective} AS v FROM receipts r
                 WHERE r.roster_id = $1 AND r.verdict IS NOT NULL AND r.held = 0 AND r.late = 0) t
             GROUP BY v",
            effective = verdict::sql_effective("$2"),
        )))
        .bind(roster_id)
        .bind(now_ms() - window_ms)
        .fetch_all(&self.read)
        .await?;
        Ok(Verdict::ALL
            .into_iter()
            .map(|v| (v, rows.iter().find(|(name, _)| name == v.as_str()).map_or(0, |(_, n)| (*n).max(0) as u64)))
            .collect())
    }

    /// The roster's `mismatch` and `no_evidence` payments, newest first, with both scores.
    pub async fn unverified_payments(&self, roster_id: &str) -> Result<Vec<UnverifiedPayment>, ApiError> {
        let window_ms = self.evidence_window_ms;
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM (SELECT r.id AS receipt_id, r.device_id, d.worker_id, d.post_office, r.method,
                    {effective} AS verdict, r.score_e6 AS signed_score_e6, r.server_score_e6,
                    r.reference_score_e6, r.received_ms
                 FROM receipts r JOIN devices d ON d.device_id = r.device_id
                 WHERE r.roster_id = $1 AND r.verdict IS NOT NULL AND r.held = 0 AND r.late = 0) t
             WHERE t.verdict IN ('{mismatch}', '{none}')
             ORDER BY t.received_ms DESC, t.receipt_id LIMIT {VERDICT_LIST_LIMIT}",
            effective = verdict::sql_effective("$2"),
            mismatch = Verdict::Mismatch.as_str(),
            none = Verdict::NoEvidence.as_str(),
        )))
        .bind(roster_id)
        .bind(now_ms() - window_ms)
        .fetch_all(&self.read)
        .await?)
    }

    /// Server-verified against phone-only face payments per post office and worker, the most
    /// phone-only first.
    pub async fn verified_shares(&self, roster_id: &str) -> Result<Vec<VerifiedShare>, ApiError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT d.post_office, d.worker_id,
                    CAST(SUM(CASE WHEN {server} THEN 1 ELSE 0 END) AS BIGINT) AS verified,
                    CAST(SUM(CASE WHEN {server} THEN 0 ELSE 1 END) AS BIGINT) AS phone_only
             FROM receipts r JOIN devices d ON d.device_id = r.device_id
             WHERE r.roster_id = $1 AND r.verdict IS NOT NULL AND r.held = 0 AND r.late = 0
             GROUP BY d.post_office, d.worker_id
             ORDER BY phone_only DESC, d.post_office, d.worker_id LIMIT {VERDICT_LIST_LIMIT}",
            server = verdict::SQL_SERVER_VERIFIED,
        )))
        .bind(roster_id)
        .fetch_all(&self.read)
        .await?)
    }
}
