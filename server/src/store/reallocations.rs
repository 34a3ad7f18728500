//! The reallocation queue: funds freed by ineligible recipients, for the finance office.

use serde::Serialize;

use super::Db;
use crate::error::ApiError;

#[derive(sqlx::FromRow)]
struct QueueRow {
    receipt_id: String,
    roster_id: String,
    nik: Option<String>,
    name: Option<String>,
    amount: i64,
    reason: String,
    note: Option<String>,
    status: String,
    created_ms: i64,
}

/// Funds freed by an ineligible recipient, queued for reallocation.
#[derive(Debug, Clone, Serialize)]
pub struct Reallocation {
    /// The receipt that reported it.
    pub receipt_id: String,
    /// Roster.
    pub roster_id: String,
    /// NIK (administrators only).
    pub nik: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Rupiah freed.
    pub amount: u64,
    /// Why ineligible.
    pub reason: String,
    /// The worker's note.
    pub note: Option<String>,
    /// `queued` or `reallocated`.
    pub status: String,
    /// When the server received it (Unix ms).
    pub created_ms: i64,
}

impl Db {
    /// The reallocation queue, oldest first.
    pub async fn reallocations(&self, roster_id: Option<&str>) -> Result<Vec<Reallocation>, ApiError> {
        let rows: Vec<QueueRow> = sqlx::query_as(
            "SELECT q.receipt_id, q.roster_id, rc.nik, rc.name, q.amount, q.reason, q.note, q.status, q.created_ms
             FROM reallocations q LEFT JOIN recipients rc ON rc.roster_id = q.roster_id AND rc.recipient = q.recipient
             WHERE CAST($1 AS TEXT) IS NULL OR q.roster_id = $1 ORDER BY q.created_ms, q.receipt_id",
        )
        .bind(roster_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Reallocation {
                receipt_id: r.receipt_id,
                roster_id: r.roster_id,
                nik: r.nik,
                name: r.name,
                amount: r.amount.max(0) as u64,
                reason: r.reason,
                note: r.note,
                status: r.status,
                created_ms: r.created_ms,
            })
            .collect())
    }
}

/// The queue as CSV for the programme's finance office.
pub fn reallocations_csv(rows: &[Reallocation]) -> Result<String, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    String::from_utf8(w.into_inner().map_err(|e| ApiError::Internal(e.to_string()))?)
        .map_err(|e| ApiError::Internal(e.to_string()))
}
