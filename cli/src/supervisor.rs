//! `salur supervisor add|code`: supervisors who approve overrides. `add` (the administrator, on
//! the server's database) makes the supervisor's secret and prints it once; `code` (the
//! supervisor's own tool, no server needed) answers a phone's 8-digit challenge with the approval
//! code the worker enters.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use salur_core::approval;
use salur_core::Error;

#[derive(Args, Debug)]
pub struct SupervisorArgs {
    #[command(subcommand)]
    command: SupervisorCommand,
}

impl SupervisorArgs {
    /// Whether the command prints JSON (errors too).
    pub fn json(&self) -> bool {
        match &self.command {
            SupervisorCommand::Add(a) => a.json,
            SupervisorCommand::Code(a) => a.json,
        }
    }
}

#[derive(Subcommand, Debug)]
enum SupervisorCommand {
    /// Add a supervisor and print their new secret (hex) once on stdout: hand it to them only.
    Add(AddArgs),
    /// Answer a phone's override challenge with the 8-digit approval code (needs no server).
    Code(CodeArgs),
}

#[derive(Args, Debug)]
struct AddArgs {
    /// The supervisor's worker id.
    supervisor_id: String,
    /// Their post office.
    #[arg(long)]
    post_office: String,
    /// The server's data folder (it must exist).
    #[arg(long, env = "SALUR_DATA_DIR", default_value = "salur-data", value_name = "DIR")]
    data_dir: PathBuf,
    /// PostgreSQL URL instead of the embedded SQLite in --data-dir.
    #[arg(long, env = "SALUR_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Print {"supervisor_id", "secret"} as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct CodeArgs {
    /// The supervisor's secret as `supervisor add` printed it (64 hex digits).
    #[arg(long, env = "SALUR_SUPERVISOR_SECRET", hide_env_values = true)]
    secret: String,
    /// The 8-digit challenge the worker reads out.
    #[arg(long)]
    challenge: String,
    /// Print {"code"} as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &SupervisorArgs) -> Result<ExitCode, Error> {
    match &args.command {
        SupervisorCommand::Add(a) => add(a),
        SupervisorCommand::Code(a) => code(a),
    }
}

fn add(args: &AddArgs) -> Result<ExitCode, Error> {
    let secret = approval::new_secret()?;
    let runtime =
        tokio::runtime::Runtime::new().map_err(|source| Error::Io { context: "starting tokio".into(), source })?;
    let storage = super::serve::storage(&args.data_dir, args.database_url.as_deref());
    runtime.block_on(async {
        let db = storage.open_existing().await.map_err(super::serve::server_error)?;
        db.add_supervisor(&args.supervisor_id, &args.post_office, &secret).await.map_err(|e| match e {
            salur_server::ApiError::Conflict(m) | salur_server::ApiError::BadRequest(m) => Error::InvalidArgument(m),
            other => Error::Storage(other.to_string()),
        })?;
        let entry = salur_server::domain::audit::NewEntry {
            actor: super::serve::cli_actor(),
            action: salur_server::domain::audit::Action::SupervisorAdded,
            target: Some(args.supervisor_id.clone()),
            detail: Some(format!("post office {}", args.post_office)),
        };
        db.audit(entry).await.map_err(|e| Error::Storage(e.to_string()))
    })?;
    let secret = hex::encode(secret);
    if args.json {
        println!("{}", serde_json::json!({ "supervisor_id": args.supervisor_id, "secret": secret }));
    } else {
        println!("{secret}");
    }
    eprintln!(
        "supervisor {} added ({}): the secret above is shown only this once; give it to the supervisor for `salur \
         supervisor code`",
        args.supervisor_id, args.post_office
    );
    Ok(ExitCode::SUCCESS)
}

fn code(args: &CodeArgs) -> Result<ExitCode, Error> {
    let secret = hex::decode(args.secret.trim()).ok().filter(|s| s.len() == approval::SECRET_LEN).ok_or_else(|| {
        Error::InvalidArgument("the secret is 64 hex digits, as `salur supervisor add` printed".into())
    })?;
    let challenge = args.challenge.trim();
    if !approval::is_code(challenge) {
        return Err(Error::InvalidArgument("the challenge is the 8 digits the phone shows".into()));
    }
    let code = approval::response(&secret, challenge);
    if args.json {
        println!("{}", serde_json::json!({ "code": code }));
    } else {
        println!("{code}");
    }
    Ok(ExitCode::SUCCESS)
}
