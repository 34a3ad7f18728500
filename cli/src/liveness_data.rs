//! The project's own set of real challenge responses (issue 35): `salur liveness record` seals a
//! consented recording with its label, `salur liveness calibrate` prints APCER and BPCER per
//! passive threshold for the tuning and held-out recordings apart, and `salur liveness purge`
//! deletes recordings past their deletion date. The format is `salur_core`'s
//! [`recording`](salur_core::face::liveness::recording); `docs/privacy.md` has the rules.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use salur_core::crypto::DataKey;
use salur_core::face::decode_image;
use salur_core::face::liveness::calibration::{self, Judged, Line};
use salur_core::face::liveness::recording::{self, Header, Label, Split};
use salur_core::Error;
use serde_json::json;

use super::EngineArgs;

/// File name ending of a recording.
const EXT: &str = "slv";
/// Longest a recording may be kept, days.
const MAX_KEEP_DAYS: u32 = 730;

/// What a recording shows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LabelArg {
    /// A real person answering the challenge.
    BonaFide,
    /// A print, screen, card or mask presented to the camera.
    Attack,
}

/// Which side of the tuning line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SplitArg {
    /// May be used to choose thresholds.
    Tune,
    /// Kept out of tuning.
    Holdout,
}

/// `salur liveness <record|calibrate|purge>`.
#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Seal a folder of challenge frames, with the person's consent and a label, into a recording
    /// file for calibration.
    Record {
        /// The frames (JPEG/PNG in name order), as `salur liveness --frames` reads them.
        #[arg(long, value_name = "DIR")]
        frames: PathBuf,
        /// Frame rate (default: the folder's fps.txt, else 10).
        #[arg(long)]
        fps: Option<f32>,
        /// What the recording shows.
        #[arg(long, value_enum)]
        label: LabelArg,
        /// For an attack, its kind (print, screen, card, mask...): APCER is per kind.
        #[arg(long, value_name = "KIND")]
        species: Option<String>,
        /// A pseudonymous id of the person (never a name or NIK); only its hash is kept. One
        /// person's recordings land in one split.
        #[arg(long, value_name = "ID")]
        subject: String,
        /// Override the split drawn from the subject's id.
        #[arg(long, value_enum)]
        split: Option<SplitArg>,
        /// The consent text the person agreed to (kept in the recording, readable without the key).
        #[arg(long, value_name = "FILE")]
        consent: PathBuf,
        /// The recording key (32 random bytes; made, readable by its owner only, when missing).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Days until the recording must be deleted (at most 730).
        #[arg(long, default_value_t = 180)]
        keep_days: u32,
        /// The recording file to write (`.slv`).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// APCER and BPCER (ISO/IEC 30107-3, exact 95 % intervals) per passive threshold over
    /// labelled recordings, the tuning and held-out ones apart.
    Calibrate {
        /// Recording files, or folders of them.
        #[arg(required = true, value_name = "RECORDING")]
        recordings: Vec<PathBuf>,
        /// The recording key.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Thresholds to tabulate (default 0.50 to 0.95 by 0.05).
        #[arg(long, value_delimiter = ',', value_name = "T,T,...")]
        thresholds: Vec<f32>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Delete the recordings in a folder that are past their deletion date (no key needed).
    Purge {
        /// The folder of recordings.
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl DataCommand {
    /// Whether to print JSON.
    pub fn json(&self) -> bool {
        match self {
            Self::Record { json, .. } | Self::Purge { json, .. } => *json,
            Self::Calibrate { engine, .. } => engine.json,
        }
    }
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs a recording command.
pub fn run(command: &DataCommand) -> Result<ExitCode, Error> {
    match command {
        DataCommand::Record { .. } => record(command),
        DataCommand::Calibrate { recordings, key, thresholds, engine } => {
            calibrate(recordings, key, thresholds, engine)
        }
        DataCommand::Purge { dir, json } => purge(dir, *json),
    }
}

/// The recording key at `path`: read, or made when `create` and missing (said on stderr).
fn key(path: &Path, create: bool) -> Result<DataKey, Error> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| Error::InvalidArgument(format!("{} is not a recording key (32 bytes)", path.display())))?;
            Ok(DataKey::new(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let key = DataKey::generate()?;
            let mut file = super::close_period::private_file(path)?;
            std::io::Write::write_all(&mut file, key.as_bytes()).map_err(io(format!("writing {}", path.display())))?;
            eprintln!(
                "made a new recording key {} (owner-only): keep it apart from the recordings; without it they cannot be opened",
                path.display()
            );
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::InvalidArgument(format!(
            "no recording key at {}: give the key the recordings were sealed with",
            path.display()
        ))),
        Err(source) => Err(Error::Io { context: format!("reading {}", path.display()), source }),
    }
}

fn record(command: &DataCommand) -> Result<ExitCode, Error> {
    let DataCommand::Record {
        frames,
        fps,
        label,
        species,
        subject,
        split,
        consent,
        key: key_path,
        keep_days,
        out,
        json,
    } = command
    else {
        return Err(Error::InvalidArgument("not a record command".into()));
    };
    let label = match label {
        LabelArg::BonaFide => Label::BonaFide,
        LabelArg::Attack => Label::Attack,
    };
    let species = species.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if (label == Label::Attack) != species.is_some() {
        return Err(Error::InvalidArgument(
            "--species names an attack's kind (print, screen, card, mask): give it with --label attack, and only then"
                .into(),
        ));
    }
    if *keep_days == 0 || *keep_days > MAX_KEEP_DAYS {
        return Err(Error::InvalidArgument(format!("--keep-days must be between 1 and {MAX_KEEP_DAYS}")));
    }
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().all(|c| c.is_ascii_digit()) && subject.len() == 16 {
        return Err(Error::InvalidArgument(
            "--subject is a pseudonymous id (e.g. pilot-017), never empty and never a NIK".into(),
        ));
    }
    let consent = std::fs::read_to_string(consent).map_err(io(format!("reading {}", consent.display())))?;
    let paths = super::liveness::frame_paths(frames)?;
    if paths.len() > recording::MAX_FRAMES {
        return Err(Error::InvalidArgument(format!(
            "{} frames: a recording holds at most {} (one challenge response)",
            paths.len(),
            recording::MAX_FRAMES
        )));
    }
    // Every frame must decode: a recording nobody can judge is worth nothing.
    let mut bytes = Vec::with_capacity(paths.len());
    for p in &paths {
        let b = std::fs::read(p).map_err(io(format!("reading {}", p.display())))?;
        decode_image(&b).map_err(|e| Error::InvalidArgument(format!("{}: {e}", p.display())))?;
        bytes.push(b);
    }
    let key = key(key_path, true)?;
    let recorded_ms = now_ms();
    let header = Header {
        version: 1,
        label,
        species,
        split: match split {
            Some(SplitArg::Tune) => Split::Tune,
            Some(SplitArg::Holdout) => Split::Holdout,
            None => Split::of_subject(subject),
        },
        subject_sha256: salur_core::crypto::sha256(subject.as_bytes()).iter().map(|b| format!("{b:02x}")).collect(),
        fps: super::liveness::fps_of(frames, *fps),
        frames: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        recorded_ms,
        delete_after_ms: recorded_ms + i64::from(*keep_days) * 86_400_000,
        consent,
        key_id: recording::key_id(&key),
    };
    let sealed = recording::seal(&header, &bytes, &key)?;
    let mut file = super::close_period::private_file(out)?;
    std::io::Write::write_all(&mut file, &sealed).map_err(io(format!("writing {}", out.display())))?;
    let split = if header.split == Split::Holdout { "holdout" } else { "tune" };
    let delete_after = salur_core::dates::indonesian_minute(header.delete_after_ms);
    if *json {
        println!(
            "{}",
            json!({ "out": out, "frames": header.frames, "split": split, "label": header.label,
                    "delete_after_ms": header.delete_after_ms, "bytes": sealed.len() })
        );
    } else {
        println!(
            "sealed {} frames into {} ({} bytes, {split}); delete after {delete_after}",
            header.frames,
            out.display(),
            sealed.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The recording files among `inputs` (folders read for `.slv` files), in name order.
fn recording_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let entries = std::fs::read_dir(input).map_err(io(format!("reading {}", input.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == EXT))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

fn calibrate(inputs: &[PathBuf], key_path: &Path, thresholds: &[f32], engine: &EngineArgs) -> Result<ExitCode, Error> {
    let key = key(key_path, false)?;
    let files = recording_files(inputs)?;
    if files.is_empty() {
        return Err(Error::InvalidArgument("no recordings (.slv) found".into()));
    }
    let thresholds: Vec<f32> =
        if thresholds.is_empty() { (10..=19).map(|i| i as f32 * 0.05).collect() } else { thresholds.to_vec() };
    if let Some(t) = thresholds.iter().find(|t| !(0.0..=1.0).contains(*t)) {
        return Err(Error::InvalidArgument(format!("threshold {t} is not between 0 and 1")));
    }
    let face = engine.engine()?;
    let live = super::liveness::liveness_engine(engine.models.as_deref())?;
    let deployed = live.config().passive_threshold;
    // Judged once with the passive threshold set aside; each threshold then decides on the score.
    let mut config = live.config().clone();
    config.passive_threshold = 0.0;
    config.passive_early_refusal = 0.0;
    let live = live.configured(config);
    let now = now_ms();
    let mut judged = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).map_err(io(format!("reading {}", path.display())))?;
        let (h, frames) = recording::open(&bytes, &key).map_err(|e| match e {
            Error::Crypto(why) => Error::Crypto(format!("{}: {why}", path.display())),
            other => other,
        })?;
        if h.delete_after_ms < now {
            return Err(Error::InvalidArgument(format!(
                "{} is past its deletion date: run `salur liveness purge` on its folder",
                path.display()
            )));
        }
        let images = frames.iter().map(|f| decode_image(f)).collect::<Result<Vec<_>, _>>()?;
        let report = live.analyze_sequence(&face, &images, h.fps)?;
        eprintln!("judged {}/{}: {}", i + 1, files.len(), path.display());
        judged.push(Judged { label: h.label, species: h.species, split: h.split, passive: report.passive_score });
    }
    let tables: Vec<(&str, Vec<Line>)> = [("tune", Split::Tune), ("holdout", Split::Holdout)]
        .into_iter()
        .map(|(name, split)| (name, calibration::table(&judged, split, &thresholds)))
        .collect();
    let count = |split: Split, label: Label| judged.iter().filter(|j| j.split == split && j.label == label).count();
    if engine.json {
        let out: Vec<_> = tables
            .iter()
            .zip([Split::Tune, Split::Holdout])
            .map(|((name, lines), split)| {
                json!({
                    "split": name,
                    "bona_fide": count(split, Label::BonaFide),
                    "attacks": count(split, Label::Attack),
                    "lines": lines.iter().map(|l| json!({
                        "threshold": l.threshold,
                        "apcer": [l.apcer.errors, l.apcer.trials], "apcer_interval": [l.apcer.low, l.apcer.high],
                        "worst_species": l.worst_species,
                        "bpcer": [l.bpcer.errors, l.bpcer.trials], "bpcer_interval": [l.bpcer.low, l.bpcer.high],
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", json!({ "deployed_threshold": deployed, "splits": out }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("the deployed passive threshold is {deployed:.2}; every other rule of the check as deployed");
    for ((name, lines), split) in tables.iter().zip([Split::Tune, Split::Holdout]) {
        println!();
        println!(
            "{name}: {} bona fide, {} attack recordings",
            count(split, Label::BonaFide),
            count(split, Label::Attack)
        );
        println!("{:<9}  {:<40}  BPCER (real people refused)", "threshold", "APCER (worst attack kind accepted)");
        for l in lines {
            let mark = if (l.threshold - deployed).abs() < 1e-6 { " <- deployed" } else { "" };
            let worst = l.worst_species.as_deref().map(|k| format!(" {k}")).unwrap_or_default();
            println!("{:<9.2}  {:<40}  {}{mark}", l.threshold, format!("{}{worst}", l.apcer.show()), l.bpcer.show());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn purge(dir: &Path, json: bool) -> Result<ExitCode, Error> {
    let files = recording_files(&[dir.to_path_buf()])?;
    let now = now_ms();
    let (mut deleted, mut kept) = (Vec::new(), 0usize);
    for path in files {
        let bytes = std::fs::read(&path).map_err(io(format!("reading {}", path.display())))?;
        let h = recording::header(&bytes).map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
        if h.delete_after_ms < now {
            std::fs::remove_file(&path).map_err(io(format!("deleting {}", path.display())))?;
            deleted.push(path);
        } else {
            kept += 1;
        }
    }
    if json {
        println!("{}", json!({ "deleted": deleted, "kept": kept }));
    } else {
        for p in &deleted {
            println!("deleted {}", p.display());
        }
        println!("{} recordings deleted, {kept} kept (not yet due)", deleted.len());
    }
    Ok(ExitCode::SUCCESS)
}
