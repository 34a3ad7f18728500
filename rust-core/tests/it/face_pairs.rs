//! The calibrated threshold separates the project's real photo pairs.

use crate::common;

use std::collections::HashMap;

use salur_core::face::{cosine, FacePick, DEFAULT_MATCH_THRESHOLD};

#[test]
fn every_pair_scores_on_the_right_side_of_the_threshold() {
    let engine = common::engine();
    let csv = std::fs::read_to_string(common::faces().join("pairs.csv")).unwrap();
    let mut embeddings: HashMap<String, Vec<f32>> = HashMap::new();
    let (mut genuine, mut impostor, mut wrong) = (0, 0, Vec::new());
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let mut embed = |p: &str| {
            embeddings
                .entry(p.to_string())
                .or_insert_with(|| {
                    let img = common::photo(p);
                    // Several of these press photos have people in the background: take the main face.
                    engine.capture(&img, FacePick::Largest).unwrap_or_else(|e| panic!("{p}: {e}")).embedding
                })
                .clone()
        };
        let score = cosine(&embed(cols[0]), &embed(cols[1]));
        let same = cols[2] == "1";
        if same {
            genuine += 1
        } else {
            impostor += 1
        }
        if same != (score >= DEFAULT_MATCH_THRESHOLD) {
            wrong.push(format!("{line}: {score:.3}"));
        }
    }
    // All 354 pairs (177 same-person, 177 different-person) give a face at the default 640 input
    // (tight 150-px crops included, since small photos are not enlarged) and none is misclassified.
    assert_eq!((genuine, impostor), (177, 177));
    assert!(wrong.is_empty(), "misclassified pairs: {wrong:#?}");
}
