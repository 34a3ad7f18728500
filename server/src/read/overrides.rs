//! Overrides whose supervisor approval did not verify (missing, wrong code, unknown or revoked
//! supervisor, the worker approving themself), for the auditor. No names or NIKs: receipt,
//! device, worker, supervisor, reason code and what the check found.

use serde::Serialize;

use crate::error::ApiError;
use crate::store::Db;

/// Most unverified overrides listed.
pub const UNVERIFIED_LIST_LIMIT: i64 = 200;

/// An override the server could not verify as a supervisor's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UnverifiedOverride {
    /// Receipt.
    pub receipt_id: String,
    /// Device that signed it.
    pub device_id: String,
    /// Its worker.
    pub worker_id: String,
    /// The supervisor the receipt names.
    pub supervisor_id: String,
    /// The override's reason code (`cannot_do_live_check`, `face_not_verified`, `other`), if any.
    pub code: Option<String>,
    /// What the check found: `missing`, `invalid`, `unknown_supervisor`, `self_approved`.
    pub approval: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    receipt_id: String,
    device_id: String,
    worker_id: String,
    public_key: Vec<u8>,
    cose: Vec<u8>,
    approval: String,
}

impl Db {
    /// The roster's unverified overrides, newest first, at most [`UNVERIFIED_LIST_LIMIT`].
    pub async fn overrides_unverified(&self, roster_id: &str) -> Result<Vec<UnverifiedOverride>, ApiError> {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT r.id AS receipt_id, r.device_id, d.worker_id, d.public_key, r.cose, r.override_approval AS approval
             FROM receipts r JOIN devices d ON d.device_id = r.device_id
             WHERE r.roster_id = $1 AND r.override_approval IS NOT NULL AND r.override_approval <> 'verified'
             ORDER BY r.received_ms DESC, r.id LIMIT {UNVERIFIED_LIST_LIMIT}"
        )))
        .bind(roster_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|row| {
                // The supervisor and reason are in the signed bytes (verified again: they are shown).
                let signed = salur_core::receipt::verify(&row.cose, &row.public_key).map_err(|e| {
                    ApiError::Internal(format!("stored receipt {} no longer verifies: {e}", row.receipt_id))
                })?;
                let (supervisor_id, code) = match signed.receipt.evidence.map(|e| e.method) {
                    Some(salur_core::receipt::Method::SupervisorOverride { supervisor_id, code, .. }) => {
                        (supervisor_id, code.map(|c| c.as_str().to_string()))
                    }
                    _ => (String::new(), None),
                };
                Ok(UnverifiedOverride {
                    receipt_id: row.receipt_id,
                    device_id: row.device_id,
                    worker_id: row.worker_id,
                    supervisor_id,
                    code,
                    approval: row.approval,
                })
            })
            .collect()
    }
}
