//! Rosters: the recipients of a programme period, each assigned to a worker, with optional
//! reference face templates; imported from CSV and served to the assigned worker's device.

use std::path::Path;

use salur_core::face::{read_image, FaceEngine, FacePick};
use salur_core::receipt::recipient_ref;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::{now_ms, Db};
use crate::error::ApiError;

/// One CSV row of `salur import-roster`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterRow {
    /// 16-digit NIK.
    pub nik: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Province code.
    pub province: String,
    /// Regency (kabupaten/kota) code.
    pub regency: String,
    /// District (kecamatan) code.
    pub district: String,
    /// Village (desa/kelurahan) code.
    pub village: String,
    /// Post office that delivers.
    pub post_office: String,
    /// Whole rupiah.
    pub amount: u64,
    /// Programme period, the roster id (e.g. `blt-2026-11`).
    pub period: String,
    /// Worker assigned.
    pub worker_id: String,
    /// Reference photo, relative to `--photos` (default: `<nik>.jpg`, then `<nik>.png`).
    #[serde(default)]
    pub photo: Option<String>,
}

/// A recipient as sent to the assigned worker's phone.
#[derive(Debug, Clone, Serialize)]
pub struct RosterEntry {
    /// Keyed hash of the NIK (hex): what receipts name.
    pub recipient: String,
    /// NIK (the phone seals it at rest).
    pub nik: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Whole rupiah.
    pub amount: u64,
    /// Encoded face template (base64), when the registry has a photo.
    pub template: Option<String>,
}

impl RosterRow {
    /// Checks the fields; the reason when the row must be refused.
    pub fn validate(&self) -> Result<(), String> {
        if self.nik.len() != 16 || !self.nik.bytes().all(|b| b.is_ascii_digit()) {
            return Err("NIK must be 16 digits".into());
        }
        if self.amount == 0 {
            return Err("amount must be a positive number of rupiah".into());
        }
        let required = [
            ("name", &self.name),
            ("address", &self.address),
            ("province", &self.province),
            ("regency", &self.regency),
            ("district", &self.district),
            ("village", &self.village),
            ("post_office", &self.post_office),
            ("period", &self.period),
            ("worker_id", &self.worker_id),
        ];
        match required.iter().find(|(_, v)| v.trim().is_empty()) {
            Some((name, _)) => Err(format!("{name} is empty")),
            None => Ok(()),
        }
    }
}

/// What the import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportSummary {
    /// Rows imported.
    pub imported: usize,
    /// Of those, with a reference template.
    pub with_template: usize,
    /// Imported without a template (they enrol at the first visit), with why.
    pub without_template: Vec<(usize, String)>,
    /// Rows refused (line number, reason).
    pub refused: Vec<(usize, String)>,
}

/// The template for a row's photo: `Ok(None)` when there is no photo.
pub fn template_for(engine: &FaceEngine, photos: &Path, row: &RosterRow) -> Result<Option<Vec<u8>>, String> {
    let candidates = match &row.photo {
        Some(p) => vec![photos.join(p)],
        None => vec![photos.join(format!("{}.jpg", row.nik)), photos.join(format!("{}.png", row.nik))],
    };
    let Some(path) = candidates.into_iter().find(|p| p.exists()) else {
        return match &row.photo {
            Some(p) => Err(format!("photo {p} not found")),
            None => Ok(None),
        };
    };
    let img = read_image(&path).map_err(|e| format!("photo: {e}"))?;
    let template = engine.template(&img, FacePick::Single).map_err(|e| format!("photo: {e}"))?;
    Ok(Some(template.encode()))
}

impl Db {
    /// The roster's pseudonymisation key, created on first use.
    pub async fn roster_key(&self, roster_id: &str) -> Result<Vec<u8>, ApiError> {
        let key: [u8; 32] = ring_random()?;
        sqlx::query("INSERT INTO rosters (roster_id, roster_key, created_ms) VALUES ($1, $2, $3) ON CONFLICT (roster_id) DO NOTHING")
            .bind(roster_id)
            .bind(&key[..])
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        Ok(sqlx::query_scalar("SELECT roster_key FROM rosters WHERE roster_id = $1")
            .bind(roster_id)
            .fetch_one(&self.write)
            .await?)
    }

    /// Adds or replaces one recipient, moving its counts between areas on the dashboard.
    pub async fn put_recipient(&self, row: &RosterRow, template: Option<&[u8]>) -> Result<(), ApiError> {
        use crate::summaries::{contribution, Deltas};
        let key = self.roster_key(&row.period).await?;
        let recipient = recipient_ref(&key, &row.nik);
        let mut tx = self.write.begin().await?;
        let before = sqlx::query(
            "SELECT province, regency, post_office, amount, standing, overridden FROM recipients
             WHERE roster_id = $1 AND recipient = $2",
        )
        .bind(&row.period)
        .bind(&recipient)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO recipients (roster_id, recipient, nik, name, address, province, regency, district,
                                                village, post_office, worker_id, amount, template)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (roster_id, recipient) DO UPDATE SET nik = excluded.nik, name = excluded.name,
                address = excluded.address, province = excluded.province, regency = excluded.regency,
                district = excluded.district, village = excluded.village, post_office = excluded.post_office,
                worker_id = excluded.worker_id, amount = excluded.amount, template = excluded.template",
        )
        .bind(&row.period)
        .bind(&recipient)
        .bind(&row.nik)
        .bind(&row.name)
        .bind(&row.address)
        .bind(&row.province)
        .bind(&row.regency)
        .bind(&row.district)
        .bind(&row.village)
        .bind(&row.post_office)
        .bind(&row.worker_id)
        .bind(row.amount as i64)
        .bind(template)
        .execute(&mut *tx)
        .await?;
        let mut deltas = Deltas::default();
        let (standing, overridden) = match &before {
            Some(b) => {
                let (standing, overridden) = (b.get::<i64, _>(4), b.get::<i64, _>(5) != 0);
                let old_key = (row.period.clone(), b.get(0), b.get(1), b.get(2));
                deltas.leave(old_key, contribution(standing, overridden, b.get(3)));
                (standing, overridden)
            }
            None => (0, false),
        };
        let new_key = (row.period.clone(), row.province.clone(), row.regency.clone(), row.post_office.clone());
        deltas.area(new_key, None, contribution(standing, overridden, row.amount as i64));
        deltas.apply(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The recipients of `roster_id` assigned to `worker_id`, and the roster key.
    pub async fn roster_for_worker(
        &self,
        roster_id: &str,
        worker_id: &str,
    ) -> Result<(Vec<u8>, Vec<RosterEntry>), ApiError> {
        use base64::Engine;
        let key: Option<Vec<u8>> = sqlx::query_scalar("SELECT roster_key FROM rosters WHERE roster_id = $1")
            .bind(roster_id)
            .fetch_optional(&self.read)
            .await?;
        let key = key.ok_or_else(|| ApiError::NotFound(format!("no roster {roster_id}")))?;
        let rows = sqlx::query(
            "SELECT recipient, nik, name, address, amount, template FROM recipients
             WHERE roster_id = $1 AND worker_id = $2 ORDER BY name",
        )
        .bind(roster_id)
        .bind(worker_id)
        .fetch_all(&self.read)
        .await?;
        let entries = rows
            .iter()
            .map(|r| RosterEntry {
                recipient: hex::encode(r.get::<Vec<u8>, _>(0)),
                nik: r.get(1),
                name: r.get(2),
                address: r.get(3),
                amount: r.get::<i64, _>(4) as u64,
                template: r.get::<Option<Vec<u8>>, _>(5).map(|t| base64::engine::general_purpose::STANDARD.encode(t)),
            })
            .collect();
        Ok((key, entries))
    }
}

fn ring_random() -> Result<[u8; 32], ApiError> {
    use ring::rand::SecureRandom;
    let mut k = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut k).map_err(|_| ApiError::Internal("no secure random source".into()))?;
    Ok(k)
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
        let rows = sqlx::query(
            "SELECT q.receipt_id, q.roster_id, rc.nik, rc.name, q.amount, q.reason, q.note, q.status, q.created_ms
             FROM reallocations q LEFT JOIN recipients rc ON rc.roster_id = q.roster_id AND rc.recipient = q.recipient
             WHERE CAST($1 AS TEXT) IS NULL OR q.roster_id = $1 ORDER BY q.created_ms, q.receipt_id",
        )
        .bind(roster_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Reallocation {
                receipt_id: r.get(0),
                roster_id: r.get(1),
                nik: r.get(2),
                name: r.get(3),
                amount: r.get::<i64, _>(4) as u64,
                reason: r.get(5),
                note: r.get(6),
                status: r.get(7),
                created_ms: r.get(8),
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
