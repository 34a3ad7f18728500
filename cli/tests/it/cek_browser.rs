//! The public check page in headless Chromium against the API on a loopback socket: a recipient
//! opens `/cek` with the code from their slip, reads what was paid, when and where (no name),
//! reports receiving less, and the auditors' list has it. Nothing is chosen for her, and an
//! incomplete report is explained and not sent; every message reads in Bahasa Indonesia with
//! English under it; the time is her own province's (WITA in Bali). A mistyped code is told so.
//! On SQLite and PostgreSQL.

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
        let mut made = common::roster_row("5171010101900002", "Made Wirawan", "blt-2026-11");
        (made.province, made.regency, made.district, made.village) =
            ("51".into(), "5171".into(), "517101".into(), "5171011001".into());
        db.put_recipient(&made, None).await.unwrap();
        let key = db.roster_key("blt-2026-11").await.unwrap();
        let (siti, made) = (recipient_ref(&key, "3171010101900001"), recipient_ref(&key, "5171010101900002"));
        let mut names = salur_server::read::names::AreaNames::bundled();
        names.add_csv("post_office,jakarta-10110,KCU Jakarta Selatan").unwrap();
        let state = AppState::new(db.clone(), ADMIN).allow_unattested_devices(true).with_names(names);
        let app = router(state.clone());
        let phone = Phone::new("dev-cek");
        approved(&app, &phone).await;
        let paid = phone.receipt(|r| {
            r.recipient = siti.clone();
            r.outcome = Outcome::Paid;
            r.received_in_full = Some(true);
        });
        let in_bali = phone.receipt(|r| {
            r.seq = 2;
            r.prev = salur_core::crypto::sha256(&paid).to_vec();
            r.recipient = made.clone();
            r.outcome = Outcome::Paid;
            r.received_in_full = Some(true);
        });
        assert_eq!(call(&app, phone.upload(&[&paid, &in_bali])).await.0, StatusCode::OK);
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
        assert!(text.contains(&format!("Paid · receipt {code}")), "English second: {text}");
        assert!(text.contains("di Kantor Pos KCU Jakarta Selatan (jakarta-10110)"), "{text}");
        // "7 Desember 2026, 14.52 WIB": the month's name, the time with a full stop, Jakarta's zone.
        let when = browser.eval("document.getElementById('when').firstChild.textContent").await;
        let when = when.as_str().unwrap();
        let words: Vec<&str> = when.split(' ').collect();
        let months =
            ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober"];
        assert!(
            words.len() == 6
                && words[0] == "pada"
                && (months.contains(&words[2]) || ["November", "Desember"].contains(&words[2]))
                && words[3].ends_with(',')
                && words[4].len() == 5
                && &words[4][2..3] == "."
                && words[5] == "WIB",
            "{when}"
        );
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
        // Nothing is chosen for her; sending without a choice, or "less" without the amount, is
        // explained on the page and sends nothing.
        assert_eq!(browser.eval("document.querySelectorAll('input[name=kind]:checked').length").await, 0);
        assert_eq!(browser.eval("document.getElementById('less').hidden").await, true, "the amount waits for \"less\"");
        browser.eval("document.querySelector('#complain button').click(); true").await;
        let invalid = "document.getElementById('invalid').textContent";
        browser.wait_for(&format!("{invalid}.includes('Pilih dulu')"), "the choice asked for").await;
        let said = text_of(&mut browser, "invalid").await;
        assert!(said.contains("First choose what happened"), "English second: {said}");
        browser
            .eval("document.querySelector('input[value=received_less]').click(); document.querySelector('#complain button').click(); true")
            .await;
        browser.wait_for(&format!("{invalid}.includes('Tulis jumlah')"), "the amount asked for").await;
        let said = text_of(&mut browser, "invalid").await;
        assert!(said.contains("Write the amount you received"), "{said}");
        // "150,5" is not guessed at (stripping the comma would file Rp1.505): she is asked again.
        browser.eval("document.getElementById('received').value = '150,5'; document.querySelector('#complain button').click(); true").await;
        browser.wait_for(&format!("{invalid}.includes('tanpa koma')"), "whole rupiah asked for").await;
        browser.eval("document.getElementById('received').value = '600.000'; document.querySelector('#complain button').click(); true").await;
        browser.wait_for(&format!("{invalid}.includes('harus kurang dari Rp600.000')"), "not less").await;
        assert!(
            db.complaints(Some("blt-2026-11")).await.unwrap().is_empty(),
            "{}: an incomplete report was sent",
            backend.name
        );
        // Each radio button sits on its label's line, left of the words.
        let beside = browser
            .eval(
                "[...document.querySelectorAll('label.choice')].every(l => { \
                   const r = l.querySelector('input').getBoundingClientRect(), t = l.querySelector('span').getBoundingClientRect(); \
                   return r.right <= t.left && r.top < t.top + 30 && r.bottom > t.top; })",
            )
            .await;
        assert_eq!(beside, true, "a radio button is not beside its label");
        // "I received Rp 300,000", in her words.
        browser
            .eval(
                "document.getElementById('received').value = '300.000';
                 document.getElementById('note').value = 'dipotong di depan rumah';
                 document.querySelector('#complain button').click(); true",
            )
            .await;
        browser
            .wait_for("document.getElementById('filed').textContent.includes('sudah diterima')", "the complaint filed")
            .await;
        let filed = text_of(&mut browser, "filed").await;
        assert!(
            filed.contains("Laporan Anda nomor") && filed.contains("Your report number"),
            "{}: {filed}",
            backend.name
        );
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
        let said = text_of(&mut browser, "problem").await;
        assert!(said.contains("Unknown code"), "English second: {said}");
        // Made was paid in Bali: the time he reads is WITA, an hour ahead of Jakarta's.
        let bali = salur_core::receipt::code(&in_bali);
        let stored = db.public_receipt(&bali, &salur_server::read::names::AreaNames::bundled()).await;
        assert!(
            stored.as_ref().is_ok_and(|r| r.paid_at.ends_with(" WITA")),
            "{}: {:?}",
            backend.name,
            stored.map(|r| r.paid_at)
        );
        browser.navigate(&format!("{url}/cek?kode={bali}")).await;
        browser.wait_for("document.getElementById('when').textContent.includes('WITA')", "Bali's time").await;
        let when = text_of(&mut browser, "when").await;
        assert!(!when.contains(" WIB"), "{when}");
        server.abort();
    }
}

/// The text of the page's element `id` (what a reader sees, not the page's source).
async fn text_of(browser: &mut Browser, id: &str) -> String {
    browser
        .eval(&format!("document.getElementById({}).textContent", json!(id)))
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
}
