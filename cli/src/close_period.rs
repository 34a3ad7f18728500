//! `salur close-period --roster ID --out DIR`: freezes the period and writes its realisation
//! report (per regency and post office) and the retur list (every unpaid recipient with the
//! reason), each as CSV, and both in one PDF. Receipts arriving later are kept and marked late.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use salur_core::slip::rupiah;
use salur_core::Error;
use salur_server::domain::audit::{Action, NewEntry};
use salur_server::domain::closing::{self, AfterClose, Counted, ReportRow, ReturRow};
use serde_json::json;

use super::serve::{cli_actor, runtime, server_error, DbArgs};

#[derive(Args, Debug)]
pub struct ClosePeriodArgs {
    /// The roster (programme and period) to close.
    #[arg(long)]
    roster: String,
    /// Folder for the report files.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    #[command(flatten)]
    db: DbArgs,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What was written.
pub(crate) struct Written {
    pub report_csv: PathBuf,
    pub retur_csv: PathBuf,
    pub pdf: PathBuf,
}

/// A period closed and its report written.
pub(crate) struct Closing {
    /// When and by whom, and whether by this call.
    pub closed: salur_server::store::ClosedPeriod,
    /// The close's time, WIB.
    pub closed_at: String,
    /// The report's total line.
    pub total: ReportRow,
    /// Recipients on the retur list.
    pub retur: usize,
    /// What arrived after the close (never folded into the closed figures).
    pub after: AfterClose,
    /// The files.
    pub written: Written,
}

/// Closes `roster` (once; audited) and writes its report and retur list into `out`.
pub(crate) async fn close_and_write(
    db: &salur_server::Db,
    roster: &str,
    out: &Path,
    actor: salur_server::domain::audit::Actor,
) -> Result<Closing, Error> {
    // The roster id becomes part of three file names: nothing that leaves `out` (checked before
    // the period is closed, so a refusal changes nothing).
    if !salur_server::domain::roster::is_identifier(roster) {
        return Err(Error::InvalidArgument(format!(
            "roster id {roster:?} is not a plain identifier (letters, digits, '.', '_', '-')"
        )));
    }
    let closed = db.close_period(roster, &actor.name).await.map_err(server_error)?;
    if closed.now {
        let entry = NewEntry {
            actor,
            action: Action::PeriodClosed,
            target: Some(roster.to_string()),
            detail: Some("report and retur list written".into()),
        };
        db.audit(entry).await.map_err(server_error)?;
    }
    let facts = db.period_facts(roster).await.map_err(server_error)?;
    // The figures are the close's own: counted once, then read back by every later run.
    let Counted { rows, total } = match db.counted(roster).await.map_err(server_error)? {
        Some(counted) => counted,
        None => {
            let (rows, total) = closing::report(&facts);
            db.record_counted(roster, &Counted { rows, total }).await.map_err(server_error)?
        }
    };
    let retur = closing::retur(&facts);
    let after = db.after_close(roster).await.map_err(server_error)?;
    let closed_at = salur_core::dates::wib_minute(closed.closed_ms);
    let written = write(out, roster, &closed_at, &rows, &total, &retur, &after)?;
    Ok(Closing { closed, closed_at, total, retur: retur.len(), after, written })
}

/// Runs `salur close-period`.
pub fn run(args: &ClosePeriodArgs) -> Result<ExitCode, Error> {
    let roster = &args.roster;
    let c = runtime()?.block_on(async {
        let db = args.db.open().await?;
        close_and_write(&db, roster, &args.out, cli_actor()).await
    })?;
    let (closed, total, written, after) = (&c.closed, &c.total, &c.written, &c.after);
    if args.json {
        println!(
            "{}",
            json!({ "roster": roster, "closed_at": c.closed_at, "closed_now": closed.now, "total": total,
                    "retur": c.retur, "late_receipts": after.late_receipts, "after_close": after,
                    "report_csv": written.report_csv, "retur_csv": written.retur_csv, "pdf": written.pdf })
        );
    } else {
        let when = if closed.now { "closed now" } else { "closed earlier" };
        println!("{roster} {when} ({}, by {})", c.closed_at, closed.closed_by);
        println!(
            "  {} recipients: {} paid ({}), {} ineligible, {} not home, {} refused, {} not visited",
            total.recipients,
            total.paid,
            rupiah(total.paid_amount),
            total.ineligible_total(),
            total.not_home,
            total.refused,
            total.not_visited
        );
        println!(
            "  reallocated: {} recipients, {}; paid more than once: {}",
            total.reallocated,
            rupiah(total.reallocated_amount),
            total.double_paid
        );
        println!(
            "  retur: {} recipients, {}; overrides {}, proxy {}, complaints {}",
            c.retur,
            rupiah(total.retur_amount),
            total.overrides,
            total.proxy,
            total.complaints
        );
        let s = &total.server;
        println!(
            "  face payments checked by the server, at the close (overrides are judged by their approval code): \
             {} verified, {} mismatch, {} no evidence, {} no reference, {} pending (crop awaited)",
            s.verified, s.mismatch, s.no_evidence, s.no_reference, s.pending
        );
        println!(
            "  after the close (not in the figures above): {} late receipts ({} payments), {} complaints, \
             {} recipients added by reallocation",
            after.late_receipts, after.late_payments, after.complaints, after.recipients_added
        );
        let now = &after.server_now;
        if now != s {
            println!(
                "  the server's verdicts now (crops that arrived after the close): {} verified, {} mismatch, \
                 {} no evidence, {} no reference, {} pending",
                now.verified, now.mismatch, now.no_evidence, now.no_reference, now.pending
            );
        }
        for p in [&written.report_csv, &written.retur_csv, &written.pdf] {
            println!("  wrote {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

fn csv_error(e: csv::Error) -> Error {
    Error::InvalidArgument(format!("writing CSV: {e}"))
}

/// A cell a spreadsheet would run as a formula starts with a quote (`domain::export`).
fn cell(v: &str) -> String {
    salur_server::domain::export::spreadsheet_cell(v).into_owned()
}

/// A new file only its owner may read: the retur list names recipients.
fn private_file(path: &Path) -> Result<std::fs::File, Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(io(format!("writing {}", path.display())))
}

fn ineligible_text(r: &ReportRow) -> String {
    r.ineligible.iter().map(|(why, n)| format!("{why}={n}")).collect::<Vec<_>>().join(";")
}

fn write(
    out: &Path,
    roster: &str,
    closed_at: &str,
    rows: &[ReportRow],
    total: &ReportRow,
    retur: &[ReturRow],
    after: &AfterClose,
) -> Result<Written, Error> {
    std::fs::create_dir_all(out).map_err(io(format!("creating {}", out.display())))?;
    let written = Written {
        report_csv: out.join(format!("realisasi-{roster}.csv")),
        retur_csv: out.join(format!("retur-{roster}.csv")),
        pdf: out.join(format!("laporan-{roster}.pdf")),
    };
    let mut w = csv::Writer::from_writer(private_file(&written.report_csv)?);
    w.write_record([
        "regency",
        "post_office",
        "recipients",
        "paid",
        "paid_amount",
        "ineligible",
        "ineligible_by_reason",
        "not_home",
        "refused",
        "not_visited",
        "proxy",
        "overrides",
        "complaints",
        "retur_amount",
        "reallocated",
        "reallocated_amount",
        "double_paid",
        "server_verified",
        "server_mismatch",
        "server_no_evidence",
        "server_no_reference",
        "server_pending",
    ])
    .map_err(csv_error)?;
    for r in rows.iter().chain(std::iter::once(total)) {
        let n = |v: u64| v.to_string();
        w.write_record([
            cell(&r.regency),
            cell(&r.post_office),
            n(r.recipients),
            n(r.paid),
            n(r.paid_amount),
            n(r.ineligible_total()),
            ineligible_text(r),
            n(r.not_home),
            n(r.refused),
            n(r.not_visited),
            n(r.proxy),
            n(r.overrides),
            n(r.complaints),
            n(r.retur_amount),
            n(r.reallocated),
            n(r.reallocated_amount),
            n(r.double_paid),
            n(r.server.verified),
            n(r.server.mismatch),
            n(r.server.no_evidence),
            n(r.server.no_reference),
            n(r.server.pending),
        ])
        .map_err(csv_error)?;
    }
    w.flush().map_err(io(format!("writing {}", written.report_csv.display())))?;
    let mut w = csv::Writer::from_writer(private_file(&written.retur_csv)?);
    w.write_record(["regency", "post_office", "nik", "name", "amount", "reason"]).map_err(csv_error)?;
    for r in retur {
        let amount = r.amount.to_string();
        w.write_record([cell(&r.regency), cell(&r.post_office), cell(&r.nik), cell(&r.name), amount, r.reason.clone()])
            .map_err(csv_error)?;
    }
    w.flush().map_err(io(format!("writing {}", written.retur_csv.display())))?;
    std::io::Write::write_all(&mut private_file(&written.pdf)?, &pdf(roster, closed_at, rows, total, retur, after))
        .map_err(io(format!("writing {}", written.pdf.display())))?;
    Ok(written)
}

/// The report and the retur list as A4 pages of monospaced lines (columns line up).
fn pdf(
    roster: &str,
    closed_at: &str,
    rows: &[ReportRow],
    total: &ReportRow,
    retur: &[ReturRow],
    after: &AfterClose,
) -> Vec<u8> {
    let s = &total.server;
    let mut lines = vec![
        format!("LAPORAN REALISASI PENYALURAN {roster}"),
        format!("Ditutup {closed_at}. Angka di bawah adalah angka saat penutupan."),
        "Diperiksa server saat penutupan (wajah bukti vs referensi; override dinilai dari kode persetujuannya):".into(),
        format!(
            "  {} terverifikasi, {} tidak cocok, {} tanpa bukti, {} tanpa referensi, {} menunggu bukti.",
            s.verified, s.mismatch, s.no_evidence, s.no_reference, s.pending
        ),
        format!(
            "Setelah penutupan (tidak termasuk): {} tanda terima terlambat ({} pembayaran), {} pengaduan, \
             {} KPM ditambahkan oleh realokasi.",
            after.late_receipts, after.late_payments, after.complaints, after.recipients_added
        ),
        String::new(),
        format!(
            "{:<8} {:<16} {:>7} {:>7} {:>15} {:>6} {:>6} {:>6} {:>6} {:>5} {:>5} {:>5}",
            "Kab/Kota",
            "Kantor pos",
            "KPM",
            "Dibayar",
            "Rupiah",
            "TdkLyk",
            "TdkDiR",
            "Tolak",
            "Belum",
            "Kuasa",
            "Ovrd",
            "Adu"
        ),
    ];
    // The verdicts as they stand now, only where a crop that arrived after the close changed them.
    if after.server_now != total.server {
        let now = &after.server_now;
        lines.insert(
            5,
            format!(
                "Pemeriksaan server sekarang (bukti yang tiba setelah penutupan): {} terverifikasi, {} tidak cocok, \
                 {} tanpa bukti, {} tanpa referensi, {} menunggu bukti.",
                now.verified, now.mismatch, now.no_evidence, now.no_reference, now.pending
            ),
        );
    }
    for r in rows.iter().chain(std::iter::once(total)) {
        lines.push(format!(
            "{:<8} {:<16} {:>7} {:>7} {:>15} {:>6} {:>6} {:>6} {:>6} {:>5} {:>5} {:>5}",
            r.regency,
            r.post_office.chars().take(16).collect::<String>(),
            r.recipients,
            r.paid,
            rupiah(r.paid_amount),
            r.ineligible_total(),
            r.not_home,
            r.refused,
            r.not_visited,
            r.proxy,
            r.overrides,
            r.complaints
        ));
    }
    lines.push(String::new());
    lines.push(format!(
        "Dialokasikan ulang ke KPM lain: {} KPM, {} (tidak diretur). Dibayar lebih dari sekali: {} KPM.",
        total.reallocated,
        rupiah(total.reallocated_amount),
        total.double_paid
    ));
    lines.push(format!("DAFTAR RETUR: {} KPM, {}", retur.len(), rupiah(total.retur_amount)));
    for r in retur {
        lines.push(format!(
            "{:<16} {:<16} {:<24} {:>12} {}",
            r.post_office.chars().take(16).collect::<String>(),
            r.nik,
            r.name.chars().take(24).collect::<String>(),
            rupiah(r.amount),
            r.reason
        ));
    }
    const PER_PAGE: usize = 60;
    let mut pdf = Pdf::new();
    let (catalog, tree, font) = (Ref::new(1), Ref::new(2), Ref::new(3));
    let pages: Vec<&[String]> = lines.chunks(PER_PAGE).collect();
    let ids: Vec<(Ref, Ref)> =
        (0..pages.len()).map(|i| (Ref::new(4 + 2 * i as i32), Ref::new(5 + 2 * i as i32))).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(ids.iter().map(|p| p.0)).count(ids.len() as i32);
    pdf.type1_font(font).base_font(Name(b"Courier")).encoding_predefined(Name(b"WinAnsiEncoding"));
    for (chunk, &(page_id, content_id)) in pages.iter().zip(&ids) {
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, 842.0, 595.0)).parent(tree).contents(content_id);
        page.resources().fonts().pair(Name(b"F1"), font);
        page.finish();
        let mut content = Content::new();
        let mut y = 560.0;
        for line in chunk.iter() {
            content.begin_text();
            content.set_font(Name(b"F1"), 8.0);
            content.next_line(30.0, y);
            content.show(Str(&super::letters::win_ansi(line)));
            content.end_text();
            y -= 9.0;
        }
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}
