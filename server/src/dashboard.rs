//! The live dashboard: paid against target by region and post office, fallbacks, ineligible
//! recipients, upload refusals and chain gaps. Aggregates only: no NIK, name or face leaves here.

use serde::Serialize;
use sqlx::Row;

use crate::db::Db;
use crate::error::ApiError;

/// Share of recipients to be paid by the end of the period's second week.
pub const TARGET_WEEK_TWO: f64 = 0.9;

/// One region and post office.
#[derive(Debug, Clone, Serialize)]
pub struct Area {
    /// Province code.
    pub province: String,
    /// Regency code.
    pub regency: String,
    /// Post office.
    pub post_office: String,
    /// Recipients on the roster.
    pub recipients: u64,
    /// Rupiah to be paid.
    pub target_amount: u64,
    /// Recipients paid.
    pub paid: u64,
    /// Rupiah paid.
    pub paid_amount: u64,
    /// Paid by supervisor override (audited fallbacks).
    pub overrides: u64,
    /// Found ineligible (funds queued for reallocation).
    pub ineligible: u64,
    /// Refused the aid.
    pub refused: u64,
    /// Last visit found nobody home.
    pub not_home: u64,
    /// Not yet visited.
    pub to_visit: u64,
    /// paid / (recipients - ineligible), 0..1.
    pub paid_share: f64,
}

/// The whole dashboard for one roster.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// Roster shown.
    pub roster_id: String,
    /// Totals over all areas.
    pub total: Area,
    /// By province, regency and post office.
    pub areas: Vec<Area>,
    /// Targets: share paid by the end of week two, and by the end of the period.
    pub targets: [f64; 2],
    /// Upload refusals by kind (`rejected`, `conflict`).
    pub refusals: Vec<(String, u64)>,
    /// Devices with missing sequence numbers, and how many are missing.
    pub devices_with_gaps: Vec<(String, u64)>,
    /// Receipts held.
    pub receipts: u64,
}

impl Db {
    /// The dashboard for `roster_id` (the most recent roster when `None`).
    pub async fn dashboard(&self, roster_id: Option<&str>) -> Result<Dashboard, ApiError> {
        let roster_id = match roster_id {
            Some(r) => r.to_string(),
            None => sqlx::query_scalar("SELECT roster_id FROM rosters ORDER BY created_ms DESC LIMIT 1")
                .fetch_optional(&self.read)
                .await?
                .unwrap_or_default(),
        };
        // Each recipient's standing: paid beats ineligible beats refused beats not home.
        let rows = sqlx::query(
            "WITH status AS (
                 SELECT roster_id, recipient,
                        MAX(CASE WHEN outcome = 'paid' THEN 1 ELSE 0 END) AS paid,
                        MAX(CASE WHEN outcome = 'paid' AND method = 'supervisor_override' THEN 1 ELSE 0 END) AS ovr,
                        MAX(CASE WHEN outcome = 'ineligible' THEN 1 ELSE 0 END) AS inel,
                        MAX(CASE WHEN outcome = 'refused' THEN 1 ELSE 0 END) AS ref,
                        MAX(CASE WHEN outcome = 'not_home' THEN 1 ELSE 0 END) AS nh
                 FROM receipts WHERE roster_id = $1 GROUP BY roster_id, recipient),
             st AS (
                 SELECT rc.province, rc.regency, rc.post_office, rc.amount,
                        COALESCE(s.paid, 0) AS paid, COALESCE(s.ovr, 0) AS ovr, COALESCE(s.inel, 0) AS inel,
                        COALESCE(s.ref, 0) AS ref, COALESCE(s.nh, 0) AS nh
                 FROM recipients rc LEFT JOIN status s ON s.roster_id = rc.roster_id AND s.recipient = rc.recipient
                 WHERE rc.roster_id = $1)
             SELECT province, regency, post_office, CAST(COUNT(*) AS BIGINT), CAST(SUM(amount) AS BIGINT),
                    CAST(SUM(paid) AS BIGINT), CAST(SUM(paid * amount) AS BIGINT), CAST(SUM(ovr) AS BIGINT),
                    CAST(SUM(CASE WHEN paid = 0 AND inel = 1 THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN paid = 0 AND inel = 0 AND ref = 1 THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN paid = 0 AND inel = 0 AND ref = 0 AND nh = 1 THEN 1 ELSE 0 END) AS BIGINT)
             FROM st GROUP BY province, regency, post_office ORDER BY province, regency, post_office",
        )
        .bind(&roster_id)
        .fetch_all(&self.read)
        .await?;
        let n = |r: &sqlx::any::AnyRow, i: usize| r.get::<Option<i64>, _>(i).unwrap_or(0).max(0) as u64;
        let areas: Vec<Area> = rows
            .iter()
            .map(|r| {
                area(
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    [n(r, 3), n(r, 4), n(r, 5), n(r, 6), n(r, 7), n(r, 8), n(r, 9), n(r, 10)],
                )
            })
            .collect();
        let mut sums = [0u64; 8];
        for a in &areas {
            for (s, v) in sums.iter_mut().zip([
                a.recipients,
                a.target_amount,
                a.paid,
                a.paid_amount,
                a.overrides,
                a.ineligible,
                a.refused,
                a.not_home,
            ]) {
                *s += v;
            }
        }
        let refusals = sqlx::query("SELECT result, COUNT(*) FROM upload_refusals GROUP BY result ORDER BY result")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get::<i64, _>(1) as u64))
            .collect();
        let gaps = sqlx::query(
            "SELECT device_id, CAST(MAX(seq) - COUNT(*) AS BIGINT) FROM receipts GROUP BY device_id HAVING MAX(seq) > COUNT(*) ORDER BY device_id",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get::<i64, _>(1) as u64))
        .collect();
        let receipts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts").fetch_one(&self.read).await?;
        Ok(Dashboard {
            roster_id,
            total: area("all".into(), "all".into(), "all".into(), sums),
            areas,
            targets: [TARGET_WEEK_TWO, 1.0],
            refusals,
            devices_with_gaps: gaps,
            receipts: receipts as u64,
        })
    }
}

fn area(province: String, regency: String, post_office: String, v: [u64; 8]) -> Area {
    let [recipients, target_amount, paid, paid_amount, overrides, ineligible, refused, not_home] = v;
    let eligible = recipients.saturating_sub(ineligible);
    Area {
        province,
        regency,
        post_office,
        recipients,
        target_amount,
        paid,
        paid_amount,
        overrides,
        ineligible,
        refused,
        not_home,
        to_visit: recipients.saturating_sub(paid + ineligible + refused + not_home),
        paid_share: if eligible == 0 { 0.0 } else { paid as f64 / eligible as f64 },
    }
}

/// The dashboard page: fetches `/v1/dashboard` every five seconds.
pub const PAGE: &str = include_str!("dashboard.html");
