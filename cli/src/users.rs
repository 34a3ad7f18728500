//! `salur users add|list|disable|passwd|token`: staff accounts, on the server's database. Every
//! change is in the audit log (actor `cli`). Passwords come from stdin (`--password-stdin`) or are
//! made here and printed once; tokens are printed once; neither is stored or logged in clear.

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use salur_core::Error;
use salur_server::domain::audit::{Action, NewEntry};
use salur_server::domain::credentials::{self, digest, hash_password, TOKEN_PREFIX};
use salur_server::domain::roles::Role;
use serde_json::json;

use super::serve::{cli_actor, runtime, server_error, DbArgs};

#[derive(Args, Debug)]
pub struct UsersArgs {
    #[command(subcommand)]
    command: UsersCommand,
    #[command(flatten)]
    db: DbArgs,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
enum UsersCommand {
    /// Add an account (prints a new password once unless --password-stdin).
    Add {
        /// Login name (a-z, 0-9, '.', '_', '-').
        name: String,
        /// administrator, approver, supervisor, finance, auditor or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of stdin instead of making one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts (name, role, state).
    List,
    /// Disable an account: its sessions and tokens end at once.
    Disable {
        /// Login name.
        name: String,
    },
    /// Set a new password (ends the account's browser sessions).
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from the first line of stdin instead of making one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create a bearer token for tools (printed once; keep it like a password).
    Token {
        /// Login name.
        name: String,
    },
}

fn password(from_stdin: bool) -> Result<(String, bool), Error> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|source| Error::Io { context: "reading the password from stdin".into(), source })?;
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        credentials::check_password(&line).map_err(server_error)?;
        Ok((line, false))
    } else {
        // 24 hex digits: 96 random bits, typeable.
        let made = credentials::new_secret("").map_err(server_error)?;
        Ok((made[..24].to_string(), true))
    }
}

fn entry(action: Action, name: &str, detail: Option<String>) -> NewEntry {
    NewEntry { actor: cli_actor(), action, target: Some(name.to_string()), detail }
}

pub fn run(args: &UsersArgs) -> Result<ExitCode, Error> {
    runtime()?.block_on(async {
        // Only the first administrator's account may set a new server up; every other command
        // needs the data folder `salur serve` uses.
        let db = match &args.command {
            UsersCommand::Add { role, .. } if role.parse::<Role>().is_ok_and(|r| r == Role::Administrator) => {
                args.db.open_or_create().await?.0
            }
            _ => args.db.open().await?,
        };
        match &args.command {
            UsersCommand::Add { name, role, password_stdin } => {
                let role: Role = role.parse().map_err(server_error)?;
                credentials::check_user_name(name).map_err(server_error)?;
                let (pw, made) = password(*password_stdin)?;
                let user =
                    db.add_user(name, role, &hash_password(&pw).map_err(server_error)?).await.map_err(server_error)?;
                db.audit(entry(Action::UserAdded, name, Some(format!("role {role}")))).await.map_err(server_error)?;
                if args.json {
                    println!("{}", json!({ "user": user, "password": made.then_some(&pw) }));
                } else if made {
                    println!("{pw}");
                }
                eprintln!(
                    "user {name} added ({role}){}",
                    if made { ": the password above is shown only once" } else { "" }
                );
            }
            UsersCommand::List => {
                let users = db.users().await.map_err(server_error)?;
                if args.json {
                    println!("{}", json!({ "users": users }));
                } else {
                    for u in users {
                        println!("{:<24} {:<14} {}", u.name, u.role, if u.disabled { "disabled" } else { "active" });
                    }
                }
            }
            UsersCommand::Disable { name } => {
                let user = db.disable_user(name).await.map_err(server_error)?;
                db.audit(entry(Action::UserDisabled, name, None)).await.map_err(server_error)?;
                if args.json {
                    println!("{}", json!({ "user": user }));
                }
                eprintln!("user {name} disabled: sessions and tokens ended");
            }
            UsersCommand::Passwd { name, password_stdin } => {
                let (pw, made) = password(*password_stdin)?;
                db.set_password(name, &hash_password(&pw).map_err(server_error)?).await.map_err(server_error)?;
                db.audit(entry(Action::PasswordChanged, name, None)).await.map_err(server_error)?;
                if args.json {
                    println!("{}", json!({ "name": name, "password": made.then_some(&pw) }));
                } else if made {
                    println!("{pw}");
                }
                eprintln!("password of {name} changed; their browser sessions ended");
            }
            UsersCommand::Token { name } => {
                let token = credentials::new_secret(TOKEN_PREFIX).map_err(server_error)?;
                db.add_token(name, &digest(&token)).await.map_err(server_error)?;
                db.audit(entry(Action::TokenCreated, name, None)).await.map_err(server_error)?;
                if args.json {
                    println!("{}", json!({ "name": name, "token": token }));
                } else {
                    println!("{token}");
                }
                eprintln!("token for {name} created: shown only this once (send it as Authorization: Bearer …)");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
