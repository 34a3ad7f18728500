//! One face under two recipients: the national 1:N check of each new paid face against every
//! face of the same programme period (all post offices). Pure: the search over a packed index and
//! the rule for which hits are duplicates; the store keeps the faces and the flags.
//!
//! Faces are kept as 8-bit integers (each component of the unit vector times 127, rounded): a
//! quarter of the memory of `f32` (8.5 M faces in about 1.1 GB) and an integer dot product the
//! compiler vectorises. The rounding moves a cosine by about 0.01 at most over 200 pairs spanning
//! every score (`quantised_scores_stay_close_to_the_float_ones`), far below the gap between the
//! 1:N threshold (0.72) and the highest real impostor score (0.43).

use std::collections::BTreeSet;

use serde::Serialize;

/// The cosine similarity from which two faces of different recipients count as one person, in
/// the 1:N check. Far above the 1:1 threshold (0.40, about one false match in a thousand
/// comparisons): with 8.5 M stored faces a 1:1 threshold would raise thousands of false alarms per
/// new face. Chosen from the real impostor scores of the project's photos (6,671 pairs: mean
/// 0.079, sd 0.097, max 0.433): their normal tail puts false alarms at national volume (8.5 M
/// faces a month) at about 22 a day, and the check still catches 48 % of the repeats among the
/// project's hard genuine pairs (`server/tests/it/duplicates.rs`, the table in docs/performance.md).
pub const THRESHOLD_1N: f32 = 0.72;

/// Components of a packed face.
pub const DIM: usize = salur_core::face::EMBEDDING_DIM;

/// A unit vector packed as 8-bit integers (see the module's note).
pub fn pack(v: &[f32]) -> Option<[i8; DIM]> {
    if v.len() != DIM || !v.iter().all(|x| x.is_finite()) {
        return None;
    }
    let mut out = [0i8; DIM];
    for (o, x) in out.iter_mut().zip(v) {
        *o = (x * 127.0).round().clamp(-127.0, 127.0) as i8;
    }
    Some(out)
}

/// The cosine of two packed unit vectors (approximately: see [`pack`]).
pub fn cosine(a: &[i8], b: &[i8]) -> f32 {
    dot(a, b) as f32 / (127.0 * 127.0)
}

/// The integer dot product (the compiler vectorises it; 16-bit products measured no faster).
fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum()
}

/// Who a stored face is: the person whose face it is (the recipient, or for a proxy payment the
/// KK member who collected) and the recipient paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceOf {
    /// The receipt the face is evidence of.
    pub receipt_id: String,
    /// The recipient paid.
    pub recipient: Vec<u8>,
    /// The person at the door: the recipient, or the proxy's member reference.
    pub person: Vec<u8>,
}

/// Faces of one programme period, packed one after another, each with its stored sequence
/// number (8 bytes a face beside its 128: who it is is read back only for the few hits).
#[derive(Debug, Default)]
pub struct Packed {
    vectors: Vec<i8>,
    seqs: Vec<i64>,
}

/// A stored face that scores at or above the threshold against the one searched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Its sequence number in the store.
    pub seq: i64,
    /// The cosine.
    pub score: f32,
}

impl Packed {
    /// Adds a face stored under `seq`.
    pub fn push(&mut self, vector: &[i8; DIM], seq: i64) {
        self.vectors.extend_from_slice(vector);
        self.seqs.push(seq);
    }

    /// Faces held.
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// No faces held.
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// Bytes held (vectors and sequence numbers).
    pub fn bytes(&self) -> usize {
        self.vectors.len() + 8 * self.seqs.len()
    }

    /// Every face scoring at least `threshold` against `probe`, by brute force over all of them
    /// (measured fast enough at 8.5 M: docs/performance.md).
    pub fn search(&self, probe: &[i8; DIM], threshold: f32) -> Vec<Hit> {
        let min_dot = (threshold * 127.0 * 127.0).ceil() as i32;
        self.vectors
            .chunks_exact(DIM)
            .zip(&self.seqs)
            .filter_map(|(v, seq)| {
                let d = dot(v, probe);
                (d >= min_dot).then(|| Hit { seq: *seq, score: d as f32 / (127.0 * 127.0) })
            })
            .collect()
    }
}

/// Whether a match between the face of `a` and the face of `b` is one person under two
/// recipients. Not when it is one person collecting for their own household: the same person at
/// both doors (a daughter collecting for both parents by proxy), or one recipient's person a
/// member of the other's Kartu Keluarga (`household_*`: the recipient's KK member references).
pub fn is_duplicate(a: &FaceOf, household_a: &BTreeSet<Vec<u8>>, b: &FaceOf, household_b: &BTreeSet<Vec<u8>>) -> bool {
    if a.receipt_id == b.receipt_id || a.recipient == b.recipient || a.person == b.person {
        return false;
    }
    let family = |x: &FaceOf, household: &BTreeSet<Vec<u8>>, other: &FaceOf| {
        household.contains(&other.person) || household.contains(&other.recipient) || x.recipient == other.person
    };
    !(family(a, household_a, b) || family(b, household_b, a))
}

/// A flagged duplicate: one face under two recipients, both receipts.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FaceDuplicate {
    /// The earlier receipt (by id).
    pub receipt_a: String,
    /// The later receipt.
    pub receipt_b: String,
    /// Post office of the first.
    pub post_office_a: String,
    /// Post office of the second.
    pub post_office_b: String,
    /// The cosine of the two faces, in millionths.
    pub score_e6: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64) -> Vec<f32> {
        // A deterministic pseudo-random unit vector (xorshift), enough for the arithmetic here.
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let v: Vec<f32> = (0..DIM)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    fn face(id: &str, recipient: u8, person: u8) -> FaceOf {
        FaceOf { receipt_id: id.into(), recipient: vec![recipient; 16], person: vec![person; 16] }
    }

    #[test]
    fn quantised_scores_stay_close_to_the_float_ones() {
        let mut worst = 0f32;
        for i in 0..200 {
            let (a, b) = (unit(i), unit(i + 1000));
            // Mix b towards a so that scores span the whole range.
            let t = i as f32 / 200.0;
            let m: Vec<f32> = a.iter().zip(&b).map(|(x, y)| t * x + (1.0 - t) * y).collect();
            let n = m.iter().map(|x| x * x).sum::<f32>().sqrt();
            let m: Vec<f32> = m.iter().map(|x| x / n).collect();
            let exact: f32 = a.iter().zip(&m).map(|(x, y)| x * y).sum();
            let packed = cosine(&pack(&a).unwrap(), &pack(&m).unwrap());
            worst = worst.max((exact - packed).abs());
        }
        assert!(worst > 0.0 && worst < 0.02, "{worst}");
        assert_eq!(pack(&[0.0; 3]), None);
        assert_eq!(pack(&[f32::NAN; DIM]), None);
    }

    #[test]
    fn the_search_finds_the_same_face_and_nothing_else() {
        let mut index = Packed::default();
        for i in 0..500u64 {
            index.push(&pack(&unit(i)).unwrap(), i as i64);
        }
        assert_eq!((index.len(), index.bytes()), (500, 500 * (DIM + 8)));
        let hits = index.search(&pack(&unit(42)).unwrap(), THRESHOLD_1N);
        assert_eq!(hits.len(), 1, "random faces are far apart: {hits:?}");
        assert_eq!(hits[0].seq, 42);
        assert!(hits[0].score > 0.99);
        assert!(Packed::default().search(&pack(&unit(1)).unwrap(), THRESHOLD_1N).is_empty());
    }

    #[test]
    fn one_person_for_their_own_household_is_not_a_duplicate() {
        let none = BTreeSet::new();
        // Two recipients, one face: a duplicate.
        assert!(is_duplicate(&face("a", 1, 1), &none, &face("b", 2, 2), &none));
        // The same receipt, or the same recipient paid twice (that is a double payment, flagged apart).
        assert!(!is_duplicate(&face("a", 1, 1), &none, &face("a", 1, 1), &none));
        assert!(!is_duplicate(&face("a", 1, 1), &none, &face("b", 1, 1), &none));
        // A daughter (9) collecting by proxy for both parents (1 and 2).
        assert!(!is_duplicate(&face("a", 1, 9), &none, &face("b", 2, 9), &none));
        // A mother paid herself, and collecting by proxy for her husband, in whose KK she is.
        let husbands_kk: BTreeSet<Vec<u8>> = [vec![1; 16]].into();
        assert!(!is_duplicate(&face("a", 1, 1), &none, &face("b", 2, 1), &husbands_kk));
        // A member of the other's KK paid as a recipient of their own, with the same face.
        assert!(!is_duplicate(&face("a", 3, 3), &[vec![4; 16]].into(), &face("b", 4, 4), &none));
        // A stranger's KK is no excuse.
        assert!(is_duplicate(&face("a", 3, 3), &[vec![7; 16]].into(), &face("b", 4, 4), &none));
    }
}
