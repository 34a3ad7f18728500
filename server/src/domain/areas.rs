//! An area's counters on the dashboard and how one recipient's standing contributes to them.

use salur_core::receipt::Standing;

/// An area's counters: what the dashboard shows for a post office (and, summed, for a region).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AreaCounts {
    /// Recipients on the roster.
    pub recipients: i64,
    /// Rupiah to be paid.
    pub target_amount: i64,
    /// Recipients paid.
    pub paid: i64,
    /// Rupiah paid.
    pub paid_amount: i64,
    /// Paid by supervisor override.
    pub overrides: i64,
    /// Found ineligible.
    pub ineligible: i64,
    /// Refused the aid.
    pub refused: i64,
    /// Nobody home at the last visit.
    pub not_home: i64,
}

impl AreaCounts {
    /// What one recipient adds to its area.
    pub fn of_recipient(standing: Standing, overridden: bool, amount: i64) -> Self {
        let paid = standing == Standing::Paid;
        Self {
            recipients: 1,
            target_amount: amount,
            paid: i64::from(paid),
            paid_amount: if paid { amount } else { 0 },
            overrides: i64::from(paid && overridden),
            ineligible: i64::from(standing == Standing::Ineligible),
            refused: i64::from(standing == Standing::Refused),
            not_home: i64::from(standing == Standing::NotHome),
        }
    }

    /// The counters as an array, in the column order of `area_stats`.
    pub fn to_array(self) -> [i64; 8] {
        [
            self.recipients,
            self.target_amount,
            self.paid,
            self.paid_amount,
            self.overrides,
            self.ineligible,
            self.refused,
            self.not_home,
        ]
    }

    /// Adds `other` times `sign` (+1 or -1).
    pub fn add(&mut self, other: Self, sign: i64) {
        let mut a = self.to_array();
        for (x, y) in a.iter_mut().zip(other.to_array()) {
            *x += sign * y;
        }
        let [recipients, target_amount, paid, paid_amount, overrides, ineligible, refused, not_home] = a;
        *self = Self { recipients, target_amount, paid, paid_amount, overrides, ineligible, refused, not_home };
    }

    /// Whether every counter is zero (nothing to write).
    pub fn is_zero(&self) -> bool {
        self.to_array().iter().all(|v| *v == 0)
    }

    /// Not yet visited.
    pub fn to_visit(&self) -> i64 {
        (self.recipients - self.paid - self.ineligible - self.refused - self.not_home).max(0)
    }

    /// Paid share of the eligible (recipients less ineligible), 0..1.
    pub fn paid_share(&self) -> f64 {
        let eligible = self.recipients - self.ineligible;
        if eligible <= 0 {
            0.0
        } else {
            self.paid as f64 / eligible as f64
        }
    }
}

/// A recipient's standing as the server keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecipientStanding {
    /// Where they stand.
    pub standing: Standing,
    /// Paid by supervisor override at least once.
    pub overridden: bool,
}

/// What a newly stored receipt does to its recipient: the new standing (only ever higher) and
/// whether it is a payment; `None` when nothing changes.
pub fn raise(old: RecipientStanding, outcome: Standing, is_override: bool) -> Option<RecipientStanding> {
    let paid = outcome == Standing::Paid;
    let new =
        RecipientStanding { standing: old.standing.max(outcome), overridden: old.overridden || (is_override && paid) };
    (new != old || paid).then_some(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: RecipientStanding = RecipientStanding { standing: Standing::NotVisited, overridden: false };

    #[test]
    fn a_visit_only_raises_the_standing_and_every_payment_counts() {
        let home = raise(NEW, Standing::NotHome, false).unwrap();
        assert_eq!(home.standing, Standing::NotHome);
        let paid = raise(home, Standing::Paid, true).unwrap();
        assert_eq!(paid, RecipientStanding { standing: Standing::Paid, overridden: true });
        // A later "not home" after a payment changes nothing; a second payment is still reported.
        assert_eq!(raise(paid, Standing::NotHome, false), None);
        assert_eq!(raise(paid, Standing::Paid, false), Some(paid));
    }

    #[test]
    fn contributions_move_between_counters_and_sum_back_to_zero() {
        let before = AreaCounts::of_recipient(Standing::NotHome, false, 600_000);
        let after = AreaCounts::of_recipient(Standing::Paid, true, 600_000);
        assert_eq!((before.not_home, before.paid), (1, 0));
        assert_eq!((after.paid, after.paid_amount, after.overrides, after.not_home), (1, 600_000, 1, 0));
        let mut delta = AreaCounts::default();
        delta.add(after, 1);
        delta.add(before, -1);
        assert_eq!((delta.recipients, delta.paid, delta.not_home), (0, 1, -1));
        delta.add(after, -1);
        delta.add(before, 1);
        assert!(delta.is_zero());
    }

    #[test]
    fn paid_share_leaves_out_the_ineligible() {
        let mut a = AreaCounts::default();
        for s in [Standing::Paid, Standing::Paid, Standing::Ineligible, Standing::NotVisited] {
            a.add(AreaCounts::of_recipient(s, false, 100), 1);
        }
        assert!((a.paid_share() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(a.to_visit(), 1);
        assert_eq!(AreaCounts::default().paid_share(), 0.0);
    }
}
