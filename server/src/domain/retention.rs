//! How long personal data is kept (UU PDP 27/2022: no longer than its purpose needs). Evidence
//! face crops and their embeddings go a set number of days after they arrived; a roster's NIKs,
//! names, addresses and face templates go that many days after its period ended. Receipts,
//! amounts, recipient references and the audit log stay: they prove what was paid and hold no
//! readable personal data.

use super::targets::Period;

/// Shortest retention the command accepts: long enough for the period's complaints and audit.
pub const MIN_DAYS: i64 = 30;

/// Whether personal data that arrived at `received_ms` is past a retention of `days` at `now_ms`.
pub fn evidence_expired(received_ms: i64, now_ms: i64, days: i64) -> bool {
    now_ms.saturating_sub(received_ms) > days.saturating_mul(86_400_000)
}

/// Whether a roster whose period is `period` is past a retention of `days` on day `today`.
pub fn roster_expired(period: &Period, today: i64, days: i64) -> bool {
    today > period.first_day + period.days - 1 + days
}

/// The cut-off time for evidence under a retention of `days` at `now_ms`.
pub fn evidence_cutoff_ms(now_ms: i64, days: i64) -> i64 {
    now_ms.saturating_sub(days.saturating_mul(86_400_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::targets::period;

    #[test]
    fn evidence_goes_after_its_days_and_a_roster_after_its_period_and_days() {
        let day = 86_400_000;
        assert!(!evidence_expired(0, 90 * day, 90));
        assert!(evidence_expired(0, 90 * day + 1, 90));
        assert_eq!(evidence_cutoff_ms(100 * day, 90), 10 * day);
        let nov = period("blt-2026-11", None).unwrap();
        let last = nov.first_day + 29;
        assert!(!roster_expired(&nov, last + 90, 90), "the 90th day after the period's end is kept");
        assert!(roster_expired(&nov, last + 91, 90));
        assert!(!roster_expired(&nov, last, 0), "never during the period");
    }
}
