//! The period's targets: 90 % of eligible recipients paid by the end of its second week (day 14)
//! and 100 % by its last day, as a daily line the dashboard draws against what was paid.

use serde::Serialize;

use super::dates::civil_date;

/// Share to be paid by the end of day [`WEEK_TWO_DAY`].
pub const TARGET_WEEK_TWO: f64 = 0.9;
/// The last day of the period's second week (1-based).
pub const WEEK_TWO_DAY: i64 = 14;
/// Length of a period whose roster id names no month.
pub const DEFAULT_DAYS: i64 = 30;

/// The days a roster pays in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Its first day (days since 1970-01-01).
    pub first_day: i64,
    /// How many days it lasts.
    pub days: i64,
}

/// One day of the period: paid so far against the target line.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ProgressDay {
    /// `YYYY-MM-DD` (WIB).
    pub date: String,
    /// Recipients paid up to and including this day.
    pub paid: u64,
    /// `paid` over the eligible recipients, 0..1.
    pub share: f64,
    /// Where the target line stands at the end of this day, 0..1.
    pub target: f64,
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days-from-civil).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The period of `roster_id`: the calendar month its id ends with (`blt-2026-11`), else
/// [`DEFAULT_DAYS`] from the first payment; `None` before any payment for such a roster.
pub fn period(roster_id: &str, first_paid_day: Option<i64>) -> Option<Period> {
    let month = roster_id.rsplit_once('-').and_then(|(rest, m)| {
        let (_, y) = rest.rsplit_once('-').unwrap_or(("", rest));
        let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
        ((2000..=2100).contains(&y) && (1..=12).contains(&m) && y.to_string().len() == 4).then_some((y, m))
    });
    match month {
        Some((y, m)) => {
            let first_day = days_from_civil(y, m, 1);
            let next = if m == 12 { days_from_civil(y + 1, 1, 1) } else { days_from_civil(y, m + 1, 1) };
            Some(Period { first_day, days: next - first_day })
        }
        None => first_paid_day.map(|first_day| Period { first_day, days: DEFAULT_DAYS }),
    }
}

/// The target share at the end of 1-based `day`: rising evenly to 90 % on day 14, then evenly
/// to 100 % on the last day.
pub fn target_share(period: &Period, day: i64) -> f64 {
    let day = day.clamp(0, period.days);
    let week_two = WEEK_TWO_DAY.min(period.days);
    if day <= week_two {
        TARGET_WEEK_TWO * day as f64 / week_two as f64
    } else {
        TARGET_WEEK_TWO + (1.0 - TARGET_WEEK_TWO) * (day - week_two) as f64 / (period.days - week_two) as f64
    }
}

/// Every day of `period` up to `today` (or its end): cumulative payments from `paid_by_day`
/// (day number, payments that day) over `eligible` recipients, beside the target.
pub fn progress(period: &Period, paid_by_day: &[(i64, i64)], eligible: i64, today: i64) -> Vec<ProgressDay> {
    let last = (period.first_day + period.days - 1).min(today.max(period.first_day));
    // Payments signed before the period (a clock set wrong, an early visit) count from day one.
    let mut paid: i64 = paid_by_day.iter().filter(|(d, _)| *d < period.first_day).map(|(_, n)| n).sum();
    (period.first_day..=last)
        .map(|day| {
            paid += paid_by_day.iter().filter(|(d, _)| *d == day).map(|(_, n)| n).sum::<i64>();
            ProgressDay {
                date: civil_date(day),
                paid: paid.max(0) as u64,
                share: if eligible > 0 { paid as f64 / eligible as f64 } else { 0.0 },
                target: target_share(period, day - period.first_day + 1),
            }
        })
        .collect()
}

/// The target share at the end of every day of `period`, `(YYYY-MM-DD, share)`.
pub fn target_line(period: &Period) -> Vec<(String, f64)> {
    (1..=period.days).map(|day| (civil_date(period.first_day + day - 1), target_share(period, day))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roster_named_for_a_month_pays_in_that_month() {
        let nov = period("blt-2026-11", None).unwrap();
        assert_eq!((civil_date(nov.first_day), nov.days), ("2026-11-01".to_string(), 30));
        assert_eq!(period("pkh-2028-02", None).unwrap().days, 29, "a leap February");
        assert_eq!(period("blt-2026-12", None).unwrap().days, 31);
        assert_eq!(period("national", None), None, "no month and no payment yet");
        let from_first = period("national", Some(20_000)).unwrap();
        assert_eq!(from_first, Period { first_day: 20_000, days: DEFAULT_DAYS });
        assert_eq!(period("blt-26-11", Some(5)).unwrap().first_day, 5, "a two-digit year names no month");
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 11, 17), 20_774);
    }

    #[test]
    fn the_target_line_covers_the_whole_period_from_day_one() {
        let nov = period("blt-2026-11", None).unwrap();
        let line = target_line(&nov);
        assert_eq!(line.len(), 30);
        assert_eq!((line[0].0.as_str(), line[29].0.as_str()), ("2026-11-01", "2026-11-30"));
        assert!((line[13].1 - 0.9).abs() < 1e-9 && (line[29].1 - 1.0).abs() < 1e-9);
        assert!(line.windows(2).all(|w| w[1].1 > w[0].1), "rises every day");
    }

    #[test]
    fn the_target_reaches_ninety_percent_on_day_fourteen_and_all_on_the_last_day() {
        let nov = period("blt-2026-11", None).unwrap();
        assert_eq!(target_share(&nov, 0), 0.0);
        assert!((target_share(&nov, 7) - 0.45).abs() < 1e-12);
        assert!((target_share(&nov, 14) - 0.9).abs() < 1e-12);
        assert!((target_share(&nov, 22) - 0.95).abs() < 1e-12);
        assert!((target_share(&nov, 30) - 1.0).abs() < 1e-12);
        assert!((target_share(&nov, 99) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn progress_is_cumulative_and_stops_today() {
        let nov = period("blt-2026-11", None).unwrap();
        let d = |n: i64| nov.first_day + n - 1;
        let paid = [(d(0), 1), (d(2), 3), (d(3), 2)];
        let days = progress(&nov, &paid, 10, d(4));
        assert_eq!(days.len(), 4);
        assert_eq!(days.iter().map(|p| p.paid).collect::<Vec<_>>(), [1, 4, 6, 6]);
        assert_eq!(days[0].date, "2026-11-01");
        assert!((days[2].share - 0.6).abs() < 1e-12);
        assert_eq!(progress(&nov, &paid, 10, d(90)).len(), 30, "ends with the period");
        assert_eq!(progress(&nov, &paid, 0, d(1))[0].share, 0.0);
    }
}
