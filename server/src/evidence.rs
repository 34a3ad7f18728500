//! Evidence face crops: resumable upload after the receipt, checked against the SHA-256 the
//! receipt signs, embedded with rust-core's SFace, and swept 1:N for one face collecting for
//! several recipients.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use salur_core::face::{cosine, decode_image, FaceConfig, FaceEngine};
use serde::Serialize;
use sqlx::Row;

use crate::db::{now_ms, Db, Device};
use crate::error::ApiError;

/// Largest evidence file accepted (a 112x112 JPEG crop is a few kilobytes).
pub const MAX_EVIDENCE: u64 = 256 * 1024;

/// How far an upload has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UploadStatus {
    /// Bytes held (the offset to send next).
    pub received: u64,
    /// Size of the whole file (0 before the first chunk).
    pub total: u64,
    /// All bytes arrived and their hash matches the receipt.
    pub complete: bool,
}

/// Two paid receipts of different recipients whose evidence faces match.
#[derive(Debug, Clone, Serialize)]
pub struct SuspiciousPair {
    /// One receipt.
    pub receipt_a: String,
    /// The other.
    pub receipt_b: String,
    /// Post office both were paid in.
    pub post_office: String,
    /// Cosine similarity of the two faces.
    pub score: f32,
}

/// The result of a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    /// Faces compared.
    pub faces: u64,
    /// Pairs compared.
    pub comparisons: u64,
    /// Threshold used.
    pub threshold: f32,
    /// Pairs above it, highest score first.
    pub pairs: Vec<SuspiciousPair>,
}

/// The face engine, loaded on first use (most requests never need it).
#[derive(Clone, Default)]
pub struct Faces(Arc<Mutex<Option<Arc<FaceEngine>>>>);

impl Faces {
    fn get(&self) -> Result<Arc<FaceEngine>, ApiError> {
        let mut slot = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = slot.as_ref() {
            return Ok(e.clone());
        }
        let engine = Arc::new(
            FaceEngine::bundled(FaceConfig::default()).map_err(|e| ApiError::Internal(format!("face models: {e}")))?,
        );
        *slot = Some(engine.clone());
        Ok(engine)
    }
}

fn embedding_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn embedding_from(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

impl Db {
    /// The SHA-256 the device's stored receipt signs for its evidence crop.
    async fn signed_face_hash(&self, device: &Device, receipt_id: &str) -> Result<Vec<u8>, ApiError> {
        let cose: Vec<u8> = sqlx::query_scalar("SELECT cose FROM receipts WHERE id = $1 AND device_id = $2")
            .bind(receipt_id)
            .bind(&device.device_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no receipt {receipt_id} from this device: upload it first")))?;
        let signed = salur_core::receipt::verify(&cose, &device.public_key)
            .map_err(|e| ApiError::Internal(format!("stored receipt no longer verifies: {e}")))?;
        signed
            .receipt
            .evidence
            .and_then(|e| e.face_sha256)
            .ok_or_else(|| ApiError::NotFound("this receipt names no evidence face crop".into()))
    }

    /// Upload progress of a receipt's evidence.
    pub async fn evidence_status(&self, device: &Device, receipt_id: &str) -> Result<UploadStatus, ApiError> {
        self.signed_face_hash(device, receipt_id).await?;
        let row = sqlx::query("SELECT total, LENGTH(data), complete FROM evidence WHERE receipt_id = $1")
            .bind(receipt_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map_or(UploadStatus { received: 0, total: 0, complete: false }, |r| UploadStatus {
            total: r.get::<i64, _>(0) as u64,
            received: r.get::<i64, _>(1) as u64,
            complete: r.get::<i64, _>(2) != 0,
        }))
    }

    /// Appends `chunk` at `offset` of a `total`-byte upload. A wrong offset is a conflict that
    /// names the right one; the last chunk is checked against the signed hash, and the face embedded.
    pub async fn put_evidence(
        &self,
        faces: &Faces,
        device: &Device,
        receipt_id: &str,
        offset: u64,
        total: u64,
        chunk: &[u8],
    ) -> Result<UploadStatus, ApiError> {
        let signed_hash = self.signed_face_hash(device, receipt_id).await?;
        if total == 0 || total > MAX_EVIDENCE {
            return Err(ApiError::PayloadTooLarge(format!("evidence must be 1 to {MAX_EVIDENCE} bytes")));
        }
        let mut tx = self.write.begin().await?;
        let row = sqlx::query("SELECT total, data, complete FROM evidence WHERE receipt_id = $1")
            .bind(receipt_id)
            .fetch_optional(&mut *tx)
            .await?;
        let (mut data, held_total) = match row {
            Some(r) if r.get::<i64, _>(2) != 0 => {
                let held = r.get::<Vec<u8>, _>(1).len() as u64;
                return Ok(UploadStatus { received: held, total: held, complete: true });
            }
            Some(r) => (r.get::<Vec<u8>, _>(1), Some(r.get::<i64, _>(0) as u64)),
            None => (Vec::new(), None),
        };
        let held = data.len() as u64;
        if offset != held || held_total.is_some_and(|t| t != total) {
            return Err(ApiError::Conflict(format!(
                "the server holds {held} bytes of this evidence: continue at offset {held}"
            )));
        }
        if held + chunk.len() as u64 > total {
            return Err(ApiError::BadRequest("the chunk runs past the declared total".into()));
        }
        data.extend_from_slice(chunk);
        let complete = data.len() as u64 == total;
        if complete && salur_core::crypto::sha256(&data).as_slice() != signed_hash {
            sqlx::query("DELETE FROM evidence WHERE receipt_id = $1").bind(receipt_id).execute(&mut *tx).await?;
            tx.commit().await?;
            return Err(ApiError::Unprocessable(
                "the evidence does not match the hash the receipt signs: upload discarded, send it again from 0".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO evidence (receipt_id, total, data, complete, updated_ms) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (receipt_id) DO UPDATE SET data = excluded.data, complete = excluded.complete,
                updated_ms = excluded.updated_ms",
        )
        .bind(receipt_id)
        .bind(total as i64)
        .bind(&data)
        .bind(i64::from(complete))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if complete {
            self.embed_evidence(faces, receipt_id, data).await?;
        }
        Ok(UploadStatus { received: held + chunk.len() as u64, total, complete })
    }

    async fn embed_evidence(&self, faces: &Faces, receipt_id: &str, jpeg: Vec<u8>) -> Result<(), ApiError> {
        let faces = faces.clone();
        let embedded = tokio::task::spawn_blocking(move || -> Result<Result<Vec<f32>, String>, ApiError> {
            let engine = faces.get()?;
            Ok(decode_image(&jpeg).and_then(|crop| engine.embed_crop(&crop)).map_err(|e| e.to_string()))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("embedding task: {e}")))??;
        let (embedding, problem) = match embedded {
            Ok(v) => (Some(embedding_bytes(&v)), None),
            Err(why) => (None, Some(why)),
        };
        sqlx::query("UPDATE evidence SET embedding = $1, problem = $2 WHERE receipt_id = $3")
            .bind(embedding)
            .bind(problem)
            .bind(receipt_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Compares the evidence faces of a roster's paid receipts, within each post office, across
    /// different recipients: pairs scoring at least `threshold` are one face paid as two people.
    pub async fn face_sweep(&self, roster_id: &str, threshold: f32) -> Result<Sweep, ApiError> {
        let rows = sqlx::query(
            "SELECT r.id, r.recipient, d.post_office, e.embedding FROM evidence e
             JOIN receipts r ON r.id = e.receipt_id JOIN devices d ON d.device_id = r.device_id
             WHERE r.roster_id = $1 AND r.outcome = 'paid' AND e.embedding IS NOT NULL ORDER BY r.id",
        )
        .bind(roster_id)
        .fetch_all(&self.read)
        .await?;
        type Face = (String, Vec<u8>, Vec<f32>);
        let mut by_office: BTreeMap<String, Vec<Face>> = BTreeMap::new();
        for r in &rows {
            let face = (r.get::<String, _>(0), r.get::<Vec<u8>, _>(1), embedding_from(&r.get::<Vec<u8>, _>(3)));
            by_office.entry(r.get::<String, _>(2)).or_default().push(face);
        }
        let mut sweep = Sweep { faces: rows.len() as u64, comparisons: 0, threshold, pairs: Vec::new() };
        // Blocked by post office: a face collecting twice does so on one route, and it keeps the
        // sweep quadratic in a post office's recipients, not the nation's.
        for (office, faces) in &by_office {
            for (i, a) in faces.iter().enumerate() {
                for b in &faces[i + 1..] {
                    sweep.comparisons += 1;
                    if a.1 == b.1 {
                        continue;
                    }
                    let score = cosine(&a.2, &b.2);
                    if score >= threshold {
                        sweep.pairs.push(SuspiciousPair {
                            receipt_a: a.0.clone(),
                            receipt_b: b.0.clone(),
                            post_office: office.clone(),
                            score,
                        });
                    }
                }
            }
        }
        sweep.pairs.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(sweep)
    }
}
