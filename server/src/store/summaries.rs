//! Summary tables behind the dashboard: per-area counts, payments per day, per-device activity.
//! Ingestion and import update them in their own transactions (deltas gathered per batch and
//! applied in key order, so concurrent instances lock rows in one order); `rebuild` recomputes
//! them from the base tables.

use std::collections::BTreeMap;

use salur_core::receipt::Standing;
use sqlx::{Any, Transaction};

use super::Db;
use crate::domain::areas::{AreaCounts, RecipientStanding};
use crate::domain::dates::wib_day;
use crate::domain::ingest::{Indexed, LIVENESS_PASSED, LOW_SCORE_MARGIN_E6, OVERRIDE_METHOD, PROXY_METHOD};
use crate::error::ApiError;

/// (roster, province, regency, post office).
pub type AreaKey = (String, String, String, String);

/// Changes gathered while storing a batch.
#[derive(Default)]
pub struct Deltas {
    areas: BTreeMap<AreaKey, AreaCounts>,
    days: BTreeMap<(String, i64), i64>,
    devices: BTreeMap<String, DeviceDelta>,
    counts: BTreeMap<(String, String), i64>,
}

#[derive(Default)]
struct DeviceDelta {
    receipts: i64,
    max_seq: i64,
    overrides: i64,
    lag_sum_ms: i64,
    last_received_ms: i64,
    unlive_paid: i64,
    proxy_paid: i64,
}

impl Deltas {
    /// A recipient (of `amount` rupiah) moved from one standing to another in its area; `from`
    /// is `None` for a recipient new to the roster.
    pub fn moved(&mut self, key: AreaKey, amount: i64, from: Option<RecipientStanding>, to: RecipientStanding) {
        let d = self.areas.entry(key).or_default();
        if let Some(f) = from {
            d.add(AreaCounts::of_recipient(f.standing, f.overridden, amount), -1);
        }
        d.add(AreaCounts::of_recipient(to.standing, to.overridden, amount), 1);
    }

    /// A recipient (of `amount` rupiah) left its old area (an import moved it elsewhere).
    pub fn leave(&mut self, key: AreaKey, amount: i64, from: RecipientStanding) {
        self.areas.entry(key).or_default().add(AreaCounts::of_recipient(from.standing, from.overridden, amount), -1);
    }

    /// A stored receipt, for the per-day and per-device counters.
    pub fn receipt(&mut self, device: &str, roster: &str, r: &Indexed, seq: u64, signed_ms: i64, now: i64) {
        self.paid_day(roster, r, signed_ms);
        self.device_receipt(device, r, seq, signed_ms, now);
    }

    /// A counted payment on its day (WIB) of the roster's progress chart.
    pub fn paid_day(&mut self, roster: &str, r: &Indexed, signed_ms: i64) {
        if r.outcome == "paid" {
            *self.days.entry((roster.to_string(), wib_day(signed_ms))).or_default() += 1;
        }
    }

    /// A stored receipt for its device's counters only: a receipt held from a revoked device is
    /// part of that device's history but of no payment count.
    pub fn device_receipt(&mut self, device: &str, r: &Indexed, seq: u64, signed_ms: i64, now: i64) {
        let d = self.devices.entry(device.to_string()).or_default();
        d.receipts += 1;
        d.max_seq = d.max_seq.max(crate::domain::bounds::to_i64(seq));
        d.overrides += i64::from(r.is_override());
        d.unlive_paid += i64::from(r.paid_without_live_check());
        d.proxy_paid += i64::from(r.is_proxy_payment());
        d.lag_sum_ms += now - signed_ms;
        d.last_received_ms = now;
    }

    /// One more receipt under `name` in the roster's counts (see migration 0006).
    pub fn count(&mut self, roster: &str, name: String) {
        *self.counts.entry((roster.to_string(), name)).or_default() += 1;
    }

    /// One receipt fewer under `name` (its flag changed).
    pub fn uncount(&mut self, roster: &str, name: String) {
        *self.counts.entry((roster.to_string(), name)).or_default() -= 1;
    }

    /// Writes the deltas (in key order) inside `tx`.
    pub async fn apply(self, tx: &mut Transaction<'static, Any>) -> Result<(), ApiError> {
        for ((roster, province, regency, office), c) in self.areas {
            if c.is_zero() {
                continue;
            }
            let c = c.to_array();
            sqlx::query(
                "INSERT INTO area_stats (roster_id, province, regency, post_office, recipients, target_amount, paid,
                                         paid_amount, overrides, ineligible, refused, not_home)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (roster_id, province, regency, post_office) DO UPDATE SET
                    recipients = area_stats.recipients + excluded.recipients,
                    target_amount = area_stats.target_amount + excluded.target_amount,
                    paid = area_stats.paid + excluded.paid, paid_amount = area_stats.paid_amount + excluded.paid_amount,
                    overrides = area_stats.overrides + excluded.overrides,
                    ineligible = area_stats.ineligible + excluded.ineligible,
                    refused = area_stats.refused + excluded.refused, not_home = area_stats.not_home + excluded.not_home",
            )
            .bind(roster)
            .bind(province)
            .bind(regency)
            .bind(office)
            .bind(c[0])
            .bind(c[1])
            .bind(c[2])
            .bind(c[3])
            .bind(c[4])
            .bind(c[5])
            .bind(c[6])
            .bind(c[7])
            .execute(&mut **tx)
            .await?;
        }
        for ((roster, day), n) in self.days {
            sqlx::query(
                "INSERT INTO daily_paid (roster_id, day, paid) VALUES ($1, $2, $3)
                 ON CONFLICT (roster_id, day) DO UPDATE SET paid = daily_paid.paid + excluded.paid",
            )
            .bind(roster)
            .bind(day)
            .bind(n)
            .execute(&mut **tx)
            .await?;
        }
        for ((roster, name), n) in self.counts {
            sqlx::query(
                "INSERT INTO roster_counts (roster_id, name, n) VALUES ($1, $2, $3)
                 ON CONFLICT (roster_id, name) DO UPDATE SET n = roster_counts.n + excluded.n",
            )
            .bind(roster)
            .bind(name)
            .bind(n)
            .execute(&mut **tx)
            .await?;
        }
        for (device, d) in self.devices {
            sqlx::query(
                "INSERT INTO device_stats (device_id, receipts, max_seq, overrides, lag_sum_ms, last_received_ms,
                                           unlive_paid, proxy_paid)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (device_id) DO UPDATE SET receipts = device_stats.receipts + excluded.receipts,
                    unlive_paid = device_stats.unlive_paid + excluded.unlive_paid,
                    proxy_paid = device_stats.proxy_paid + excluded.proxy_paid,
                    max_seq = CASE WHEN excluded.max_seq > device_stats.max_seq THEN excluded.max_seq
                                   ELSE device_stats.max_seq END,
                    overrides = device_stats.overrides + excluded.overrides,
                    lag_sum_ms = device_stats.lag_sum_ms + excluded.lag_sum_ms,
                    last_received_ms = excluded.last_received_ms",
            )
            .bind(device)
            .bind(d.receipts)
            .bind(d.max_seq)
            .bind(d.overrides)
            .bind(d.lag_sum_ms)
            .bind(d.last_received_ms)
            .bind(d.unlive_paid)
            .bind(d.proxy_paid)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

impl Db {
    /// Recomputes every summary from the base tables (after the migration that added them, or
    /// after a bulk load). `standings` also recomputes each recipient's standing from receipts.
    /// The numbers in the SQL come from the domain's rules, so kept and rebuilt cannot disagree.
    pub async fn rebuild_summaries(&self, standings: bool) -> Result<(), ApiError> {
        let code = |s: Standing| s.code();
        let (paid, ineligible, refused, not_home) =
            (code(Standing::Paid), code(Standing::Ineligible), code(Standing::Refused), code(Standing::NotHome));
        let wib_ms = crate::domain::dates::WIB_OFFSET_MS;
        let mut tx = self.write.begin().await?;
        if standings {
            let case = Standing::sql_case("r.outcome");
            for sql in [
                format!(
                    "UPDATE recipients SET
                        standing = COALESCE((SELECT MAX({case}) FROM receipts r
                                             WHERE r.roster_id = recipients.roster_id
                                             AND r.recipient = recipients.recipient AND r.held = 0), 0),
                        paid_receipts = (SELECT COUNT(*) FROM receipts r WHERE r.roster_id = recipients.roster_id
                                         AND r.recipient = recipients.recipient AND r.outcome = 'paid'
                                         AND r.held = 0),
                        overridden = (SELECT COUNT(*) FROM receipts r WHERE r.roster_id = recipients.roster_id
                                      AND r.recipient = recipients.recipient AND r.outcome = 'paid'
                                      AND r.method = '{OVERRIDE_METHOD}' AND r.held = 0)"
                ),
                "UPDATE recipients SET overridden = 1 WHERE overridden > 1".to_string(),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
            }
        }
        for sql in [
            "DELETE FROM area_stats".to_string(),
            "DELETE FROM daily_paid".into(),
            "DELETE FROM device_stats".into(),
            "DELETE FROM roster_counts".into(),
            "INSERT INTO roster_counts (roster_id, name, n)
             SELECT roster_id, 'ineligible:' || reason, COUNT(*) FROM receipts
             WHERE outcome = 'ineligible' AND reason IS NOT NULL AND held = 0 GROUP BY roster_id, reason"
                .into(),
            "INSERT INTO roster_counts (roster_id, name, n)
             SELECT roster_id, 'flag:' || flag, COUNT(*) FROM receipts WHERE flag IS NOT NULL GROUP BY roster_id, flag"
                .into(),
            "INSERT INTO roster_counts (roster_id, name, n)
             SELECT roster_id, 'late', COUNT(*) FROM receipts WHERE late <> 0 GROUP BY roster_id"
                .into(),
            "INSERT INTO roster_counts (roster_id, name, n)
             SELECT roster_id, 'override_approval:' || override_approval, COUNT(*) FROM receipts
             WHERE override_approval IS NOT NULL AND held = 0 GROUP BY roster_id, override_approval"
                .into(),
            format!(
                "INSERT INTO roster_counts (roster_id, name, n)
                 SELECT roster_id, 'low_score', COUNT(*) FROM receipts
                 WHERE outcome = 'paid' AND score_e6 >= threshold_e6 AND score_e6 < threshold_e6 + {LOW_SCORE_MARGIN_E6}
                       AND held = 0
                 GROUP BY roster_id"
            ),
            format!(
                "INSERT INTO area_stats (roster_id, province, regency, post_office, recipients, target_amount, paid,
                                         paid_amount, overrides, ineligible, refused, not_home)
                 SELECT roster_id, province, regency, post_office, COUNT(*), SUM(amount),
                        SUM(CASE WHEN standing = {paid} THEN 1 ELSE 0 END),
                        SUM(CASE WHEN standing = {paid} THEN amount ELSE 0 END),
                        SUM(CASE WHEN standing = {paid} AND overridden = 1 THEN 1 ELSE 0 END),
                        SUM(CASE WHEN standing = {ineligible} THEN 1 ELSE 0 END),
                        SUM(CASE WHEN standing = {refused} THEN 1 ELSE 0 END),
                        SUM(CASE WHEN standing = {not_home} THEN 1 ELSE 0 END)
                 FROM recipients GROUP BY roster_id, province, regency, post_office"
            ),
            format!(
                "INSERT INTO daily_paid (roster_id, day, paid)
                 SELECT roster_id, (signed_ms + {wib_ms}) / 86400000, COUNT(*) FROM receipts WHERE outcome = 'paid'
                       AND held = 0
                 GROUP BY roster_id, (signed_ms + {wib_ms}) / 86400000"
            ),
            format!(
                "INSERT INTO device_stats (device_id, receipts, max_seq, overrides, lag_sum_ms, last_received_ms,
                                           unlive_paid, proxy_paid)
                 SELECT device_id, COUNT(*), MAX(seq), SUM(CASE WHEN method = '{OVERRIDE_METHOD}' THEN 1 ELSE 0 END),
                        SUM(received_ms - signed_ms), MAX(received_ms),
                        SUM(CASE WHEN outcome = 'paid' AND (liveness IS NULL OR liveness <> '{LIVENESS_PASSED}'
                                                            OR method = '{OVERRIDE_METHOD}')
                                 THEN 1 ELSE 0 END),
                        SUM(CASE WHEN outcome = 'paid' AND method = '{PROXY_METHOD}' THEN 1 ELSE 0 END)
                 FROM receipts GROUP BY device_id"
            ),
            "UPDATE stats_state SET rebuild_needed = 0".into(),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Rebuilds the summaries once after the migration that introduced them.
    pub(super) async fn rebuild_if_needed(&self) -> Result<(), ApiError> {
        let needed: Option<i64> = sqlx::query_scalar("SELECT rebuild_needed FROM stats_state WHERE id = 1")
            .fetch_optional(&self.read)
            .await?;
        if needed.is_some_and(|n| n != 0) {
            self.rebuild_summaries(true).await?;
        }
        Ok(())
    }
}
