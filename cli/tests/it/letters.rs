//! Invitation letters end to end: a roster imported, its letters printed as a PDF, the PDF read
//! by poppler (pdftotext, pdftoppm: another implementation than ours), the rendered page
//! photographed badly (cropped, blurred, unevenly lit, noisy), the QR code found in it by the
//! core's scanner and the token verified by `salur letter verify`; forged, edited and
//! other-period letters refused. On SQLite and PostgreSQL.

use std::process::{Command, Output};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use salur_core::keys::{Signer, SoftwareSigner};
use salur_core::letter::{self, Letter, QR_PREFIX};
use serde_json::Value;

use crate::common;

const HEADER: &str = "nik,name,address,province,regency,district,village,post_office,amount,period,worker_id,photo";

fn salur(args: &[&str], backend: &common::Backend) -> Output {
    Command::new(env!("CARGO_BIN_EXE_salur")).args(args).args(backend.cli_args()).output().unwrap()
}

/// A page as a phone camera might see it: cropped, blurred, lit from one side and noisy. Not
/// turned or resampled: rqrr misses too many of those to test them without flakiness (measured
/// 2026-12-02, two letters a run: turned 5 degrees at 0.89x with noise of ±20, 5 of 6 runs read
/// both; ±10: 2 of 8; 2 degrees: 0 of 9; half a degree: 2 of 6). Known gap, in the notes.
fn photographed(page: &image::GrayImage) -> image::GrayImage {
    let (w, h) = (1280u32, 960u32);
    let (angle, scale) = (0f32, 1.0f32);
    let (cx, cy) = (page.width() as f32 / 2.0, page.height() as f32 * 0.62);
    let mut seed = 0x2545_f491_u32;
    image::GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = ((x as f32 - w as f32 / 2.0) * scale, (y as f32 - h as f32 / 2.0) * scale);
        let sx = cx + dx * angle.cos() - dy * angle.sin();
        let sy = cy + dx * angle.sin() + dy * angle.cos();
        // A 3x3 box blur around the sampled point.
        let mut sum = 0u32;
        for (ox, oy) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (0, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
            let px = (sx as i64 + ox).clamp(0, page.width() as i64 - 1) as u32;
            let py = (sy as i64 + oy).clamp(0, page.height() as i64 - 1) as u32;
            sum += page.get_pixel(px, py).0[0] as u32;
        }
        let light = 0.55 + 0.4 * x as f32 / w as f32;
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 21) as f32 - 10.0;
        image::Luma([((sum as f32 / 9.0) * light + noise).clamp(0.0, 255.0) as u8])
    })
}

fn verify(token: &str, extra: &[&str], backend: &common::Backend) -> (i32, Value) {
    let mut args = vec!["letter", "verify", token, "--json"];
    args.extend_from_slice(extra);
    let out = salur(&args, backend);
    (out.status.code().unwrap(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

#[tokio::test]
async fn printed_letters_scan_from_a_photo_and_verify_and_forgeries_are_refused() {
    for backend in common::backends().await {
        eprintln!("backend: {}", backend.name);
        letters_flow(&backend).await;
    }
}

async fn letters_flow(backend: &common::Backend) {
    let dir = tempfile::tempdir().unwrap();
    // Names and an address beyond Latin-1 and longer than a line (what the standard PDF fonts
    // printed as "?" and ran off the page).
    let long_address = "\"Jl. Raya Pasar Minggu Gang Haji Ridi RT 003/RW 008 No. 17, Kelurahan Pejaten Timur, \
                        Kecamatan Pasar Minggu, Kota Jakarta Selatan, DKI Jakarta 12510\"";
    let rows = [
        format!("3171010101900001,Siti Aminah,{long_address},31,3171,317101,3171011001,jakarta-10110,600000,blt-2026-11,pos-7,"),
        "3171010101900002,Budi Santoso,Jl. Merdeka 2,31,3171,317101,3171011001,jakarta-10110,900000,blt-2026-11,pos-7,".into(),
        "3171010101900003,Ma’ruf Nguyễn Śląski,Jl. Merdeka 3,31,3171,317101,3171011001,jakarta-10110,600000,blt-2026-11,pos-7,".into(),
    ];
    let csv = dir.path().join("roster.csv");
    std::fs::write(&csv, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    let out = salur(&["import-roster", csv.to_str().unwrap(), "--photos", photos.to_str().unwrap()], backend);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let pdf = dir.path().join("letters.pdf");
    let names = dir.path().join("names.csv");
    std::fs::write(
        &names,
        "post_office,jakarta-10110,KPC Jakarta Pusat 10110\n\
         post_office_address,jakarta-10110,Jl. Lapangan Banteng Utara No. 1, Jakarta Pusat\n",
    )
    .unwrap();
    let print = |extra: &[&str]| {
        let mut args = vec!["letters", "--roster", "blt-2026-11", "--out", pdf.to_str().unwrap(), "--json"];
        args.extend_from_slice(extra);
        salur(&args, backend)
    };
    // Where a recipient checks and complains must be given, and be usable.
    let refused = print(&["--check-url", "salur cek", "--complaint-phone", "0800-1-500-500"]);
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
    let said = format!("{}{}", String::from_utf8_lossy(&refused.stdout), String::from_utf8_lossy(&refused.stderr));
    assert!(said.contains("--check-url") && said.contains("not a web address"), "{said}");
    let out = print(&[
        "--check-url",
        "https://salur.example.go.id/cek",
        "--complaint-phone",
        "0800-1-500-500",
        "--schedule",
        "Senin–Rabu, 8–10 Desember 2026",
        "--area-names",
        names.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["letters"], 3);

    let text = common::pdf::tool("pdftotext").arg(&pdf).arg("-").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    // Read as one run of words: a long line is wrapped on the page.
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "SURAT UNDANGAN",
        "Siti Aminah",
        "Jl. Merdeka 2",
        "Rp600.000",
        "Rp900.000",
        "Kartu Keluarga",
        "Ma’ruf Nguyễn Śląski",
        "Senin–Rabu, 8–10 Desember 2026",
        "No. 17, Kelurahan Pejaten Timur, Kecamatan Pasar Minggu, Kota Jakarta Selatan, DKI Jakarta 12510",
        "KPC Jakarta Pusat 10110, Jl. Lapangan Banteng Utara No. 1, Jakarta Pusat",
        "https://salur.example.go.id/cek",
        "0800-1-500-500",
    ] {
        assert!(text.contains(expected), "{expected:?} not in the PDF's text:\n{text}");
    }
    assert!(!text.contains('?'), "no character printed as a question mark:\n{text}");
    assert!(!text.contains("3171010101900001"), "no NIK is printed");
    assert!(!text.contains("pos-7"), "no worker id is printed:\n{text}");
    // Every word inside the page, with its margins (A4: 595 x 842 points).
    let words = common::pdf::words_within(&pdf, 595.0, 842.0, 36.0);
    assert!(words > 300, "{words} words read back");
    // The fonts are embedded subsets: the file stays small.
    let size = std::fs::metadata(&pdf).unwrap().len();
    assert!(size < 200_000, "three letters take {size} bytes");

    // Page 1 rendered at 150 dpi, then photographed badly; the core's scanner reads it.
    let prefix = dir.path().join("page");
    let status = common::pdf::tool("pdftoppm")
        .args(["-r", "150", "-gray", "-png", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success());
    let page = image::open(prefix.with_extension("png")).unwrap().into_luma8();
    let frame = photographed(&page);
    assert!(letter::scan(page.as_raw(), 10, 10, 10).is_err(), "a blank corner holds no letter");
    let token = letter::scan(frame.as_raw(), frame.width(), frame.height(), frame.width()).unwrap();
    assert!(token.starts_with(QR_PREFIX));
    assert!(!token.contains("Siti") && !token.contains("3171010101900001"), "no name or NIK in the token");

    let (code, body) = verify(&token, &["--roster", "blt-2026-11"], backend);
    assert_eq!((code, body["valid"].as_bool()), (0, Some(true)), "{body}");
    let first = &body["letter"];
    assert_eq!(first["amount"], 900_000, "page 1 is Budi Santoso's (sorted by name)");
    assert_eq!(first["roster"], "blt-2026-11");

    // The auditor's offline check, with the exported public key and no database.
    let pem = dir.path().join("programme.pem");
    assert!(salur(&["letter", "public-key", "--out", pem.to_str().unwrap()], backend).status.success());
    let offline = Command::new(env!("CARGO_BIN_EXE_salur"))
        .args(["letter", "verify", &token, "--public-key", pem.to_str().unwrap(), "--data-dir"])
        .arg(dir.path().join("nothing-here"))
        .output()
        .unwrap();
    assert_eq!(offline.status.code(), Some(0), "{}", String::from_utf8_lossy(&offline.stdout));

    // An edited amount (any changed byte), another key's letter, another period's: refused.
    let mut bytes = B64URL.decode(&token[QR_PREFIX.len()..]).unwrap();
    let at = bytes.windows(4).position(|w| w == 900_000u32.to_be_bytes()).expect("the amount in the payload");
    bytes[at..at + 4].copy_from_slice(&9_000_000u32.to_be_bytes());
    let edited = format!("{QR_PREFIX}{}", B64URL.encode(&bytes));
    let (code, body) = verify(&edited, &[], backend);
    assert_eq!((code, body["valid"].as_bool()), (1, Some(false)), "{body}");

    let parsed: Letter = Letter {
        letter_id: first["letter_id"].as_str().unwrap().into(),
        roster: "blt-2026-11".into(),
        period: "blt-2026-11".into(),
        recipient: first["recipient"].as_str().unwrap().into(),
        amount: 9_000_000,
    };
    let forger = SoftwareSigner::generate().unwrap().0;
    let (code, body) = verify(&letter::issue(&parsed, &forger).unwrap(), &[], backend);
    assert_eq!(code, 1, "another key's letter: {body}");

    let db = backend.storage.open().await.unwrap();
    let programme = db.programme_signer().await.unwrap();
    assert_eq!(programme.public_key_spki().unwrap(), db.programme_public_key().await.unwrap(), "one key, kept");
    let next_period = Letter { roster: "blt-2026-12".into(), period: "blt-2026-12".into(), amount: 900_000, ..parsed };
    let other = letter::issue(&next_period, &programme).unwrap();
    assert_eq!(verify(&other, &[], backend).0, 0, "the programme's own signature");
    let (code, body) = verify(&other, &["--roster", "blt-2026-11"], backend);
    assert_eq!((code, body["valid"].as_bool()), (1, Some(false)), "another period: {body}");
    assert_eq!(verify("not a letter", &[], backend).0, 1);
}
