//! A device's chain as the server holds it: what is whole, and what is missing.

use serde::Serialize;

/// A device's chain as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChainStatus {
    /// Receipts held.
    pub received: u64,
    /// Highest sequence with every sequence before it present.
    pub contiguous_to: u64,
    /// Highest sequence held.
    pub max_seq: u64,
    /// Missing ranges `[from, to]` below `max_seq`.
    pub gaps: Vec<[u64; 2]>,
}

impl ChainStatus {
    /// The status of a chain holding `seqs` (ascending, distinct, from 1).
    pub fn of(seqs: &[u64]) -> Self {
        let (mut gaps, mut expected) = (Vec::new(), 1u64);
        for &s in seqs {
            if s > expected {
                gaps.push([expected, s - 1]);
            }
            expected = s.saturating_add(1);
        }
        let contiguous_to = gaps.first().map_or(expected - 1, |g| g[0] - 1);
        Self { received: seqs.len() as u64, contiguous_to, max_seq: expected - 1, gaps }
    }
}

#[cfg(test)]
mod tests {
    use super::ChainStatus;

    #[test]
    fn gaps_and_the_whole_prefix() {
        let s = ChainStatus::of(&[1, 2, 5, 6, 9]);
        assert_eq!((s.received, s.contiguous_to, s.max_seq), (5, 2, 9));
        assert_eq!(s.gaps, vec![[3, 4], [7, 8]]);
        let empty = ChainStatus::of(&[]);
        assert_eq!((empty.contiguous_to, empty.max_seq, empty.gaps.len()), (0, 0, 0));
        assert_eq!(ChainStatus::of(&[2]).gaps, vec![[1, 1]]);
    }
}
