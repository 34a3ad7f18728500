//! Collection by a family member through the router on each backend: a roster imported with
//! the recipients' KK members; a proxy payment by a member is accepted and counted on the
//! dashboard per worker and in the closing report; a proxy outside the KK, or the recipient
//! named as their own proxy, is refused and changes nothing.

use crate::common;

use crate::common::phone::{approved, call, passed_live_check, Phone, ADMIN};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use salur_core::receipt::{recipient_ref, Evidence, Liveness, Method, Outcome, Receipt};
use salur_server::{router, AppState};

const ROSTER: &str = "blt-2026-11";
const BUDI: &str = "3171010101900002";
const DAUGHTER: &str = "3171010101900021";
const SITI: &str = "3171010101900001";

fn staff(uri: &str) -> Request<Body> {
    Request::get(uri).header("authorization", format!("Bearer {ADMIN}")).body(Body::empty()).unwrap()
}

/// A payment by `member` for `recipient`, live and matched to the member's own e-KTP.
fn proxy_payment(r: &mut Receipt, recipient: &[u8], member: &[u8]) {
    r.recipient = recipient.to_vec();
    r.outcome = Outcome::Paid;
    r.received_in_full = Some(true);
    r.evidence = Some(Evidence {
        method: Method::Proxy {
            member: member.to_vec(),
            kuasa_sha256: vec![0x5a; 32],
            card_sha256: Some(vec![0xc4; 32]),
        },
        score_e6: Some(640_000),
        threshold_e6: Some(400_000),
        model: "sface_2021dec_int8bq".into(),
        liveness: Liveness::Passed,
        live: Some(passed_live_check()),
        face_sha256: None,
        card_face_sha256: None,
        enrolled_sha256: None,
    });
}

#[tokio::test]
async fn only_a_member_of_the_kk_collects_and_proxy_payments_are_counted() {
    for backend in common::backends().await {
        let db = backend.storage.open().await.unwrap();
        let mut budi = common::roster_row(BUDI, "Budi Santoso", ROSTER);
        budi.kk_members = Some(format!("{DAUGHTER}:Sri Santoso"));
        db.put_recipient(&budi, None).await.unwrap();
        db.put_recipient(&common::roster_row(SITI, "Siti Rahayu", ROSTER), None).await.unwrap();
        let key = db.roster_key(ROSTER).await.unwrap();
        let (budi_ref, siti_ref, daughter) =
            (recipient_ref(&key, BUDI), recipient_ref(&key, SITI), recipient_ref(&key, DAUGHTER));

        // The worker's phone gets the KK with the roster (names and NIKs to compare with the card).
        let members = db.roster_for_worker(ROSTER, "pos-1").await.unwrap();
        let household = &members.iter().find(|e| e.name == "Budi Santoso").unwrap().household;
        assert_eq!(household.len(), 1, "{}", backend.name);
        assert_eq!((household[0].nik.as_str(), household[0].name.as_str()), (DAUGHTER, "Sri Santoso"));
        assert_eq!(household[0].member, hex::encode(&daughter), "{}", backend.name);
        assert!(members.iter().find(|e| e.name == "Siti Rahayu").unwrap().household.is_empty());

        let app = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-proxy");
        approved(&app, &phone).await;
        let mut chain = crate::common::phone::Chain::new(&phone);
        let mut next = |edit: &dyn Fn(&mut Receipt)| chain.next(edit);
        // Budi's daughter collects for him: accepted.
        let by_daughter = next(&|r| proxy_payment(r, &budi_ref, &daughter));
        // She then "collects" for Siti, whose KK she is not in; and Siti named as her own proxy.
        let outsider = next(&|r| proxy_payment(r, &siti_ref, &daughter));
        let themself = next(&|r| proxy_payment(r, &siti_ref, &siti_ref));
        // A member of the KK, but the phone skipped the live check: not a payment.
        let unchecked = next(&|r| {
            proxy_payment(r, &budi_ref, &daughter);
            if let Some(e) = r.evidence.as_mut() {
                e.liveness = Liveness::NotRun;
                e.live = None;
            }
        });
        let (status, answer) = call(&app, phone.upload(&[&by_daughter, &outsider, &themself, &unchecked])).await;
        assert_eq!(status, StatusCode::OK, "{}: {answer}", backend.name);
        let results: Vec<(&str, &str)> = answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["result"].as_str().unwrap(), r["reason"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(results[0].0, "accepted", "{}: {answer}", backend.name);
        assert_eq!(results[1].0, "rejected", "{}: {answer}", backend.name);
        assert!(results[1].1.contains("not a member of the recipient's KK"), "{}: {answer}", backend.name);
        assert_eq!(results[2].0, "rejected", "{}: {answer}", backend.name);
        assert_eq!(results[3].0, "rejected", "{}: {answer}", backend.name);
        assert!(results[3].1.contains("passed live check"), "{}: {answer}", backend.name);

        // The dashboard: one paid, by proxy, for worker pos-1; Siti still unpaid.
        let (status, board) = call(&app, staff(&format!("/v1/dashboard?roster={ROSTER}"))).await;
        assert_eq!(status, StatusCode::OK, "{}: {board}", backend.name);
        assert_eq!(board["total"]["paid"], 1, "{}: {board}", backend.name);
        let worker = board["workers"].as_array().unwrap().iter().find(|w| w["worker_id"] == "pos-1").unwrap();
        assert_eq!(worker["proxy_paid"], 1, "{}: {board}", backend.name);

        // The closing report counts it as paid and as a proxy payment; Siti goes back on the retur list.
        let facts = db.period_facts(ROSTER).await.unwrap();
        let (_, total) = salur_server::domain::closing::report(&facts);
        assert_eq!((total.paid, total.proxy, total.paid_amount), (1, 1, 600_000), "{}", backend.name);
        let retur = salur_server::domain::closing::retur(&facts);
        assert_eq!(retur.len(), 1, "{}", backend.name);
        assert_eq!(retur[0].name, "Siti Rahayu");
    }
}
