//! Receipts held from revoked devices (`domain::held`): listed for the auditor, and counted or
//! refused by their decision, in one transaction with the counts it changes.

use serde::Serialize;

use super::receipts::{count, roster_row};
use super::summaries::Deltas;
use super::Db;
use crate::clock::now_ms;
use crate::domain::audit::{Action, Actor, NewEntry};
use crate::domain::held::{self, HeldDecision};
use crate::domain::ingest::{self, Indexed, RosterFacts, DEVICE_REVOKED_FLAG};
use crate::domain::overrides::Approval;
use crate::error::ApiError;

/// A receipt held from a revoked device, as the auditor sees it (no name or NIK).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HeldReceipt {
    /// Receipt.
    pub receipt_id: String,
    /// The revoked device that handed it in.
    pub device_id: String,
    /// Its worker.
    pub worker_id: String,
    /// Roster.
    pub roster_id: String,
    /// What it says happened (`paid`, `ineligible`, ...).
    pub outcome: String,
    /// Whole rupiah.
    pub amount: i64,
    /// The phone's clock at signing (Unix ms; the phone's word only).
    pub signed_ms: i64,
    /// When the server received it (Unix ms).
    pub received_ms: i64,
    /// `count` or `refuse` once decided.
    pub decision: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Their reasons.
    pub note: Option<String>,
}

#[derive(sqlx::FromRow)]
struct HeldRow {
    worker_id: String,
    public_key: Vec<u8>,
    cose: Vec<u8>,
    held: i64,
    held_decision: Option<String>,
    held_decided_by: Option<String>,
    flag: Option<String>,
    override_approval: Option<String>,
}

/// The columns of the list.
const LISTED: &str = "r.id AS receipt_id, r.device_id, d.worker_id, r.roster_id, r.outcome, r.amount, r.signed_ms,
     r.received_ms, r.held_decision AS decision, r.held_decided_by AS decided_by, r.held_note AS note";

/// Most held receipts listed at once.
pub const HELD_LIST_LIMIT: i64 = 500;

impl Db {
    /// The receipts revoked devices handed in, those awaiting a decision first, then the newest.
    pub async fn held_receipts(&self, roster_id: Option<&str>) -> Result<Vec<HeldReceipt>, ApiError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {LISTED}
             FROM receipts r JOIN devices d ON d.device_id = r.device_id
             WHERE (r.held = 1 OR r.held_decision IS NOT NULL) AND ($1 = '' OR r.roster_id = $1)
             ORDER BY CASE WHEN r.held_decision IS NULL THEN 0 ELSE 1 END, r.received_ms DESC, r.id
             LIMIT {HELD_LIST_LIMIT}"
        )))
        .bind(roster_id.unwrap_or_default())
        .fetch_all(&self.read)
        .await?)
    }

    /// Counts or refuses the held receipt `receipt_id` on `by`'s word, once, logged: counted, it
    /// changes the recipient's standing, the area and roster counts and the reallocation case as
    /// ingestion would have; refused, it stays out of them. Its flag says which either way.
    pub async fn decide_held(
        &self,
        by: &Actor,
        receipt_id: &str,
        decision: HeldDecision,
        note: &str,
    ) -> Result<HeldReceipt, ApiError> {
        let mut tx = self.write.begin().await?;
        let row: Option<HeldRow> = sqlx::query_as(
            "SELECT d.worker_id, d.public_key, r.cose, r.held, r.held_decision, r.held_decided_by, r.flag,
                    r.override_approval
             FROM receipts r JOIN devices d ON d.device_id = r.device_id WHERE r.id = $1",
        )
        .bind(receipt_id)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or_else(|| ApiError::NotFound(format!("no receipt {receipt_id}")))?;
        let decided = row.held_decision.as_deref().map(|d| (d, row.held_decided_by.as_deref().unwrap_or("?")));
        held::may_decide(receipt_id, row.held != 0, decided, note)?;
        let signed = salur_core::receipt::verify(&row.cose, &row.public_key)
            .map_err(|e| ApiError::Internal(format!("stored receipt no longer verifies: {e}")))?;
        let r = &signed.receipt;
        let now = now_ms();
        let roster = roster_row(&mut tx, r).await?;
        if decision == HeldDecision::Count {
            // What ingestion would have flagged had the device not been revoked: counting it would
            // hide that, so it is refused (the auditor refuses it, or the roster is corrected first).
            let household = match r.evidence.as_ref().map(|e| &e.method) {
                Some(salur_core::receipt::Method::Proxy { .. }) => {
                    sqlx::query_scalar::<_, Vec<u8>>(
                        "SELECT member FROM household WHERE roster_id = $1 AND recipient = $2",
                    )
                    .bind(&r.roster_id)
                    .bind(&r.recipient)
                    .fetch_all(&mut *tx)
                    .await?
                }
                _ => Vec::new(),
            };
            let facts = roster.as_ref().map(|row| RosterFacts {
                worker_id: row.worker_id.clone(),
                amount: row.amount,
                household,
            });
            if let Some(flag) = ingest::flag(r, &row.worker_id, facts.as_ref()) {
                return Err(held::HeldError::FlaggedBeyond { id: receipt_id.into(), flag: flag.to_string() }.into());
            }
        }
        let changed = sqlx::query(
            "UPDATE receipts SET held = $1, flag = $2, held_decision = $3, held_decided_by = $4, held_decided_ms = $5,
                    held_note = $6
             WHERE id = $7 AND held = 1 AND held_decision IS NULL",
        )
        .bind(i64::from(decision == HeldDecision::Refuse))
        .bind(decision.flag())
        .bind(decision.as_str())
        .bind(&by.name)
        .bind(now)
        .bind(note.trim())
        .bind(receipt_id)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Err(ApiError::Conflict(format!("receipt {receipt_id} was decided meanwhile: read it again")));
        }
        let mut deltas = Deltas::default();
        deltas.uncount(&r.roster_id, format!("flag:{}", row.flag.as_deref().unwrap_or(DEVICE_REVOKED_FLAG)));
        deltas.count(&r.roster_id, format!("flag:{}", decision.flag()));
        if decision == HeldDecision::Count {
            let indexed = Indexed::of(r);
            // The approval as judged on arrival (what a rebuild of the counts reads).
            let approval = row.override_approval.as_deref().and_then(Approval::parse);
            deltas.paid_day(&r.roster_id, &indexed, r.time.wall_ms);
            // Counted, it is a receipt like any other: its reallocation case opens as it would have.
            count(&mut tx, &mut deltas, r, &indexed, approval, false, roster.as_ref(), now).await?;
        }
        deltas.apply(&mut tx).await?;
        let detail = Some(format!("{}: {}", decision.as_str(), note.trim()));
        let entry = NewEntry {
            actor: by.clone(),
            action: Action::HeldReceiptDecided,
            target: Some(receipt_id.to_string()),
            detail,
        };
        super::audit::append(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {LISTED} FROM receipts r JOIN devices d ON d.device_id = r.device_id WHERE r.id = $1"
        )))
        .bind(receipt_id)
        .fetch_one(&self.write)
        .await?)
    }
}
