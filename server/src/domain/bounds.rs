//! Bounds on every number a device signs into a receipt. A signature proves who sent a number,
//! not that it is sane: a buggy or hostile phone can sign sequence 0, an amount that overflows a
//! sum, or a time in the year 3000. Each is refused here, before the store does arithmetic on it.

use salur_core::receipt::{Liveness, Method, Outcome, Receipt};
use salur_core::slip::rupiah;

use super::ingest::RosterFacts;

/// Largest amount a receipt may carry, in rupiah: far above any cash-aid payment (BLT pays
/// Rp 600 000), far below what could overflow the dashboard's sums (i64) across ten million receipts.
pub const MAX_AMOUNT: u64 = 100_000_000;

/// Largest sequence number: a phone recording one receipt a second for a century stays below it,
/// and it fits the database's signed 64-bit column.
pub const MAX_SEQ: u64 = 1 << 40;

/// Earliest signing time accepted: 2024-01-01 00:00 UTC, before any Salur phone existed.
pub const EARLIEST_WALL_MS: i64 = 1_704_067_200_000;

/// How far ahead of the server's clock a signing time may be: a day, for a phone whose clock ran
/// fast while it was offline (the request it uploads with must still be within the skew).
pub const MAX_AHEAD_MS: i64 = 24 * 60 * 60 * 1000;

/// Largest |server − phone| clock offset a phone may record: a year.
pub const MAX_OFFSET_MS: i64 = 366 * 24 * 60 * 60 * 1000;

/// Scores and thresholds are cosine similarities (or probabilities) in millionths.
pub const MAX_SCORE_E6: i32 = 1_000_000;

/// Most frames, movements and model ids a live-check record may list, and its longest duration.
pub const MAX_LIVE_FRAMES: u32 = 10_000;
/// Most head movements asked or met.
pub const MAX_LIVE_MOVES: usize = 16;
/// Most model ids.
pub const MAX_LIVE_MODELS: usize = 8;
/// Longest live check, ms.
pub const MAX_LIVE_DURATION_MS: u32 = 10 * 60 * 1000;

/// A device's unsigned number as the database's signed 64-bit integer. Numbers that passed
/// [`check`] always fit; anything larger saturates rather than wrapping negative.
pub fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Why a receipt's numbers are refused, or `Ok` when every one is within its bounds. `now_ms` is
/// the server's clock.
pub fn check(r: &Receipt, now_ms: i64) -> Result<(), String> {
    if r.seq == 0 || r.seq > MAX_SEQ {
        return Err(format!("sequence {} is outside 1 to {MAX_SEQ}: a device's chain starts at 1", r.seq));
    }
    if r.amount > MAX_AMOUNT {
        return Err(format!("amount {} is over the largest accepted, {}", rupiah(r.amount), rupiah(MAX_AMOUNT)));
    }
    let latest = now_ms.saturating_add(MAX_AHEAD_MS);
    if !(EARLIEST_WALL_MS..=latest).contains(&r.time.wall_ms) {
        return Err(format!(
            "signing time {} ms is before 2024 or more than a day ahead of the server's clock",
            r.time.wall_ms
        ));
    }
    if r.time.offset_ms.unsigned_abs() > MAX_OFFSET_MS.unsigned_abs() {
        return Err(format!("clock offset {} ms is more than a year", r.time.offset_ms));
    }
    if let Some(l) = &r.location {
        l.check().map_err(|e| e.to_string())?;
    }
    // A letter id is derived from the roster and the recipient (the phone took it from a letter
    // it verified): any other names no letter of this recipient.
    if let Some(id) = &r.letter_id {
        if *id != salur_core::letter::letter_id(&r.roster_id, &r.recipient) {
            return Err("the letter id is not the id of this recipient's invitation letter".into());
        }
    }
    if let Some(e) = &r.evidence {
        if let Method::Proxy { member, kuasa_sha256, card_sha256 } = &e.method {
            let card_ok = card_sha256.as_ref().is_some_and(|c| c.len() == 32);
            if member.len() != 16 || kuasa_sha256.len() != 32 || !card_ok || *member == r.recipient {
                return Err(
                    "a proxy's reference must be 16 bytes (not the recipient's), the kuasa and card hashes 32".into()
                );
            }
            // Cash to someone other than the recipient: only on the member's own passed live
            // check with its record and a face match (no override path leads to a proxy payment).
            // The phone signs the threshold it used: at least the calibrated one, or it proves nothing.
            let floor = (f64::from(salur_core::face::DEFAULT_MATCH_THRESHOLD) * 1e6).round() as i32;
            let matched = matches!((e.score_e6, e.threshold_e6), (Some(s), Some(t)) if t >= floor && s >= t);
            if matches!(r.outcome, Outcome::Paid) && (e.liveness != Liveness::Passed || e.live.is_none() || !matched) {
                return Err("a proxy payment needs the member's passed live check, its record and a face match".into());
            }
        }
        let scores = [e.score_e6, e.threshold_e6];
        let live_scores = e.live.as_ref().map_or([None, None], |l| [l.passive_e6, l.passive_threshold_e6]);
        if scores.into_iter().flatten().any(|s| s.unsigned_abs() > MAX_SCORE_E6.unsigned_abs())
            || live_scores.into_iter().flatten().any(|s| !(0..=MAX_SCORE_E6).contains(&s))
        {
            return Err("a score or threshold is outside its range (millionths, at most 1 000 000)".into());
        }
        if let Some(l) = &e.live {
            if l.frames > MAX_LIVE_FRAMES
                || l.duration_ms > MAX_LIVE_DURATION_MS
                || l.asked.len() > MAX_LIVE_MOVES
                || l.met.len() > MAX_LIVE_MOVES
                || l.models.len() > MAX_LIVE_MODELS
            {
                return Err("the live-check record's counts are out of range".into());
            }
            if !l.challenge_is_valid() {
                return Err("the live check's challenge is not one the app draws, or not the turns it asked".into());
            }
        }
    }
    Ok(())
}

/// Refuses a receipt that moves more money than the roster's amount for its recipient (a payment,
/// or funds freed as ineligible). Less is kept and flagged for audit (`ingest::flag`); visits
/// that move no money are not checked.
pub fn within_roster(r: &Receipt, roster: Option<&RosterFacts>) -> Result<(), String> {
    let moves_money = matches!(r.outcome, Outcome::Paid | Outcome::Ineligible { .. });
    match roster {
        // Both sides are bounded (MAX_AMOUNT, the import's check), so the comparison is exact.
        Some(f) if moves_money && i128::from(r.amount) > i128::from(f.amount) => {
            Err(format!("amount {} is more than the roster's {} for this recipient", r.amount, f.amount))
        }
        _ => Ok(()),
    }?;
    // Only a member of the recipient's KK may collect for them: money handed to anyone else is
    // not a payment of this recipient.
    match (r.evidence.as_ref().map(|e| &e.method), roster) {
        (Some(Method::Proxy { member, .. }), Some(f)) if !f.household.contains(member) => {
            Err("the proxy is not a member of the recipient's KK on the roster".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use salur_core::receipt::{Evidence, IneligibleReason, LiveCheck, LiveMethod, Liveness, Method, Times, GENESIS};

    use super::*;

    const NOW: i64 = 1_795_000_000_000;

    fn receipt() -> Receipt {
        Receipt {
            v: 2,
            id: "r1".into(),
            device_id: "d1".into(),
            key_id: vec![0; 16],
            worker_id: "w1".into(),
            seq: 1,
            prev: GENESIS.to_vec(),
            roster_id: "blt".into(),
            recipient: vec![7; 16],
            amount: 600_000,
            outcome: Outcome::Paid,
            evidence: None,
            time: Times { wall_ms: NOW - 3_600_000, mono_ms: 5, offset_ms: -840 },
            location: None,
            received_in_full: Some(true),
            letter_id: None,
        }
    }

    fn refused(change: impl FnOnce(&mut Receipt)) -> String {
        let mut r = receipt();
        change(&mut r);
        check(&r, NOW).unwrap_err()
    }

    #[test]
    fn every_number_a_device_signs_is_bounded() {
        check(&receipt(), NOW).unwrap();
        assert!(refused(|r| r.seq = 0).contains("starts at 1"));
        assert!(refused(|r| r.seq = u64::MAX).contains("sequence"));
        assert!(refused(|r| r.amount = u64::MAX).contains("amount"));
        assert!(refused(|r| r.time.wall_ms = 0).contains("signing time"));
        assert!(refused(|r| r.time.wall_ms = i64::MAX).contains("signing time"));
        assert!(refused(|r| r.time.wall_ms = NOW + MAX_AHEAD_MS + 1).contains("signing time"));
        assert!(refused(|r| r.time.offset_ms = i64::MIN).contains("offset"));
        let face = |score| Evidence {
            method: Method::RegistryTemplate,
            score_e6: Some(score),
            threshold_e6: Some(400_000),
            model: "m".into(),
            liveness: Liveness::Passed,
            live: None,
            face_sha256: None,
            card_face_sha256: None,
            enrolled_sha256: None,
        };
        let mut ok = receipt();
        ok.evidence = Some(face(-1_000_000));
        check(&ok, NOW).unwrap();
        assert!(refused(|r| r.evidence = Some(face(i32::MIN))).contains("score"));
        let live = LiveCheck {
            method: LiveMethod::PassiveAndChallenge,
            passive_e6: Some(990_000),
            passive_threshold_e6: Some(850_000),
            asked: vec![],
            met: vec![],
            frames: u32::MAX,
            duration_ms: 4_000,
            models: vec![],
            challenge: None,
        };
        let with_live = |live: LiveCheck| Some(Evidence { live: Some(live), ..face(500_000) });
        assert!(refused(|r| r.evidence = with_live(live.clone())).contains("counts"));
        assert!(refused(|r| r.evidence = with_live(LiveCheck { frames: 30, passive_e6: Some(-1), ..live.clone() }))
            .contains("score"));
        // A challenge number names three turns; the record must have asked exactly those.
        use salur_core::receipt::HeadMove::{TurnLeft as L, TurnRight as R};
        let drawn = |n: u8, asked: Vec<salur_core::receipt::HeadMove>| {
            with_live(LiveCheck { frames: 30, challenge: Some(n), asked, ..live.clone() })
        };
        // Number 0b000_101: right, left, right.
        let mut ok = receipt();
        ok.evidence = drawn(0b101, vec![R, L, R]);
        check(&ok, NOW).unwrap();
        for (n, asked) in [(0b101, vec![L, R, L]), (0b101, vec![R, L]), (64, vec![L, L, L]), (255, vec![R, R, R])] {
            assert!(refused(|r| r.evidence = drawn(n, asked.clone())).contains("challenge"), "{n} {asked:?}");
        }
    }

    #[test]
    fn a_letter_id_must_be_the_recipients_own() {
        let mut ok = receipt();
        ok.letter_id = Some(salur_core::letter::letter_id("blt", &[7; 16]));
        check(&ok, NOW).unwrap();
        assert!(refused(|r| r.letter_id = Some(salur_core::letter::letter_id("blt", &[8; 16]))).contains("letter id"));
        assert!(refused(|r| r.letter_id = Some("x".repeat(100_000))).contains("letter id"));
    }

    #[test]
    fn unsigned_numbers_saturate_instead_of_wrapping() {
        assert_eq!(to_i64(600_000), 600_000);
        assert_eq!(to_i64(u64::MAX), i64::MAX);
    }

    #[test]
    fn money_moved_may_not_exceed_the_roster_amount() {
        let facts = RosterFacts { worker_id: "w1".into(), amount: 600_000, household: vec![] };
        let mut r = receipt();
        within_roster(&r, Some(&facts)).unwrap();
        within_roster(&r, None).unwrap();
        r.amount = 600_001;
        assert!(within_roster(&r, Some(&facts)).unwrap_err().contains("more than the roster's 600000"));
        r.outcome = Outcome::Ineligible { reason: IneligibleReason::Moved, note: None };
        assert!(within_roster(&r, Some(&facts)).is_err());
        r.outcome = Outcome::NotHome;
        within_roster(&r, Some(&facts)).unwrap();
        r.amount = 1;
        r.outcome = Outcome::Paid;
        within_roster(&r, Some(&facts)).unwrap();
    }

    #[test]
    fn a_proxy_must_be_a_member_of_the_recipients_kk() {
        let proxy = |member: Vec<u8>, kuasa: usize| Evidence {
            method: Method::Proxy { member, kuasa_sha256: vec![1; kuasa], card_sha256: Some(vec![2; 32]) },
            score_e6: Some(500_000),
            threshold_e6: Some(400_000),
            model: "m".into(),
            liveness: Liveness::Passed,
            live: Some(LiveCheck {
                method: LiveMethod::PassiveAndChallenge,
                passive_e6: Some(990_000),
                passive_threshold_e6: Some(850_000),
                asked: vec![],
                met: vec![],
                frames: 40,
                duration_ms: 4_000,
                models: vec![],
                challenge: None,
            }),
            face_sha256: None,
            card_face_sha256: None,
            enrolled_sha256: None,
        };
        let facts = RosterFacts { worker_id: "w1".into(), amount: 600_000, household: vec![vec![3; 16]] };
        let mut r = receipt();
        r.evidence = Some(proxy(vec![3; 16], 32));
        check(&r, NOW).unwrap();
        within_roster(&r, Some(&facts)).unwrap();
        r.evidence = Some(proxy(vec![4; 16], 32));
        assert!(within_roster(&r, Some(&facts)).unwrap_err().contains("not a member"));
        assert!(refused(|r| r.evidence = Some(proxy(vec![7; 16], 32))).contains("proxy"));
        assert!(refused(|r| r.evidence = Some(proxy(vec![3; 15], 32))).contains("proxy"));
        assert!(refused(|r| r.evidence = Some(proxy(vec![3; 16], 31))).contains("kuasa"));
        // A proxy payment without the member's live check, its record or a match is refused.
        let unchecked = |edit: fn(&mut Evidence)| {
            move |r: &mut Receipt| {
                let mut e = proxy(vec![3; 16], 32);
                edit(&mut e);
                r.evidence = Some(e);
            }
        };
        for edit in [
            (|e: &mut Evidence| e.liveness = Liveness::NotRun) as fn(&mut Evidence),
            |e| e.liveness = Liveness::Failed,
            |e| e.live = None,
            |e| e.score_e6 = Some(399_999),
            |e| e.score_e6 = None,
            // A threshold the phone lowered itself does not make a match.
            |e| {
                e.threshold_e6 = Some(-1_000_000);
                e.score_e6 = Some(-999_999)
            },
        ] {
            assert!(refused(unchecked(edit)).contains("passed live check"));
        }
    }
}
