//! `salur`: the command line for the face engine, the phone's receipts, the server and the demo.
//! One module per command group (`users` and `audit` for staff accounts and the audit log); each calls salur-core or salur-server and formats the answer.

mod audit;
mod close_period;
mod closing_pdf;
mod demo;
mod demo_letters;
mod demo_sample;
mod devices;
mod face;
mod import;
mod layout;
mod letters;
mod liveness;
mod liveness_data;
mod purge;
mod receipt_check;
mod receipts;
mod serve;
mod supervisor;
mod typeset;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use salur_core::face::{FaceConfig, FaceEngine};
use salur_core::Error;

/// Salur: provable cash-aid delivery at the doorstep.
#[derive(Parser, Debug)]
#[command(name = "salur", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// A postal worker's day end to end: API, dashboard, roster, doorsteps, offline, sync, audit.
    Demo(demo::DemoArgs),
    /// Find faces in a photo and report boxes, landmarks and quality.
    Detect(face::DetectArgs),
    /// Decide whether two photos show the same person (exit 0 accept, 1 reject or retry, 2 error).
    Verify(face::VerifyArgs),
    /// Live-person check: the passive check of a photo, or a folder of frames as one camera sequence
    /// (exit 0 live, 1 not live, 2 error).
    Liveness(liveness::LivenessArgs),
    /// Score labelled photo pairs and report ROC AUC, EER and TAR at fixed FAR.
    Eval(face::EvalArgs),
    /// Inspect and verify the receipts in a phone's store (read-only).
    Receipts(receipts::ReceiptsArgs),
    /// Check a receipt code on the server, as the recipient can (`receipt check CODE --server URL`).
    Receipt(receipt_check::ReceiptArgs),
    /// Run the disbursement API (embedded SQLite).
    // Boxed: its many flags would make every other command's value as large.
    Serve(Box<serve::ServeArgs>),
    /// Import a roster CSV (and reference photos) into the server's database.
    ImportRoster(import::ImportArgs),
    /// Supervisors who approve overrides: add one (prints their secret once), or answer a challenge.
    Supervisor(supervisor::SupervisorArgs),
    /// Staff accounts: add, list, disable, passwd, token (prints new secrets once).
    Users(users::UsersArgs),
    /// Devices: issue a worker's one-time enrolment code (printed once, with a QR code).
    Devices(devices::DevicesArgs),
    /// Delete personal data past its retention (evidence crops; a closed roster's NIKs, names,
    /// addresses, templates); receipts and amounts stay.
    Purge(purge::PurgeArgs),
    /// The audit log: verify its hash chain (exit 1 naming the first bad entry).
    Audit(audit::AuditArgs),
    /// Print a roster's invitation letters (A4 PDF, one page per recipient, signed QR code).
    Letters(letters::LettersArgs),
    /// Close a period: its realisation report and retur list (CSV and PDF); later receipts are marked late.
    ClosePeriod(close_period::ClosePeriodArgs),
    /// Invitation letters: verify a letter's QR text (exit 0 valid, 1 invalid, 2 error), or
    /// export the programme's public key.
    Letter(letters::LetterArgs),
}

/// Options shared by the face commands.
#[derive(Args, Debug, Clone)]
pub struct EngineArgs {
    /// Folder with the ONNX models (default: the copies built into this binary).
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// Detector input size in pixels (multiple of 32; 320 is faster, 640 finds smaller faces).
    #[arg(long, default_value_t = FaceConfig::default().detector_size)]
    detector_size: u32,
    /// Cosine threshold for a match.
    #[arg(long, default_value_t = FaceConfig::default().match_threshold)]
    threshold: f32,
    /// Threads for one inference (1 to 8; 1 runs on the calling thread).
    #[arg(long, default_value_t = FaceConfig::default().threads)]
    threads: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl EngineArgs {
    fn engine(&self) -> Result<FaceEngine, Error> {
        let config = FaceConfig {
            detector_size: self.detector_size,
            match_threshold: self.threshold,
            threads: self.threads,
            ..FaceConfig::default()
        };
        match &self.models {
            Some(dir) => FaceEngine::from_dir(dir, config),
            None => FaceEngine::bundled(config),
        }
    }
}

fn main() -> ExitCode {
    run(Cli::parse())
}

/// Runs the parsed command; exit code 2 and a readable (or JSON) error on failure.
fn run(cli: Cli) -> ExitCode {
    let (json, result) = match cli.command {
        Command::Demo(a) => (a.json, demo::run(&a)),
        Command::Detect(a) => (a.engine.json, face::detect(&a)),
        Command::Verify(a) => (a.engine.json, face::verify(&a)),
        Command::Eval(a) => (a.engine.json, face::eval(&a)),
        Command::Liveness(a) => (a.json(), liveness::run(&a)),
        Command::Receipts(a) => (a.json, receipts::run(&a)),
        Command::Receipt(a) => (a.json, receipt_check::run(&a)),
        Command::Serve(a) => (false, serve::run(&a)),
        Command::ImportRoster(a) => (a.json, import::run(&a)),
        Command::Supervisor(a) => (a.json(), supervisor::run(&a)),
        Command::Users(a) => (a.json, users::run(&a)),
        Command::Purge(a) => (a.json, purge::run(&a)),
        Command::Devices(a) => (a.json, devices::run(&a)),
        Command::Audit(a) => (a.json, audit::run(&a)),
        Command::Letters(a) => (a.json, letters::print(&a)),
        Command::ClosePeriod(a) => (a.json, close_period::run(&a)),
        Command::Letter(a) => (a.json, letters::run(&a)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            report_error(&e, json);
            ExitCode::from(2)
        }
    }
}

fn report_error(e: &Error, json: bool) {
    if json {
        let body = serde_json::json!({ "error": e.kind().as_str(), "message": e.to_string(), "hint": e.hint() });
        println!("{body}");
    } else {
        eprintln!("error: {e}");
        if let Some(hint) = e.hint() {
            eprintln!("hint: {hint}");
        }
    }
}
