//! `salur import-roster FILE [--photos DIR]`: recipients into the server's database, all or
//! nothing, with reference templates computed by rust-core's face engine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use salur_core::face::{read_image, FaceConfig, FaceEngine};
use salur_core::Error;
use salur_server::domain::roster::{changes, repeated_niks, AmountBounds, ImportSummary, KnownAreas, RosterRow};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// CSV (`,` or `;` separated) or Excel workbook (.xlsx, its first sheet) with columns nik,name,
    /// address,province,regency,district,village,post_office,amount,period,worker_id[,photo]
    /// [,kk_members]; amounts as 600000 or 600.000; kk_members as NIK:Name entries separated by |
    /// (docs/operations.md, "Importing a roster"). All or nothing: while any row is wrong, nothing
    /// is imported.
    csv: PathBuf,
    /// Folder of reference photos (`photo` column, else `<nik>.jpg` or `<nik>.png`).
    #[arg(long, value_name = "DIR")]
    photos: Option<PathBuf>,
    /// The server's data folder (made when missing: an import may set a server up).
    #[arg(long, env = "SALUR_DATA_DIR", default_value = "salur-data", value_name = "DIR")]
    data_dir: PathBuf,
    /// PostgreSQL URL instead of the embedded SQLite in --data-dir.
    #[arg(long, env = "SALUR_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Smallest amount a row may carry, whole rupiah.
    #[arg(long, value_name = "RUPIAH", default_value_t = AmountBounds::default().min)]
    min_amount: u64,
    /// Largest amount a row may carry, whole rupiah.
    #[arg(long, value_name = "RUPIAH", default_value_t = AmountBounds::default().max)]
    max_amount: u64,
    /// Check every row and report, importing nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ImportArgs) -> Result<ExitCode, Error> {
    let mut rows = read_rows(&args.csv)?;
    if let Some(dir) = args.photos.as_deref().filter(|d| !d.is_dir()) {
        return Err(Error::InvalidArgument(format!(
            "the photo folder {} does not exist: pass the folder of the registry photos with --photos, or leave it out",
            dir.display()
        )));
    }
    // Every row checked before anything is written: amounts, areas, one row per NIK.
    let bounds = AmountBounds { min: args.min_amount, max: args.max_amount };
    let known = salur_server::read::names::AreaNames::bundled().known();
    let repeated = repeated_niks(rows.iter().filter_map(|(line, r)| r.as_ref().ok().map(|r| (*line, r))));
    let mut notes = Vec::new();
    for (line, row) in &mut rows {
        let Ok(r) = row else { continue };
        let problem = bounds.check(r.amount).and_then(|()| known.check(r)).err().or_else(|| {
            repeated.iter().find(|(l, _)| l == line).map(|(_, first)| {
                format!("column nik: the same NIK as line {first}: one row per recipient (merge the two)")
            })
        });
        match problem {
            Some(why) => *row = Err(why),
            None => notes.extend(KnownAreas::nik_region_note(r).map(|n| (*line, n))),
        }
    }
    let engine = match &args.photos {
        Some(_) => Some(FaceEngine::bundled(FaceConfig::default())?),
        None => None,
    };
    let runtime =
        tokio::runtime::Runtime::new().map_err(|source| Error::Io { context: "starting tokio".into(), source })?;
    let store = |e: salur_server::ApiError| Error::Storage(e.to_string());
    let db_args = super::serve::DbArgs { data_dir: args.data_dir.clone(), database_url: args.database_url.clone() };
    // A dry run writes nothing, not even a new database: it reads one that exists (closed periods).
    let (db, made) = if args.dry_run {
        let storage = super::serve::storage(&args.data_dir, args.database_url.as_deref());
        (runtime.block_on(storage.open_existing()).ok(), false)
    } else {
        let (db, made) = runtime.block_on(db_args.open_or_create())?;
        (Some(db), made)
    };
    let bar = ProgressBar::new(rows.len() as u64).with_style(
        ProgressStyle::with_template("importing {bar:40} {pos}/{len} rows [{elapsed}] {msg}").expect("valid template"),
    );
    if args.json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    // A closed period's roster never changes: refused before any row is written.
    let periods: std::collections::BTreeSet<&str> =
        rows.iter().filter_map(|(_, r)| r.as_ref().ok().map(|r| r.period.as_str())).collect();
    for period in periods {
        let Some(db) = &db else { break };
        if let Some(ms) = runtime.block_on(db.closed_at(period)).map_err(store)? {
            return Err(Error::InvalidArgument(salur_server::store::closed_roster(period, ms).to_string()));
        }
    }
    let mut summary = ImportSummary { notes, dry_run: args.dry_run, ..ImportSummary::default() };
    // First every row is checked and every photo read: nothing is written while any row is wrong.
    let mut ready: Vec<(usize, RosterRow, Option<Vec<u8>>)> = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        bar.inc(1);
        let row = match row {
            Ok(r) => r,
            Err(why) => {
                summary.refused.push((line, why));
                continue;
            }
        };
        let template = match (&engine, &args.photos) {
            (Some(engine), Some(dir)) => match template_for(engine, dir, &row) {
                Ok(Photo::Template(template, quality)) => {
                    let c = FaceConfig::default();
                    if quality.face_px < c.min_face_px || quality.sharpness < c.min_sharpness {
                        let what = format!("face {:.0} px, sharpness {:.0}", quality.face_px, quality.sharpness);
                        summary.low_quality_template.push((line, what));
                    }
                    Some(template)
                }
                Ok(Photo::None(why)) => {
                    summary.without_template.push((line, why));
                    None
                }
                Err(why) => {
                    summary.refused.push((line, why));
                    continue;
                }
            },
            _ => None,
        };
        ready.push((line, row, template));
    }
    bar.finish_and_clear();
    if let Some(db) = &db {
        let held = runtime.block_on(db.current(&ready.iter().map(|(_, r, _)| r).collect::<Vec<_>>())).map_err(store)?;
        for ((line, row, _), held) in ready.iter().zip(held) {
            match held {
                Some(current) => {
                    summary.changes.extend(changes(row, &current).into_iter().map(|c| (*line, c)));
                }
                None => summary.added += 1,
            }
        }
    } else {
        summary.added = ready.len();
    }
    summary.refused.sort_by_key(|(line, _)| *line);
    let write = summary.refused.is_empty() && !args.dry_run;
    if let (Some(db), true) = (&db, write) {
        // Written in short transactions, so receipt uploads interleave: every check already
        // passed, so what could stop it half-way is the machine, and running the same file
        // again finishes it (each row replaces the recipient with the same values).
        let bar = ProgressBar::new(ready.len() as u64).with_style(
            ProgressStyle::with_template("writing {bar:40} {pos}/{len} rows [{elapsed}]").expect("valid template"),
        );
        if args.json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        for chunk in ready.chunks(WRITE_CHUNK) {
            let rows: Vec<(&RosterRow, Option<&[u8]>)> = chunk.iter().map(|(_, r, t)| (r, t.as_deref())).collect();
            let puts = runtime.block_on(db.put_recipients(&rows)).map_err(|e| {
                Error::Storage(format!(
                    "{e}; {} of {} rows were written: run the same import again to finish",
                    summary.imported,
                    ready.len()
                ))
            })?;
            for ((line, _, template), put) in chunk.iter().zip(puts) {
                summary.imported += 1;
                summary.with_template += usize::from(template.is_some() || put.kept_template);
                if put.kept_template {
                    summary.kept_template.push(*line);
                }
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        // Not "enrols at the first visit": those kept the reference imported before.
        let kept: std::collections::BTreeSet<usize> = summary.kept_template.iter().copied().collect();
        summary.without_template.retain(|(l, _)| !kept.contains(l));
    } else if summary.refused.is_empty() {
        // A dry run: counted as what would be imported.
        summary.imported = ready.len();
        summary.with_template = ready.iter().filter(|(_, _, t)| t.is_some()).count();
    }
    let file = args.csv.file_name().map(|f| f.to_string_lossy().into_owned());
    let entry = salur_server::domain::audit::NewEntry {
        actor: super::serve::cli_actor(),
        action: salur_server::domain::audit::Action::RosterImported,
        target: file,
        detail: Some(format!("{} imported, {} refused", summary.imported, summary.refused.len())),
    };
    if let (Some(db), true) = (db.as_ref(), write) {
        runtime.block_on(db.audit(entry)).map_err(store)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary).expect("serializable"));
    } else {
        let place =
            args.database_url.as_deref().map_or_else(|| args.data_dir.display().to_string(), |_| "the database".into());
        if summary.refused.is_empty() {
            let verb = if args.dry_run { "dry run, nothing written: would import" } else { "imported" };
            println!(
                "{verb} {} recipients ({} new, {} changed; {} with a reference template) into {place}{}",
                summary.imported,
                summary.added,
                summary.changes.iter().map(|(l, _)| l).collect::<std::collections::BTreeSet<_>>().len(),
                summary.with_template,
                if made {
                    " (a NEW database: there was no Salur data there; check the folder if you meant another)"
                } else {
                    ""
                }
            );
        } else {
            let what = if args.dry_run { "DRY RUN, nothing written" } else { "NOTHING IMPORTED" };
            println!(
                "{what} into {place}: {} of the file's rows have problems (listed below with their line and \
                 column; {} rows are ready). Correct them and run the same command again; every row is checked \
                 each time, and nothing is imported while any row is wrong.",
                summary.refused.len(),
                ready.len()
            );
        }
        for (line, change) in &summary.changes {
            println!("  line {line}: changes a recipient already imported: {change}");
        }
        for (line, why) in &summary.without_template {
            println!("  line {line}: no template ({why}); the recipient enrols at the first visit");
        }
        if !summary.kept_template.is_empty() {
            let lines: Vec<String> = summary.kept_template.iter().map(usize::to_string).collect();
            println!(
                "  {} rows without a photo kept the reference template imported earlier (lines {})",
                lines.len(),
                lines.join(", ")
            );
        }
        for (line, what) in &summary.low_quality_template {
            println!("  line {line}: template from a small or soft photo ({what}); kept, worth a better photo");
        }
        for (line, note) in &summary.notes {
            println!("  line {line}: note: {note}");
        }
        for (line, why) in &summary.refused {
            println!("  line {line}: refused: {why}");
        }
    }
    Ok(if summary.refused.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// A row of the roster file with its line number: the row, or what is wrong with it.
type NumberedRow = (usize, Result<RosterRow, String>);

/// The roster file's rows with their line numbers: a CSV (`,` or `;` separated), or the first
/// sheet of an Excel workbook (`.xlsx`), whose row numbers are the lines.
fn read_rows(path: &Path) -> Result<Vec<NumberedRow>, Error> {
    let xlsx = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if !xlsx {
        let file = std::fs::File::open(path)
            .map_err(|source| Error::Io { context: format!("opening {}", path.display()), source })?;
        return Ok(salur_server::domain::roster::read_csv(std::io::BufReader::new(file)));
    }
    use calamine::{Data, Reader};
    let unreadable = |e: &dyn std::fmt::Display| {
        Error::InvalidArgument(format!(
            "{}: not a readable .xlsx workbook ({e}): save it again from Excel",
            path.display()
        ))
    };
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(path).map_err(|e| unreadable(&e))?;
    let range = book.worksheet_range_at(0).ok_or_else(|| unreadable(&"no sheet"))?.map_err(|e| unreadable(&e))?;
    // The sheet's rows as CSV, read by the same checks; lines are the sheet's row numbers.
    let first_row = range.start().map_or(0, |(row, _)| row as usize);
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut nik_column = None;
    let mut numeric_nik = std::collections::BTreeSet::new();
    let mut index = 0usize;
    // The sheet row (from the range's first) of each record written: blank rows are left out.
    let mut sheet_rows = Vec::new();
    for (sheet_row, row) in range.rows().enumerate() {
        if index > 0 && row.iter().all(|d| matches!(d, Data::Empty)) {
            continue;
        }
        sheet_rows.push(sheet_row);
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(column, d)| {
                let text = match d {
                    Data::Int(i) => i.to_string(),
                    // Whole numbers as Excel shows them (600000, not 600000.0).
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                    Data::Float(f) => f.to_string(),
                    Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                    Data::Bool(b) => b.to_string(),
                    Data::DateTime(d) => d.to_string(),
                    Data::Error(e) => format!("#{e}"),
                    Data::Empty => String::new(),
                };
                if index == 0 && text.trim().eq_ignore_ascii_case("nik") {
                    nik_column = Some(column);
                } else if index > 0 && nik_column == Some(column) && matches!(d, Data::Int(_) | Data::Float(_)) {
                    numeric_nik.insert(index);
                }
                text
            })
            .collect();
        csv.write_record(&cells).map_err(|e| unreadable(&e))?;
        index += 1;
    }
    let bytes = csv.into_inner().map_err(|e| unreadable(&e))?;
    let mut rows = salur_server::domain::roster::read_csv(&bytes[..]);
    for (line, row) in &mut rows {
        // read_csv numbers the header line 1: record `index` is its line - 1.
        if numeric_nik.contains(&(*line - 1)) {
            *row = Err("column nik: the NIK is stored as a number, and Excel keeps only 15 of its 16 digits: \
                        format the column as Text and type the NIKs again"
                .into());
        }
        *line = first_row + sheet_rows.get(*line - 1).copied().unwrap_or(*line - 1) + 1;
    }
    Ok(rows)
}

/// What a row's photo gave.
enum Photo {
    /// Its template and the photo's quality.
    Template(Vec<u8>, salur_core::face::Quality),
    /// No photo named `<nik>.jpg` or `.png`: the recipient enrols at the first visit (why).
    None(String),
}

/// Rows written per transaction: short enough that receipt uploads wait milliseconds, not the
/// whole import.
const WRITE_CHUNK: usize = 1_000;

/// The template of a row's photo. A photo the row names but that is missing, unreadable, or not
/// of exactly one face is a problem with the row (`Err`, with the column and what to do); a row
/// that names none and has no `<nik>.jpg` enrols at the first visit.
fn template_for(engine: &FaceEngine, photos: &Path, row: &RosterRow) -> Result<Photo, String> {
    let candidates = match &row.photo {
        Some(p) => vec![photos.join(p)],
        None => vec![photos.join(format!("{}.jpg", row.nik)), photos.join(format!("{}.png", row.nik))],
    };
    let Some(path) = candidates.into_iter().find(|p| p.exists()) else {
        return match &row.photo {
            Some(p) => Err(format!(
                "column photo: {p} is not in {}: add the file, or empty the cell to enrol the recipient at the first visit",
                photos.display()
            )),
            None => Ok(Photo::None(format!("no photo {nik}.jpg or {nik}.png in {}", photos.display(), nik = row.nik))),
        };
    };
    let img = read_image(&path).map_err(|e| format!("column photo: {}: {e}", path.display()))?;
    // A reference shows the recipient alone: of a group photo any face could become theirs. Faces
    // far smaller than the largest (a poster behind) do not count.
    let faces = engine.detect(&img).map_err(|e| format!("column photo: {}: {e}", path.display()))?;
    let widest = faces.iter().map(|f| f.bbox.width).fold(0f32, f32::max);
    let people = faces.iter().filter(|f| f.bbox.width >= widest / 3.0).count();
    if people > 1 {
        return Err(format!("column photo: {} shows {people} faces: crop it to the recipient's face", path.display()));
    }
    let (template, quality) =
        engine.reference_template(&img).map_err(|e| format!("column photo: {}: {e}", path.display()))?;
    Ok(Photo::Template(template.encode(), quality))
}
