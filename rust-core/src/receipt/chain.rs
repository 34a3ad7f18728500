//! Checking a device's hash chain of receipts.

use serde::Serialize;

use super::cose::verify;
use super::GENESIS;
use crate::crypto;

/// Where and why a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainBreak {
    /// The first sequence number that is not right (the expected one when a receipt is missing).
    pub seq: u64,
    /// Position in the list given (0-based).
    pub index: usize,
    /// What is wrong.
    pub reason: String,
}

/// The result of a chain check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ReceiptChainReport))]
pub struct ChainReport {
    /// Receipts checked.
    pub receipts: usize,
    /// Last good sequence number (0 when none).
    pub last_seq: u64,
    /// The first break, if any.
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    /// True when every receipt verified and linked.
    pub fn is_valid(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Verifies signed receipts in sequence order, from the device's first (seq 1, `prev` = genesis),
/// and reports the first one that is missing, out of order, edited, foreign or wrongly linked.
///
/// A chain cut after its last receipt looks whole: the server compares `last_seq` with the
/// highest sequence it has acknowledged.
pub fn verify_chain<'a>(spki: &[u8], signed: impl IntoIterator<Item = &'a [u8]>) -> ChainReport {
    let (mut prev, mut expected, mut device, mut count) = (GENESIS, 1u64, None::<String>, 0usize);
    for (index, bytes) in signed.into_iter().enumerate() {
        count = index + 1;
        let fail = |seq: u64, reason: String| ChainReport {
            receipts: index + 1,
            last_seq: expected - 1,
            first_break: Some(ChainBreak { seq, index, reason }),
        };
        let r = match verify(bytes, spki) {
            Ok(r) => r,
            Err(e) => return fail(expected, e.to_string()),
        };
        let got = &r.receipt;
        if got.seq != expected {
            let what = if got.seq > expected { "missing" } else { "out of order or repeated" };
            return fail(expected, format!("receipt {expected} {what}: found sequence {}", got.seq));
        }
        if got.prev != prev {
            return fail(expected, "does not link to the previous receipt (reordered or replaced)".into());
        }
        if device.get_or_insert_with(|| got.device_id.clone()) != &got.device_id {
            return fail(expected, "belongs to another device".into());
        }
        prev = crypto::sha256(bytes);
        expected += 1;
    }
    ChainReport { receipts: count, last_seq: expected - 1, first_break: None }
}
