//! Summary tables behind the dashboard: per-area counts, payments per day, per-device activity.
//! Ingestion and import update them in their own transactions (deltas gathered per batch and
//! applied in key order, so concurrent instances lock rows in one order); `rebuild` recomputes
//! them from the base tables.

use std::collections::BTreeMap;

use sqlx::{Any, Row, Transaction};

use crate::db::Db;
use crate::error::ApiError;

/// Days are counted in Western Indonesian Time (UTC+7).
pub const WIB_OFFSET_MS: i64 = 7 * 3600 * 1000;

/// An area's counters: recipients, target, paid, paid amount, overrides, ineligible, refused, not home.
pub type Counts = [i64; 8];

/// What one recipient adds to its area's counters.
pub fn contribution(standing: i64, overridden: bool, amount: i64) -> Counts {
    let paid = standing == 4;
    [
        1,
        amount,
        i64::from(paid),
        if paid { amount } else { 0 },
        i64::from(paid && overridden),
        i64::from(standing == 3),
        i64::from(standing == 2),
        i64::from(standing == 1),
    ]
}

fn add(into: &mut Counts, c: Counts, sign: i64) {
    for (a, b) in into.iter_mut().zip(c) {
        *a += sign * b;
    }
}

/// (roster, province, regency, post office).
pub type AreaKey = (String, String, String, String);

/// Changes gathered while storing a batch.
#[derive(Default)]
pub struct Deltas {
    areas: BTreeMap<AreaKey, Counts>,
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
}

impl Deltas {
    /// A recipient moved from one contribution to another (import or a new standing).
    pub fn area(&mut self, key: AreaKey, from: Option<Counts>, to: Counts) {
        let d = self.areas.entry(key).or_default();
        if let Some(from) = from {
            add(d, from, -1);
        }
        add(d, to, 1);
    }

    /// Subtracts a recipient's old contribution from its old area.
    pub fn leave(&mut self, key: AreaKey, from: Counts) {
        add(self.areas.entry(key).or_default(), from, -1);
    }

    /// A stored receipt, for the per-day and per-device counters.
    #[allow(clippy::too_many_arguments)]
    pub fn receipt(
        &mut self,
        device: &str,
        roster: &str,
        paid: bool,
        is_override: bool,
        seq: u64,
        signed_ms: i64,
        now: i64,
    ) {
        if paid {
            *self.days.entry((roster.to_string(), (signed_ms + WIB_OFFSET_MS) / 86_400_000)).or_default() += 1;
        }
        let d = self.devices.entry(device.to_string()).or_default();
        d.receipts += 1;
        d.max_seq = d.max_seq.max(seq as i64);
        d.overrides += i64::from(is_override);
        d.lag_sum_ms += now - signed_ms;
        d.last_received_ms = now;
    }

    /// One more receipt under `name` in the roster's counts (see migration 0006).
    pub fn count(&mut self, roster: &str, name: String) {
        *self.counts.entry((roster.to_string(), name)).or_default() += 1;
    }

    /// Writes the deltas (in key order) inside `tx`.
    pub async fn apply(self, tx: &mut Transaction<'static, Any>) -> Result<(), ApiError> {
        for ((roster, province, regency, office), c) in self.areas {
            if c.iter().all(|v| *v == 0) {
                continue;
            }
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
                "INSERT INTO device_stats (device_id, receipts, max_seq, overrides, lag_sum_ms, last_received_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (device_id) DO UPDATE SET receipts = device_stats.receipts + excluded.receipts,
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
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

/// Raises a recipient's standing for a newly stored receipt (inside the batch's transaction)
/// and records the change in its area's counters. `row` is the recipient's roster row:
/// (province, regency, post office, amount, standing, overridden).
pub async fn raise_standing(
    tx: &mut Transaction<'static, Any>,
    deltas: &mut Deltas,
    roster: &str,
    recipient: &[u8],
    row: (String, String, String, i64, i64, bool),
    outcome: &str,
    is_override: bool,
) -> Result<(), ApiError> {
    let (province, regency, office, amount, old, was_overridden) = row;
    let standing = old.max(i64::from(salur_core::receipt::standing(outcome)));
    let overridden = was_overridden || (is_override && outcome == "paid");
    let paid = i64::from(outcome == "paid");
    if standing == old && overridden == was_overridden && paid == 0 {
        return Ok(());
    }
    sqlx::query(
        "UPDATE recipients SET standing = $1, overridden = $2, paid_receipts = paid_receipts + $3
         WHERE roster_id = $4 AND recipient = $5",
    )
    .bind(standing)
    .bind(i64::from(overridden))
    .bind(paid)
    .bind(roster)
    .bind(recipient)
    .execute(&mut **tx)
    .await?;
    let key = (roster.to_string(), province, regency, office);
    let from = contribution(old, was_overridden, amount);
    deltas.area(key, Some(from), contribution(standing, overridden, amount));
    Ok(())
}

impl Db {
    /// Recomputes every summary from the base tables (after the migration that added them, or
    /// after a bulk load). `standings` also recomputes each recipient's standing from receipts.
    pub async fn rebuild_summaries(&self, standings: bool) -> Result<(), ApiError> {
        let mut tx = self.write.begin().await?;
        if standings {
            sqlx::query(
                "UPDATE recipients SET
                    standing = COALESCE((SELECT MAX(CASE r.outcome WHEN 'paid' THEN 4 WHEN 'ineligible' THEN 3
                                         WHEN 'refused' THEN 2 WHEN 'not_home' THEN 1 ELSE 0 END)
                                  FROM receipts r WHERE r.roster_id = recipients.roster_id
                                  AND r.recipient = recipients.recipient), 0),
                    paid_receipts = (SELECT COUNT(*) FROM receipts r WHERE r.roster_id = recipients.roster_id
                                     AND r.recipient = recipients.recipient AND r.outcome = 'paid'),
                    overridden = (SELECT COUNT(*) FROM receipts r WHERE r.roster_id = recipients.roster_id
                                  AND r.recipient = recipients.recipient AND r.outcome = 'paid'
                                  AND r.method = 'supervisor_override') ",
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE recipients SET overridden = 1 WHERE overridden > 1").execute(&mut *tx).await?;
        }
        for sql in [
            "DELETE FROM area_stats",
            "DELETE FROM daily_paid",
            "DELETE FROM device_stats",
            "DELETE FROM roster_counts",
            "INSERT INTO roster_counts (roster_id, name, n)
             SELECT roster_id, 'ineligible:' || reason, COUNT(*) FROM receipts
             WHERE outcome = 'ineligible' AND reason IS NOT NULL GROUP BY roster_id, reason",
            "INSERT INTO roster_counts (roster_id, name, n)
             SELECT roster_id, 'flag:' || flag, COUNT(*) FROM receipts WHERE flag IS NOT NULL GROUP BY roster_id, flag",
            "INSERT INTO roster_counts (roster_id, name, n)
             SELECT roster_id, 'low_score', COUNT(*) FROM receipts
             WHERE outcome = 'paid' AND score_e6 >= threshold_e6 AND score_e6 < threshold_e6 + 50000
             GROUP BY roster_id",
            "INSERT INTO area_stats (roster_id, province, regency, post_office, recipients, target_amount, paid,
                                     paid_amount, overrides, ineligible, refused, not_home)
             SELECT roster_id, province, regency, post_office, COUNT(*), SUM(amount),
                    SUM(CASE WHEN standing = 4 THEN 1 ELSE 0 END), SUM(CASE WHEN standing = 4 THEN amount ELSE 0 END),
                    SUM(CASE WHEN standing = 4 AND overridden = 1 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN standing = 3 THEN 1 ELSE 0 END), SUM(CASE WHEN standing = 2 THEN 1 ELSE 0 END),
                    SUM(CASE WHEN standing = 1 THEN 1 ELSE 0 END)
             FROM recipients GROUP BY roster_id, province, regency, post_office",
            "INSERT INTO daily_paid (roster_id, day, paid)
             SELECT roster_id, (signed_ms + 25200000) / 86400000, COUNT(*) FROM receipts WHERE outcome = 'paid'
             GROUP BY roster_id, (signed_ms + 25200000) / 86400000",
            "INSERT INTO device_stats (device_id, receipts, max_seq, overrides, lag_sum_ms, last_received_ms)
             SELECT device_id, COUNT(*), MAX(seq), SUM(CASE WHEN method = 'supervisor_override' THEN 1 ELSE 0 END),
                    SUM(received_ms - signed_ms), MAX(received_ms)
             FROM receipts GROUP BY device_id",
            "UPDATE stats_state SET rebuild_needed = 0",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Rebuilds the summaries once after the migration that introduced them.
    pub(crate) async fn rebuild_if_needed(&self) -> Result<(), ApiError> {
        let row = sqlx::query("SELECT rebuild_needed FROM stats_state WHERE id = 1").fetch_optional(&self.read).await?;
        if row.is_some_and(|r| r.get::<i64, _>(0) != 0) {
            self.rebuild_summaries(true).await?;
        }
        Ok(())
    }
}
