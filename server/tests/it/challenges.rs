//! The random live-check challenge a format 3 receipt signs, as a client of one's own would send
//! it: a number whose turns are not the ones asked is refused, and a payment whose challenge
//! repeats the recipient's previous one (what a recording made for the earlier visit would need)
//! is kept and flagged, on both backends.

use crate::common;
use crate::common::phone::{approved, call, passed_live_check, Phone, ADMIN};
use salur_core::face::liveness::Challenge;
use salur_core::receipt::{recipient_ref, Evidence, HeadMove, Liveness, Method, Outcome, Receipt, GENESIS};
use salur_server::{router, AppState};

const ROSTER: &str = "blt-2026-11";

/// A live-checked payment of `recipient` at `seq` whose check drew challenge `n` and asked `asked`.
fn paid(r: &mut Receipt, seq: u64, prev: &[u8], recipient: &[u8], n: u8, asked: Vec<HeadMove>) {
    r.seq = seq;
    r.prev = prev.to_vec();
    r.recipient = recipient.to_vec();
    r.outcome = Outcome::Paid;
    r.received_in_full = Some(true);
    let mut live = passed_live_check();
    live.challenge = Some(n);
    live.met = asked.clone();
    live.asked = asked;
    r.evidence = Some(Evidence {
        method: Method::RegistryTemplate,
        score_e6: Some(700_000),
        threshold_e6: Some(400_000),
        model: "sface_2021dec_int8bq".into(),
        liveness: Liveness::Passed,
        live: Some(live),
        face_sha256: None,
        card_face_sha256: None,
        enrolled_sha256: None,
    });
}

fn turns(n: u8) -> Vec<HeadMove> {
    Challenge::numbered(n).steps().into_iter().map(HeadMove::from).collect()
}

#[tokio::test]
async fn a_repeated_challenge_is_flagged_and_one_that_was_not_asked_is_refused() {
    for backend in common::backends().await {
        let name = backend.name;
        let db = backend.storage.open().await.unwrap();
        let app = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let niks = ["3171010101900001", "3171010101900002"];
        for nik in niks {
            db.put_recipient(&common::roster_row(nik, "Penerima", ROSTER), None).await.unwrap();
        }
        let key = db.roster_key(ROSTER).await.unwrap();
        let [siti, budi] = niks.map(|n| recipient_ref(&key, n));
        let phone = Phone::new("dev-challenge");
        approved(&app, &phone).await;

        // Each accepted receipt's hash is the next one's `prev`; a refused one links to nothing.
        let mut prev = GENESIS.to_vec();
        let mut upload = |seq: u64, recipient: &[u8], n: u8, asked: Vec<HeadMove>| {
            let cose = phone.receipt(|r| paid(r, seq, &prev, recipient, n, asked));
            if seq < 4 {
                prev = salur_core::crypto::sha256(&cose).to_vec();
            }
            phone.upload(&[&cose])
        };
        // Siti's first visit, then Budi's with the same number: nothing to flag.
        for (seq, who) in [(1, &siti), (2, &budi)] {
            let (_, body) = call(&app, upload(seq, who, 37, turns(37))).await;
            let result = &body["results"][0];
            assert_eq!(
                (result["result"].as_str(), result["reason"].as_str()),
                (Some("accepted"), None),
                "{name}: {body}"
            );
        }
        // Siti again, with her previous challenge: kept, flagged for an auditor.
        let (_, body) = call(&app, upload(3, &siti, 37, turns(37))).await;
        assert_eq!(body["results"][0]["result"].as_str(), Some("accepted"), "{name}: {body}");
        assert!(body["results"][0]["reason"].as_str().unwrap().contains("repeats"), "{name}: {body}");
        // A number whose turns are not the ones asked, and one out of range: refused.
        for (n, asked) in [(38, turns(37)), (64, turns(0))] {
            let (_, body) = call(&app, upload(4, &budi, n, asked)).await;
            let result = &body["results"][0];
            assert_eq!(result["result"].as_str(), Some("rejected"), "{name}: {body}");
            assert!(result["reason"].as_str().unwrap().contains("challenge"), "{name}: {body}");
        }
    }
}
