//! The server's database: devices, verified receipts, the reallocation queue.
//!
//! Embedded SQLite by default (WAL, `synchronous=FULL`, one writer connection so ingestion is
//! serialized without lock-upgrade failures, readers beside it), or PostgreSQL for national scale
//! (several stateless API instances over one database). The same SQL runs on both through sqlx's
//! `Any` driver; each backend has its own migrations.

use std::path::Path;
use std::str::FromStr;

use salur_core::crypto;
use salur_core::receipt::{self, Outcome, SignedReceipt, GENESIS};
use serde::Serialize;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;
use sqlx::{Executor, Row};

use crate::error::ApiError;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Registration state of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Waiting for an administrator.
    Pending,
    /// May upload.
    Approved,
    /// May no longer upload; its receipts stay.
    Revoked,
}

impl DeviceStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Revoked => "revoked",
        }
    }
}

impl FromStr for DeviceStatus {
    type Err = ApiError;
    fn from_str(s: &str) -> Result<Self, ApiError> {
        Ok(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "revoked" => Self::Revoked,
            other => return Err(ApiError::Internal(format!("unknown device status {other}"))),
        })
    }
}

/// A registered device.
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    /// Device id.
    pub device_id: String,
    /// Worker using it.
    pub worker_id: String,
    /// Post office it belongs to.
    pub post_office: String,
    /// SPKI DER of its signing key.
    #[serde(skip)]
    pub public_key: Vec<u8>,
    /// Registration state.
    pub status: DeviceStatus,
    /// Certificates in the key attestation chain sent at registration (0: none sent).
    pub attestation_certs: u64,
}

/// What happened to one uploaded receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ingest {
    /// Verified and stored.
    Accepted,
    /// Already stored with exactly these bytes: same answer as the first time.
    Duplicate,
    /// Refused (signature, device, chain link); nothing stored.
    Rejected,
    /// Its id or sequence number is already taken by different bytes; the first is kept.
    Conflict,
}

/// The answer for one receipt.
#[derive(Debug, Clone, Serialize)]
pub struct IngestResult {
    /// Receipt id, when the receipt could be read.
    pub id: Option<String>,
    /// Sequence number, when the receipt could be read.
    pub seq: Option<u64>,
    /// Outcome.
    pub result: Ingest,
    /// Why, for rejected and conflict; for an accepted receipt, what the server flagged for audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl IngestResult {
    fn refused(result: Ingest, id: Option<String>, seq: Option<u64>, reason: String) -> Self {
        Self { id, seq, result, reason: Some(reason) }
    }
}

/// A device's chain as the server holds it.
#[derive(Debug, Clone, Serialize)]
pub struct ChainStatus {
    /// Receipts held.
    pub received: u64,
    /// Highest sequence with every sequence before it present.
    pub contiguous_to: u64,
    /// Highest sequence held.
    pub max_seq: u64,
    /// Missing ranges `[from, to]` below `max_seq`.
    pub gaps: Vec<[u64; 2]>,
}

/// Handles to the database.
#[derive(Clone)]
pub struct Db {
    pub(crate) read: AnyPool,
    pub(crate) write: AnyPool,
}

impl Db {
    /// Opens (creating and migrating) `salur.db` in `data_dir`.
    pub async fn open(data_dir: &Path) -> Result<Self, ApiError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| ApiError::Internal(format!("creating {}: {e}", data_dir.display())))?;
        Self::connect(&format!("sqlite://{}?mode=rwc", data_dir.join("salur.db").display())).await
    }

    /// Connects to `sqlite://PATH` or `postgres://...` and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, ApiError> {
        sqlx::any::install_default_drivers();
        let (db, migrator) = if url.starts_with("sqlite:") {
            let options = || {
                AnyPoolOptions::new().after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
                             PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                        Ok(())
                    })
                })
            };
            let write = options().max_connections(1).connect(url).await?;
            let read = options().max_connections(4).connect(url).await?;
            (Self { read, write }, sqlx::migrate!("./migrations/sqlite"))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new().max_connections(16).connect(url).await?;
            (Self { read: pool.clone(), write: pool }, sqlx::migrate!("./migrations/postgres"))
        } else {
            return Err(ApiError::BadRequest("the database URL must start with sqlite: or postgres:".into()));
        };
        migrator.run(&db.write).await.map_err(|e| ApiError::Internal(format!("migrating the database: {e}")))?;
        db.rebuild_if_needed().await?;
        Ok(db)
    }

    /// Registers a device as pending; the same registration again is a no-op, another key for
    /// a known device id is a conflict.
    pub async fn register_device(
        &self,
        device_id: &str,
        worker_id: &str,
        post_office: &str,
        spki: &[u8],
        attestation: &[String],
    ) -> Result<Device, ApiError> {
        if let Some(d) = self.device(device_id).await? {
            if d.public_key == spki && d.worker_id == worker_id && d.post_office == post_office {
                return Ok(d);
            }
            return Err(ApiError::Conflict(format!("device {device_id} is registered with another key or worker")));
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO devices (device_id, worker_id, post_office, public_key, key_id, status, registered_ms, status_ms,
                                  attestation)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)",
        )
        .bind(device_id)
        .bind(worker_id)
        .bind(post_office)
        .bind(spki)
        .bind(crypto::key_id(spki))
        .bind(now)
        .bind(now)
        .bind((!attestation.is_empty()).then(|| serde_json::json!(attestation).to_string()))
        .execute(&self.write)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                ApiError::Conflict("this key is already registered to another device".into())
            }
            other => other.into(),
        })?;
        self.device(device_id).await?.ok_or_else(|| ApiError::Internal("device vanished".into()))
    }

    /// One device.
    pub async fn device(&self, device_id: &str) -> Result<Option<Device>, ApiError> {
        let row = sqlx::query(
            "SELECT device_id, worker_id, post_office, public_key, status, attestation FROM devices WHERE device_id = $1",
        )
        .bind(device_id)
        .fetch_optional(&self.write)
        .await?;
        row.map(|r| device_from_row(&r)).transpose()
    }

    /// All devices.
    pub async fn devices(&self) -> Result<Vec<Device>, ApiError> {
        let rows = sqlx::query(
            "SELECT device_id, worker_id, post_office, public_key, status, attestation FROM devices ORDER BY device_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(device_from_row).collect()
    }

    /// Approves or revokes a device.
    pub async fn set_device_status(&self, device_id: &str, status: DeviceStatus) -> Result<Device, ApiError> {
        let done = sqlx::query("UPDATE devices SET status = $1, status_ms = $2 WHERE device_id = $3")
            .bind(status.as_str())
            .bind(now_ms())
            .bind(device_id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::NotFound(format!("no device {device_id}")));
        }
        self.device(device_id).await?.ok_or_else(|| ApiError::Internal("device vanished".into()))
    }

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
                    let r = &signed.receipt;
                    let why = "the receipt belongs to another device".to_string();
                    return Err(IngestResult::refused(Ingest::Rejected, Some(r.id.clone()), Some(r.seq), why));
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
        let mut deltas = crate::summaries::Deltas::default();
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
                .bind(if result.result == Ingest::Rejected { "rejected" } else { "conflict" })
                .bind(reason)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            }
            results[i] = Some(result);
        }
        let results = results.into_iter().map(|r| r.expect("every index visited")).collect();
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
        let (mut gaps, mut expected) = (Vec::new(), 1u64);
        for s in seqs.iter().map(|&s| s as u64) {
            if s > expected {
                gaps.push([expected, s - 1]);
            }
            expected = s + 1;
        }
        let contiguous_to = gaps.first().map_or(expected - 1, |g| g[0] - 1);
        Ok(ChainStatus { received: seqs.len() as u64, contiguous_to, max_seq: expected - 1, gaps })
    }

    /// Every stored receipt of a device in sequence order (for a full chain check).
    pub async fn device_receipts(&self, device_id: &str) -> Result<Vec<Vec<u8>>, ApiError> {
        Ok(sqlx::query_scalar("SELECT cose FROM receipts WHERE device_id = $1 ORDER BY seq")
            .bind(device_id)
            .fetch_all(&self.read)
            .await?)
    }
}

fn device_from_row(r: &AnyRow) -> Result<Device, ApiError> {
    Ok(Device {
        device_id: r.get(0),
        worker_id: r.get(1),
        post_office: r.get(2),
        public_key: r.get(3),
        status: r.get::<String, _>(4).parse()?,
        attestation_certs: r
            .get::<Option<String>, _>(5)
            .and_then(|a| serde_json::from_str::<Vec<String>>(&a).ok())
            .map_or(0, |certs| certs.len() as u64),
    })
}

/// Stores one verified receipt inside `tx`, unless its id or sequence is taken or it does not
/// link to the neighbours already stored.
async fn store_one(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    deltas: &mut crate::summaries::Deltas,
    device: &Device,
    signed: &SignedReceipt,
) -> Result<IngestResult, ApiError> {
    let (r, cose, hash) = (&signed.receipt, &signed.bytes, signed.hash());
    let (id, seq) = (Some(r.id.clone()), Some(r.seq));
    let refuse = |result, reason: String| Ok(IngestResult::refused(result, id.clone(), seq, reason));
    // One statement, one snapshot: under READ COMMITTED a racing instance may commit between two
    // look-ups, and the same receipt must then read as a duplicate, not as a fork.
    let existing = sqlx::query("SELECT id, cose FROM receipts WHERE id = $1 OR (device_id = $2 AND seq = $3)")
        .bind(&r.id)
        .bind(&device.device_id)
        .bind(r.seq as i64)
        .fetch_all(&mut **tx)
        .await?;
    if let Some(row) = existing.iter().find(|row| row.get::<String, _>(0) == r.id) {
        return if row.get::<Vec<u8>, _>(1) == *cose {
            Ok(IngestResult { id, seq, result: Ingest::Duplicate, reason: None })
        } else {
            refuse(Ingest::Conflict, "another receipt with this id is already stored; the first is kept".into())
        };
    }
    if let Some(row) = existing.first() {
        let other: String = row.get(0);
        return refuse(Ingest::Conflict, format!("sequence {} is already used by receipt {other} (a fork)", r.seq));
    }
    let neighbour = |s: u64| {
        sqlx::query("SELECT id, hash, prev FROM receipts WHERE device_id = $1 AND seq = $2")
            .bind(&device.device_id)
            .bind(s as i64)
    };
    // Link to whichever neighbours are already here; the others are checked when they arrive.
    let prev_ok = if r.seq == 1 {
        r.prev == GENESIS
    } else {
        match neighbour(r.seq - 1).fetch_optional(&mut **tx).await? {
            Some(row) => row.get::<Vec<u8>, _>(1) == r.prev,
            None => true,
        }
    };
    let next_ok = match neighbour(r.seq + 1).fetch_optional(&mut **tx).await? {
        Some(row) => row.get::<Vec<u8>, _>(2) == hash,
        None => true,
    };
    if !prev_ok || !next_ok {
        return refuse(Ingest::Rejected, "does not link to its neighbours in the device's chain".into());
    }
    let (outcome, reason, note) = match &r.outcome {
        Outcome::Paid => ("paid", None, None),
        Outcome::Ineligible { reason, note } => {
            let reason = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_string));
            ("ineligible", reason, note.clone())
        }
        Outcome::NotHome => ("not_home", None, None),
        Outcome::Refused => ("refused", None, None),
    };
    let method = r
        .evidence
        .as_ref()
        .and_then(|e| serde_json::to_value(&e.method).ok())
        .and_then(|m| m.get("kind").and_then(|k| k.as_str()).map(str::to_string));
    let now = now_ms();
    // The receipt is the phone's signed word and is kept; the server flags what does not match
    // the roster it handed out, for an auditor.
    let roster = sqlx::query(
        "SELECT worker_id, amount, province, regency, post_office, standing, overridden FROM recipients
         WHERE roster_id = $1 AND recipient = $2",
    )
    .bind(&r.roster_id)
    .bind(&r.recipient)
    .fetch_optional(&mut **tx)
    .await?;
    let flag = match &roster {
        None => Some("recipient not on the roster".to_string()),
        Some(row) if row.get::<String, _>(0) != device.worker_id => Some("recipient assigned to another worker".into()),
        Some(row) if outcome != "not_home" && row.get::<i64, _>(1) != r.amount as i64 => {
            Some(format!("amount differs from the roster ({})", row.get::<i64, _>(1)))
        }
        Some(_) => None,
    };
    sqlx::query(
        "INSERT INTO receipts (id, device_id, seq, prev, hash, cose, roster_id, recipient, outcome, reason, method,
                               amount, signed_ms, received_ms, score_e6, threshold_e6, flag)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&r.id)
    .bind(&device.device_id)
    .bind(r.seq as i64)
    .bind(&r.prev)
    .bind(hash.to_vec())
    .bind(cose)
    .bind(&r.roster_id)
    .bind(&r.recipient)
    .bind(outcome)
    .bind(&reason)
    .bind(&method)
    .bind(r.amount as i64)
    .bind(r.time.wall_ms)
    .bind(now)
    .bind(r.evidence.as_ref().and_then(|e| e.score_e6).map(i64::from))
    .bind(r.evidence.as_ref().and_then(|e| e.threshold_e6).map(i64::from))
    .bind(&flag)
    .execute(&mut **tx)
    .await
    .map_err(|e| match e {
        // Lost a race with another instance (or PostgreSQL broke a lock cycle): retry the batch.
        sqlx::Error::Database(d) if d.is_unique_violation() || d.code().as_deref() == Some("40P01") => {
            ApiError::Conflict("raced".into())
        }
        other => other.into(),
    })?;
    let is_override = method.as_deref() == Some("supervisor_override");
    deltas.receipt(&device.device_id, &r.roster_id, outcome == "paid", is_override, r.seq, r.time.wall_ms, now);
    if let Some(why) = &flag {
        deltas.count(&r.roster_id, format!("flag:{why}"));
    }
    if let Some(why) = reason.as_ref().filter(|_| outcome == "ineligible") {
        deltas.count(&r.roster_id, format!("ineligible:{why}"));
    }
    if let Some(e) = r.evidence.as_ref().filter(|_| outcome == "paid") {
        if let (Some(score), Some(threshold)) = (e.score_e6, e.threshold_e6) {
            if score >= threshold && i64::from(score) < i64::from(threshold) + crate::dashboard::LOW_SCORE_MARGIN_E6 {
                deltas.count(&r.roster_id, "low_score".into());
            }
        }
    }
    if let Some(row) = &roster {
        let standing = (row.get(2), row.get(3), row.get(4), row.get(1), row.get(5), row.get::<i64, _>(6) != 0);
        crate::summaries::raise_standing(tx, deltas, &r.roster_id, &r.recipient, standing, outcome, is_override)
            .await?;
    }
    if let Some(reason) = reason.filter(|_| outcome == "ineligible") {
        sqlx::query(
            "INSERT INTO reallocations (receipt_id, roster_id, recipient, amount, reason, note, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.id)
        .bind(&r.roster_id)
        .bind(&r.recipient)
        .bind(r.amount as i64)
        .bind(reason)
        .bind(note)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(IngestResult { id, seq, result: Ingest::Accepted, reason: flag })
}
