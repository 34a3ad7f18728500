//! `salur detect`, `salur verify` and `salur eval`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use salur_core::face::{eval, read_image, FacePick, Outcome};
use salur_core::Error;
use serde::Deserialize;
use serde_json::json;

use super::EngineArgs;

#[derive(Args, Debug)]
pub struct DetectArgs {
    /// JPEG or PNG photo.
    image: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Reference photo (registry photo, e-KTP card or enrolment capture).
    reference: PathBuf,
    /// Photo taken at the doorstep.
    probe: PathBuf,
    /// Use the largest face when a photo shows several, instead of refusing it.
    #[arg(long)]
    largest: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// CSV with columns a,b,same (paths relative to --root; same is 1 or 0).
    #[arg(long)]
    pairs: PathBuf,
    /// Folder the CSV's paths are relative to.
    #[arg(long)]
    root: PathBuf,
    /// Also write every pair's score to this CSV (a,b,same,score).
    #[arg(long, value_name = "CSV")]
    scores: Option<PathBuf>,
    /// How each photo's face is chosen: as a reference photo (the clear face nearest the centre,
    /// small or soft faces kept) or the earlier rule (the largest clear face, capture gates on).
    #[arg(long, value_enum, default_value_t = EvalPick::Centered)]
    pick: EvalPick,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// The face choice `salur eval` scores with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalPick {
    /// The reference rule: nearest the centre, small or soft faces still give a template.
    Centered,
    /// The largest clear face, with the doorstep's size and sharpness gates.
    Largest,
}

pub fn detect(args: &DetectArgs) -> Result<ExitCode, Error> {
    let engine = args.engine.engine()?;
    let img = read_image(&args.image)?;
    let faces = engine.detect(&img)?;
    if args.engine.json {
        let faces: Vec<_> =
            faces.iter().map(|f| json!({ "face": f, "quality": engine.quality(&img, f, faces.len()) })).collect();
        let out = json!({ "width": img.width(), "height": img.height(), "detector_size": engine.detector_size(), "faces": faces });
        println!("{out}");
    } else {
        println!("{}: {}x{}, {} face(s)", args.image.display(), img.width(), img.height(), faces.len());
        for (i, f) in faces.iter().enumerate() {
            let b = f.bbox;
            let q = engine.quality(&img, f, faces.len());
            println!(
                "  #{i}: box x={:.0} y={:.0} w={:.0} h={:.0} score={:.3}; sharpness {:.0}, brightness {:.0}, yaw {:.0} deg",
                b.x, b.y, b.width, b.height, b.score, q.sharpness, q.brightness, q.yaw_deg
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn verify(args: &VerifyArgs) -> Result<ExitCode, Error> {
    let engine = args.engine.engine()?;
    let pick = if args.largest { FacePick::Largest } else { FacePick::Single };
    let result = engine.verify_images(&read_image(&args.reference)?, &read_image(&args.probe)?, pick)?;
    if args.engine.json {
        println!("{}", serde_json::to_string(&result).expect("serializable"));
    } else {
        let word = match result.outcome {
            Outcome::Accept => "ACCEPT: same person",
            Outcome::Retry => "RETRY: take another photo",
            Outcome::Reject => "REJECT: not the same person",
        };
        println!("{word} (score {:.3}, threshold {:.3})", result.score, result.threshold);
        for r in &result.reasons {
            println!("  {r}");
        }
        let q = result.probe;
        println!(
            "  probe: face {:.0} px, detector {:.2}, sharpness {:.0}, brightness {:.0}, yaw {:.0} deg",
            q.face_px, q.detector_score, q.sharpness, q.brightness, q.yaw_deg
        );
    }
    Ok(if result.outcome == Outcome::Accept { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[derive(Debug, Deserialize)]
struct Pair {
    a: String,
    b: String,
    same: u8,
}

pub fn eval(args: &EvalArgs) -> Result<ExitCode, Error> {
    let engine = args.engine.engine()?;
    let csv_error = |e: csv::Error| Error::InvalidArgument(format!("{}: {e}", args.pairs.display()));
    let pairs: Vec<Pair> = csv::Reader::from_path(&args.pairs)
        .map_err(csv_error)?
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(csv_error)?;
    let bar = ProgressBar::new(pairs.len() as u64)
        .with_style(
            ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} pairs [{elapsed}]").expect("valid template"),
        )
        .with_message("scoring");
    if args.engine.json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    // Photos appear in many pairs: embed each once.
    let mut cache: HashMap<&str, Result<Vec<f32>, String>> = HashMap::new();
    let (mut genuine, mut impostor, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    let mut scored = Vec::new();
    for pair in &pairs {
        for path in [&pair.a, &pair.b] {
            cache.entry(path).or_insert_with(|| {
                read_image(&args.root.join(path))
                    .and_then(|img| match args.pick {
                        EvalPick::Centered => engine.capture_reference(&img),
                        EvalPick::Largest => engine.capture(&img, FacePick::Largest),
                    })
                    .map(|c| c.embedding)
                    .map_err(|e| e.to_string())
            });
        }
        match (&cache[pair.a.as_str()], &cache[pair.b.as_str()]) {
            (Ok(a), Ok(b)) => {
                let score = salur_core::face::cosine(a, b);
                if pair.same == 1 {
                    genuine.push(score)
                } else {
                    impostor.push(score)
                }
                scored.push((pair, score));
            }
            (a, b) => {
                let reason = [(&pair.a, a), (&pair.b, b)]
                    .iter()
                    .filter_map(|(p, r)| r.as_ref().err().map(|e| format!("{p}: {e}")))
                    .collect::<Vec<_>>()
                    .join("; ");
                failed.push(json!({ "a": pair.a, "b": pair.b, "reason": reason }));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(path) = &args.scores {
        write_scores(path, &scored)?;
    }
    let m = eval::metrics(&genuine, &impostor)
        .ok_or_else(|| Error::InvalidArgument("the pairs need both same=1 and same=0 rows that score".into()))?;
    let mut out = serde_json::to_value(&m).expect("serializable");
    out["pairs"] = json!(genuine.len() + impostor.len());
    out["pairs_total"] = json!(pairs.len());
    out["failed"] = json!(failed);
    out["threshold"] = json!(engine.config().match_threshold);
    out["pick"] = json!(format!("{:?}", args.pick).to_lowercase());
    if args.engine.json {
        println!("{out}");
    } else {
        println!(
            "pairs scored {} of {} ({} genuine, {} impostor), face chosen: {}",
            out["pairs"],
            pairs.len(),
            m.genuine,
            m.impostor,
            out["pick"].as_str().unwrap_or_default()
        );
        println!("ROC AUC {:.4}  EER {:.4}", m.auc, m.eer);
        println!(
            "TAR at FAR 1e-2 {:.4}  TAR at FAR 1e-3 {:.4}  threshold at FAR 1e-3 {:.4}",
            m.tar_at_far_1e_2, m.tar_at_far_1e_3, m.threshold_at_far_1e_3
        );
        println!(
            "lowest genuine {:.4}  highest impostor {:.4}  (FAR resolution {:.1e})",
            m.min_genuine, m.max_impostor, m.far_resolution
        );
        for f in &failed {
            println!("failed: {}", f["reason"].as_str().unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_scores(path: &std::path::Path, scored: &[(&Pair, f32)]) -> Result<(), Error> {
    let csv_error = |e: csv::Error| Error::InvalidArgument(format!("{}: {e}", path.display()));
    let mut w = csv::Writer::from_path(path).map_err(csv_error)?;
    w.write_record(["a", "b", "same", "score"]).map_err(csv_error)?;
    for (p, s) in scored {
        w.write_record([p.a.as_str(), p.b.as_str(), &p.same.to_string(), &format!("{s:.6}")]).map_err(csv_error)?;
    }
    w.flush().map_err(|source| Error::Io { context: format!("writing {}", path.display()), source })
}
