//! The public check page in headless Chromium against the API on a loopback socket: a recipient
//! opens `/cek` with the code from their slip, reads what was paid, when and where (no name),
//! reports receiving less, and the auditors' list has it. A mistyped code is told so. On SQLite
//! and PostgreSQL.

use crate::common;

use crate::common::browser::{Browser, CHROMIUM};
use crate::common::phone::{approved, call, Phone, ADMIN};
use axum::http::StatusCode;
use salur_core::receipt::{recipient_ref, Outcome};
use salur_server::{router, AppState};
use serde_json::json;

#[tokio::test]
async fn a_recipient_checks_the_code_on_the_page_and_reports_receiving_less() {
    if !std::path::Path::new(CHROMIUM).exists() {
        assert!(std::env::var_os("CI").is_none(), "{CHROMIUM} missing: scripts/test.sh installs Debian's chromium");
        eprintln!("{CHROMIUM} missing: browser test skipped (scripts/test.sh installs it)");
        return;
    }
    for backend in common::backends().await {
        let db = backend.storage.open().await.unwrap();
        db.put_recipient(&common::roster_row("3171010101900001", "Siti Rahayu", "blt-2026-11"), None).await.unwrap();
        let siti = recipient_ref(&db.roster_key("blt-2026-11").await.unwrap(), "3171010101900001");
        let state = AppState::new(db.clone(), ADMIN).allow_unattested_devices(true);
        let app = router(state.clone());
        let phone = Phone::new("dev-cek");
        approved(&app, &phone).await;
        let paid = phone.receipt(|r| {
            r.recipient = siti.clone();
            r.outcome = Outcome::Paid;
            r.received_in_full = Some(true);
        });
        assert_eq!(call(&app, phone.upload(&[&paid])).await.0, StatusCode::OK);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(salur_server::serve(listener, state, std::future::pending()));

        let code = salur_core::receipt::code(&paid);
        let mut browser = Browser::start().await;
        // The QR code on the slip opens the page with the code filled in (typed here in lower case).
        browser.navigate(&format!("{url}/cek?kode={}", code.to_lowercase())).await;
        let shown =
            browser.wait_for("document.getElementById('amount').textContent === 'Rp600.000'", "the amount").await;
        let text = browser.eval("document.body.innerText").await.as_str().unwrap().to_string();
        assert!(text.contains(&format!("Dibayar · tanda terima {code}")), "{}: {text}", backend.name);
        assert!(text.contains("di Kantor Pos jakarta-10110") && text.contains(" WIB"), "{text}");
        for private in ["Siti", "3171010101900001", "dev-cek", "pos-1"] {
            assert!(!shown.contains(private), "{}: {private} on the public page", backend.name);
        }
        // The page runs only its own script: markup that got in (a note echoed back, say) does not.
        let answer = common::net::http().get(format!("{url}/cek")).send().await.unwrap();
        let csp = answer.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("script-src 'sha256-") && csp.contains("frame-ancestors 'none'"), "{csp}");
        browser
            .eval(
                "document.body.insertAdjacentHTML('beforeend', '<img src=\"/nothing-here\" onerror=\"window.ran = 1\">'); \
                 true",
            )
            .await;
        browser.wait_for("document.querySelector('img[src=\"/nothing-here\"]').complete", "the injected image").await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(browser.eval("typeof window.ran").await, "undefined", "{}: an injected handler ran", backend.name);
        // "I received Rp 300,000", in her words.
        browser
            .eval(
                "document.getElementById('received').value = '300.000';
                 document.getElementById('note').value = 'dipotong di depan rumah';
                 document.querySelector('#complain button').click(); true",
            )
            .await;
        let filed = browser
            .wait_for("document.getElementById('filed').textContent.includes('sudah diterima')", "the complaint filed")
            .await;
        assert!(filed.contains("Laporan Anda nomor"), "{}", backend.name);
        let complaints = db.complaints(Some("blt-2026-11")).await.unwrap();
        assert_eq!(complaints.len(), 1, "{}", backend.name);
        let c = &complaints[0];
        assert_eq!((c.amount_received, c.note.as_deref()), (Some(300_000), Some("dipotong di depan rumah")));
        assert_eq!((c.worker_id.as_str(), c.device_id.as_str()), ("pos-1", "dev-cek"));

        // A code mistyped by one character.
        let wrong = format!("{}{}", &code[..13], if code.ends_with('0') { '1' } else { '0' });
        browser
            .eval(&format!(
                "document.getElementById('code').value = {}; document.querySelector('#check button').click(); true",
                json!(wrong)
            ))
            .await;
        browser
            .wait_for(
                "document.getElementById('problem').textContent.includes('Kode tidak dikenal')",
                "the unknown code",
            )
            .await;
        server.abort();
    }
}
