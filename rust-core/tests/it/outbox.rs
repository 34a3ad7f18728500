//! Model-based test of the outbox state machine: random sequences of recording, sending,
//! answers (some lost), requeues and reopenings, checked step by step against a plain model.

use crate::common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use salur_core::crypto::DataKey;
use salur_core::keys::FixedKey;
use salur_core::store::{Durability, OutboxState, Store};

#[derive(Debug, Clone)]
enum Op {
    /// Record a receipt.
    Record,
    /// The client takes up to n unacknowledged receipts and marks them sent.
    Send(usize),
    /// The server answers for sent receipts picked by the mask: accepted or refused.
    Answer { mask: u32, accept: bool },
    /// The server reports acknowledged receipts it no longer holds.
    Requeue(u32),
    /// A move the outbox must refuse (e.g. pending straight to acknowledged), tried on receipt i.
    Illegal { i: usize, to: u8 },
    /// The app is killed and the store reopened.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Record),
        3 => (1usize..6).prop_map(Op::Send),
        3 => (any::<u32>(), proptest::bool::weighted(0.8)).prop_map(|(mask, accept)| Op::Answer { mask, accept }),
        1 => any::<u32>().prop_map(Op::Requeue),
        2 => (0usize..32, 0u8..4).prop_map(|(i, to)| Op::Illegal { i, to }),
        1 => Just(Op::Reopen),
    ]
}

fn picked(model: &BTreeMap<u64, OutboxState>, state: OutboxState, mask: u32) -> Vec<u64> {
    model.iter().filter(|(_, s)| **s == state).map(|(q, _)| *q).filter(|q| mask & (1 << (q % 32)) != 0).collect()
}

fn legal(from: OutboxState, to: OutboxState) -> bool {
    use OutboxState::*;
    matches!((from, to), (Pending | Sent, Sent) | (Sent, Acknowledged | Rejected) | (Sent | Acknowledged, Pending))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_outbox_follows_its_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phone.db");
        let keys = FixedKey(DataKey::new([3; 32]));
        let signer = common::signer();
        let mut store = Store::open_with(&path, &keys, Durability::Normal).unwrap();
        store.set_device("dev-jkt-0001", "pos-12345", &signer).unwrap();
        let mut model: BTreeMap<u64, OutboxState> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Record => {
                    let n = model.len() as u64 + 1;
                    store.record(&signer, common::draft(n)).unwrap();
                    model.insert(n, OutboxState::Pending);
                }
                Op::Send(n) => {
                    let batch: Vec<u64> = store.unacknowledged(n).unwrap().iter().map(|r| r.seq).collect();
                    let expected: Vec<u64> = model
                        .iter()
                        .filter(|(_, s)| matches!(s, OutboxState::Pending | OutboxState::Sent))
                        .map(|(q, _)| *q)
                        .take(n)
                        .collect();
                    prop_assert_eq!(&batch, &expected, "oldest unanswered first");
                    store.set_state(&batch, OutboxState::Sent, None).unwrap();
                    batch.iter().for_each(|q| { model.insert(*q, OutboxState::Sent); });
                }
                Op::Answer { mask, accept } => {
                    let seqs = picked(&model, OutboxState::Sent, mask);
                    let to = if accept { OutboxState::Acknowledged } else { OutboxState::Rejected };
                    store.set_state(&seqs, to, (!accept).then_some("refused")).unwrap();
                    seqs.iter().for_each(|q| { model.insert(*q, to); });
                }
                Op::Requeue(mask) => {
                    let seqs = picked(&model, OutboxState::Acknowledged, mask);
                    store.set_state(&seqs, OutboxState::Pending, None).unwrap();
                    seqs.iter().for_each(|q| { model.insert(*q, OutboxState::Pending); });
                }
                Op::Illegal { i, to } => {
                    let to = [OutboxState::Pending, OutboxState::Sent, OutboxState::Acknowledged, OutboxState::Rejected]
                        [to as usize];
                    if let Some((&seq, &from)) = model.iter().nth(i % model.len().max(1)) {
                        let result = store.set_state(&[seq], to, None);
                        if legal(from, to) {
                            result.unwrap();
                            model.insert(seq, to);
                        } else {
                            prop_assert!(result.is_err(), "{from:?} -> {to:?} must be refused");
                        }
                    }
                }
                Op::Reopen => {
                    drop(store);
                    store = Store::open_with(&path, &keys, Durability::Normal).unwrap();
                }
            }
            // Every receipt is in exactly the state the model says, and the counts agree.
            let stored: BTreeMap<u64, OutboxState> =
                store.receipts(0, 1 << 20).unwrap().into_iter().map(|r| (r.seq, r.state)).collect();
            prop_assert_eq!(&stored, &model);
            let status = store.sync_status().unwrap();
            let unanswered = model.values().filter(|s| matches!(s, OutboxState::Pending | OutboxState::Sent)).count();
            prop_assert_eq!(status.pending, unanswered as u64);
            prop_assert_eq!(status.oldest_pending_ms.is_some(), unanswered > 0);
        }
        prop_assert!(store.verify_chain().unwrap().is_valid());
    }
}
