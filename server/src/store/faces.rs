//! The national 1:N check: each paid face is stored (sealed, packed) and searched against every
//! face of its programme period, by brute force over an in-memory index per instance that is
//! brought up to date from the database before each search (see migration 0019 for why no
//! instance misses a face another stored).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use salur_core::receipt::{Method, Outcome};

use super::seal::Sealer;
use super::Db;
use crate::clock::now_ms;
use crate::domain::devices::Device;
use crate::domain::duplicates::{self, FaceDuplicate, FaceOf, Hit, Packed, DIM, THRESHOLD_1N};
use crate::error::ApiError;

/// Rows read from the database per page while an index catches up.
const PAGE: i64 = 50_000;

/// Most matches of one new face looked at (its own receipt among them), closest first.
const MAX_HITS: usize = 8;

/// Each programme period's packed faces and the last `seq` read into them.
#[derive(Default)]
pub(crate) struct FaceIndexes(HashMap<String, (Packed, i64)>);

#[derive(sqlx::FromRow)]
struct FaceRow {
    seq: i64,
    receipt_id: String,
    vector: Vec<u8>,
}

fn face_aad(receipt_id: &str) -> Vec<u8> {
    [b"faces|vector|", receipt_id.as_bytes()].concat()
}

/// How many faces of a period this instance holds, and their bytes (for the bench and `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSize {
    /// Faces.
    pub faces: usize,
    /// Bytes held (packed vectors and sequence numbers).
    pub bytes: usize,
}

impl Db {
    /// Stores the paid face of `receipt_id` (its evidence embedding) and checks it against every
    /// face of its period: new duplicates are kept for the dashboard. Returns how many were new.
    pub async fn check_face(&self, device: &Device, receipt_id: &str, embedding: &[f32]) -> Result<usize, ApiError> {
        let Some(cose) = self.receipt_cose(&device.device_id, receipt_id).await? else { return Ok(0) };
        // A revoked device's hand-ins count nowhere until an auditor decides: nor here (it could
        // otherwise flag honest receipts with crops of people it paid before).
        let held: i64 = sqlx::query_scalar("SELECT held FROM receipts WHERE id = $1")
            .bind(receipt_id)
            .fetch_one(&self.read)
            .await?;
        if held != 0 {
            return Ok(0);
        }
        let r = salur_core::receipt::verify(&cose, &device.public_key)
            .map_err(|e| ApiError::Internal(format!("stored receipt no longer verifies: {e}")))?
            .receipt;
        let Some(vector) = duplicates::pack(embedding) else { return Ok(0) };
        if r.outcome != Outcome::Paid {
            return Ok(0);
        }
        let person = match r.evidence.as_ref().map(|e| &e.method) {
            Some(Method::Proxy { member, .. }) => member.clone(),
            _ => r.recipient.clone(),
        };
        let mut tx = self.write.begin().await?;
        let seq: i64 = sqlx::query_scalar("UPDATE face_seq SET next = next + 1 WHERE id = 1 RETURNING next")
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO faces (seq, receipt_id, roster_id, recipient, person, vector, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (receipt_id) DO NOTHING",
        )
        .bind(seq)
        .bind(receipt_id)
        .bind(&r.roster_id)
        .bind(&r.recipient)
        .bind(&person)
        .bind(self.seal.seal_bytes(&face_aad(receipt_id), &vector.map(|x| x as u8))?)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.catch_up_faces(&r.roster_id).await?;
        let me = FaceOf { receipt_id: receipt_id.to_string(), recipient: r.recipient.clone(), person };
        let index = self.faces.clone();
        let roster = r.roster_id.clone();
        // The search is CPU work over every face of the period: on a blocking thread.
        let hits: Vec<Hit> = tokio::task::spawn_blocking(move || {
            // A read lock: searches of one instance run side by side, on every core.
            let indexes = index.read().unwrap_or_else(PoisonError::into_inner);
            indexes.0.get(&roster).map_or_else(Vec::new, |(packed, _)| packed.search(&vector, THRESHOLD_1N))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("face search: {e}")))?;
        // The closest few are enough to flag a face (its own stored copy among them): a face
        // planted under many receipts must not make every later upload do work in proportion.
        let mut hits = hits;
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(MAX_HITS);
        let mine = self.kk(&r.roster_id, &me.recipient).await?;
        let mut found = 0;
        for hit in hits {
            let Some(other) = self.face_of(hit.seq).await? else { continue };
            if other.receipt_id == me.receipt_id {
                continue;
            }
            let score = hit.score;
            let theirs = self.kk(&r.roster_id, &other.recipient).await?;
            if !duplicates::is_duplicate(&me, &mine, &other, &theirs) {
                continue;
            }
            let (a, b) = if me.receipt_id < other.receipt_id { (&me, &other) } else { (&other, &me) };
            found += sqlx::query(
                "INSERT INTO face_duplicates (receipt_a, receipt_b, roster_id, score_e6, found_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (receipt_a, receipt_b) DO NOTHING",
            )
            .bind(&a.receipt_id)
            .bind(&b.receipt_id)
            .bind(&r.roster_id)
            .bind((f64::from(score) * 1e6).round() as i64)
            .bind(now_ms())
            .execute(&self.write)
            .await?
            .rows_affected() as usize;
        }
        Ok(found)
    }

    /// Who the stored face `seq` is.
    async fn face_of(&self, seq: i64) -> Result<Option<FaceOf>, ApiError> {
        let row: Option<(String, Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT receipt_id, recipient, person FROM faces WHERE seq = $1")
                .bind(seq)
                .fetch_optional(&self.read)
                .await?;
        Ok(row.map(|(receipt_id, recipient, person)| FaceOf { receipt_id, recipient, person }))
    }

    /// The KK member references of a recipient.
    async fn kk(&self, roster_id: &str, recipient: &[u8]) -> Result<BTreeSet<Vec<u8>>, ApiError> {
        let members: Vec<Vec<u8>> =
            sqlx::query_scalar("SELECT member FROM household WHERE roster_id = $1 AND recipient = $2")
                .bind(roster_id)
                .bind(recipient)
                .fetch_all(&self.read)
                .await?;
        Ok(members.into_iter().collect())
    }

    /// Reads the faces of `roster_id` this instance has not seen yet into its index (every face
    /// committed before this call: seq order is commit order).
    pub async fn catch_up_faces(&self, roster_id: &str) -> Result<IndexSize, ApiError> {
        loop {
            let last = {
                let indexes = self.faces.read().unwrap_or_else(PoisonError::into_inner);
                indexes.0.get(roster_id).map_or(0, |(_, last)| *last)
            };
            let rows: Vec<FaceRow> = sqlx::query_as(
                "SELECT seq, receipt_id, vector FROM faces
                 WHERE roster_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(roster_id)
            .bind(last)
            .bind(PAGE)
            .fetch_all(&self.write)
            .await?;
            let full = rows.len() as i64 == PAGE;
            let (seal, index, roster) = (self.seal.clone(), self.faces.clone(), roster_id.to_string());
            tokio::task::spawn_blocking(move || add_rows(&seal, &index, &roster, rows))
                .await
                .map_err(|e| ApiError::Internal(format!("face index: {e}")))??;
            if !full {
                let indexes = self.faces.read().unwrap_or_else(PoisonError::into_inner);
                let (faces, bytes) = indexes.0.get(roster_id).map_or((0, 0), |(p, _)| (p.len(), p.bytes()));
                return Ok(IndexSize { faces, bytes });
            }
        }
    }

    /// The roster's flagged duplicates, newest first, with both receipts' post offices.
    pub async fn face_duplicates(&self, roster_id: &str, limit: i64) -> Result<(u64, Vec<FaceDuplicate>), ApiError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM face_duplicates WHERE roster_id = $1")
            .bind(roster_id)
            .fetch_one(&self.read)
            .await?;
        let rows: Vec<FaceDuplicate> = sqlx::query_as(
            "SELECT f.receipt_a, f.receipt_b, da.post_office AS post_office_a, db.post_office AS post_office_b, f.score_e6
             FROM face_duplicates f
             JOIN receipts ra ON ra.id = f.receipt_a JOIN devices da ON da.device_id = ra.device_id
             JOIN receipts rb ON rb.id = f.receipt_b JOIN devices db ON db.device_id = rb.device_id
             WHERE f.roster_id = $1 ORDER BY f.found_ms DESC, f.receipt_a, f.receipt_b LIMIT $2",
        )
        .bind(roster_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok((count.max(0) as u64, rows))
    }
}

/// Opens and adds rows (in seq order) that the index does not hold yet.
fn add_rows(seal: &Sealer, index: &RwLock<FaceIndexes>, roster: &str, rows: Vec<FaceRow>) -> Result<(), ApiError> {
    let mut opened = Vec::with_capacity(rows.len());
    for row in rows {
        let bytes = seal.open_bytes(&face_aad(&row.receipt_id), &row.vector)?;
        if bytes.len() != DIM {
            return Err(ApiError::Internal(format!("stored face of {} has {} values", row.receipt_id, bytes.len())));
        }
        let vector: [i8; DIM] = std::array::from_fn(|i| bytes[i] as i8);
        opened.push((row.seq, vector));
    }
    let mut indexes = index.write().unwrap_or_else(PoisonError::into_inner);
    let (packed, last) = indexes.0.entry(roster.to_string()).or_default();
    // Another request may have read the same rows meanwhile: add each once.
    for (seq, vector) in opened {
        if seq > *last {
            packed.push(&vector, seq);
            *last = seq;
        }
    }
    Ok(())
}

/// A new, empty set of indexes (one per database handle and its clones).
pub(crate) fn new_indexes() -> Arc<RwLock<FaceIndexes>> {
    Arc::default()
}
