//! The 1:N sweep: one face paid as several recipients within a post office.

use std::collections::BTreeMap;

use salur_core::face::cosine;
use serde::Serialize;

/// One paid face: receipt, recipient reference, post office, embedding.
#[derive(Debug, Clone)]
pub struct PaidFace {
    /// Receipt id.
    pub receipt_id: String,
    /// Recipient reference.
    pub recipient: Vec<u8>,
    /// Post office paid in.
    pub post_office: String,
    /// Unit-length embedding of the evidence crop.
    pub embedding: Vec<f32>,
}

/// Two paid receipts of different recipients whose evidence faces match.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SuspiciousPair {
    /// One receipt.
    pub receipt_a: String,
    /// The other.
    pub receipt_b: String,
    /// Post office both were paid in.
    pub post_office: String,
    /// Cosine similarity of the two faces.
    pub score: f32,
}

/// The result of a sweep.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sweep {
    /// Faces compared.
    pub faces: u64,
    /// Pairs compared.
    pub comparisons: u64,
    /// Threshold used.
    pub threshold: f32,
    /// Pairs above it, highest score first.
    pub pairs: Vec<SuspiciousPair>,
}

/// Compares faces pairwise within each post office, across different recipients.
pub fn sweep(faces: Vec<PaidFace>, threshold: f32) -> Sweep {
    let mut out = Sweep { faces: faces.len() as u64, comparisons: 0, threshold, pairs: Vec::new() };
    let mut by_office: BTreeMap<String, Vec<PaidFace>> = BTreeMap::new();
    for f in faces {
        by_office.entry(f.post_office.clone()).or_default().push(f);
    }
    // Blocked by post office: a face collecting twice does so on one route, and it keeps the
    // sweep quadratic in a post office's recipients, not the nation's.
    for (office, faces) in &by_office {
        for (i, a) in faces.iter().enumerate() {
            for b in &faces[i + 1..] {
                out.comparisons += 1;
                if a.recipient == b.recipient {
                    continue;
                }
                let score = cosine(&a.embedding, &b.embedding);
                if score >= threshold {
                    out.pairs.push(SuspiciousPair {
                        receipt_a: a.receipt_id.clone(),
                        receipt_b: b.receipt_id.clone(),
                        post_office: office.clone(),
                        score,
                    });
                }
            }
        }
    }
    out.pairs.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(id: &str, recipient: u8, office: &str, v: [f32; 2]) -> PaidFace {
        PaidFace {
            receipt_id: id.into(),
            recipient: vec![recipient],
            post_office: office.into(),
            embedding: v.to_vec(),
        }
    }

    #[test]
    fn only_one_face_as_two_recipients_in_one_office_is_listed() {
        let s = sweep(
            vec![
                face("a", 1, "p1", [1.0, 0.0]),
                face("b", 2, "p1", [1.0, 0.0]), // same face, other recipient: listed
                face("c", 1, "p1", [1.0, 0.0]), // same face, same recipient (paid twice): not this sweep
                face("d", 3, "p1", [0.0, 1.0]), // another face
                face("e", 4, "p2", [1.0, 0.0]), // same face in another office: not compared
            ],
            0.9,
        );
        assert_eq!((s.faces, s.comparisons), (5, 6));
        let pairs: Vec<_> = s.pairs.iter().map(|p| (p.receipt_a.as_str(), p.receipt_b.as_str())).collect();
        assert_eq!(pairs, vec![("a", "b"), ("b", "c")]);
    }
}
