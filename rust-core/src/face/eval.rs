//! Verification accuracy from scored pairs: ROC AUC, EER, TAR at fixed FAR.

use serde::Serialize;

/// Accuracy figures for a set of genuine and impostor scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// Genuine (same-person) pairs scored.
    pub genuine: usize,
    /// Impostor (different-person) pairs scored.
    pub impostor: usize,
    /// Area under the ROC curve (ties count half).
    pub auc: f64,
    /// Equal error rate: where false accepts and false rejects meet.
    pub eer: f64,
    /// True accept rate with at most 1 % false accepts.
    #[serde(rename = "tar_at_far_1e-2")]
    pub tar_at_far_1e_2: f64,
    /// True accept rate with at most 0.1 % false accepts.
    #[serde(rename = "tar_at_far_1e-3")]
    pub tar_at_far_1e_3: f64,
    /// Lowest threshold that keeps false accepts at or under 0.1 %.
    #[serde(rename = "threshold_at_far_1e-3")]
    pub threshold_at_far_1e_3: f64,
    /// Smallest non-zero FAR these impostors can show (1 / impostors): FAR targets below it
    /// are met only by accepting no impostor at all.
    pub far_resolution: f64,
    /// Lowest genuine score.
    pub min_genuine: f64,
    /// Highest impostor score.
    pub max_impostor: f64,
}

/// Computes [`Metrics`]; `None` when either class is empty.
pub fn metrics(genuine: &[f32], impostor: &[f32]) -> Option<Metrics> {
    if genuine.is_empty() || impostor.is_empty() {
        return None;
    }
    let mut imp: Vec<f64> = impostor.iter().map(|&s| f64::from(s)).collect();
    imp.sort_by(|a, b| b.total_cmp(a)); // highest first
    let gen: Vec<f64> = genuine.iter().map(|&s| f64::from(s)).collect();
    let (ng, ni) = (gen.len() as f64, imp.len() as f64);

    let mut wins = 0.0;
    for &g in &gen {
        for &i in &imp {
            wins += if g > i {
                1.0
            } else if g == i {
                0.5
            } else {
                0.0
            };
        }
    }
    let far = |t: f64| imp.iter().filter(|&&s| s >= t).count() as f64 / ni;
    let tar = |t: f64| gen.iter().filter(|&&s| s >= t).count() as f64 / ng;

    let mut cuts: Vec<f64> = gen.iter().chain(&imp).copied().collect();
    cuts.push(f64::INFINITY);
    let eer = cuts
        .iter()
        .map(|&t| (far(t), 1.0 - tar(t)))
        .min_by(|a, b| (a.0 - a.1).abs().total_cmp(&(b.0 - b.1).abs()))
        .map(|(fa, fr)| (fa + fr) / 2.0)
        .unwrap_or(0.0);

    // Lowest threshold with at most floor(far * n) impostors at or above it: just above the
    // (k+1)-th highest impostor score.
    let threshold_at = |target: f64| -> f64 {
        let allowed = (target * ni + 1e-9).floor() as usize;
        imp.get(allowed).map_or(f64::NEG_INFINITY, |&s| s.next_up())
    };
    let (t2, t3) = (threshold_at(1e-2), threshold_at(1e-3));
    Some(Metrics {
        genuine: gen.len(),
        impostor: imp.len(),
        auc: wins / (ng * ni),
        eer,
        tar_at_far_1e_2: tar(t2),
        tar_at_far_1e_3: tar(t3),
        threshold_at_far_1e_3: t3,
        far_resolution: 1.0 / ni,
        min_genuine: gen.iter().copied().fold(f64::INFINITY, f64::min),
        max_impostor: imp[0],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_scores_are_perfect() {
        let m = metrics(&[0.8, 0.7, 0.6], &[0.1, 0.2, 0.3]).unwrap();
        assert_eq!((m.auc, m.eer, m.tar_at_far_1e_3), (1.0, 0.0, 1.0));
        assert!(m.threshold_at_far_1e_3 > 0.3 && m.threshold_at_far_1e_3 < 0.31);
    }

    #[test]
    fn overlapping_scores_cost_accuracy() {
        // One impostor above two of the four genuine scores.
        let m = metrics(&[0.9, 0.8, 0.4, 0.3], &[0.1, 0.2, 0.5, 0.0]).unwrap();
        assert!((m.auc - 14.0 / 16.0).abs() < 1e-12, "{}", m.auc);
        assert!((m.tar_at_far_1e_2 - 0.5).abs() < 1e-12);
        assert!(m.eer > 0.0 && m.eer <= 0.5);
        assert!(metrics(&[], &[0.1]).is_none());
    }
}
