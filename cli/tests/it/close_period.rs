//! Closing a period with `salur close-period`: the realisation report's totals equal what the
//! receipts in the database say, the retur list names every unpaid recipient with the reason,
//! the PDF (read back by poppler) carries both, and a receipt arriving after the close is kept
//! and marked late. On SQLite and PostgreSQL.

use crate::common;

use std::process::Command;

use crate::common::phone::{approved, call, Phone, ADMIN};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use salur_core::receipt::{recipient_ref, IneligibleReason, Outcome};
use salur_server::domain::roster::RosterRow;
use salur_server::{router, AppState};
use serde_json::{json, Value};

const ROSTER: &str = "blt-2026-11";

fn close(backend: &common::Backend, out: &std::path::Path) -> Value {
    // The operator's names file: a post office whose name is outside Latin-1.
    let names = out.join("names.csv");
    std::fs::write(&names, "post_office,jakarta-10110,KC Jakarta Selatan “Pasar Minggu”\n").unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_salur"))
        .args(["close-period", "--roster", ROSTER, "--json", "--out"])
        .arg(out)
        .arg("--area-names")
        .arg(&names)
        .args(backend.cli_args())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    serde_json::from_slice(&run.stdout).unwrap()
}

fn rows(path: &std::path::Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path).unwrap().records().map(Result::unwrap).collect()
}

#[tokio::test]
async fn the_report_adds_up_to_the_receipts_and_late_receipts_are_kept_and_marked() {
    for backend in common::backends().await {
        let db = backend.storage.open().await.unwrap();
        // A roster id that would write outside --out is refused before anything is closed.
        let out = tempfile::tempdir().unwrap();
        let run = Command::new(env!("CARGO_BIN_EXE_salur"))
            .args(["close-period", "--roster", "../escape", "--json", "--out"])
            .arg(out.path().join("reports"))
            .args(backend.cli_args())
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{}", String::from_utf8_lossy(&run.stdout));
        assert!(String::from_utf8_lossy(&run.stdout).contains("plain identifier"));
        assert!(std::fs::read_dir(out.path()).unwrap().next().is_none(), "nothing written");
        let people = [
            ("3171010101900001", "Siti", "jakarta-10110"),
            ("3171010101900002", "Budi", "jakarta-10110"),
            ("3171010101900003", "Dewi", "jakarta-10220"),
            ("3171010101900004", "Agus", "jakarta-10220"),
            ("3171010101900005", "Rina", "jakarta-10220"),
        ];
        for (nik, name, po) in people {
            let row = RosterRow { post_office: po.into(), ..common::roster_row(nik, name, ROSTER) };
            db.put_recipient(&row, None).await.unwrap();
        }
        let key = db.roster_key(ROSTER).await.unwrap();
        let refs: Vec<Vec<u8>> = people.iter().map(|(nik, _, _)| recipient_ref(&key, nik)).collect();
        let app = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-close");
        approved(&app, &phone).await;
        // Siti and Budi paid, Dewi deceased, Agus not home, Rina never visited.
        let outcomes = [
            Outcome::Paid,
            Outcome::Paid,
            Outcome::Ineligible { reason: IneligibleReason::Deceased, note: None },
            Outcome::NotHome,
        ];
        let mut prev = salur_core::receipt::GENESIS.to_vec();
        let mut signed = Vec::new();
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let bytes = phone.receipt(|r| {
                r.seq = i as u64 + 1;
                r.prev = prev.clone();
                r.recipient = refs[i].clone();
                r.received_in_full = (outcome == Outcome::Paid).then_some(true);
                r.outcome = outcome;
            });
            prev = salur_core::crypto::sha256(&bytes).to_vec();
            signed.push(bytes);
        }
        let (status, answer) = call(&app, phone.upload(&signed.iter().collect::<Vec<_>>())).await;
        assert_eq!(status, StatusCode::OK, "{}: {answer}", backend.name);
        let code = salur_core::receipt::code(&signed[0]);
        let complaint = Request::post(format!("/v1/public/receipts/{code}/complaints"))
            .header("content-type", "application/json")
            .body(Body::from(json!({"kind": "received_less", "amount_received": 500_000}).to_string()))
            .unwrap();
        assert_eq!(call(&app, complaint).await.0, StatusCode::CREATED);

        let out = tempfile::tempdir().unwrap();
        let summary = close(&backend, out.path());
        assert_eq!(summary["closed_now"], true, "{}: {summary}", backend.name);
        // The totals are what the receipts table says.
        let pool = sqlx::AnyPool::connect(&match &backend.storage {
            salur_server::Storage::Dir(d) => format!("sqlite://{}?mode=ro", d.join("salur.db").display()),
            salur_server::Storage::Url(u) => u.clone(),
        })
        .await
        .unwrap();
        let (paid, paid_amount): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM receipts WHERE roster_id = $1 AND outcome = 'paid'",
        )
        .bind(ROSTER)
        .fetch_one(&pool)
        .await
        .unwrap();
        let total = &summary["total"];
        assert_eq!((total["paid"].as_i64(), total["paid_amount"].as_i64()), (Some(paid), Some(paid_amount)));
        assert_eq!((total["recipients"].as_u64(), total["retur_amount"].as_u64()), (Some(5), Some(1_800_000)));
        assert_eq!(
            (total["not_home"].as_u64(), total["not_visited"].as_u64(), total["complaints"].as_u64()),
            (Some(1), Some(1), Some(1))
        );
        assert_eq!(total["ineligible"]["deceased"], 1);

        // The CSVs: Indonesian headers and labels, codes beside the names.
        let report_csv = out.path().join(format!("realisasi-{ROSTER}.csv"));
        let header = csv::Reader::from_path(&report_csv).unwrap().headers().unwrap().clone();
        assert_eq!((&header[0], &header[5], &header[15]), ("kode_kabupaten_kota", "dibayar", "nilai_retur"));
        let report = rows(&report_csv);
        assert_eq!(report.len(), 3, "two post offices and the total");
        let sum = |col: usize| report[..2].iter().map(|r| r[col].parse::<u64>().unwrap()).sum::<u64>();
        assert_eq!((sum(5), sum(6)), (2, 1_200_000), "post offices add up to the paid total");
        assert_eq!(
            (&report[0][1], &report[0][3]),
            ("Kota Jakarta Selatan (3171)", "KC Jakarta Selatan “Pasar Minggu”")
        );
        assert_eq!((&report[1][3], &report[2][1], &report[2][5]), ("jakarta-10220", "JUMLAH", "2"));
        assert_eq!(&report[0][8], "", "no one ineligible at 10110");
        assert_eq!(&report[1][8], "meninggal dunia=1");
        let retur = rows(&out.path().join(format!("retur-{ROSTER}.csv")));
        let reasons: Vec<(&str, &str, &str)> = retur.iter().map(|r| (&r[5], &r[7], &r[8])).collect();
        assert_eq!(
            reasons,
            [
                ("Agus", "not_home", "Tidak di rumah"),
                ("Dewi", "ineligible:deceased", "Tidak layak: meninggal dunia"),
                ("Rina", "not_visited", "Belum dikunjungi")
            ]
        );
        // The PDF, read back: a Berita Acara in Indonesian with names, totals, the server's
        // verdicts, the retur list, page numbers and the signature block; nothing off the page.
        let pdf = out.path().join(format!("laporan-{ROSTER}.pdf"));
        let text = common::pdf::text(&pdf);
        for expected in [
            "BERITA ACARA REALISASI PENYALURAN BANTUAN SOSIAL",
            &format!("Program dan periode: {ROSTER}"),
            "Kantor pos (2): KC Jakarta Selatan “Pasar Minggu”; jakarta-10220",
            "Kota Jakarta Selatan (3171)",
            "Daftar retur: 3 KPM, Rp1.800.000",
            "Tidak layak: meninggal dunia",
            "Meninggal dunia",
            "Terverifikasi",
            "Jumlah",
            "Kepala Kantor Pos penanggung jawab penyaluran",
            "Perwakilan Penyelenggara Program",
            "Nama jelas dan NIP:",
            "Halaman 1 dari ",
        ] {
            assert!(text.contains(expected), "{}: {expected:?} missing from the report:\n{text}", backend.name);
        }
        for code in ["ineligible:", "not_home", "not_visited", "all "] {
            assert!(!text.contains(code), "{}: an English code {code:?} in the report:\n{text}", backend.name);
        }
        let pages = text.matches("Halaman ").count();
        assert!(text.contains(&format!("Halaman {pages} dari {pages}")), "{text}");
        assert!(common::pdf::words_within(&pdf, 842.0, 595.0, 36.0) > 250);
        // Deterministic: the same close gives the same bytes.
        let first = std::fs::read(&pdf).unwrap();
        close(&backend, out.path());
        assert!(std::fs::read(&pdf).unwrap() == first, "{}: a second run wrote other bytes", backend.name);

        // Rina is found after the close: her receipt is kept, acknowledged and marked late; the
        // closed report stands, and closing again says when it was closed.
        let late = phone.receipt(|r| {
            r.seq = 5;
            r.prev = prev.clone();
            r.recipient = refs[4].clone();
            r.outcome = Outcome::Paid;
            r.received_in_full = Some(true);
        });
        let (status, answer) = call(&app, phone.upload(&[&late])).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["results"][0]["result"], "accepted", "{answer}");
        assert_eq!(db.late_receipts(ROSTER).await.unwrap(), 1);
        let (_, board) = call(
            &app,
            Request::get(format!("/v1/dashboard?roster={ROSTER}"))
                .header("authorization", format!("Bearer {ADMIN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(board["late_receipts"], 1, "{}", backend.name);
        // A complaint after the close is reported apart, never folded into the closed figures.
        let complaint =
            Request::post(format!("/v1/public/receipts/{}/complaints", salur_core::receipt::code(&signed[1])))
                .header("content-type", "application/json")
                .body(Body::from(json!({"kind": "not_paid"}).to_string()))
                .unwrap();
        assert_eq!(call(&app, complaint).await.0, StatusCode::CREATED);
        // An import into the closed roster (Siti's amount raised, a new recipient) is refused
        // whole: nothing changes and the report stays the close's.
        let csv = out.path().join("changed.csv");
        std::fs::write(
            &csv,
            format!(
                "nik,name,address,province,regency,district,village,post_office,amount,period,worker_id\n\
                 3171010101900001,Siti,Jl. Merdeka 1,31,3171,317101,3171011001,jakarta-10110,9000000,{ROSTER},pos-1\n\
                 3171010101900009,Baru,Jl. Merdeka 9,31,3171,317101,3171011001,jakarta-10110,600000,{ROSTER},pos-1\n"
            ),
        )
        .unwrap();
        let import = Command::new(env!("CARGO_BIN_EXE_salur"))
            .arg("import-roster")
            .arg(&csv)
            .args(backend.cli_args())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&import.stdout).to_string() + &String::from_utf8_lossy(&import.stderr);
        assert!(!import.status.success(), "{}: {said}", backend.name);
        assert!(said.contains("was closed") && said.contains("nothing was imported"), "{}: {said}", backend.name);
        let (recipients, siti): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), CAST(MAX(amount) AS BIGINT) FROM recipients WHERE roster_id = $1")
                .bind(ROSTER)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((recipients, siti), (5, 600_000), "{}: the closed roster is unchanged", backend.name);
        let again = close(&backend, out.path());
        assert_eq!(again["after_close"]["complaints"], 1, "{}: {again}", backend.name);
        assert_eq!(again["after_close"]["late_payments"], 1, "{}: {again}", backend.name);
        // The report is what it was at the close: Rina's late payment is not in it.
        assert_eq!(again["total"], summary["total"], "{}", backend.name);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.path().join(format!("retur-{ROSTER}.csv"))).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the retur list names recipients: owner only");
        }
        assert_eq!(
            (again["closed_now"].as_bool(), again["closed_at"].as_str()),
            (Some(false), summary["closed_at"].as_str())
        );
        assert_eq!(again["late_receipts"], 1);
    }
}
