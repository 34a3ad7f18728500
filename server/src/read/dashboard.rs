//! The live dashboard, read from the summary tables the store keeps: paid against target by
//! region and post office, fallbacks, ineligible recipients, upload refusals and chain gaps.
//! Aggregates only: no NIK, name or face leaves here.

use serde::Serialize;

use crate::clock::now_ms;
use crate::domain::areas::AreaCounts;
use crate::domain::dates::{civil_date, wib_day};
use crate::domain::duplicates::FaceDuplicate;
use crate::domain::ingest::{DOUBLE_PAYMENT_RECEIPTS, LIVENESS_PASSED, OVERRIDE_METHOD};
use crate::domain::targets::{self, ProgressDay};
use crate::domain::verdict::Verdict;
use crate::error::ApiError;
use crate::store::{Db, UnverifiedPayment, VerifiedShare};

pub use crate::domain::targets::TARGET_WEEK_TWO;

/// One region and post office.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Area {
    /// Province code.
    pub province: String,
    /// Regency code.
    pub regency: String,
    /// Post office.
    pub post_office: String,
    /// Province name (Kemendagri list), when known.
    pub province_name: Option<String>,
    /// Regency (kabupaten/kota) name, when known.
    pub regency_name: Option<String>,
    /// Post office name (from the operator's `--area-names` file), when known.
    pub post_office_name: Option<String>,
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

/// Most devices (and workers) listed on the dashboard; the nation has tens of thousands.
pub const DEVICE_LIST_LIMIT: i64 = 200;
/// A device that has sent nothing for this long is listed as silent.
pub const SILENT_AFTER_MS: i64 = 6 * 3600 * 1000;

/// One device's activity.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// `approved` or `revoked` (a revoked device stays listed: revoking never hides a history).
    pub status: String,
}

/// One worker's rates, over all their devices.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkerRates {
    /// Worker.
    pub worker_id: String,
    /// Receipts received.
    pub receipts: u64,
    /// Share of their payments made by supervisor override.
    pub override_rate: f64,
    /// Share of their uploads the server refused.
    pub refusal_rate: f64,
    /// Their payments without a passed live-person check (overrides included).
    pub paid_without_live_check: u64,
    /// Complaints filed against their receipts.
    pub complaints: u64,
    /// Their payments collected by a KK member with a power of attorney.
    pub proxy_paid: u64,
    /// One of their devices was revoked (its receipts stay counted here; new ones are held).
    pub revoked: bool,
}

/// A payment made without a passed live-person check, for the auditor.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct UnlivePayment {
    /// Receipt.
    pub receipt_id: String,
    /// Device that signed it.
    pub device_id: String,
    /// Its worker.
    pub worker_id: String,
    /// Its post office.
    pub post_office: String,
    /// How the recipient was identified.
    pub method: Option<String>,
    /// The receipt's live-check result (`not_run`, `failed`; none for receipts from before the check).
    pub liveness: Option<String>,
}

/// A recipient paid more than once in the roster's period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoublePayment {
    /// Keyed hash of the NIK (hex); administrators resolve it through the reallocation export.
    pub recipient: String,
    /// Paid receipts.
    pub receipts: u64,
    /// On how many devices.
    pub devices: u64,
}

/// Most rosters the page's picker lists (a programme runs a few a year).
pub const ROSTER_LIST_LIMIT: usize = 100;

/// The whole dashboard for one roster.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    /// Roster shown.
    pub roster_id: String,
    /// Every roster, newest first (the page's picker), at most [`ROSTER_LIST_LIMIT`].
    pub rosters: Vec<String>,
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
    /// The period's first and last day (`YYYY-MM-DD`), once known.
    pub period: Option<(String, String)>,
    /// Each day of the period so far: paid in all against the target line (90 % by day 14,
    /// 100 % by the last day), for the chart.
    pub progress: Vec<ProgressDay>,
    /// The target line over the whole period, `(date, share)` per day: drawn from day one to the
    /// last day, whatever has been paid so far.
    pub target_line: Vec<(String, f64)>,
    /// Payments whose face score was less than 0.05 above its threshold.
    pub low_score_matches: u64,
    /// Recipients paid twice or more: the server's flag for the auditor.
    pub double_payments: Vec<DoublePayment>,
    /// The devices needing attention first (silent longest, then the rest), at most
    /// [`DEVICE_LIST_LIMIT`]: overrides, refusals, sync lag, silence.
    pub devices: Vec<DeviceActivity>,
    /// Approved and revoked devices in all (a revoked device keeps its history here).
    pub devices_total: u64,
    /// Of those, revoked.
    pub devices_revoked: u64,
    /// Of those, silent for more than [`SILENT_AFTER_MS`].
    pub devices_silent: u64,
    /// Stored receipts the server flagged against the roster, by reason.
    pub flagged: Vec<(String, u64)>,
    /// Per worker: override and refusal rates, payments without a live check.
    pub workers: Vec<WorkerRates>,
    /// Payments without a passed live-person check, all devices.
    pub paid_without_live_check: u64,
    /// The same, by the paying device's post office.
    pub unlive_by_post_office: Vec<(String, u64)>,
    /// This roster's payments without a passed live check, newest first, at most [`DEVICE_LIST_LIMIT`].
    pub unlive_payments: Vec<UnlivePayment>,
    /// This roster's overrides whose supervisor approval did not verify.
    pub overrides_unverified_count: u64,
    /// Those overrides, newest first, at most [`super::overrides::UNVERIFIED_LIST_LIMIT`].
    pub overrides_unverified: Vec<super::overrides::UnverifiedOverride>,
    /// Reallocation cases of this roster: `[status, cases, rupiah]` in workflow order.
    pub reallocations: Vec<(String, u64, u64)>,
    /// Recipients paid after their funds were reallocated (each a case for the auditor).
    pub paid_after_reallocation: u64,
    /// Complaints recipients filed against this roster's receipts (from `/cek`).
    pub complaints: u64,
    /// Receipts that arrived after the period was closed (kept, marked late).
    pub late_receipts: u64,
    /// Registered, unrevoked devices whose key is not proven to be in secure hardware (a software
    /// attestation, or none).
    pub devices_flagged_count: u64,
    /// Those devices, by id, at most [`DEVICE_LIST_LIMIT`].
    pub devices_flagged: Vec<FlaggedDevice>,
    /// The server's own verdict on the roster's face payments (`domain::verdict`), by verdict:
    /// `verified` means the evidence face matches the reference the server holds, not that a
    /// live person was there.
    pub server_checks: Vec<(Verdict, u64)>,
    /// Payments the server found `mismatch` or `no_evidence`, newest first, with both scores.
    pub unverified_payments: Vec<UnverifiedPayment>,
    /// Server-verified against phone-only face payments per post office and worker.
    pub verified_shares: Vec<VerifiedShare>,
    /// One face under two recipients found by the national 1:N check, in all.
    pub face_duplicates_count: u64,
    /// Those pairs, newest first, at most [`DEVICE_LIST_LIMIT`], with both receipts.
    pub face_duplicates: Vec<FaceDuplicate>,
}

/// A device the dashboard flags: its key attestation proves no secure hardware.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FlaggedDevice {
    /// Device id.
    pub device_id: String,
    /// Its worker.
    pub worker_id: String,
    /// Their post office.
    pub post_office: String,
    /// `software` or `none`.
    pub security_level: String,
    /// `pending` or `approved`.
    pub status: String,
}

#[derive(sqlx::FromRow)]
struct AreaRow {
    province: String,
    regency: String,
    post_office: String,
    recipients: i64,
    target_amount: i64,
    paid: i64,
    paid_amount: i64,
    overrides: i64,
    ineligible: i64,
    refused: i64,
    not_home: i64,
}

impl AreaRow {
    fn counts(&self) -> AreaCounts {
        AreaCounts {
            recipients: self.recipients,
            target_amount: self.target_amount,
            paid: self.paid,
            paid_amount: self.paid_amount,
            overrides: self.overrides,
            ineligible: self.ineligible,
            refused: self.refused,
            not_home: self.not_home,
        }
    }
}

#[derive(sqlx::FromRow)]
struct DoubleRow {
    recipient: Vec<u8>,
    receipts: i64,
    devices: i64,
}

#[derive(sqlx::FromRow)]
struct ActivityRow {
    device_id: String,
    worker_id: String,
    receipts: i64,
    overrides: Option<i64>,
    lag: Option<i64>,
    last_received_ms: Option<i64>,
    refusals: i64,
    status: String,
}

#[derive(sqlx::FromRow)]
struct DeviceCounts {
    total: i64,
    silent: Option<i64>,
    revoked: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct WorkerRow {
    worker_id: String,
    receipts: i64,
    overrides: i64,
    refusals: i64,
    unlive: i64,
    complaints: i64,
    proxies: i64,
    revoked: i64,
}

fn n(v: i64) -> u64 {
    v.max(0) as u64
}

fn pairs(rows: Vec<(String, i64)>) -> Vec<(String, u64)> {
    rows.into_iter().map(|(k, v)| (k, n(v))).collect()
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
        // Kept current by ingestion and import (see store/summaries.rs): no scan of recipients or receipts.
        let rows: Vec<AreaRow> = sqlx::query_as(
            "SELECT province, regency, post_office, recipients, target_amount, paid, paid_amount, overrides,
                    ineligible, refused, not_home
             FROM area_stats WHERE roster_id = $1 AND recipients > 0 ORDER BY province, regency, post_office",
        )
        .bind(&roster_id)
        .fetch_all(&self.read)
        .await?;
        let mut total = AreaCounts::default();
        for r in &rows {
            total.add(r.counts(), 1);
        }
        let areas = rows.iter().map(|r| area(&r.province, &r.regency, &r.post_office, r.counts())).collect();
        let refusals = pairs(
            sqlx::query_as("SELECT result, COUNT(*) FROM upload_refusals GROUP BY result ORDER BY result")
                .fetch_all(&self.read)
                .await?,
        );
        let gaps = pairs(
            sqlx::query_as(
                "SELECT device_id, CAST(max_seq - receipts AS BIGINT) FROM device_stats WHERE max_seq > receipts
                 ORDER BY device_id",
            )
            .fetch_all(&self.read)
            .await?,
        );
        let receipts: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(receipts), 0) AS BIGINT) FROM device_stats")
            .fetch_one(&self.read)
            .await?;
        let counts = pairs(
            sqlx::query_as("SELECT name, n FROM roster_counts WHERE roster_id = $1 AND n > 0 ORDER BY name")
                .bind(&roster_id)
                .fetch_all(&self.read)
                .await?,
        );
        let named = |prefix: &str| -> Vec<(String, u64)> {
            // A count a decision brought back to 0 (a held receipt counted or refused) is not listed.
            counts
                .iter()
                .filter(|(_, n)| *n > 0)
                .filter_map(|(k, n)| k.strip_prefix(prefix).map(|k| (k.to_string(), *n)))
                .collect()
        };
        let complaints: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM complaints c JOIN receipts r ON r.id = c.receipt_id WHERE r.roster_id = $1",
        )
        .bind(&roster_id)
        .fetch_one(&self.read)
        .await?;
        let paid_by_day: Vec<(i64, i64)> =
            sqlx::query_as("SELECT day, paid FROM daily_paid WHERE roster_id = $1 ORDER BY day")
                .bind(&roster_id)
                .fetch_all(&self.read)
                .await?;
        // Few recipients are paid twice: found through the partial index, then counted.
        let doubles: Vec<DoubleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT r.recipient AS recipient, CAST(COUNT(*) AS BIGINT) AS receipts,
                    CAST(COUNT(DISTINCT r.device_id) AS BIGINT) AS devices
             FROM recipients p JOIN receipts r ON r.roster_id = p.roster_id AND r.recipient = p.recipient
             WHERE p.roster_id = $1 AND p.paid_receipts >= {DOUBLE_PAYMENT_RECEIPTS} AND r.outcome = 'paid'
                   AND r.held = 0
             GROUP BY r.recipient ORDER BY r.recipient"
        )))
        .bind(&roster_id)
        .fetch_all(&self.read)
        .await?;
        let now = now_ms();
        // Silent longest first (never heard from at the top), so the list shows who needs a call.
        let activity: Vec<ActivityRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT t.device_id, t.worker_id, t.receipts, t.overrides, t.lag, t.last_received_ms, t.status,
                    (SELECT CAST(COUNT(*) AS BIGINT) FROM upload_refusals u WHERE u.device_id = t.device_id) AS refusals
             FROM (SELECT d.device_id, d.worker_id, CAST(COALESCE(s.receipts, 0) AS BIGINT) AS receipts, s.overrides,
                          CAST(s.lag_sum_ms / CASE WHEN s.receipts > 0 THEN s.receipts ELSE 1 END AS BIGINT) AS lag,
                          s.last_received_ms, d.status
                   FROM devices d LEFT JOIN device_stats s ON s.device_id = d.device_id
                   WHERE d.status IN {LISTED}
                   ORDER BY COALESCE(s.last_received_ms, 0), d.device_id LIMIT {DEVICE_LIST_LIMIT}) t
             ORDER BY COALESCE(t.last_received_ms, 0), t.device_id"
        )))
        .fetch_all(&self.read)
        .await?;
        let device_counts: DeviceCounts = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS total,
                    CAST(SUM(CASE WHEN d.status = 'approved' AND (s.last_received_ms IS NULL OR s.last_received_ms < $1)
                             THEN 1 ELSE 0 END) AS BIGINT) AS silent,
                    CAST(SUM(CASE WHEN d.status = 'revoked' THEN 1 ELSE 0 END) AS BIGINT) AS revoked
             FROM devices d LEFT JOIN device_stats s ON s.device_id = d.device_id WHERE d.status IN {LISTED}",
        )))
        .bind(now - SILENT_AFTER_MS)
        .fetch_one(&self.read)
        .await?;
        let unlive_by_post_office = pairs(
            sqlx::query_as(
                "SELECT d.post_office, CAST(SUM(s.unlive_paid) AS BIGINT) FROM devices d
                 JOIN device_stats s ON s.device_id = d.device_id
                 GROUP BY d.post_office HAVING SUM(s.unlive_paid) > 0 ORDER BY d.post_office",
            )
            .fetch_all(&self.read)
            .await?,
        );
        let unlive_payments: Vec<UnlivePayment> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT r.id AS receipt_id, r.device_id, d.worker_id, d.post_office, r.method, r.liveness
             FROM receipts r JOIN devices d ON d.device_id = r.device_id
             WHERE r.roster_id = $1 AND r.outcome = 'paid' AND r.held = 0
                   AND (r.liveness IS NULL OR r.liveness <> '{LIVENESS_PASSED}' OR r.method = '{OVERRIDE_METHOD}')
             ORDER BY r.received_ms DESC, r.id LIMIT {DEVICE_LIST_LIMIT}"
        )))
        .bind(&roster_id)
        .fetch_all(&self.read)
        .await?;
        let overrides_unverified = self.overrides_unverified(&roster_id).await?;
        let duplicates = self.face_duplicates(&roster_id, DEVICE_LIST_LIMIT).await?;
        let reallocations = self.reallocation_totals(Some(&roster_id)).await?.by_status;
        let period = targets::period(&roster_id, paid_by_day.first().map(|(day, _)| *day));
        let progress = period.map_or_else(Vec::new, |p| {
            targets::progress(&p, &paid_by_day, total.recipients - total.ineligible, wib_day(now))
        });
        let target_line = period.map_or_else(Vec::new, |p| targets::target_line(&p));
        let rosters: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT roster_id FROM rosters ORDER BY created_ms DESC, roster_id LIMIT {ROSTER_LIST_LIMIT}"
        )))
        .fetch_all(&self.read)
        .await?;
        // Devices from before attestation was verified (NULL) count as unattested.
        let flagged_where = "status <> 'revoked' AND COALESCE(security_level, 'none') NOT IN ('tee', 'strongbox')";
        let devices_flagged_count: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM devices WHERE {flagged_where}")))
                .fetch_one(&self.read)
                .await?;
        let devices_flagged: Vec<FlaggedDevice> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT device_id, worker_id, post_office, COALESCE(security_level, 'none') AS security_level, status
             FROM devices WHERE {flagged_where} ORDER BY device_id LIMIT {DEVICE_LIST_LIMIT}"
        )))
        .fetch_all(&self.read)
        .await?;
        Ok(Dashboard {
            period: period.map(|p| (civil_date(p.first_day), civil_date(p.first_day + p.days - 1))),
            progress,
            target_line,
            rosters,
            reallocations,
            paid_after_reallocation: named("paid_after_reallocation").first().map_or(0, |(_, n)| *n),
            devices_flagged_count: n(devices_flagged_count),
            devices_flagged,
            overrides_unverified_count: named("override_approval:")
                .iter()
                .filter(|(state, _)| state != "verified")
                .map(|(_, n)| n)
                .sum(),
            overrides_unverified,
            paid_without_live_check: unlive_by_post_office.iter().map(|(_, n)| n).sum(),
            unlive_by_post_office,
            unlive_payments,
            total: area("all", "all", "all", total),
            areas,
            targets: [TARGET_WEEK_TWO, 1.0],
            refusals,
            devices_with_gaps: gaps,
            receipts: n(receipts),
            ineligible_by_reason: named("ineligible:"),
            paid_by_day: paid_by_day.into_iter().map(|(day, paid)| (civil_date(day), n(paid))).collect(),
            low_score_matches: named("low_score").first().map_or(0, |(_, n)| *n),
            double_payments: doubles
                .into_iter()
                .map(|r| DoublePayment {
                    recipient: hex::encode(r.recipient),
                    receipts: n(r.receipts),
                    devices: n(r.devices),
                })
                .collect(),
            devices: activity
                .into_iter()
                .map(|r| DeviceActivity {
                    device_id: r.device_id,
                    worker_id: r.worker_id,
                    receipts: n(r.receipts),
                    overrides: n(r.overrides.unwrap_or(0)),
                    mean_sync_lag_ms: r.lag.unwrap_or(0),
                    last_received_ms: r.last_received_ms,
                    refusals: n(r.refusals),
                    silent: r.last_received_ms.is_none_or(|t| now - t > SILENT_AFTER_MS),
                    status: r.status,
                })
                .collect(),
            devices_total: n(device_counts.total),
            devices_silent: n(device_counts.silent.unwrap_or(0)),
            devices_revoked: n(device_counts.revoked.unwrap_or(0)),
            server_checks: self.verdict_counts(&roster_id).await?,
            unverified_payments: self.unverified_payments(&roster_id).await?,
            verified_shares: self.verified_shares(&roster_id).await?,
            face_duplicates_count: duplicates.0,
            face_duplicates: duplicates.1,
            flagged: named("flag:"),
            workers: self.workers().await?,
            complaints: n(complaints),
            late_receipts: counts.iter().find(|(k, _)| k == "late").map_or(0, |(_, n)| *n),
            roster_id,
        })
    }

    /// Workers whose override or refusal rate needs a look, highest override rate first.
    async fn workers(&self) -> Result<Vec<WorkerRates>, ApiError> {
        let rows: Vec<WorkerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT w.worker_id, w.receipts, w.overrides, COALESCE(rf.n, 0) AS refusals, w.unlive,
                    COALESCE(cp.n, 0) AS complaints, w.proxies, w.revoked FROM (
                 SELECT d.worker_id, CAST(COALESCE(SUM(s.receipts), 0) AS BIGINT) AS receipts,
                        CAST(COALESCE(SUM(s.overrides), 0) AS BIGINT) AS overrides,
                        CAST(COALESCE(SUM(s.unlive_paid), 0) AS BIGINT) AS unlive,
                        CAST(COALESCE(SUM(s.proxy_paid), 0) AS BIGINT) AS proxies,
                        CAST(MAX(CASE WHEN d.status = 'revoked' THEN 1 ELSE 0 END) AS BIGINT) AS revoked
                 FROM devices d LEFT JOIN device_stats s ON s.device_id = d.device_id
                 WHERE d.status IN {LISTED} GROUP BY d.worker_id) w
             LEFT JOIN (SELECT x.worker_id, CAST(COUNT(*) AS BIGINT) AS n FROM upload_refusals u
                        JOIN devices x ON x.device_id = u.device_id GROUP BY x.worker_id) rf
                    ON rf.worker_id = w.worker_id
             LEFT JOIN (SELECT x.worker_id, CAST(COUNT(*) AS BIGINT) AS n FROM complaints c
                        JOIN receipts r ON r.id = c.receipt_id JOIN devices x ON x.device_id = r.device_id
                        GROUP BY x.worker_id) cp
                    ON cp.worker_id = w.worker_id
             WHERE w.overrides * {WORKER_OVERRIDE_WATCH_DEN} > w.receipts * {WORKER_OVERRIDE_WATCH_NUM} OR rf.n > 0
                   OR w.unlive > 0 OR cp.n > 0 OR w.proxies > 0 OR w.revoked > 0
             ORDER BY CAST(w.overrides AS DOUBLE PRECISION) / (CASE WHEN w.receipts > 0 THEN w.receipts ELSE 1 END) DESC,
                      w.worker_id
             LIMIT {DEVICE_LIST_LIMIT}"
        )))
        .fetch_all(&self.read)
        .await?;
        let share = |n: i64, of: i64| if of <= 0 { 0.0 } else { n as f64 / of as f64 };
        Ok(rows
            .into_iter()
            .map(|r| WorkerRates {
                override_rate: share(r.overrides, r.receipts),
                refusal_rate: share(r.refusals, r.receipts + r.refusals),
                receipts: n(r.receipts),
                paid_without_live_check: n(r.unlive),
                complaints: n(r.complaints),
                proxy_paid: n(r.proxies),
                revoked: r.revoked > 0,
                worker_id: r.worker_id,
            })
            .collect())
    }
}

/// Devices the dashboard lists and counts: a revoked one stays, marked (its history is evidence).
const LISTED: &str = "('approved', 'revoked')";

/// Workers are listed when more than this share of their payments are overrides (1 in 20).
const WORKER_OVERRIDE_WATCH_NUM: i64 = 1;
const WORKER_OVERRIDE_WATCH_DEN: i64 = 20;

fn area(province: &str, regency: &str, post_office: &str, c: AreaCounts) -> Area {
    Area {
        province: province.to_string(),
        regency: regency.to_string(),
        post_office: post_office.to_string(),
        province_name: None,
        regency_name: None,
        post_office_name: None,
        recipients: n(c.recipients),
        target_amount: n(c.target_amount),
        paid: n(c.paid),
        paid_amount: n(c.paid_amount),
        overrides: n(c.overrides),
        ineligible: n(c.ineligible),
        refused: n(c.refused),
        not_home: n(c.not_home),
        to_visit: n(c.to_visit()),
        paid_share: c.paid_share(),
    }
}

/// The dashboard page: fetches `/v1/dashboard` every five seconds.
pub const PAGE: &str = include_str!("dashboard.html");
