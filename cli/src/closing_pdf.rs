//! The closing report as a document to sign (Berita Acara): a title block naming the programme,
//! period and post offices; the figures per regency and post office with their names, Indonesian
//! headers and reason labels, the retur amount and totals; the server's own verdicts; the retur
//! list; page numbers; and a signature block for the post office head and the programme's
//! representative. Set in the embedded DejaVu Sans ([`super::typeset`]) with real tables
//! ([`super::layout`]); deterministic: no creation date or random id, so the same close gives
//! the same bytes.

use salur_core::dates::{indonesian_minute_in, TimeZone};
use salur_core::slip::rupiah;
use salur_core::Error;
use salur_server::domain::closing::{ineligible_label, retur_label, AfterClose, ReportRow, ReturRow, ServerChecks};
use salur_server::read::names::AreaNames;

use super::layout::{Column, Layout, Row, A4_LANDSCAPE};
use super::typeset::{Fonts, Style};

/// What the report is about.
pub(crate) struct ReportFacts<'a> {
    /// The roster (programme and period).
    pub roster: &'a str,
    /// When the period was closed, Unix ms.
    pub closed_ms: i64,
    /// Who closed it.
    pub closed_by: &'a str,
    /// The figures per regency and post office.
    pub rows: &'a [ReportRow],
    /// Their total.
    pub total: &'a ReportRow,
    /// Who is returned.
    pub retur: &'a [ReturRow],
    /// What arrived after the close.
    pub after: &'a AfterClose,
    /// Region and post-office names.
    pub names: &'a AreaNames,
}

/// A regency as a reader knows it: `Kota Jakarta Selatan (3171)`, the code alone when unnamed.
pub(crate) fn regency_label(names: &AreaNames, code: &str) -> String {
    match names.regency(code) {
        Some(name) => format!("{} ({code})", title_case(name)),
        None => code.to_string(),
    }
}

/// A post office by its name from the operator's file, else its code.
pub(crate) fn post_office_label(names: &AreaNames, code: &str) -> String {
    names.post_office(code).unwrap_or(code).to_string()
}

/// `KOTA JAKARTA SELATAN` → `Kota Jakarta Selatan` (the Kemendagri list is in capitals).
fn title_case(name: &str) -> String {
    name.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The time zone of the report's dates: the post offices' own when they share one, else WIB.
fn zone(rows: &[ReportRow]) -> TimeZone {
    let mut zones = rows.iter().map(|r| TimeZone::of_province(&r.regency));
    match zones.next() {
        Some(first) if zones.all(|z| z == first) => first,
        _ => TimeZone::Wib,
    }
}

fn n(v: u64) -> String {
    // Thousands grouped as Indonesians write them (1.234), like the rupiah.
    rupiah(v).trim_start_matches("Rp").to_string()
}

/// The report as PDF bytes.
pub(crate) fn render(f: &ReportFacts<'_>) -> Result<Vec<u8>, Error> {
    let mut doc = Layout::new(Fonts::new()?, A4_LANDSCAPE, 36.0);
    let names = f.names;
    let offices: Vec<String> = f.rows.iter().map(|r| post_office_label(names, &r.post_office)).collect();
    let closed_at = indonesian_minute_in(f.closed_ms, zone(f.rows));

    doc.paragraph(Style::Bold, 16.0, "BERITA ACARA REALISASI PENYALURAN BANTUAN SOSIAL");
    doc.gap(4.0);
    doc.paragraph(Style::Regular, 10.0, &format!("Program dan periode: {}", f.roster));
    doc.paragraph(Style::Regular, 10.0, &format!("Kantor pos ({}): {}", offices.len(), offices.join("; ")));
    doc.paragraph(Style::Regular, 10.0, &format!("Periode ditutup: {closed_at}, oleh {}", f.closed_by));
    doc.paragraph(
        Style::Regular,
        10.0,
        "Angka dalam berita acara ini dihitung saat penutupan dan tidak berubah sesudahnya; tanda terima dan \
         pengaduan yang tiba setelah penutupan dicatat terpisah pada bagian akhir.",
    );
    doc.gap(8.0);

    summary(&mut doc, f);
    doc.gap(10.0);
    per_office(&mut doc, f);
    doc.gap(10.0);
    server_checks(&mut doc, f);
    doc.gap(10.0);
    ineligible(&mut doc, f.total);
    doc.gap(10.0);
    after_close(&mut doc, f.after, &f.total.server);
    doc.new_page();
    retur_list(&mut doc, f);
    doc.gap(16.0);
    signatures(&mut doc, &offices);

    let roster = f.roster.to_string();
    doc.into_pdf(|page, pages| format!("Berita acara realisasi {roster} · Halaman {page} dari {pages}"))
}

fn heading(doc: &mut Layout, text: &str) {
    doc.keep(60.0);
    doc.paragraph(Style::Bold, 11.0, text);
    doc.gap(3.0);
}

fn summary(doc: &mut Layout, f: &ReportFacts<'_>) {
    let t = f.total;
    heading(doc, "A. Ringkasan");
    let columns = [
        Column { title: "Uraian", width: 330.0, right: false },
        Column { title: "KPM", width: 70.0, right: true },
        Column { title: "Nilai", width: 110.0, right: true },
    ];
    let line = |what: &str, count: u64, amount: Option<u64>| Row {
        cells: vec![what.to_string(), n(count), amount.map_or_else(|| "–".into(), rupiah)],
        total: false,
    };
    let rows = vec![
        line("KPM dalam daftar penerima", t.recipients, None),
        line("Dibayar", t.paid, Some(t.paid_amount)),
        line("Dibayar kepada kuasa (anggota KK yang sama)", t.proxy, None),
        line("Dibayar dengan persetujuan supervisor (override)", t.overrides, None),
        line("Tidak layak", t.ineligible_total(), None),
        line(
            "Tidak layak, dananya dialokasikan ulang ke KPM lain (tidak diretur)",
            t.reallocated,
            Some(t.reallocated_amount),
        ),
        line("Tidak di rumah", t.not_home, None),
        line("Menolak bantuan", t.refused, None),
        line("Belum dikunjungi", t.not_visited, None),
        Row {
            cells: vec!["Retur (dana dikembalikan)".into(), n(f.retur.len() as u64), rupiah(t.retur_amount)],
            total: true,
        },
        line("Dibayar lebih dari sekali (setiap pembayaran terhitung di nilai dibayar)", t.double_paid, None),
        line("Pengaduan atas tanda terima", t.complaints, None),
    ];
    doc.table(&columns, &rows, 9.0);
}

fn per_office(doc: &mut Layout, f: &ReportFacts<'_>) {
    heading(doc, "B. Realisasi per kabupaten/kota dan kantor pos");
    let col = |title, width, right| Column { title, width, right };
    let columns = [
        col("Kabupaten/Kota", 112.0, false),
        col("Kantor pos", 104.0, false),
        col("KPM", 40.0, true),
        col("Dibayar", 44.0, true),
        col("Nilai dibayar", 72.0, true),
        col("Tidak layak", 40.0, true),
        col("Tidak di rumah", 42.0, true),
        col("Menolak", 42.0, true),
        col("Belum dikunjungi", 46.0, true),
        col("Nilai retur", 72.0, true),
        col("Dialokasikan ulang", 46.0, true),
        col("Kuasa", 34.0, true),
        col("Override", 44.0, true),
        col("Pengaduan", 40.0, true),
    ];
    let row = |r: &ReportRow, regency: String, office: String, total: bool| Row {
        cells: vec![
            regency,
            office,
            n(r.recipients),
            n(r.paid),
            rupiah(r.paid_amount),
            n(r.ineligible_total()),
            n(r.not_home),
            n(r.refused),
            n(r.not_visited),
            rupiah(r.retur_amount),
            n(r.reallocated),
            n(r.proxy),
            n(r.overrides),
            n(r.complaints),
        ],
        total,
    };
    let mut rows: Vec<Row> = f
        .rows
        .iter()
        .map(|r| row(r, regency_label(f.names, &r.regency), post_office_label(f.names, &r.post_office), false))
        .collect();
    rows.push(row(f.total, "Jumlah".into(), format!("{} kantor pos", f.rows.len()), true));
    doc.table(&columns, &rows, 7.5);
}

fn checks_cells(s: &ServerChecks) -> [String; 5] {
    [n(s.verified), n(s.mismatch), n(s.no_evidence), n(s.no_reference), n(s.pending)]
}

fn server_checks(doc: &mut Layout, f: &ReportFacts<'_>) {
    heading(doc, "C. Pemeriksaan server atas pembayaran");
    doc.paragraph(
        Style::Regular,
        9.0,
        "Server membandingkan sendiri wajah bukti setiap pembayaran dengan referensinya (foto daftar penerima, \
         wajah e-KTP atau pendaftaran pertama); pembayaran dengan override dinilai dari kode persetujuannya. \
         Hanya yang terverifikasi telah diperiksa server; selebihnya hanya berdasarkan pemeriksaan di ponsel.",
    );
    doc.gap(3.0);
    let col = |title, width, right| Column { title, width, right };
    let columns = [
        col("Kabupaten/Kota", 150.0, false),
        col("Kantor pos", 150.0, false),
        col("Terverifikasi", 80.0, true),
        col("Tidak cocok", 80.0, true),
        col("Tanpa bukti", 80.0, true),
        col("Tanpa referensi", 80.0, true),
        col("Menunggu bukti", 80.0, true),
    ];
    let mut rows: Vec<Row> = f
        .rows
        .iter()
        .map(|r| {
            let mut cells = vec![regency_label(f.names, &r.regency), post_office_label(f.names, &r.post_office)];
            cells.extend(checks_cells(&r.server));
            Row { cells, total: false }
        })
        .collect();
    let mut cells = vec!["Jumlah".to_string(), format!("{} kantor pos", f.rows.len())];
    cells.extend(checks_cells(&f.total.server));
    rows.push(Row { cells, total: true });
    doc.table(&columns, &rows, 7.5);
}

fn ineligible(doc: &mut Layout, total: &ReportRow) {
    if total.ineligible.is_empty() {
        return;
    }
    heading(doc, "D. Tidak layak menurut alasan");
    let columns =
        [Column { title: "Alasan", width: 250.0, right: false }, Column { title: "KPM", width: 70.0, right: true }];
    let mut rows: Vec<Row> = total
        .ineligible
        .iter()
        .map(|(why, count)| Row { cells: vec![capitalised(ineligible_label(why)), n(*count)], total: false })
        .collect();
    rows.push(Row { cells: vec!["Jumlah".into(), n(total.ineligible_total())], total: true });
    doc.table(&columns, &rows, 9.0);
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn after_close(doc: &mut Layout, after: &AfterClose, at_close: &ServerChecks) {
    heading(doc, "E. Setelah penutupan (tidak termasuk dalam angka di atas)");
    let mut text = format!(
        "{} tanda terima terlambat ({} pembayaran), {} pengaduan, {} KPM ditambahkan melalui realokasi.",
        n(after.late_receipts),
        n(after.late_payments),
        n(after.complaints),
        n(after.recipients_added)
    );
    if &after.server_now != at_close {
        let now = &after.server_now;
        text.push_str(&format!(
            " Pemeriksaan server sekarang, dengan bukti yang tiba setelah penutupan: {} terverifikasi, {} tidak \
             cocok, {} tanpa bukti, {} tanpa referensi, {} menunggu bukti.",
            n(now.verified),
            n(now.mismatch),
            n(now.no_evidence),
            n(now.no_reference),
            n(now.pending)
        ));
    }
    doc.paragraph(Style::Regular, 9.0, &text);
}

fn retur_list(doc: &mut Layout, f: &ReportFacts<'_>) {
    heading(doc, &format!("F. Daftar retur: {} KPM, {}", n(f.retur.len() as u64), rupiah(f.total.retur_amount)));
    if f.retur.is_empty() {
        doc.paragraph(Style::Regular, 9.0, "Tidak ada KPM yang diretur.");
        return;
    }
    let col = |title, width, right| Column { title, width, right };
    let columns = [
        col("No.", 30.0, true),
        col("Kabupaten/Kota", 120.0, false),
        col("Kantor pos", 110.0, false),
        col("NIK", 92.0, false),
        col("Nama", 180.0, false),
        col("Nilai", 72.0, true),
        col("Alasan", 166.0, false),
    ];
    let mut rows: Vec<Row> = f
        .retur
        .iter()
        .enumerate()
        .map(|(i, r)| Row {
            cells: vec![
                n(i as u64 + 1),
                regency_label(f.names, &r.regency),
                post_office_label(f.names, &r.post_office),
                r.nik.clone(),
                r.name.clone(),
                rupiah(r.amount),
                retur_label(&r.reason),
            ],
            total: false,
        })
        .collect();
    rows.push(Row {
        cells: vec![
            String::new(),
            "Jumlah".into(),
            String::new(),
            String::new(),
            format!("{} KPM", n(f.retur.len() as u64)),
            rupiah(f.total.retur_amount),
            String::new(),
        ],
        total: true,
    });
    doc.table(&columns, &rows, 8.0);
}

fn signatures(doc: &mut Layout, offices: &[String]) {
    let head = match offices {
        [one] => format!("Kepala Kantor Pos {one}"),
        _ => "Kepala Kantor Pos penanggung jawab penyaluran".into(),
    };
    let block = |role: String, id: &str| {
        vec![
            (Style::Regular, 10.0, "Tempat, tanggal: ..................................".to_string()),
            (Style::Bold, 10.0, role),
            (Style::Regular, 10.0, String::new()),
            (Style::Regular, 10.0, String::new()),
            (Style::Regular, 10.0, String::new()),
            (Style::Regular, 10.0, "( ............................................................ )".to_string()),
            (Style::Regular, 10.0, format!("Nama jelas dan {id}:")),
        ]
    };
    // The closing sentence and both signatures stay on one page.
    doc.keep(150.0);
    doc.paragraph(
        Style::Regular,
        10.0,
        "Demikian berita acara ini dibuat dengan sebenarnya untuk dipergunakan sebagaimana mestinya.",
    );
    doc.gap(10.0);
    doc.columns(&[block(head, "NIPPOS"), block("Perwakilan Penyelenggara Program".into(), "NIP")]);
}
