//! Evidence face crops: resumable upload after the receipt, checked against the SHA-256 the
//! receipt signs; embeddings kept for the 1:N sweep.

use serde::Serialize;

use super::seal::evidence_aad;
use super::Db;
use crate::clock::now_ms;
use crate::domain::devices::Device;
use crate::domain::sweep::PaidFace;
use crate::error::ApiError;
use salur_core::receipt::Receipt;

/// Largest evidence file accepted (a 112x112 JPEG crop is a few kilobytes).
pub const MAX_EVIDENCE: u64 = 256 * 1024;

/// How far an upload has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UploadStatus {
    /// Bytes held (the offset to send next).
    pub received: u64,
    /// Size of the whole file (0 before the first chunk).
    pub total: u64,
    /// All bytes arrived and their hash matches the receipt.
    pub complete: bool,
}

#[derive(sqlx::FromRow)]
struct Held {
    total: i64,
    data: Vec<u8>,
    complete: i64,
}

#[derive(sqlx::FromRow)]
struct FaceRow {
    id: String,
    recipient: Vec<u8>,
    post_office: String,
    embedding: Vec<u8>,
}

fn embedding_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn embedding_from(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

impl Db {
    /// The device's stored receipt `receipt_id`, verified again with the device's key.
    pub async fn device_receipt(&self, device: &Device, receipt_id: &str) -> Result<Receipt, ApiError> {
        let cose = self
            .receipt_cose(&device.device_id, receipt_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no receipt {receipt_id} from this device: upload it first")))?;
        let signed = salur_core::receipt::verify(&cose, &device.public_key)
            .map_err(|e| ApiError::Internal(format!("stored receipt no longer verifies: {e}")))?;
        Ok(signed.receipt)
    }

    /// The SHA-256 the device's stored receipt signs for its evidence crop.
    async fn signed_face_hash(&self, device: &Device, receipt_id: &str) -> Result<Vec<u8>, ApiError> {
        self.device_receipt(device, receipt_id)
            .await?
            .evidence
            .and_then(|e| e.face_sha256)
            .ok_or_else(|| ApiError::NotFound("this receipt names no evidence face crop".into()))
    }

    /// The embedding of a receipt's processed evidence crop, if it has one.
    pub async fn evidence_embedding(&self, receipt_id: &str) -> Result<Option<Vec<f32>>, ApiError> {
        let sealed: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT embedding FROM evidence WHERE receipt_id = $1 AND complete = 1")
                .bind(receipt_id)
                .fetch_optional(&self.read)
                .await?;
        sealed
            .flatten()
            .map(|s| Ok(embedding_from(&self.seal.open_bytes(&evidence_aad("embedding", receipt_id), &s)?)))
            .transpose()
    }

    /// Upload progress of a receipt's evidence.
    pub async fn evidence_status(&self, device: &Device, receipt_id: &str) -> Result<UploadStatus, ApiError> {
        self.signed_face_hash(device, receipt_id).await?;
        let held: Option<Held> = sqlx::query_as("SELECT total, data, complete FROM evidence WHERE receipt_id = $1")
            .bind(receipt_id)
            .fetch_optional(&self.read)
            .await?;
        let Some(h) = held else { return Ok(UploadStatus { received: 0, total: 0, complete: false }) };
        let data = self.seal.open_bytes(&evidence_aad("data", receipt_id), &h.data)?;
        Ok(UploadStatus { total: h.total.max(0) as u64, received: data.len() as u64, complete: h.complete != 0 })
    }

    /// Appends `chunk` at `offset` of a `total`-byte upload. A wrong offset is a conflict that
    /// names the right one; the last chunk is checked against the signed hash. Returns the
    /// progress and, when this chunk completed the file, its bytes (to embed).
    pub async fn put_evidence(
        &self,
        device: &Device,
        receipt_id: &str,
        offset: u64,
        total: u64,
        chunk: &[u8],
    ) -> Result<(UploadStatus, Option<Vec<u8>>), ApiError> {
        let signed_hash = self.signed_face_hash(device, receipt_id).await?;
        if total == 0 || total > MAX_EVIDENCE {
            return Err(ApiError::PayloadTooLarge(format!("evidence must be 1 to {MAX_EVIDENCE} bytes")));
        }
        let mut tx = self.write.begin().await?;
        let held: Option<Held> = sqlx::query_as("SELECT total, data, complete FROM evidence WHERE receipt_id = $1")
            .bind(receipt_id)
            .fetch_optional(&mut *tx)
            .await?;
        let aad = evidence_aad("data", receipt_id);
        let (mut data, held_total) = match held {
            Some(h) if h.complete != 0 => {
                let n = self.seal.open_bytes(&aad, &h.data)?.len() as u64;
                return Ok((UploadStatus { received: n, total: n, complete: true }, None));
            }
            Some(h) => (self.seal.open_bytes(&aad, &h.data)?, Some(h.total.max(0) as u64)),
            None => (Vec::new(), None),
        };
        let held = data.len() as u64;
        if offset != held || held_total.is_some_and(|t| t != total) {
            return Err(ApiError::Conflict(format!(
                "the server holds {held} bytes of this evidence: continue at offset {held}"
            )));
        }
        if held.checked_add(chunk.len() as u64).is_none_or(|end| end > total) {
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
        .bind(crate::domain::bounds::to_i64(total))
        .bind(self.seal.seal_bytes(&aad, &data)?)
        .bind(i64::from(complete))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let status = UploadStatus { received: held + chunk.len() as u64, total, complete };
        Ok((status, complete.then_some(data)))
    }

    /// Keeps the embedding of a completed evidence crop, or why it could not be made.
    pub async fn set_evidence_embedding(
        &self,
        receipt_id: &str,
        embedded: Result<Vec<f32>, String>,
    ) -> Result<(), ApiError> {
        let (embedding, problem) = match embedded {
            Ok(v) => (Some(self.seal.seal_bytes(&evidence_aad("embedding", receipt_id), &embedding_bytes(&v))?), None),
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

    /// The embedded evidence faces of a roster's paid receipts, with their post offices.
    pub async fn paid_faces(&self, roster_id: &str) -> Result<Vec<PaidFace>, ApiError> {
        let rows: Vec<FaceRow> = sqlx::query_as(
            "SELECT r.id, r.recipient, d.post_office, e.embedding FROM evidence e
             JOIN receipts r ON r.id = e.receipt_id JOIN devices d ON d.device_id = r.device_id
             WHERE r.roster_id = $1 AND r.outcome = 'paid' AND e.embedding IS NOT NULL ORDER BY r.id",
        )
        .bind(roster_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                let embedding = self.seal.open_bytes(&evidence_aad("embedding", &r.id), &r.embedding)?;
                Ok(PaidFace {
                    embedding: embedding_from(&embedding),
                    receipt_id: r.id,
                    recipient: r.recipient,
                    post_office: r.post_office,
                })
            })
            .collect()
    }

    /// A completed evidence crop whose embedding, verdict and face check are not done yet (an
    /// earlier upload completed it but the server failed before finishing them): the next
    /// status or chunk for it finishes them, so a payment never stays `pending` while its crop
    /// is here.
    pub async fn evidence_unprocessed(&self, receipt_id: &str) -> Result<Option<Vec<u8>>, ApiError> {
        let sealed: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT data FROM evidence WHERE receipt_id = $1 AND complete = 1 AND embedding IS NULL AND problem IS NULL",
        )
        .bind(receipt_id)
        .fetch_optional(&self.read)
        .await?;
        sealed.map(|s| self.seal.open_bytes(&evidence_aad("data", receipt_id), &s)).transpose()
    }

    /// A completed evidence crop (JPEG), for an auditor.
    pub async fn evidence_crop(&self, receipt_id: &str) -> Result<Option<Vec<u8>>, ApiError> {
        let sealed: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT data FROM evidence WHERE receipt_id = $1 AND complete = 1")
                .bind(receipt_id)
                .fetch_optional(&self.read)
                .await?;
        sealed.map(|s| self.seal.open_bytes(&evidence_aad("data", receipt_id), &s)).transpose()
    }
}
