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

/// Scores this close above the threshold count as low-score matches (millionths); the rebuild in
/// summaries.rs writes the same constant into its SQL.
pub const LOW_SCORE_MARGIN_E6: i64 = 50_000;
/// Most devices (and workers) listed on the dashboard; the nation has tens of thousands.
pub const DEVICE_LIST_LIMIT: i64 = 200;
/// A device that has sent nothing for this long is listed as silent.
pub const SILENT_AFTER_MS: i64 = 6 * 3600 * 1000;

/// One device's activity.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceActivity {
    /// Device.
    pub device_id: String,
    /// Its worker.
    pub worker_id: String,
    /// Receipts received.
    pub receipts: u64,
    /// Payments by supervisor override.
    pub overrides: u64,
    /// Uploads refused (rejected or conflict).
    pub refusals: u64,
    /// Mean time from signing on the phone to arrival here (ms; the phone's clock, so approximate).
    pub mean_sync_lag_ms: i64,
    /// When its last receipt arrived (Unix ms), if ever.
    pub last_received_ms: Option<i64>,
    /// No receipt for more than six hours.
    pub silent: bool,
}

/// One worker's rates, over all their devices.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRates {
    /// Worker.
    pub worker_id: String,
    /// Receipts received.
    pub receipts: u64,
    /// Share of their payments made by supervisor override.
    pub override_rate: f64,
    /// Share of their uploads the server refused.
    pub refusal_rate: f64,
}

/// A recipient paid more than once in the roster's period.
#[derive(Debug, Clone, Serialize)]
pub struct DoublePayment {
    /// Keyed hash of the NIK (hex); administrators resolve it through the reallocation export.
    pub recipient: String,
    /// Paid receipts.
    pub receipts: u64,
    /// On how many devices.
    pub devices: u64,
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
    /// Ineligible reports (receipts), by reason.
    pub ineligible_by_reason: Vec<(String, u64)>,
    /// Payments per day (WIB): (date, count).
    pub paid_by_day: Vec<(String, u64)>,
    /// Payments whose face score was less than 0.05 above its threshold.
    pub low_score_matches: u64,
    /// Recipients paid twice or more: the server's flag for the auditor.
    pub double_payments: Vec<DoublePayment>,
    /// The devices needing attention first (silent longest, then the rest), at most
    /// [`DEVICE_LIST_LIMIT`]: overrides, refusals, sync lag, silence.
    pub devices: Vec<DeviceActivity>,
    /// Approved devices in all.
    pub devices_total: u64,
    /// Of those, silent for more than [`SILENT_AFTER_MS`].
    pub devices_silent: u64,
    /// Stored receipts the server flagged against the roster, by reason.
    pub flagged: Vec<(String, u64)>,
    /// Per worker: override and refusal rates.
    pub workers: Vec<WorkerRates>,
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
        // Kept current by ingestion and import (see summaries.rs): no scan of recipients or receipts.
        let rows = sqlx::query(
            "SELECT province, regency, post_office, recipients, target_amount, paid, paid_amount, overrides,
                    ineligible, refused, not_home
             FROM area_stats WHERE roster_id = $1 AND recipients > 0 ORDER BY province, regency, post_office",
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
            "SELECT device_id, CAST(max_seq - receipts AS BIGINT) FROM device_stats WHERE max_seq > receipts
             ORDER BY device_id",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get::<i64, _>(1) as u64))
        .collect();
        let receipts: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(receipts), 0) AS BIGINT) FROM device_stats")
            .fetch_one(&self.read)
            .await?;
        let pairs = |rows: Vec<sqlx::any::AnyRow>| -> Vec<(String, u64)> {
            rows.iter().map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1) as u64)).collect()
        };
        let counts = pairs(
            sqlx::query("SELECT name, n FROM roster_counts WHERE roster_id = $1 AND n > 0 ORDER BY name")
                .bind(&roster_id)
                .fetch_all(&self.read)
                .await?,
        );
        let named = |prefix: &str| -> Vec<(String, u64)> {
            counts.iter().filter_map(|(k, n)| k.strip_prefix(prefix).map(|k| (k.to_string(), *n))).collect()
        };
        let ineligible_by_reason = named("ineligible:");
        let flagged = named("flag:");
        let low_score_matches = named("low_score").first().map_or(0, |(_, n)| *n);
        let paid_by_day = sqlx::query("SELECT day, paid FROM daily_paid WHERE roster_id = $1 ORDER BY day")
            .bind(&roster_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| (civil_date(r.get::<i64, _>(0)), r.get::<i64, _>(1) as u64))
            .collect();
        // Few recipients are paid twice: found through the partial index, then counted.
        let double_payments = sqlx::query(
            "SELECT r.recipient, CAST(COUNT(*) AS BIGINT), CAST(COUNT(DISTINCT r.device_id) AS BIGINT)
             FROM recipients p JOIN receipts r ON r.roster_id = p.roster_id AND r.recipient = p.recipient
             WHERE p.roster_id = $1 AND p.paid_receipts > 1 AND r.outcome = 'paid'
             GROUP BY r.recipient ORDER BY r.recipient",
        )
        .bind(&roster_id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| DoublePayment {
            recipient: hex::encode(r.get::<Vec<u8>, _>(0)),
            receipts: r.get::<i64, _>(1) as u64,
            devices: r.get::<i64, _>(2) as u64,
        })
        .collect();
        let now = crate::db::now_ms();
        // Silent longest first (never heard from at the top), so the list shows who needs a call.
        let devices: Vec<DeviceActivity> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT t.device_id, t.worker_id, t.receipts, t.overrides, t.lag, t.last_received_ms,
                    (SELECT CAST(COUNT(*) AS BIGINT) FROM upload_refusals u WHERE u.device_id = t.device_id)
             FROM (SELECT d.device_id, d.worker_id, CAST(COALESCE(s.receipts, 0) AS BIGINT) AS receipts, s.overrides,
                          CAST(s.lag_sum_ms / CASE WHEN s.receipts > 0 THEN s.receipts ELSE 1 END AS BIGINT) AS lag,
                          s.last_received_ms
                   FROM devices d LEFT JOIN device_stats s ON s.device_id = d.device_id
                   WHERE d.status = 'approved'
                   ORDER BY COALESCE(s.last_received_ms, 0), d.device_id LIMIT {DEVICE_LIST_LIMIT}) t
             ORDER BY COALESCE(t.last_received_ms, 0), t.device_id"
        )))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            let last: Option<i64> = r.get(5);
            DeviceActivity {
                device_id: r.get(0),
                worker_id: r.get(1),
                receipts: r.get::<i64, _>(2) as u64,
                overrides: r.get::<Option<i64>, _>(3).unwrap_or(0) as u64,
                mean_sync_lag_ms: r.get::<Option<i64>, _>(4).unwrap_or(0),
                last_received_ms: last,
                refusals: r.get::<i64, _>(6) as u64,
                silent: last.is_none_or(|t| now - t > SILENT_AFTER_MS),
            }
        })
        .collect();
        let counts = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT),
                    CAST(SUM(CASE WHEN s.last_received_ms IS NULL OR s.last_received_ms < $1 THEN 1 ELSE 0 END) AS BIGINT)
             FROM devices d LEFT JOIN device_stats s ON s.device_id = d.device_id WHERE d.status = 'approved'",
        )
        .bind(now - SILENT_AFTER_MS)
        .fetch_one(&self.read)
        .await?;
        let workers = self.workers().await?;
        Ok(Dashboard {
            roster_id,
            total: area("all".into(), "all".into(), "all".into(), sums),
            areas,
            targets: [TARGET_WEEK_TWO, 1.0],
            refusals,
            devices_with_gaps: gaps,
            receipts: receipts as u64,
            ineligible_by_reason,
            paid_by_day,
            low_score_matches,
            double_payments,
            devices,
            devices_total: counts.get::<i64, _>(0) as u64,
            devices_silent: counts.get::<Option<i64>, _>(1).unwrap_or(0) as u64,
            flagged,
            workers,
        })
    }
}

/// Folds device activity into per-worker rates (a worker may use several devices).
impl Db {
    /// Workers whose override or refusal rate needs a look, highest override rate first.
    async fn workers(&self) -> Result<Vec<WorkerRates>, ApiError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT w.worker_id, w.receipts, w.overrides, COALESCE(rf.n, 0) AS refusals FROM (
                 SELECT d.worker_id, CAST(COALESCE(SUM(s.receipts), 0) AS BIGINT) AS receipts,
                        CAST(COALESCE(SUM(s.overrides), 0) AS BIGINT) AS overrides
                 FROM devices d LEFT JOIN device_stats s ON s.device_id = d.device_id
                 WHERE d.status = 'approved' GROUP BY d.worker_id) w
             LEFT JOIN (SELECT x.worker_id, CAST(COUNT(*) AS BIGINT) AS n FROM upload_refusals u
                        JOIN devices x ON x.device_id = u.device_id GROUP BY x.worker_id) rf
                    ON rf.worker_id = w.worker_id
             WHERE w.overrides * {WORKER_OVERRIDE_WATCH_DEN} > w.receipts * {WORKER_OVERRIDE_WATCH_NUM} OR rf.n > 0
             ORDER BY CAST(w.overrides AS DOUBLE PRECISION) / (CASE WHEN w.receipts > 0 THEN w.receipts ELSE 1 END) DESC,
                      w.worker_id
             LIMIT {DEVICE_LIST_LIMIT}"
        )))
        .fetch_all(&self.read)
        .await?;
        let share = |n: i64, of: i64| if of <= 0 { 0.0 } else { n as f64 / of as f64 };
        Ok(rows
            .iter()
            .map(|r| {
                let (receipts, overrides, refusals) = (r.get::<i64, _>(1), r.get::<i64, _>(2), r.get::<i64, _>(3));
                WorkerRates {
                    worker_id: r.get(0),
                    receipts: receipts as u64,
                    override_rate: share(overrides, receipts),
                    refusal_rate: share(refusals, receipts + refusals),
                }
            })
            .collect())
    }
}

/// Workers are listed when more than this share of their payments are overrides (1 in 20).
const WORKER_OVERRIDE_WATCH_NUM: i64 = 1;
const WORKER_OVERRIDE_WATCH_DEN: i64 = 20;

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

/// `YYYY-MM-DD` of a day number since 1970-01-01 (Howard Hinnant's civil-from-days).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The dashboard page: fetches `/v1/dashboard` every five seconds.
pub const PAGE: &str = include_str!("dashboard.html");

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_date(0), "1970-01-01");
        assert_eq!(super::civil_date(20_774), "2026-11-17");
        assert_eq!(super::civil_date(11_016), "2000-02-29");
    }
}
