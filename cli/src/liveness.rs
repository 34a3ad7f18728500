//! `salur liveness PHOTO` (the passive check of one photo) and `salur liveness --frames DIR`
//! (a folder of frames judged as one camera sequence: would a challenge of one turn each way pass,
//! or with `--challenge left,right,left` that challenge).
//! Exit 0 live, 1 not live, 2 error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use salur_core::face::liveness::{Challenge, LivenessConfig, LivenessEngine, Movement};
use salur_core::face::{read_image, FaceEngine};
use salur_core::Error;
use serde_json::json;

use super::EngineArgs;

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["photo", "frames"])))]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct LivenessArgs {
    /// Field recordings: record one, calibrate thresholds on many, purge the expired.
    #[command(subcommand)]
    data: Option<super::liveness_data::DataCommand>,
    /// One JPEG or PNG photo: the passive check of its one face.
    photo: Option<PathBuf>,
    /// A folder of frames (JPEG/PNG, in file-name order) treated as one camera sequence.
    #[arg(long, value_name = "DIR")]
    frames: Option<PathBuf>,
    /// Frame rate of the sequence (default: the folder's fps.txt, else 10).
    #[arg(long)]
    fps: Option<f32>,
    /// Judge the frames against this challenge, e.g. `left,right,left` (the movements in order;
    /// default: one turn each way in either order, how recorded footage is measured).
    #[arg(long, value_name = "MOVES", requires = "frames")]
    challenge: Option<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

impl LivenessArgs {
    /// Whether to print JSON.
    pub fn json(&self) -> bool {
        self.data.as_ref().map_or(self.engine.json, super::liveness_data::DataCommand::json)
    }
}

pub(crate) fn liveness_engine(models: Option<&Path>) -> Result<LivenessEngine, Error> {
    match models {
        Some(dir) => LivenessEngine::from_dir(dir, LivenessConfig::default()),
        None => LivenessEngine::bundled(),
    }
}

fn exit(live: bool) -> ExitCode {
    ExitCode::from(if live { 0 } else { 1 })
}

pub fn run(args: &LivenessArgs) -> Result<ExitCode, Error> {
    if let Some(data) = &args.data {
        return super::liveness_data::run(data);
    }
    let face = args.engine.engine()?;
    let live = liveness_engine(args.engine.models.as_deref())?;
    match (&args.photo, &args.frames) {
        (Some(photo), _) => passive(args, &face, &live, photo),
        (None, Some(dir)) => sequence(args, &face, &live, dir),
        (None, None) => Err(Error::InvalidArgument("give a PHOTO or --frames DIR".into())),
    }
}

fn passive(args: &LivenessArgs, face: &FaceEngine, live: &LivenessEngine, photo: &Path) -> Result<ExitCode, Error> {
    let img = read_image(photo)?;
    let faces = face.detect(&img)?;
    let one = match faces.as_slice() {
        [] => return Err(Error::NoFace),
        [one] => one,
        _ => return Err(Error::MultipleFaces { faces: faces.iter().map(|d| d.bbox).collect() }),
    };
    let r = live.passive(&img, one)?;
    let reason = if r.live() { "" } else { r.verdict.as_str() };
    if args.engine.json {
        println!("{}", json!({ "live": r.live(), "score": r.score, "reason": reason }));
    } else if r.live() {
        println!("live (score {:.3}, threshold {:.3})", r.score, r.threshold);
        // The models judge what a camera saw: a file of a real person's photo reads as live.
        eprintln!("note: only camera frames at the door prove a live person; a photo file does not");
    } else {
        println!("NOT live: {reason} (score {:.3}, threshold {:.3})", r.score, r.threshold);
    }
    Ok(exit(r.live()))
}

fn sequence(args: &LivenessArgs, face: &FaceEngine, live: &LivenessEngine, dir: &Path) -> Result<ExitCode, Error> {
    let paths = frame_paths(dir)?;
    let fps = fps_of(dir, args.fps);
    let frames = paths.iter().map(|p| read_image(p)).collect::<Result<Vec<_>, _>>()?;
    let report = match &args.challenge {
        Some(moves) => live.analyze_against(face, &frames, fps, parse_challenge(moves)?)?,
        None => live.analyze_sequence(face, &frames, fps)?,
    };
    let turns: Vec<&str> = report
        .turns
        .iter()
        .filter(|t| t.continuous())
        .map(|t| match t.movement {
            Movement::TurnLeft => "left",
            Movement::TurnRight => "right",
        })
        .collect();
    let reason = report.reason_str().unwrap_or("");
    if args.engine.json {
        println!("{}", json!({ "live": report.live, "turns": turns, "frames": report.frames, "reason": reason }));
    } else if report.live {
        println!("live: turns {} over {} frames", turns.join(", "), report.frames);
    } else {
        println!("NOT live: {reason} (turns seen: {:?}, {} frames)", turns, report.frames);
        if matches!(reason, "timed_out" | "too_many_frames") {
            let c = live.config();
            eprintln!(
                "hint: a challenge must finish within {} ms and {} frames of its first frame: trim the folder to one try",
                c.max_duration_ms, c.max_frames
            );
        }
    }
    Ok(exit(report.live))
}

/// The JPEG and PNG files of a folder of frames, in name order.
pub(crate) fn frame_paths(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |e: std::io::Error| Error::Io { context: format!("reading {}", dir.display()), source: e };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                let x = x.to_ascii_lowercase();
                x == "jpg" || x == "jpeg" || x == "png"
            })
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Error::InvalidArgument(format!("no JPEG or PNG frames in {}", dir.display())));
    }
    Ok(paths)
}

/// The frame rate given, else the folder's `fps.txt`, else 10.
pub(crate) fn fps_of(dir: &Path, given: Option<f32>) -> f32 {
    given.unwrap_or_else(|| {
        std::fs::read_to_string(dir.join("fps.txt")).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(10.0)
    })
}

/// `left,right,left` as the movements of an untimed challenge.
fn parse_challenge(moves: &str) -> Result<Challenge, Error> {
    let moves = moves
        .split(',')
        .map(|m| match m.trim().to_ascii_lowercase().as_str() {
            "left" | "kiri" => Ok(Movement::TurnLeft),
            "right" | "kanan" => Ok(Movement::TurnRight),
            other => Err(Error::InvalidArgument(format!("--challenge: {other:?} is not left or right"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Challenge::untimed(&moves)
}
