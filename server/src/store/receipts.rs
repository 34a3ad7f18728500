//! Ingestion: verified receipts stored exactly once, in one transaction per batch, with the
//! domain's rules (duplicates, chain links, roster flags, standing, reallocation) applied.

use salur_core::receipt::{self, Receipt, SignedReceipt, Standing};

use super::summaries::Deltas;
use super::Db;
use crate::clock::now_ms;
use crate::domain::areas::{self, RecipientStanding};
use crate::domain::bounds;
use crate::domain::chain::ChainStatus;
use crate::domain::devices::Device;
use crate::domain::devices::DeviceStatus;
use crate::domain::ingest::{self, Indexed, Ingest, IngestResult, RosterFacts, Taken};
use crate::domain::overrides::{self, Approval};
use crate::domain::verdict::{self, Verdict};
use crate::error::ApiError;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(sqlx::FromRow)]
struct TakenRow {
    id: String,
    cose: Vec<u8>,
}

#[derive(sqlx::FromRow)]
pub(super) struct RosterRow {
    pub(super) worker_id: String,
    pub(super) amount: i64,
    province: String,
    regency: String,
    post_office: String,
    standing: i64,
    overridden: i64,
    has_template: i64,
}

impl Db {
    /// Verifies a batch of uploaded receipts from `device` (an `Err` holds why an entry could not
    /// even be read) and stores each exactly once, in one transaction: one durable commit per
    /// batch. Refusals are counted (device, result and reason only) for the dashboard.
    pub async fn ingest_batch(
        &self,
        device: &Device,
        batch: &[Result<Vec<u8>, String>],
    ) -> Result<Vec<IngestResult>, ApiError> {
        // Signature checks are CPU work: done before the write transaction starts.
        let verified: Vec<Result<SignedReceipt, IngestResult>> = batch
            .iter()
            .map(|entry| {
                let cose =
                    entry.as_ref().map_err(|why| IngestResult::refused(Ingest::Rejected, None, None, why.clone()))?;
                let signed = receipt::verify(cose, &device.public_key)
                    .map_err(|e| IngestResult::refused(Ingest::Rejected, None, None, e.to_string()))?;
                if signed.receipt.device_id != device.device_id {
                    let why = "the receipt belongs to another device".to_string();
                    return Err(IngestResult::of(&signed.receipt, Ingest::Rejected, Some(why)));
                }
                if let Err(why) = bounds::check(&signed.receipt, now_ms()) {
                    return Err(IngestResult::of(
                        &signed.receipt,
                        Ingest::Rejected,
                        Some(format!("invalid receipt: {why}")),
                    ));
                }
                Ok(signed)
            })
            .collect();
        // Two API instances may race to store the same receipt; the loser's insert hits a unique
        // constraint, its transaction rolls back, and on the second pass it sees the winner's row.
        match self.store_batch(device, &verified).await {
            Err(ApiError::Conflict(_)) => self.store_batch(device, &verified).await,
            other => other,
        }
    }

    async fn store_batch(
        &self,
        device: &Device,
        verified: &[Result<SignedReceipt, IngestResult>],
    ) -> Result<Vec<IngestResult>, ApiError> {
        let mut tx = self.write.begin().await?;
        // Insert in sequence order, so that two instances storing overlapping batches take their
        // row locks in the same order (no deadlock); answers go back in the caller's order.
        let mut order: Vec<usize> = (0..verified.len()).collect();
        order.sort_by_key(|&i| verified[i].as_ref().map_or(0, |s| s.receipt.seq));
        let mut results: Vec<Option<IngestResult>> = vec![None; verified.len()];
        let mut deltas = Deltas::default();
        for i in order {
            let result = match &verified[i] {
                Ok(signed) => store_one(&mut tx, &mut deltas, device, signed).await?,
                Err(refused) => refused.clone(),
            };
            if let (Ingest::Rejected | Ingest::Conflict, Some(reason)) = (result.result, &result.reason) {
                sqlx::query(
                    "INSERT INTO upload_refusals (device_id, result, reason, received_ms) VALUES ($1, $2, $3, $4)",
                )
                .bind(&device.device_id)
                .bind(result.result.as_str())
                .bind(reason)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            }
            results[i] = Some(result);
        }
        let results = results.into_iter().flatten().collect();
        deltas.apply(&mut tx).await?;
        tx.commit().await?;
        Ok(results)
    }

    /// The device's chain: what is held, up to where it is whole, and the gaps.
    pub async fn chain_status(&self, device_id: &str) -> Result<ChainStatus, ApiError> {
        let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM receipts WHERE device_id = $1 ORDER BY seq")
            .bind(device_id)
            .fetch_all(&self.write)
            .await?;
        Ok(ChainStatus::of(&seqs.into_iter().map(|s| s.max(0) as u64).collect::<Vec<_>>()))
    }

    /// Every stored receipt of a device in sequence order (for a full chain check).
    pub async fn device_receipts(&self, device_id: &str) -> Result<Vec<Vec<u8>>, ApiError> {
        Ok(sqlx::query_scalar("SELECT cose FROM receipts WHERE device_id = $1 ORDER BY seq")
            .bind(device_id)
            .fetch_all(&self.read)
            .await?)
    }

    /// The signed bytes of one of `device_id`'s receipts.
    pub async fn receipt_cose(&self, device_id: &str, receipt_id: &str) -> Result<Option<Vec<u8>>, ApiError> {
        Ok(sqlx::query_scalar("SELECT cose FROM receipts WHERE id = $1 AND device_id = $2")
            .bind(receipt_id)
            .bind(device_id)
            .fetch_optional(&self.read)
            .await?)
    }
}

/// Stores one verified receipt inside `tx`, unless its id or sequence is taken or it does not
/// link to the neighbours already stored.
async fn store_one(
    tx: &mut Tx,
    deltas: &mut Deltas,
    device: &Device,
    signed: &SignedReceipt,
) -> Result<IngestResult, ApiError> {
    let (r, cose, hash) = (&signed.receipt, &signed.bytes, signed.hash());
    // One statement, one snapshot: under READ COMMITTED a racing instance may commit between two
    // look-ups, and the same receipt must then read as a duplicate, not as a fork.
    let taken: Vec<TakenRow> =
        sqlx::query_as("SELECT id, cose FROM receipts WHERE id = $1 OR (device_id = $2 AND seq = $3)")
            .bind(&r.id)
            .bind(&device.device_id)
            .bind(bounds::to_i64(r.seq))
            .fetch_all(&mut **tx)
            .await?;
    let taken: Vec<Taken> = taken.into_iter().map(|t| Taken { id: t.id, cose: t.cose }).collect();
    if let Some(answer) = ingest::already_taken(r, cose, &taken) {
        return Ok(answer);
    }
    let neighbour = |s: u64, column: &'static str| {
        sqlx::query_scalar::<_, Vec<u8>>(sqlx::AssertSqlSafe(format!(
            "SELECT {column} FROM receipts WHERE device_id = $1 AND seq = $2"
        )))
        .bind(device.device_id.clone())
        .bind(bounds::to_i64(s))
    };
    let prev_hash = match r.seq {
        0 | 1 => None,
        s => neighbour(s - 1, "hash").fetch_optional(&mut **tx).await?,
    };
    let next_prev = neighbour(r.seq.saturating_add(1), "prev").fetch_optional(&mut **tx).await?;
    if !ingest::links(r, &hash, prev_hash.as_deref(), next_prev.as_deref()) {
        let why = "does not link to its neighbours in the device's chain".to_string();
        return Ok(IngestResult::of(r, Ingest::Rejected, Some(why)));
    }
    let indexed = Indexed::of(r);
    let now = now_ms();
    let roster = roster_row(tx, r).await?;
    let household = match (&roster, r.evidence.as_ref().map(|e| &e.method)) {
        (Some(_), Some(salur_core::receipt::Method::Proxy { .. })) => {
            sqlx::query_scalar::<_, Vec<u8>>("SELECT member FROM household WHERE roster_id = $1 AND recipient = $2")
                .bind(&r.roster_id)
                .bind(&r.recipient)
                .fetch_all(&mut **tx)
                .await?
        }
        _ => Vec::new(),
    };
    let facts =
        roster.as_ref().map(|row| RosterFacts { worker_id: row.worker_id.clone(), amount: row.amount, household });
    if let Err(why) = bounds::within_roster(r, facts.as_ref()) {
        return Ok(IngestResult::of(r, Ingest::Rejected, Some(format!("invalid receipt: {why}"))));
    }
    // A revoked device's receipt is kept (nothing honest is stranded) but held out of every count
    // until an auditor decides: neither its clock nor its sequence proves when it was signed.
    let held = device.status == DeviceStatus::Revoked;
    let previous_challenge = match ingest::challenge(r) {
        Some(_) => sqlx::query_scalar::<_, Option<i64>>(
            "SELECT challenge FROM receipts WHERE roster_id = $1 AND recipient = $2 AND challenge IS NOT NULL
                 ORDER BY signed_ms DESC LIMIT 1",
        )
        .bind(&r.roster_id)
        .bind(&r.recipient)
        .fetch_optional(&mut **tx)
        .await?
        .flatten(),
        None => None,
    };
    let flag = if held {
        Some(ingest::Flag::DeviceRevoked.to_string())
    } else {
        ingest::flag(r, &device.worker_id, facts.as_ref())
            .or_else(|| ingest::challenge_flag(r, previous_challenge))
            .map(|f| f.to_string())
    };
    let reference = match &roster {
        Some(row) if row.has_template != 0 => verdict::Reference::Registry,
        _ => verdict::Reference::None,
    };
    let verdict = verdict::on_arrival(r, reference);
    let approval = approval_of(tx, r, &device.worker_id).await?;
    // After the period closed the receipt is still kept (nothing is lost), marked late.
    let late = sqlx::query_scalar::<_, i64>("SELECT closed_ms FROM closed_periods WHERE roster_id = $1")
        .bind(&r.roster_id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    let evidence = r.evidence.as_ref();
    sqlx::query(
        "INSERT INTO receipts (id, device_id, seq, prev, hash, cose, roster_id, recipient, outcome, reason, method,
                               amount, signed_ms, received_ms, score_e6, threshold_e6, flag, liveness,
                               override_approval, code, late, verdict, held, challenge)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                 $22, $23, $24)",
    )
    .bind(&r.id)
    .bind(&device.device_id)
    .bind(bounds::to_i64(r.seq))
    .bind(&r.prev)
    .bind(hash.to_vec())
    .bind(cose)
    .bind(&r.roster_id)
    .bind(&r.recipient)
    .bind(indexed.outcome)
    .bind(&indexed.reason)
    .bind(&indexed.method)
    .bind(bounds::to_i64(r.amount))
    .bind(r.time.wall_ms)
    .bind(now)
    .bind(evidence.and_then(|e| e.score_e6).map(i64::from))
    .bind(evidence.and_then(|e| e.threshold_e6).map(i64::from))
    .bind(&flag)
    .bind(indexed.liveness)
    .bind(approval.map(overrides::Approval::as_str))
    .bind(salur_core::receipt::code(cose).replace('-', ""))
    .bind(i64::from(late))
    .bind(verdict.map(Verdict::as_str))
    .bind(i64::from(held))
    .bind(ingest::challenge(r))
    .execute(&mut **tx)
    .await
    .map_err(|e| match e {
        // Lost a race with another instance (or PostgreSQL broke a lock cycle): retry the batch.
        sqlx::Error::Database(d) if d.is_unique_violation() || d.code().as_deref() == Some("40P01") => {
            ApiError::Conflict("raced".into())
        }
        other => other.into(),
    })?;
    if held {
        deltas.device_receipt(&device.device_id, &indexed, r.seq, r.time.wall_ms, now);
    } else {
        deltas.receipt(&device.device_id, &r.roster_id, &indexed, r.seq, r.time.wall_ms, now);
    }
    if let Some(why) = &flag {
        deltas.count(&r.roster_id, format!("flag:{why}"));
    }
    if late {
        deltas.count(&r.roster_id, "late".into());
    }
    if held {
        return Ok(IngestResult::of(r, Ingest::Accepted, flag));
    }
    count(tx, deltas, r, &indexed, approval, flag.is_some(), roster.as_ref(), now).await?;
    Ok(IngestResult::of(r, Ingest::Accepted, flag))
}

/// The recipient's row a receipt is checked against and counted in.
pub(super) async fn roster_row(tx: &mut Tx, r: &Receipt) -> Result<Option<RosterRow>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT worker_id, amount, province, regency, post_office, standing, overridden,
                CAST(CASE WHEN template IS NULL AND enrolled_template IS NULL THEN 0 ELSE 1 END AS BIGINT)
                    AS has_template FROM recipients
         WHERE roster_id = $1 AND recipient = $2",
    )
    .bind(&r.roster_id)
    .bind(&r.recipient)
    .fetch_optional(&mut **tx)
    .await?)
}

/// What the override approval a receipt carries is worth, from the worker `worker_id`.
async fn approval_of(tx: &mut Tx, r: &Receipt, worker_id: &str) -> Result<Option<Approval>, ApiError> {
    let supervisor = match overrides::supervisor_of(r) {
        Some(id) => super::supervisors::supervisor(tx, id).await?,
        None => None,
    };
    Ok(overrides::check(r, worker_id, supervisor.as_ref()))
}

/// What a counted receipt does beyond being stored: the roster's counts, the recipient's
/// standing and its area's counters, the reallocation case. Ingestion runs it for every receipt
/// not held; an auditor's decision to count a held one runs it then.
#[allow(clippy::too_many_arguments)]
pub(super) async fn count(
    tx: &mut Tx,
    deltas: &mut Deltas,
    r: &Receipt,
    indexed: &Indexed,
    approval: Option<Approval>,
    flagged: bool,
    roster: Option<&RosterRow>,
    now: i64,
) -> Result<(), ApiError> {
    let outcome = Standing::of(&r.outcome);
    let paid = outcome == Standing::Paid;
    if let Some(a) = approval {
        deltas.count(&r.roster_id, format!("override_approval:{}", a.as_str()));
    }
    if let (Some(why), Standing::Ineligible) = (&indexed.reason, outcome) {
        deltas.count(&r.roster_id, format!("ineligible:{why}"));
    }
    if ingest::is_low_score(r) {
        deltas.count(&r.roster_id, "low_score".into());
    }
    if let Some(row) = roster {
        let old = RecipientStanding { standing: Standing::from_code(row.standing), overridden: row.overridden != 0 };
        if let Some(new) = areas::raise(old, outcome, indexed.is_override()) {
            sqlx::query(
                "UPDATE recipients SET standing = $1, overridden = $2, paid_receipts = paid_receipts + $3
                 WHERE roster_id = $4 AND recipient = $5",
            )
            .bind(new.standing.code())
            .bind(i64::from(new.overridden))
            .bind(i64::from(paid))
            .bind(&r.roster_id)
            .bind(&r.recipient)
            .execute(&mut **tx)
            .await?;
            let key = (r.roster_id.clone(), row.province.clone(), row.regency.clone(), row.post_office.clone());
            deltas.moved(key, row.amount, Some(old), new);
        }
    }
    let before = roster.map_or(Standing::NotVisited, |row| Standing::from_code(row.standing));
    let roster_amount = roster.map(|row| row.amount);
    super::reallocations::on_receipt(tx, deltas, r, flagged, roster_amount, before, now).await?;
    Ok(())
}
