//! Error rates of the live check per threshold, in ISO/IEC 30107-3 terms, with exact 95 %
//! intervals, from labelled recordings: so a deployment sets its passive threshold on its own
//! phones and people. APCER (attacks accepted) is reported for the worst attack kind, as the
//! standard asks, and BPCER (real people refused) over every bona fide recording.

use std::collections::BTreeMap;

use super::recording::{Label, Split};

/// One recording judged once: the geometry's verdict (every rule but the passive threshold) and
/// the passive score, which then decides at each threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// Bona fide or attack.
    pub label: Label,
    /// The attack's kind.
    pub species: Option<String>,
    /// Tune or holdout.
    pub split: Split,
    /// The challenge passed with the passive threshold set aside; `None` when it failed.
    pub passive: Option<f32>,
}

impl Judged {
    /// Live at `threshold`: the challenge passed and the passive score reaches it.
    pub fn live_at(&self, threshold: f32) -> bool {
        self.passive.is_some_and(|s| s >= threshold)
    }
}

/// A count of errors out of trials, with its exact (Clopper-Pearson) 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Errors.
    pub errors: u64,
    /// Trials.
    pub trials: u64,
    /// Lower bound of the interval.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Rate {
    /// `errors` of `trials` with its interval.
    pub fn new(errors: u64, trials: u64) -> Self {
        let (low, high) = clopper_pearson(errors, trials);
        Self { errors, trials, low, high }
    }

    /// `2/40 (5.0 %, 0.6-16.9 %)`, or `–` with no trials.
    pub fn show(&self) -> String {
        if self.trials == 0 {
            return "–".into();
        }
        let pct = self.errors as f64 / self.trials as f64 * 100.0;
        format!("{}/{} ({pct:.1} %, {:.1}-{:.1} %)", self.errors, self.trials, self.low * 100.0, self.high * 100.0)
    }
}

/// P(X <= k) for X ~ Binomial(n, p), summed in log space (n up to millions stays finite).
fn binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
    if p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return if k >= n { 1.0 } else { 0.0 };
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    // log C(n, i) built up term by term.
    let mut log_choose = 0.0;
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        if i > 0 {
            log_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        sum += (log_choose + i as f64 * lp + (n - i) as f64 * lq).exp();
    }
    sum.min(1.0)
}

/// The exact 95 % interval of a proportion `x` of `n` (what "5 of 5 is 48-100 %" quotes): found
/// by bisection on the binomial distribution rather than through an inverse beta function, which
/// would bring a statistics crate for two numbers.
pub fn clopper_pearson(x: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let tail = 0.025;
    let solve = |f: &dyn Fn(f64) -> f64| {
        // f decreases in p: find where it crosses `tail`.
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if f(mid) > tail {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo + hi) / 2.0
    };
    // Lower: P(X >= x | p) = tail, i.e. P(X <= x-1 | p) = 1 - tail, shifted to cross `tail`.
    let low = if x == 0 { 0.0 } else { solve(&|p| binomial_cdf(x - 1, n, p) - (1.0 - 2.0 * tail)) };
    // Upper: P(X <= x | p) = tail.
    let high = if x == n { 1.0 } else { solve(&|p| binomial_cdf(x, n, p)) };
    (low, high)
}

/// One threshold's line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The passive threshold.
    pub threshold: f32,
    /// Attacks accepted, for the worst attack kind.
    pub apcer: Rate,
    /// That kind.
    pub worst_species: Option<String>,
    /// Real people refused.
    pub bpcer: Rate,
}

/// The table for `judged` recordings of one `split` at each of `thresholds`.
pub fn table(judged: &[Judged], split: Split, thresholds: &[f32]) -> Vec<Line> {
    let here: Vec<&Judged> = judged.iter().filter(|j| j.split == split).collect();
    let bona: Vec<&&Judged> = here.iter().filter(|j| j.label == Label::BonaFide).collect();
    let mut kinds: BTreeMap<&str, Vec<&Judged>> = BTreeMap::new();
    for j in here.iter().filter(|j| j.label == Label::Attack) {
        kinds.entry(j.species.as_deref().unwrap_or("attack")).or_default().push(j);
    }
    thresholds
        .iter()
        .map(|&t| {
            let refused = bona.iter().filter(|j| !j.live_at(t)).count() as u64;
            let worst = kinds
                .iter()
                .map(|(kind, js)| (kind, Rate::new(js.iter().filter(|j| j.live_at(t)).count() as u64, js.len() as u64)))
                .max_by(|a, b| {
                    let share = |r: &Rate| r.errors as f64 / r.trials as f64;
                    share(&a.1).total_cmp(&share(&b.1)).then(b.0.cmp(a.0))
                });
            Line {
                threshold: t,
                apcer: worst.as_ref().map_or(Rate::new(0, 0), |w| w.1),
                worst_species: worst.map(|w| w.0.to_string()),
                bpcer: Rate::new(refused, bona.len() as u64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_match_the_published_exact_ones() {
        // 5 of 5: 47.8-100 % (the "48-100 %"); 4 of 5: 28.4-99.5 % (docs/liveness.md).
        let (lo, hi) = clopper_pearson(5, 5);
        assert!((lo - 0.4782).abs() < 1e-3 && hi == 1.0, "{lo} {hi}");
        let (lo, hi) = clopper_pearson(4, 5);
        assert!((lo - 0.2836).abs() < 1e-3 && (hi - 0.9949).abs() < 1e-3, "{lo} {hi}");
        let (lo, hi) = clopper_pearson(0, 4);
        assert!(lo == 0.0 && (hi - 0.6024).abs() < 1e-3, "{lo} {hi}");
        // A large sample stays finite: 50 of 1000 is 3.7-6.5 %.
        let (lo, hi) = clopper_pearson(50, 1000);
        assert!((lo - 0.0373).abs() < 1e-3 && (hi - 0.0654).abs() < 1e-3, "{lo} {hi}");
    }

    #[test]
    fn the_table_counts_each_split_and_the_worst_attack_kind() {
        let j = |label, species: Option<&str>, split, passive| Judged {
            label,
            species: species.map(str::to_string),
            split,
            passive,
        };
        let judged = vec![
            j(Label::BonaFide, None, Split::Tune, Some(0.95)),
            j(Label::BonaFide, None, Split::Tune, Some(0.80)),
            j(Label::BonaFide, None, Split::Tune, None),
            j(Label::Attack, Some("print"), Split::Tune, None),
            j(Label::Attack, Some("screen"), Split::Tune, Some(0.82)),
            j(Label::Attack, Some("screen"), Split::Tune, None),
            j(Label::BonaFide, None, Split::Holdout, Some(0.9)),
        ];
        let t = table(&judged, Split::Tune, &[0.75, 0.85]);
        assert_eq!((t[0].bpcer.errors, t[0].bpcer.trials), (1, 3));
        assert_eq!((t[0].apcer.errors, t[0].apcer.trials, t[0].worst_species.as_deref()), (1, 2, Some("screen")));
        assert_eq!((t[1].bpcer.errors, t[1].apcer.errors), (2, 0));
        let h = table(&judged, Split::Holdout, &[0.85]);
        assert_eq!((h[0].bpcer.errors, h[0].bpcer.trials, h[0].apcer.trials), (0, 1, 0));
        assert_eq!(h[0].apcer.show(), "–");
        assert_eq!(Rate::new(0, 4).show(), "0/4 (0.0 %, 0.0-60.2 %)");
    }
}
