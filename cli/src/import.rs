//! `salur import-roster CSV [--photos DIR]`: recipients into the server's database, with
//! reference templates computed by rust-core's face engine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use salur_core::face::{read_image, FaceConfig, FaceEngine};
use salur_core::Error;
use salur_server::domain::roster::{repeated_niks, AmountBounds, ImportSummary, KnownAreas, RosterRow};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// CSV (`,` or `;` separated) with columns nik,name,address,province,regency,district,village,
    /// post_office,amount,period,worker_id[,photo][,kk_members]; amounts as 600000 or 600.000;
    /// kk_members as NIK:Name entries separated by | (docs/operations.md, "Importing a roster").
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
    let file = std::fs::File::open(&args.csv)
        .map_err(|source| Error::Io { context: format!("opening {}", args.csv.display()), source })?;
    let mut rows = salur_server::domain::roster::read_csv(std::io::BufReader::new(file));
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
                Ok(Some((template, quality))) => {
                    let c = FaceConfig::default();
                    if quality.face_px < c.min_face_px || quality.sharpness < c.min_sharpness {
                        let what = format!("face {:.0} px, sharpness {:.0}", quality.face_px, quality.sharpness);
                        summary.low_quality_template.push((line, what));
                    }
                    Some(template)
                }
                Ok(None) => None,
                Err(why) => {
                    summary.without_template.push((line, why));
                    None
                }
            },
            _ => None,
        };
        let Some(db) = db.as_ref().filter(|_| !args.dry_run) else {
            // Checked only: counted as what would be imported.
            summary.imported += 1;
            summary.with_template += usize::from(template.is_some());
            continue;
        };
        let put = runtime.block_on(db.put_recipient(&row, template.as_deref())).map_err(store)?;
        summary.imported += 1;
        summary.with_template += usize::from(template.is_some() || put.kept_template);
        if put.kept_template {
            // Not "enrols at the first visit": the reference imported before stays.
            summary.without_template.retain(|(l, _)| *l != line);
            summary.kept_template.push(line);
        }
    }
    bar.finish_and_clear();
    let file = args.csv.file_name().map(|f| f.to_string_lossy().into_owned());
    let entry = salur_server::domain::audit::NewEntry {
        actor: super::serve::cli_actor(),
        action: salur_server::domain::audit::Action::RosterImported,
        target: file,
        detail: Some(format!("{} imported, {} refused", summary.imported, summary.refused.len())),
    };
    if let Some(db) = db.as_ref().filter(|_| !args.dry_run) {
        runtime.block_on(db.audit(entry)).map_err(store)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary).expect("serializable"));
    } else {
        let verb = if args.dry_run { "dry run, nothing written: would import" } else { "imported" };
        println!(
            "{verb} {} recipients ({} with a reference template) into {}{}",
            summary.imported,
            summary.with_template,
            args.database_url.as_deref().map_or_else(|| args.data_dir.display().to_string(), |_| "the database".into()),
            if made {
                " (a NEW database: there was no Salur data there; check the folder if you meant another)"
            } else {
                ""
            }
        );
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

/// The template for a row's photo (the face nearest the centre) and the photo's quality:
/// `Ok(None)` when there is no photo.
fn template_for(
    engine: &FaceEngine,
    photos: &Path,
    row: &RosterRow,
) -> Result<Option<(Vec<u8>, salur_core::face::Quality)>, String> {
    let candidates = match &row.photo {
        Some(p) => vec![photos.join(p)],
        None => vec![photos.join(format!("{}.jpg", row.nik)), photos.join(format!("{}.png", row.nik))],
    };
    let Some(path) = candidates.into_iter().find(|p| p.exists()) else {
        return Err(match &row.photo {
            Some(p) => format!("photo {p} not found in {}", photos.display()),
            None => format!("no photo {nik}.jpg or {nik}.png in {}", photos.display(), nik = row.nik),
        });
    };
    let img = read_image(&path).map_err(|e| format!("photo: {e}"))?;
    // A reference shows the recipient alone: of a group photo any face could become theirs. Faces
    // far smaller than the largest (a poster behind) do not count.
    let faces = engine.detect(&img).map_err(|e| format!("photo: {e}"))?;
    let widest = faces.iter().map(|f| f.bbox.width).fold(0f32, f32::max);
    let people = faces.iter().filter(|f| f.bbox.width >= widest / 3.0).count();
    if people > 1 {
        return Err(format!("photo shows {people} faces: crop it to the recipient's face"));
    }
    let (template, quality) = engine.reference_template(&img).map_err(|e| format!("photo: {e}"))?;
    Ok(Some((template.encode(), quality)))
}
