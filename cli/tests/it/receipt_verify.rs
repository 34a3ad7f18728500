//! `salur receipt verify`: the signed receipt from the QR code on the phone's screen, checked
//! offline against the device key in the server's database (SQLite and PostgreSQL) or a key
//! file; an altered receipt, another device's key, an unregistered device and a text that is not
//! a receipt are refused (exit 1).

use crate::common;

use std::process::{Command, Output};

use crate::common::phone::{approved, Phone, ADMIN};
use salur_core::keys::Signer;
use salur_core::receipt::{qr_text, Outcome};
use salur_server::{router, AppState};
use serde_json::Value;

fn salur(args: &[&str], extra: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_salur")).args(args).args(extra).output().unwrap()
}

#[tokio::test]
async fn the_receipt_qr_verifies_offline_and_an_altered_one_does_not() {
    for backend in common::backends().await {
        let db = backend.storage.open().await.unwrap();
        let app = router(AppState::new(db, ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-qr");
        approved(&app, &phone).await;
        let paid = phone.receipt(|r| {
            r.outcome = Outcome::Paid;
            r.received_in_full = Some(true);
        });
        let qr = qr_text(&paid).unwrap();
        let db_args = backend.cli_args();

        let out = salur(&["receipt", "verify", &qr, "--json"], &db_args);
        assert_eq!(out.status.code(), Some(0), "{}: {}", backend.name, String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (v["valid"].as_bool(), v["code"].as_str()),
            (Some(true), Some(salur_core::receipt::code(&paid).as_str()))
        );
        assert_eq!(
            (v["receipt"]["device_id"].as_str(), v["receipt"]["amount"].as_u64()),
            (Some("dev-qr"), Some(600_000))
        );
        let text = salur(&["receipt", "verify", &qr], &db_args);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.starts_with("valid:") && text.contains("Rp600.000") && text.contains("dev-qr"), "{text}");

        // The same bytes with the amount edited (the signature no longer holds).
        let mut edited = paid.clone();
        let at = edited.windows(4).position(|w| w == [0x1a, 0x00, 0x09, 0x27]).expect("600000 as CBOR");
        edited[at + 3] = 0x28;
        // Signed by a phone the server never registered; and a key file of another device.
        let stranger = Phone::new("dev-qr");
        let theirs = stranger.receipt(|r| r.outcome = Outcome::Paid);
        let key = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(key.path(), stranger.signer.public_key_spki().unwrap()).unwrap();
        let refused = [
            salur(&["receipt", "verify", &qr_text(&edited).unwrap(), "--json"], &db_args),
            salur(&["receipt", "verify", &qr_text(&theirs).unwrap(), "--json"], &db_args),
            salur(&["receipt", "verify", &qr, "--json", "--public-key", key.path().to_str().unwrap()], &[]),
            salur(&["receipt", "verify", "SALUR-L1:not-a-receipt", "--json"], &db_args),
        ];
        for (i, out) in refused.iter().enumerate() {
            assert_eq!(
                out.status.code(),
                Some(1),
                "{} case {i}: {}",
                backend.name,
                String::from_utf8_lossy(&out.stdout)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["valid"], false, "{} case {i}: {v}", backend.name);
        }
        // The genuine device's own key file verifies it with no database at all.
        std::fs::write(key.path(), phone.signer.public_key_spki().unwrap()).unwrap();
        let own = salur(&["receipt", "verify", &qr, "--public-key", key.path().to_str().unwrap()], &[]);
        assert_eq!(own.status.code(), Some(0), "{}", String::from_utf8_lossy(&own.stdout));
    }
}
