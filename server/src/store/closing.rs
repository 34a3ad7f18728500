//! Closing a period: the close itself (once), and each recipient's facts for the report.

use salur_core::receipt::Standing;

use super::Db;
use crate::clock::now_ms;
use crate::domain::closing::{AfterClose, Counted, RecipientFacts, ServerChecks};
use crate::domain::ingest::{OVERRIDE_METHOD, PROXY_METHOD};
use crate::domain::verdict::{self, Verdict};
use crate::error::ApiError;

/// When a period was closed, and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedPeriod {
    /// Unix ms of the close.
    pub closed_ms: i64,
    /// Who closed it.
    pub closed_by: String,
    /// Whether this call closed it (false: it was closed before).
    pub now: bool,
}

#[derive(sqlx::FromRow)]
struct FactsRow {
    recipient: Vec<u8>,
    nik: String,
    name: String,
    regency: String,
    post_office: String,
    amount: i64,
    standing: i64,
    paid_amount: i64,
    payments: i64,
    ineligible_reason: Option<String>,
    overrides: i64,
    proxies: i64,
    complaints: i64,
    reallocated: i64,
    verified: i64,
    mismatch: i64,
    no_evidence: i64,
    no_reference: i64,
    pending: i64,
}

fn n(v: i64) -> u64 {
    v.max(0) as u64
}

impl Db {
    /// Closes `roster_id` (the first close stands: a second call returns it unchanged). Receipts
    /// for it that arrive afterwards are stored and marked late.
    pub async fn close_period(&self, roster_id: &str, closed_by: &str) -> Result<ClosedPeriod, ApiError> {
        let known: Option<String> = sqlx::query_scalar("SELECT roster_id FROM rosters WHERE roster_id = $1")
            .bind(roster_id)
            .fetch_optional(&self.read)
            .await?;
        if known.is_none() {
            return Err(ApiError::NotFound(format!("no roster {roster_id}: import it first")));
        }
        let inserted = sqlx::query(
            "INSERT INTO closed_periods (roster_id, closed_ms, closed_by) VALUES ($1, $2, $3)
             ON CONFLICT (roster_id) DO NOTHING",
        )
        .bind(roster_id)
        .bind(now_ms())
        .bind(closed_by)
        .execute(&self.write)
        .await?
        .rows_affected();
        let (closed_ms, closed_by): (i64, String) =
            sqlx::query_as("SELECT closed_ms, closed_by FROM closed_periods WHERE roster_id = $1")
                .bind(roster_id)
                .fetch_one(&self.write)
                .await?;
        Ok(ClosedPeriod { closed_ms, closed_by, now: inserted == 1 })
    }

    /// When `roster_id` was closed, if it was.
    pub async fn closed_at(&self, roster_id: &str) -> Result<Option<i64>, ApiError> {
        Ok(sqlx::query_scalar("SELECT closed_ms FROM closed_periods WHERE roster_id = $1")
            .bind(roster_id)
            .fetch_optional(&self.write)
            .await?)
    }

    /// What the close of `roster_id` counted, once recorded.
    pub async fn counted(&self, roster_id: &str) -> Result<Option<Counted>, ApiError> {
        let json: Option<Option<String>> =
            sqlx::query_scalar("SELECT counted FROM closed_periods WHERE roster_id = $1")
                .bind(roster_id)
                .fetch_optional(&self.write)
                .await?;
        json.flatten()
            .map(|j| {
                serde_json::from_str(&j)
                    .map_err(|e| ApiError::Internal(format!("the figures counted at the close do not read: {e}")))
            })
            .transpose()
    }

    /// Records what the close of `roster_id` counted; the first record stands (two closing runs
    /// at once keep one). Returns the record kept.
    pub async fn record_counted(&self, roster_id: &str, counted: &Counted) -> Result<Counted, ApiError> {
        let json = serde_json::to_string(counted).map_err(|e| ApiError::Internal(e.to_string()))?;
        sqlx::query("UPDATE closed_periods SET counted = $1 WHERE roster_id = $2 AND counted IS NULL")
            .bind(json)
            .bind(roster_id)
            .execute(&self.write)
            .await?;
        self.counted(roster_id).await?.ok_or_else(|| ApiError::NotFound(format!("{roster_id} is not closed")))
    }

    /// What reached the server for `roster_id` after its close.
    pub async fn after_close(&self, roster_id: &str) -> Result<AfterClose, ApiError> {
        let (late_receipts, late_payments): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT), CAST(COUNT(CASE WHEN outcome = 'paid' THEN 1 END) AS BIGINT)
             FROM receipts WHERE roster_id = $1 AND late <> 0",
        )
        .bind(roster_id)
        .fetch_one(&self.read)
        .await?;
        let complaints: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM complaints c JOIN receipts r ON r.id = c.receipt_id
             JOIN closed_periods cp ON cp.roster_id = r.roster_id
             WHERE r.roster_id = $1 AND c.created_ms > cp.closed_ms",
        )
        .bind(roster_id)
        .fetch_one(&self.read)
        .await?;
        let added: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM recipients p JOIN closed_periods cp ON cp.roster_id = p.roster_id
             WHERE p.roster_id = $1 AND p.added_ms > cp.closed_ms",
        )
        .bind(roster_id)
        .fetch_one(&self.read)
        .await?;
        // The verdicts as they stand now on the receipts the close counted (a crop that arrived
        // after the close can turn `pending` into `mismatch`).
        let mut server_now = ServerChecks::default();
        for (v, count) in self.verdict_counts(roster_id).await? {
            *match v {
                Verdict::Verified => &mut server_now.verified,
                Verdict::Mismatch => &mut server_now.mismatch,
                Verdict::NoEvidence => &mut server_now.no_evidence,
                Verdict::NoReference => &mut server_now.no_reference,
                Verdict::Pending => &mut server_now.pending,
            } = count;
        }
        Ok(AfterClose {
            late_receipts: n(late_receipts),
            late_payments: n(late_payments),
            complaints: n(complaints),
            recipients_added: n(added),
            server_now,
        })
    }

    /// Receipts of `roster_id` that arrived after it was closed.
    pub async fn late_receipts(&self, roster_id: &str) -> Result<u64, ApiError> {
        let late: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts WHERE roster_id = $1 AND late <> 0")
            .bind(roster_id)
            .fetch_one(&self.read)
            .await?;
        Ok(n(late))
    }

    /// What the period recorded for each recipient of `roster_id` by its close (names and NIKs
    /// opened): receipts marked late are left out, so the report stays what it was at the close.
    pub async fn period_facts(&self, roster_id: &str) -> Result<Vec<RecipientFacts>, ApiError> {
        let rows: Vec<FactsRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT p.recipient, p.nik, p.name, p.regency, p.post_office, p.amount,
                    CAST(COALESCE(MAX({standing}), 0) AS BIGINT) AS standing,
                    CAST(COALESCE(SUM(CASE WHEN r.outcome = 'paid' THEN r.amount END), 0) AS BIGINT) AS paid_amount,
                    CAST(COUNT(CASE WHEN r.outcome = 'paid' THEN 1 END) AS BIGINT) AS payments,
                    (SELECT i.reason FROM receipts i WHERE i.roster_id = p.roster_id AND i.recipient = p.recipient
                       AND i.outcome = 'ineligible' AND i.late = 0 AND i.held = 0
                     ORDER BY i.signed_ms DESC, i.id DESC LIMIT 1) AS ineligible_reason,
                    CAST(COUNT(CASE WHEN r.outcome = 'paid' AND r.method = '{OVERRIDE_METHOD}' THEN 1 END) AS BIGINT)
                        AS overrides,
                    CAST(COUNT(CASE WHEN r.outcome = 'paid' AND r.method = '{PROXY_METHOD}' THEN 1 END) AS BIGINT) AS proxies,
                    CAST((SELECT COUNT(*) FROM complaints c JOIN receipts x ON x.id = c.receipt_id
                          WHERE x.roster_id = p.roster_id AND x.recipient = p.recipient
                          -- filed by the close: later ones are reported apart
                          AND c.created_ms <= {closed_ms}) AS BIGINT) AS complaints,
                    {verdicts},
                    CAST((SELECT COUNT(*) FROM reallocation_cases c WHERE c.roster_id = p.roster_id
                          AND c.recipient = p.recipient AND c.status = 'reallocated'
                          -- decided by the close: a later decision does not rewrite a closed report
                          AND c.decided_ms <= {closed_ms}) AS BIGINT) AS reallocated
             FROM recipients p
             LEFT JOIN receipts r ON r.roster_id = p.roster_id AND r.recipient = p.recipient AND r.late = 0
                                   AND r.held = 0
             -- on the roster by the close: a family a reallocation adds afterwards is reported apart
             WHERE p.roster_id = $1 AND p.added_ms <= {closed_ms}
             GROUP BY p.roster_id, p.recipient, p.nik, p.name, p.regency, p.post_office, p.amount",
            standing = Standing::sql_case("r.outcome"),
            closed_ms = "COALESCE((SELECT cp.closed_ms FROM closed_periods cp WHERE cp.roster_id = p.roster_id),
                                  9223372036854775807)",
            verdicts = Verdict::ALL
                .iter()
                .map(|v| format!(
                    "CAST(COUNT(CASE WHEN r.outcome = 'paid' AND {effective} = '{name}' THEN 1 END) AS BIGINT) AS {name}",
                    effective = verdict::sql_effective("$2"),
                    name = v.as_str()
                ))
                .collect::<Vec<_>>()
                .join(",\n"),
        )))
        .bind(roster_id)
        .bind(now_ms() - self.evidence_window_ms)
        .fetch_all(&self.read)
        .await?;
        if rows.is_empty() {
            return Err(ApiError::NotFound(format!("no recipients in roster {roster_id}: import it first")));
        }
        rows.into_iter()
            .map(|r| {
                let aad = |column: &str| super::seal::recipient_aad(column, roster_id, &r.recipient);
                Ok(RecipientFacts {
                    regency: r.regency,
                    post_office: r.post_office,
                    nik: self.seal.open_text(&aad("nik"), &r.nik)?,
                    name: self.seal.open_text(&aad("name"), &r.name)?,
                    amount: n(r.amount),
                    standing: Standing::from_code(r.standing),
                    paid_amount: n(r.paid_amount),
                    payments: n(r.payments),
                    ineligible_reason: r.ineligible_reason,
                    overrides: n(r.overrides),
                    proxies: n(r.proxies),
                    complaints: n(r.complaints),
                    reallocated: r.reallocated > 0,
                    server: ServerChecks {
                        verified: n(r.verified),
                        mismatch: n(r.mismatch),
                        no_evidence: n(r.no_evidence),
                        no_reference: n(r.no_reference),
                        pending: n(r.pending),
                    },
                })
            })
            .collect()
    }
}
