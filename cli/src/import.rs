//! `salur import-roster CSV [--photos DIR]`: recipients into the server's database, with
//! reference templates computed by rust-core's face engine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use salur_core::face::{read_image, FaceConfig, FaceEngine};
use salur_core::Error;
use salur_server::domain::roster::{ImportSummary, RosterRow};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// CSV with columns nik,name,address,province,regency,district,village,post_office,amount,period,worker_id[,photo].
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
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ImportArgs) -> Result<ExitCode, Error> {
    let file = std::fs::File::open(&args.csv)
        .map_err(|source| Error::Io { context: format!("opening {}", args.csv.display()), source })?;
    let rows = salur_server::domain::roster::read_csv(std::io::BufReader::new(file));
    let engine = match &args.photos {
        Some(_) => Some(FaceEngine::bundled(FaceConfig::default())?),
        None => None,
    };
    let runtime =
        tokio::runtime::Runtime::new().map_err(|source| Error::Io { context: "starting tokio".into(), source })?;
    let store = |e: salur_server::ApiError| Error::Storage(e.to_string());
    let (db, made) = runtime.block_on(
        super::serve::DbArgs { data_dir: args.data_dir.clone(), database_url: args.database_url.clone() }
            .open_or_create(),
    )?;
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
        if let Some(ms) = runtime.block_on(db.closed_at(period)).map_err(store)? {
            return Err(Error::InvalidArgument(salur_server::store::closed_roster(period, ms).to_string()));
        }
    }
    let mut summary = ImportSummary::default();
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
    runtime.block_on(db.audit(entry)).map_err(store)?;
    if args.json {
        println!("{}", serde_json::to_string(&summary).expect("serializable"));
    } else {
        println!(
            "imported {} recipients ({} with a reference template) into {}{}",
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
        return match &row.photo {
            Some(p) => Err(format!("photo {p} not found")),
            None => Ok(None),
        };
    };
    let img = read_image(&path).map_err(|e| format!("photo: {e}"))?;
    let (template, quality) = engine.reference_template(&img).map_err(|e| format!("photo: {e}"))?;
    Ok(Some((template.encode(), quality)))
}
