//! Reallocation cases: funds freed by ineligible recipients, one case per (roster, recipient),
//! as the finance office decides them (rules in `domain::reallocation`).

use salur_core::receipt::{recipient_ref, Receipt, Standing};
use serde::Serialize;

use super::seal::{recipient_aad, Sealer};
use super::summaries::Deltas;
use super::Db;
use crate::clock::now_ms;
use crate::domain::ingest;
use crate::domain::reallocation::{self, CaseEffect, CaseStatus, Decision};
use crate::domain::roster::RosterRow;
use crate::error::ApiError;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(sqlx::FromRow)]
struct CaseRow {
    roster_id: String,
    recipient: Vec<u8>,
    nik: Option<String>,
    name: Option<String>,
    post_office: Option<String>,
    amount: i64,
    reason: String,
    note: Option<String>,
    first_receipt: String,
    reports: i64,
    status: String,
    approved_by: Option<String>,
    decided_by: Option<String>,
    decision_reason: Option<String>,
    decided_ms: Option<i64>,
    new_roster_id: Option<String>,
    new_recipient: Option<Vec<u8>>,
    new_recipient_paid_by: Option<String>,
    cancelled_by: Option<String>,
    paid_after_reallocation: Option<String>,
    created_ms: i64,
}

/// A reallocation case as finance and auditors see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reallocation {
    /// Roster.
    pub roster_id: String,
    /// Keyed hash of the recipient's NIK (hex): the case's id within the roster.
    pub recipient: String,
    /// NIK (finance and auditors act on it).
    pub nik: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Post office of the recipient.
    pub post_office: Option<String>,
    /// Rupiah freed: the roster's amount for the recipient.
    pub amount: u64,
    /// Why ineligible (from the first report).
    pub reason: String,
    /// The worker's note.
    pub note: Option<String>,
    /// The receipt that reported it first.
    pub first_receipt: String,
    /// Ineligible reports received (visits).
    pub reports: u64,
    /// Where the case stands.
    pub status: String,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// Who made the last decision.
    pub decided_by: Option<String>,
    /// Why (the last decision's reason).
    pub decision_reason: Option<String>,
    /// When (Unix ms).
    pub decided_ms: Option<i64>,
    /// Roster the funds went to.
    pub new_roster_id: Option<String>,
    /// The new recipient family's reference (hex) in that roster.
    pub new_recipient: Option<String>,
    /// The receipt paying the new recipient, once uploaded: where the freed rupiah ended.
    pub new_recipient_paid_by: Option<String>,
    /// The payment that cancelled the case.
    pub cancelled_by: Option<String>,
    /// A payment to the original recipient after the funds went elsewhere (flag).
    pub paid_after_reallocation: Option<String>,
    /// When the first report arrived (Unix ms).
    pub created_ms: i64,
}

impl Reallocation {
    /// The case of row `r`, its recipient's NIK and name opened with `seal`.
    fn open(seal: &Sealer, r: CaseRow) -> Result<Self, ApiError> {
        let aad = |column: &str| recipient_aad(column, &r.roster_id, &r.recipient);
        let nik = r.nik.as_deref().map(|v| seal.open_text(&aad("nik"), v)).transpose()?;
        let name = r.name.as_deref().map(|v| seal.open_text(&aad("name"), v)).transpose()?;
        Ok(Self {
            roster_id: r.roster_id,
            recipient: hex::encode(&r.recipient),
            nik,
            name,
            post_office: r.post_office,
            amount: r.amount.max(0) as u64,
            reason: r.reason,
            note: r.note,
            first_receipt: r.first_receipt,
            reports: r.reports.max(0) as u64,
            status: r.status,
            approved_by: r.approved_by,
            decided_by: r.decided_by,
            decision_reason: r.decision_reason,
            decided_ms: r.decided_ms,
            new_roster_id: r.new_roster_id,
            new_recipient: r.new_recipient.map(hex::encode),
            new_recipient_paid_by: r.new_recipient_paid_by,
            cancelled_by: r.cancelled_by,
            paid_after_reallocation: r.paid_after_reallocation,
            created_ms: r.created_ms,
        })
    }
}

const CASES: &str = "SELECT q.roster_id, q.recipient, rc.nik, rc.name, rc.post_office, q.amount, q.reason, q.note,
        q.first_receipt, q.reports, q.status, q.approved_by, q.decided_by, q.decision_reason, q.decided_ms,
        q.new_roster_id, q.new_recipient,
        (SELECT MIN(p.id) FROM receipts p WHERE p.roster_id = q.new_roster_id AND p.recipient = q.new_recipient
           AND p.outcome = 'paid') AS new_recipient_paid_by,
        q.cancelled_by, q.paid_after_reallocation, q.created_ms
     FROM reallocation_cases q LEFT JOIN recipients rc ON rc.roster_id = q.roster_id AND rc.recipient = q.recipient";

/// Cases per status of one roster (or all), for the dashboard.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaseTotals {
    /// `[status, cases, rupiah]`, in workflow order, statuses without cases left out.
    pub by_status: Vec<(String, u64, u64)>,
}

impl Db {
    /// The reallocation cases, oldest first, of one roster (or all) and one status (or all).
    pub async fn reallocations(
        &self,
        roster_id: Option<&str>,
        status: Option<CaseStatus>,
    ) -> Result<Vec<Reallocation>, ApiError> {
        // CASES is a constant: only the bound values come from outside.
        let rows: Vec<CaseRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CASES} WHERE (CAST($1 AS TEXT) IS NULL OR q.roster_id = $1) AND (CAST($2 AS TEXT) IS NULL OR q.status = $2)
             ORDER BY q.created_ms, q.first_receipt"
        )))
        .bind(roster_id)
        .bind(status.map(CaseStatus::as_str))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(|r| Reallocation::open(&self.seal, r)).collect()
    }

    /// One case, read from the primary (after a decision).
    async fn reallocation(&self, roster_id: &str, recipient: &[u8]) -> Result<Reallocation, ApiError> {
        let row: Option<CaseRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{CASES} WHERE q.roster_id = $1 AND q.recipient = $2")))
                .bind(roster_id)
                .bind(recipient)
                .fetch_optional(&self.write)
                .await?;
        let row = row.ok_or_else(|| ApiError::NotFound("no reallocation case for that recipient".into()))?;
        Reallocation::open(&self.seal, row)
    }

    /// Case counts and rupiah per status.
    pub async fn reallocation_totals(&self, roster_id: Option<&str>) -> Result<CaseTotals, ApiError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT status, COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM reallocation_cases
             WHERE CAST($1 AS TEXT) IS NULL OR roster_id = $1 GROUP BY status",
        )
        .bind(roster_id)
        .fetch_all(&self.read)
        .await?;
        let by_status = CaseStatus::ALL
            .into_iter()
            .filter_map(|s| rows.iter().find(|r| r.0 == s.as_str()))
            .map(|(s, n, sum)| (s.clone(), (*n).max(0) as u64, (*sum).max(0) as u64))
            .collect();
        Ok(CaseTotals { by_status })
    }

    /// Applies `decision` by `actor` to the case of `recipient` (hex reference) in `roster_id`.
    /// Reallocating names the new recipient family (`new`, its amount ignored), added here to its
    /// roster at the case's amount, in the same transaction as the decision.
    pub async fn decide_reallocation(
        &self,
        roster_id: &str,
        recipient: &str,
        decision: Decision,
        actor: &str,
        reason: &str,
        new: Option<RosterRow>,
    ) -> Result<Reallocation, ApiError> {
        let recipient =
            hex::decode(recipient).map_err(|_| ApiError::BadRequest("the recipient reference is not hex".into()))?;
        let case: Option<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT status, approved_by, amount FROM reallocation_cases WHERE roster_id = $1 AND recipient = $2",
        )
        .bind(roster_id)
        .bind(&recipient)
        .fetch_optional(&self.write)
        .await?;
        let (status, approved_by, amount) =
            case.ok_or_else(|| ApiError::NotFound("no reallocation case for that recipient".into()))?;
        let status: CaseStatus =
            status.parse().map_err(|_| ApiError::Internal(format!("unknown case status {status}")))?;
        let next = reallocation::decide(status, approved_by.as_deref(), decision, actor, reason)?;
        let target = match (decision, new) {
            (Decision::Reallocate, Some(mut row)) => {
                row.amount = amount.max(0) as u64;
                row.validate().map_err(ApiError::BadRequest)?;
                // Made before the transaction: the key is created on a roster's first use.
                let key = self.roster_key(&row.period).await?;
                let new_ref = recipient_ref(&key, &row.nik);
                Some((row, new_ref))
            }
            (Decision::Reallocate, None) => {
                return Err(ApiError::BadRequest("reallocating names the new recipient family (new_recipient)".into()))
            }
            (_, Some(_)) => return Err(ApiError::BadRequest("only a reallocation names a new recipient".into())),
            (_, None) => None,
        };
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        if let Some((row, new_ref)) = &target {
            let taken: Option<String> =
                sqlx::query_scalar("SELECT roster_id FROM recipients WHERE roster_id = $1 AND recipient = $2")
                    .bind(&row.period)
                    .bind(new_ref)
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(ApiError::Conflict(format!(
                    "that family is already on roster {}: choose another recipient",
                    row.period
                )));
            }
            super::roster::insert_recipient(&mut tx, &self.seal, row, new_ref, None).await?;
        }
        // Guarded by the status read above: a decision racing another loses, it does not stack.
        let updated = sqlx::query(
            "UPDATE reallocation_cases SET status = $1, decided_by = $2, decision_reason = $3, decided_ms = $4,
                approved_by = CASE WHEN $1 = 'approved' THEN $2 ELSE approved_by END,
                new_roster_id = $5, new_recipient = $6, updated_ms = $4
             WHERE roster_id = $7 AND recipient = $8 AND status = $9",
        )
        .bind(next.as_str())
        .bind(actor)
        .bind(reason.trim())
        .bind(now)
        .bind(target.as_ref().map(|(row, _)| row.period.clone()))
        .bind(target.as_ref().map(|(_, r)| r.clone()))
        .bind(roster_id)
        .bind(&recipient)
        .bind(status.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(ApiError::Conflict("the case was decided meanwhile: reload it".into()));
        }
        tx.commit().await?;
        self.reallocation(roster_id, &recipient).await
    }
}

/// Applies what a stored receipt does to its recipient's case, inside the ingest transaction.
pub(super) async fn on_receipt(
    tx: &mut Tx,
    deltas: &mut Deltas,
    r: &Receipt,
    flagged: bool,
    roster_amount: Option<i64>,
    before: Standing,
    now: i64,
) -> Result<(), ApiError> {
    let outcome = Standing::of(&r.outcome);
    if !matches!(outcome, Standing::Paid | Standing::Ineligible) {
        return Ok(());
    }
    let case: Option<String> =
        sqlx::query_scalar("SELECT status FROM reallocation_cases WHERE roster_id = $1 AND recipient = $2")
            .bind(&r.roster_id)
            .bind(&r.recipient)
            .fetch_optional(&mut **tx)
            .await?;
    let case = case
        .map(|s| s.parse::<CaseStatus>().map_err(|_| ApiError::Internal(format!("unknown case status {s}"))))
        .transpose()?;
    match reallocation::on_receipt(outcome, flagged, roster_amount, before, case) {
        CaseEffect::Open { amount } => {
            let Some(report) = ingest::reallocation(r) else { return Ok(()) };
            sqlx::query(
                "INSERT INTO reallocation_cases (roster_id, recipient, amount, reason, note, first_receipt, created_ms,
                                                 updated_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(&r.roster_id)
            .bind(&r.recipient)
            .bind(amount)
            .bind(report.reason)
            .bind(report.note)
            .bind(&r.id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        CaseEffect::Report => {
            sqlx::query(
                "UPDATE reallocation_cases SET reports = reports + 1, updated_ms = $1 WHERE roster_id = $2 AND recipient = $3",
            )
            .bind(now)
            .bind(&r.roster_id)
            .bind(&r.recipient)
            .execute(&mut **tx)
            .await?;
        }
        CaseEffect::Cancel => {
            sqlx::query(
                "UPDATE reallocation_cases SET status = 'cancelled', cancelled_by = $1, updated_ms = $2
                 WHERE roster_id = $3 AND recipient = $4",
            )
            .bind(&r.id)
            .bind(now)
            .bind(&r.roster_id)
            .bind(&r.recipient)
            .execute(&mut **tx)
            .await?;
        }
        CaseEffect::PaidAfterReallocation => {
            sqlx::query(
                "UPDATE reallocation_cases SET paid_after_reallocation = COALESCE(paid_after_reallocation, $1),
                    updated_ms = $2 WHERE roster_id = $3 AND recipient = $4",
            )
            .bind(&r.id)
            .bind(now)
            .bind(&r.roster_id)
            .bind(&r.recipient)
            .execute(&mut **tx)
            .await?;
            deltas.count(&r.roster_id, "paid_after_reallocation".into());
        }
        CaseEffect::None => {}
    }
    Ok(())
}

/// The cases as CSV for the programme's finance office.
pub fn reallocations_csv(rows: &[Reallocation]) -> Result<String, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    let text = String::from_utf8(w.into_inner().map_err(|e| ApiError::Internal(e.to_string()))?)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // Names, notes and reasons come from rosters and phones: never formulas in finance's spreadsheet.
    crate::domain::export::spreadsheet_safe(&text).map_err(|e| ApiError::Internal(e.to_string()))
}
