//! The public receipt check (by the code the recipient keeps) and the complaints filed from it.

use serde::Serialize;

use super::Db;
use crate::clock::now_ms;
use crate::domain::complaints::{self, ComplaintKind};
use crate::error::ApiError;

/// What anyone holding a receipt code may read: no name, NIK, face, worker or device.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicReceipt {
    /// The code, `XXXX-XXXX-XXXX`.
    pub code: String,
    /// What the receipt records (`paid`, `ineligible`, `not_home`, `refused`).
    pub outcome: String,
    /// Whole rupiah.
    pub amount: u64,
    /// When it was signed at the door, as Indonesians write it, in the recipient's province's
    /// time zone: `7 Desember 2026, 14.52 WIB` (or WITA, WIT).
    pub paid_at: String,
    /// The post office that paid (its code).
    pub post_office: String,
    /// Its name, where the operator's names file gives one.
    pub post_office_name: Option<String>,
    /// Roster (programme and period).
    pub roster_id: String,
    /// Complaints already filed against it.
    pub complaints: u64,
}

/// A complaint as the auditors see it, with the worker and device that signed the receipt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Complaint {
    /// Complaint number.
    pub id: i64,
    /// What was reported.
    pub kind: ComplaintKind,
    /// What the recipient says they received (for `received_less`).
    pub amount_received: Option<u64>,
    /// The recipient's words (opened from its sealed form).
    pub note: Option<String>,
    /// When it was filed, Unix ms.
    pub created_ms: i64,
    /// The receipt.
    pub receipt_id: String,
    /// Its code.
    pub code: String,
    /// Roster.
    pub roster_id: String,
    /// What the receipt says was paid.
    pub amount: u64,
    /// The worker whose device signed it.
    pub worker_id: String,
    /// The device.
    pub device_id: String,
    /// The post office.
    pub post_office: String,
}

#[derive(sqlx::FromRow)]
struct ReceiptRow {
    id: String,
    outcome: String,
    amount: i64,
    signed_ms: i64,
    post_office: String,
    roster_id: String,
    complaints: i64,
    /// The recipient's province (none once the roster row is gone): the time zone to write in.
    province: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ComplaintRow {
    id: i64,
    kind: String,
    amount_received: Option<i64>,
    note: Option<String>,
    created_ms: i64,
    receipt_id: String,
    code: Option<String>,
    roster_id: String,
    amount: i64,
    worker_id: String,
    device_id: String,
    post_office: String,
}

fn note_aad(receipt_id: &str) -> Vec<u8> {
    [b"complaints|note|", receipt_id.as_bytes()].concat()
}

fn amount(n: i64) -> u64 {
    n.max(0) as u64
}

impl Db {
    /// Gives every receipt stored before codes existed its code (once; a few rows at a time).
    pub(super) async fn code_existing(&self) -> Result<(), ApiError> {
        loop {
            let rows: Vec<(String, Vec<u8>)> =
                sqlx::query_as("SELECT id, cose FROM receipts WHERE code IS NULL LIMIT 500")
                    .fetch_all(&self.write)
                    .await?;
            if rows.is_empty() {
                return Ok(());
            }
            for (id, cose) in rows {
                sqlx::query("UPDATE receipts SET code = $1 WHERE id = $2")
                    .bind(salur_core::receipt::code(&cose).replace('-', ""))
                    .bind(id)
                    .execute(&self.write)
                    .await?;
            }
        }
    }

    async fn receipt_by_code(&self, code: &str) -> Result<Option<ReceiptRow>, ApiError> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.outcome, r.amount, r.signed_ms, d.post_office, r.roster_id,
                    (SELECT COUNT(*) FROM complaints c WHERE c.receipt_id = r.id) AS complaints, p.province
             FROM receipts r JOIN devices d ON d.device_id = r.device_id
             LEFT JOIN recipients p ON p.roster_id = r.roster_id AND p.recipient = r.recipient
             WHERE r.code = $1 ORDER BY r.received_ms, r.id LIMIT 1",
        )
        .bind(code)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The receipt a typed code names, for the public check; `names` gives the post office's name.
    pub async fn public_receipt(
        &self,
        typed: &str,
        names: &crate::read::names::AreaNames,
    ) -> Result<PublicReceipt, ApiError> {
        let (code, row) = self.by_typed_code(typed).await?;
        let zone = salur_core::dates::TimeZone::of_province(row.province.as_deref().unwrap_or_default());
        Ok(PublicReceipt {
            code: salur_core::crockford::grouped(&code, 4),
            outcome: row.outcome,
            amount: amount(row.amount),
            paid_at: salur_core::dates::indonesian_minute_in(row.signed_ms, zone),
            post_office_name: names.post_office(&row.post_office).map(str::to_string),
            post_office: row.post_office,
            roster_id: row.roster_id,
            complaints: amount(row.complaints),
        })
    }

    async fn by_typed_code(&self, typed: &str) -> Result<(String, ReceiptRow), ApiError> {
        let unknown = || ApiError::NotFound("no receipt has this code: check the 12 characters on the receipt".into());
        let code = salur_core::receipt::normalize_code(typed).ok_or_else(unknown)?;
        let row = self.receipt_by_code(&code).await?.ok_or_else(unknown)?;
        Ok((code, row))
    }

    /// Files a complaint against the receipt a typed code names; its number.
    pub async fn add_complaint(
        &self,
        typed: &str,
        kind: ComplaintKind,
        amount_received: Option<u64>,
        note: Option<&str>,
    ) -> Result<i64, ApiError> {
        let (_, row) = self.by_typed_code(typed).await?;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        let sealed = note.map(|n| self.seal.seal_text(&note_aad(&row.id), n)).transpose()?;
        let mut tx = self.write.begin().await?;
        // Locks the receipt's row (PostgreSQL; SQLite has one writer) so that parallel complaints
        // are counted one after the other: the cap holds under concurrency.
        sqlx::query("UPDATE receipts SET code = code WHERE id = $1").bind(&row.id).execute(&mut *tx).await?;
        let already: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM complaints WHERE receipt_id = $1")
            .bind(&row.id)
            .fetch_one(&mut *tx)
            .await?;
        complaints::check(kind, amount_received, note, &row.outcome, amount(row.amount), already)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO complaints (receipt_id, kind, amount_received, note, created_ms)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&row.id)
        .bind(kind.as_str())
        .bind(
            amount_received
                .filter(|&a| a > 0 || kind == ComplaintKind::ReceivedLess)
                .map(crate::domain::bounds::to_i64),
        )
        .bind(sealed)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every complaint (of `roster_id`, when given), newest first.
    pub async fn complaints(&self, roster_id: Option<&str>) -> Result<Vec<Complaint>, ApiError> {
        let rows: Vec<ComplaintRow> = sqlx::query_as(
            "SELECT c.id, c.kind, c.amount_received, c.note, c.created_ms, r.id AS receipt_id, r.code, r.roster_id,
                    r.amount, d.worker_id, d.device_id, d.post_office
             FROM complaints c JOIN receipts r ON r.id = c.receipt_id JOIN devices d ON d.device_id = r.device_id
             WHERE CAST($1 AS TEXT) IS NULL OR r.roster_id = $1 ORDER BY c.created_ms DESC, c.id DESC",
        )
        .bind(roster_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Complaint {
                    id: r.id,
                    kind: if r.kind == "not_paid" { ComplaintKind::NotPaid } else { ComplaintKind::ReceivedLess },
                    amount_received: r.amount_received.map(amount),
                    note: r.note.map(|n| self.seal.open_text(&note_aad(&r.receipt_id), &n)).transpose()?,
                    created_ms: r.created_ms,
                    code: r.code.map(|c| salur_core::crockford::grouped(&c, 4)).unwrap_or_default(),
                    receipt_id: r.receipt_id,
                    roster_id: r.roster_id,
                    amount: amount(r.amount),
                    worker_id: r.worker_id,
                    device_id: r.device_id,
                    post_office: r.post_office,
                })
            })
            .collect()
    }
}
