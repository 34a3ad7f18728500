//! `salur close-period --roster ID --out DIR`: freezes the period and writes its realisation
//! report (per regency and post office) and the retur list (every unpaid recipient with the
//! reason), each as CSV, and both in one PDF. Receipts arriving later are kept and marked late.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use salur_core::slip::rupiah;
use salur_core::Error;
use salur_server::domain::audit::{Action, NewEntry};
use salur_server::domain::closing::{self, ineligible_label, retur_label, AfterClose, Counted, ReportRow};
use salur_server::read::names::AreaNames;
use serde_json::json;

use super::closing_pdf::{post_office_label, regency_label, ReportFacts};
use super::serve::{cli_actor, runtime, server_error, DbArgs};

#[derive(Args, Debug)]
pub struct ClosePeriodArgs {
    /// The roster (programme and period) to close.
    #[arg(long)]
    roster: String,
    /// Folder for the report files.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Post office names (`post_office,CODE,NAME` lines; the file `salur serve --area-names`
    /// reads). Regencies are named from the bundled Kemendagri list; without this file the
    /// report names post offices by their code.
    #[arg(long, value_name = "FILE.csv")]
    area_names: Option<PathBuf>,
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
    names: &AreaNames,
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
    let report = ReportFacts {
        roster,
        closed_ms: closed.closed_ms,
        closed_by: &closed.closed_by,
        rows: &rows,
        total: &total,
        retur: &retur,
        after: &after,
        names,
    };
    let written = write(out, &report)?;
    Ok(Closing { closed, closed_at, total, retur: retur.len(), after, written })
}

/// Runs `salur close-period`.
pub fn run(args: &ClosePeriodArgs) -> Result<ExitCode, Error> {
    let roster = &args.roster;
    // The names file is read before anything is closed: a bad one changes nothing.
    let names = match &args.area_names {
        Some(path) => AreaNames::bundled_and(path).map_err(server_error)?,
        None => AreaNames::bundled(),
    };
    let c = runtime()?.block_on(async {
        let db = args.db.open().await?;
        close_and_write(&db, roster, &args.out, &names, cli_actor()).await
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
pub(crate) fn private_file(path: &Path) -> Result<std::fs::File, Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(io(format!("writing {}", path.display())))
}

/// `meninggal dunia=1; pindah domisili=2`.
fn ineligible_text(r: &ReportRow) -> String {
    r.ineligible.iter().map(|(why, n)| format!("{}={n}", ineligible_label(why))).collect::<Vec<_>>().join("; ")
}

/// The two CSVs (Indonesian headers and labels, as in the PDF; codes beside the names so a
/// spreadsheet can still match them) and the PDF.
fn write(out: &Path, f: &ReportFacts<'_>) -> Result<Written, Error> {
    let roster = f.roster;
    std::fs::create_dir_all(out).map_err(io(format!("creating {}", out.display())))?;
    let written = Written {
        report_csv: out.join(format!("realisasi-{roster}.csv")),
        retur_csv: out.join(format!("retur-{roster}.csv")),
        pdf: out.join(format!("laporan-{roster}.pdf")),
    };
    let mut w = csv::Writer::from_writer(private_file(&written.report_csv)?);
    w.write_record([
        "kode_kabupaten_kota",
        "kabupaten_kota",
        "kode_kantor_pos",
        "kantor_pos",
        "kpm",
        "dibayar",
        "nilai_dibayar",
        "tidak_layak",
        "tidak_layak_menurut_alasan",
        "tidak_di_rumah",
        "menolak",
        "belum_dikunjungi",
        "kuasa",
        "override",
        "pengaduan",
        "nilai_retur",
        "dialokasikan_ulang",
        "nilai_dialokasikan_ulang",
        "dibayar_lebih_dari_sekali",
        "server_terverifikasi",
        "server_tidak_cocok",
        "server_tanpa_bukti",
        "server_tanpa_referensi",
        "server_menunggu_bukti",
    ])
    .map_err(csv_error)?;
    let total_names = ("JUMLAH".to_string(), format!("{} kantor pos", f.rows.len()));
    let named = f
        .rows
        .iter()
        .map(|r| (r, (regency_label(f.names, &r.regency), post_office_label(f.names, &r.post_office))))
        .chain(std::iter::once((f.total, total_names)));
    for (r, (regency, office)) in named {
        let n = |v: u64| v.to_string();
        let (regency_code, office_code) = if std::ptr::eq(r, f.total) {
            (String::new(), String::new())
        } else {
            (cell(&r.regency), cell(&r.post_office))
        };
        w.write_record([
            regency_code,
            cell(&regency),
            office_code,
            cell(&office),
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
    w.write_record([
        "kode_kabupaten_kota",
        "kabupaten_kota",
        "kode_kantor_pos",
        "kantor_pos",
        "nik",
        "nama",
        "nilai",
        "kode_alasan",
        "alasan",
    ])
    .map_err(csv_error)?;
    for r in f.retur {
        w.write_record([
            cell(&r.regency),
            cell(&regency_label(f.names, &r.regency)),
            cell(&r.post_office),
            cell(&post_office_label(f.names, &r.post_office)),
            cell(&r.nik),
            cell(&r.name),
            r.amount.to_string(),
            r.reason.clone(),
            retur_label(&r.reason),
        ])
        .map_err(csv_error)?;
    }
    w.flush().map_err(io(format!("writing {}", written.retur_csv.display())))?;
    std::io::Write::write_all(&mut private_file(&written.pdf)?, &super::closing_pdf::render(f)?)
        .map_err(io(format!("writing {}", written.pdf.display())))?;
    Ok(written)
}
