//! `salur demo`: a postal worker's day end to end on this machine, with no phone and no set-up.
//! The real API and dashboard on loopback, a sample roster with real reference photos, a phone
//! (its own store and software key) that walks a route offline, then reconnects and syncs, and
//! the server's verification of every chain.

use salur_server::domain::verdict::Verdict;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use salur_core::approval;
use salur_core::doorstep::{self, Against, FaceCheck, LiveVisit, VisitFailure, VisitState};
use salur_core::face::liveness::{Challenge, FailReason, LivenessEngine, Movement};
use salur_core::face::{decode_image, FaceConfig, FaceEngine, RgbImage, Template};
use salur_core::keys::{KeyFile, SoftwareSigner};
use salur_core::receipt::{Evidence, IneligibleReason, Method, Outcome, OverrideCode, Times};
use salur_core::store::{Recipient, Store};
use salur_core::sync::{now_ms, Backoff, SyncClient, SyncConfig};
use salur_core::Error;
use salur_server::domain::audit::{Action, Actor, NewEntry};
use salur_server::domain::credentials;
use salur_server::domain::devices::DeviceStatus;
use salur_server::domain::roles::Role;
use salur_server::{AppState, Db};
use serde::Serialize;

use super::demo_letters;
use super::demo_sample::{Visit, LIVE_FPS, POST_OFFICE, PROXY, ROSTER, ROUTE, WORKER};

/// The demo phone's device id.
const DEVICE: &str = "demo-phone-01";
/// The supervisor who approves the demo's overrides.
/// The demo's administrator (made, or given a new password, on every run).
const DEMO_ADMIN: &str = "demo-admin";
const SUPERVISOR: &str = "pos-supervisor-01";

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo's server database and phone store (default: a new folder under the temp dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address for the API and dashboard.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Leave the API and dashboard running after the summary (Ctrl-C stops them).
    #[arg(long)]
    keep_running: bool,
    /// Print only the summary, as one JSON object on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// The day in numbers (the keys are read by other tools: keep them stable).
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Invitation letters scanned at the door that opened their recipient.
    pub letters_scanned: u64,
    /// Letters refused at the door (forged or altered).
    pub letters_refused: u64,
    /// The period was closed at the end of the day, its report and retur list written.
    pub period_closed: bool,
    /// Recipients on the retur list.
    pub retur: u64,
    /// A recipient checked her receipt code on the server's public check, and it said paid.
    pub receipt_checked: bool,
    /// Recipients paid (supervisor overrides included).
    pub paid: u64,
    /// Face checks that did not accept (impostor, no face, two faces, too dark).
    pub rejected: u64,
    /// Live checks that failed (a photo held up to the camera).
    pub live_refused: u64,
    /// Payments by face with a passed live check.
    pub paid_live: u64,
    /// Recipients found ineligible.
    pub ineligible: u64,
    /// Recipients not at home.
    pub not_home: u64,
    /// Payments to a member of the recipient's KK with a surat kuasa.
    pub paid_proxy: u64,
    /// Payments on a supervisor's override.
    pub overrides: u64,
    /// Overrides whose supervisor approval the server could not verify.
    pub overrides_unverified: u64,
    /// Face payments the server verified itself (its own score of the evidence crop against
    /// the registry template it holds).
    pub server_verified: u64,
    /// Face payments it could not verify, by verdict (`mismatch`, `no_evidence`, `no_reference`,
    /// `pending`) with their counts; zeros left out.
    pub server_not_verified: Vec<(String, u64)>,
    /// Pairs of payments the national 1:N check found to be one face under two recipients.
    pub face_duplicates: u64,
    /// Receipts still waiting on the phone at the end.
    pub pending: u64,
    /// Receipts pending while the phone was offline.
    pub pending_offline: u64,
    /// Receipts the server acknowledged.
    pub synced: u64,
    /// Receipts in the server's database.
    pub server_receipts: u64,
    /// Every device chain on the server verifies.
    pub chains_valid: bool,
    /// Median time of one face check (capture, embed, compare), ms.
    pub verify_ms_median: f64,
    /// Paid on the dashboard before and after the sync.
    pub dashboard_paid_before: u64,
    /// Paid on the dashboard after the sync.
    pub dashboard_paid_after: u64,
    /// The dashboard.
    pub dashboard_url: String,
    /// The demo's own administrator, to log in to the dashboard with.
    pub dashboard_user: String,
    /// Their password (made for this run).
    pub dashboard_password: String,
    /// Where the data lives.
    pub data_dir: String,
    /// Wall time of the whole demo, seconds.
    pub seconds: f64,
}

fn say(step: &str) {
    eprintln!("{step}");
}

fn storage(e: impl Into<salur_server::ApiError>) -> Error {
    let e: salur_server::ApiError = e.into();
    Error::Storage(e.to_string())
}

pub fn run(args: &DemoArgs) -> Result<ExitCode, Error> {
    // Quiet unless asked: the day's own lines are the demo's output. tract's notice that the
    // models' opset is newer than it is tested against says nothing to a demo's reader.
    crate::serve::init_logs("warn,tract_onnx=error");
    let runtime =
        tokio::runtime::Runtime::new().map_err(|source| Error::Io { context: "starting tokio".into(), source })?;
    let summary = runtime.block_on(day(args))?;
    if args.json {
        println!("{}", serde_json::to_string(&summary).expect("serializable"));
    } else {
        print_table(&summary);
    }
    if args.keep_running {
        eprintln!("dashboard still at {} (Ctrl-C to stop)", summary.dashboard_url);
        runtime.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
    }
    let healthy = summary.chains_valid
        && summary.receipt_checked
        && summary.period_closed
        && summary.pending == 0
        && summary.synced == summary.server_receipts
        && summary.overrides_unverified == 0;
    Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_table(s: &Summary) {
    println!();
    println!("  Salur demo: one postal worker's day");
    println!("  ----------------------------------------------");
    println!("  letters scanned           {:>6}  (forged letters refused: {})", s.letters_scanned, s.letters_refused);
    println!("  paid                      {:>6}  (of which supervisor overrides: {})", s.paid, s.overrides);
    println!("  overrides not verified    {:>6}", s.overrides_unverified);
    println!("  paid by face + live check {:>6}", s.paid_live);
    println!("  of which by a KK member   {:>6}  (with a surat kuasa)", s.paid_proxy);
    let not_verified: Vec<String> = s.server_not_verified.iter().map(|(v, n)| format!("{v}: {n}")).collect();
    println!(
        "  verified by the server    {:>6}  (its own face match on the evidence{})",
        s.server_verified,
        if not_verified.is_empty() { String::new() } else { format!("; not: {}", not_verified.join(", ")) }
    );
    println!("  face checks rejected      {:>6}", s.rejected);
    println!("  live checks refused       {:>6}", s.live_refused);
    println!("  ineligible                {:>6}", s.ineligible);
    println!("  not home                  {:>6}", s.not_home);
    println!("  pending while offline     {:>6}", s.pending_offline);
    println!("  synced                    {:>6}", s.synced);
    println!("  pending now               {:>6}", s.pending);
    println!("  receipts on the server    {:>6}", s.server_receipts);
    println!("  device chains valid       {:>6}", if s.chains_valid { "yes" } else { "NO" });
    println!("  receipt code checked      {:>6}", if s.receipt_checked { "paid" } else { "NO" });
    println!("  period closed, retur      {:>6}", if s.period_closed { s.retur.to_string() } else { "NO".into() });
    println!("  face check, median        {:>6.0} ms", s.verify_ms_median);
    println!("  dashboard paid            {:>6} -> {}", s.dashboard_paid_before, s.dashboard_paid_after);
    println!(
        "  one face, two recipients  {:>6}  (the 1:N check: the demo's two live payments reuse its one recorded clip)",
        s.face_duplicates
    );
    println!("  ----------------------------------------------");
    println!("  dashboard: {} (log in as {} / {})", s.dashboard_url, s.dashboard_user, s.dashboard_password);
    println!("  data:      {} (the server's: --data-dir {}/server)", s.data_dir, s.data_dir);
    println!("  took {:.1} s", s.seconds);
}

async fn day(args: &DemoArgs) -> Result<Summary, Error> {
    let started = Instant::now();
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("salur-demo-{}", now_ms())),
    };
    let io = |context: String| move |source| Error::Io { context, source };
    std::fs::create_dir_all(dir.join("phone")).map_err(io(format!("creating {}", dir.display())))?;
    let mut summary = Summary { data_dir: dir.display().to_string(), ..Summary::default() };

    say("[1/6] loading the face and live-check models");
    let engine = FaceEngine::bundled(FaceConfig::default())?;
    let live = LivenessEngine::bundled()?;

    say("[2/6] starting the disbursement API and importing the roster with reference photos");
    let db = Db::open(&dir.join("server")).await.map_err(storage)?;
    // The supervisor who approves the day's overrides: their secret stays on their side (here:
    // this process); the phone only ever sees the codes they give.
    let supervisor_secret = salur_core::approval::new_secret()?;
    db.add_supervisor(SUPERVISOR, POST_OFFICE, &supervisor_secret).await.map_err(storage)?;
    for sample in ROUTE {
        let (template, _) = engine.reference_template(&decode_image(sample.reference)?)?;
        db.put_recipient(&sample.row(), Some(&template.encode())).await.map_err(storage)?;
    }
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.map_err(io(format!("listening on {}", args.listen)))?;
    let addr = listener.local_addr().map_err(io("reading the listen address".into()))?;
    let url = format!("http://{addr}");
    summary.dashboard_url = format!("{url}/");
    // No bootstrap token: the demo's own administrator logs in to the dashboard.
    let password = credentials::new_secret("").map_err(storage)?[..24].to_string();
    let hash = credentials::hash_password(&password).map_err(storage)?;
    match db.add_user(DEMO_ADMIN, Role::Administrator, &hash).await {
        Err(salur_server::ApiError::Conflict(_)) => db.set_password(DEMO_ADMIN, &hash).await.map_err(storage)?,
        other => drop(other.map_err(storage)?),
    }
    (summary.dashboard_user, summary.dashboard_password) = (DEMO_ADMIN.to_string(), password);
    // The demo's phone has a software key: the server lets it register unattested (pending, flagged).
    let state = AppState::new(db.clone(), "").allow_unattested_devices(true);
    tokio::spawn(salur_server::serve(listener, state, std::future::pending()));
    say(&format!(
        "      dashboard: {} (log in as {} / {})",
        summary.dashboard_url, summary.dashboard_user, summary.dashboard_password
    ));

    say("[3/6] registering the phone (software key) and downloading the worker's roster");
    let keys = KeyFile(dir.join("phone/data.key"));
    let signer = SoftwareSigner::open_or_create(&dir.join("phone/device.key"), &keys)?;
    let store = Store::open(&dir.join("phone/phone.db"), &keys)?;
    let online = SyncClient::new(&client_config(&url))?;
    // The administrator issues the worker's one-time enrolment code (as `salur devices enrol` does).
    let admin = Actor { name: DEMO_ADMIN.into(), peer: "local".into() };
    let (code, _) = db.issue_enrolment(&admin, WORKER, POST_OFFICE, Some(60), false).await.map_err(storage)?;
    online.enrolment_challenge(&code).await?;
    online.register(&store, &signer, DEVICE, WORKER, POST_OFFICE, &code).await?;
    let device = db.decide_device(&admin, DEVICE, DeviceStatus::Approved).await.map_err(storage)?;
    let approved = NewEntry {
        actor: Actor { name: DEMO_ADMIN.into(), peer: "local".into() },
        action: Action::DeviceApproved,
        target: Some(DEVICE.into()),
        detail: Some(format!("worker {}", device.worker_id)),
    };
    db.audit(approved).await.map_err(storage)?;
    let change = online.refresh_roster(&store, &signer, ROSTER).await?;
    say(&format!("      {} recipients on the phone, with the programme's public key", change.added + change.updated));
    // The post office prints the period's invitation letters (as `salur letters` does).
    let printed = db.letters(ROSTER).await.map_err(storage)?;
    let pdf = dir.join("letters.pdf");
    // The demo's own check page and a made-up complaint number; the demo post office's name and
    // address as an operator's names file would give them.
    let mut names = salur_server::read::names::AreaNames::bundled();
    names
        .add_csv(&format!(
            "post_office,{POST_OFFICE},KC Jakarta Selatan\n\
             post_office_address,{POST_OFFICE},Jl. Ampera Raya No. 1, Jakarta Selatan"
        ))
        .map_err(Error::InvalidArgument)?;
    let settings = super::letters::LetterSettings {
        schedule: super::letters::DEFAULT_SCHEDULE,
        check_url: &format!("http://{addr}/cek"),
        complaint_phone: "0800-1-500-500 (demo)",
        names: &names,
    };
    std::fs::write(&pdf, super::letters::render(&printed, &settings)?)
        .map_err(io(format!("writing {}", pdf.display())))?;
    say(&format!("      {} invitation letters printed to {}", printed.len(), pdf.display()));
    summary.dashboard_paid_before = db.dashboard(Some(ROSTER)).await.map_err(storage)?.total.paid;

    say("[4/6] walking the route with no signal");
    let recipients = store.recipients(ROSTER)?;
    let route_start = Instant::now();
    let mut timings = Vec::new();
    // The first receipt code handed out: its recipient checks it once the phone has synced.
    let mut receipt_code: Option<String> = None;
    for (i, sample) in ROUTE.iter().enumerate() {
        say(&format!("      {} ({})", sample.name, sample.address));
        // Whoever opens the door shows the invitation letter; the phone opens the recipient from it.
        let opened;
        let recipient = if matches!(sample.visit, Visit::NotHome | Visit::Deceased) {
            recipients
                .iter()
                .find(|r| r.nik == sample.nik)
                .ok_or_else(|| Error::NotFound(format!("{} is not on the phone's roster", sample.name)))?
        } else {
            let letter = printed
                .iter()
                .find(|l| l.name == sample.name)
                .ok_or_else(|| Error::NotFound(format!("no letter printed for {}", sample.name)))?;
            if i == 0 {
                // Before the genuine letter: a copy with a higher amount, printed by a forger.
                let copy = demo_letters::forged(letter, letter.letter.amount + 300_000)?;
                let refused = demo_letters::scan_at_door(&store, ROSTER, &demo_letters::photographed(&copy)?)?;
                let why = refused.err().ok_or_else(|| Error::InvalidLetter("a forged letter opened".into()))?;
                summary.letters_refused += 1;
                say(&format!(
                    "        a copy of the letter saying {}: refused ({why})",
                    rupiah(letter.letter.amount + 300_000)
                ));
            }
            let frame = demo_letters::photographed(&letter.token)?;
            opened = demo_letters::scan_at_door(&store, ROSTER, &frame)?
                .map_err(|why| Error::InvalidLetter(format!("{}'s genuine letter was refused: {why}", sample.name)))?;
            summary.letters_scanned += 1;
            say(&format!("        letter {} scanned: genuine, {} due", letter.letter.letter_id, rupiah(opened.amount)));
            &opened
        };
        let reference = recipient
            .template
            .as_deref()
            .map(Template::decode)
            .transpose()?
            .ok_or_else(|| Error::NotFound(format!("{} has no reference template", sample.name)))?;
        let doorstep = Doorstep { engine: &engine, live: &live, store: &store, signer: &signer, recipient, reference };
        // The supervisor's answer to the phone's challenge for an override of this recipient.
        let approve = |code: OverrideCode| {
            let challenge = approval::challenge(DEVICE, ROSTER, &recipient.recipient, code);
            let answer = approval::response(&supervisor_secret, &challenge);
            say(&format!("        the worker reads challenge {challenge}; the supervisor answers {answer}"));
            answer
        };
        let time = Times { wall_ms: now_ms(), mono_ms: route_start.elapsed().as_millis() as u64, offset_ms: 0 };
        match sample.visit {
            Visit::Live(frames) => {
                let (state, challenge) = doorstep.live_visit(frames, LIVE_FPS)?;
                say(&format!("        challenge: {challenge}"));
                match state {
                    VisitState::Checked(check) if check.accepted() => {
                        let check = *check;
                        let standing = store.standing(ROSTER, &recipient.recipient)?;
                        doorstep::may_pay(&check, recipient, standing)?;
                        let score = check.verification.score;
                        let signed = store.record(&signer, doorstep::paid_draft(recipient, check, time))?;
                        summary.paid += 1;
                        summary.paid_live += 1;
                        say(&format!(
                            "        live person, face matches (score {score:.2}): paid {}",
                            rupiah(recipient.amount)
                        ));
                        let code = salur_core::receipt::code(&signed.bytes);
                        let slip = salur_core::slip::escpos(&salur_core::slip::Slip {
                            code: code.clone(),
                            amount: signed.receipt.amount,
                            paid_at: salur_core::dates::wib_minute(signed.receipt.time.wall_ms),
                            post_office: POST_OFFICE.into(),
                            roster: ROSTER.into(),
                            check_url: format!("{url}/cek"),
                        });
                        let qr = salur_core::receipt::qr_text(&signed.bytes)?;
                        let (side, _) = salur_core::receipt::qr_modules(&qr)?;
                        say(&format!(
                            "        receipt code {code} read out to her ({} bytes of ESC/POS for the slip printer); \
                             the signed receipt on screen as a {side}x{side} QR code",
                            slip.len()
                        ));
                        receipt_code.get_or_insert(code);
                    }
                    VisitState::Checked(other) => {
                        summary.rejected += 1;
                        say(&format!(
                            "        live, but not the recipient (score {:.2}): not paid",
                            other.verification.score
                        ));
                    }
                    other => {
                        summary.live_refused += 1;
                        say(&format!("        not paid: {}", visit_refusal(&other)));
                    }
                }
            }
            Visit::PhotoHeldUpThenProxy { photo, card, frames } => {
                let held = photo_moved_in_hand(&decode_image(photo)?);
                let against =
                    Against::Reference { template: doorstep.reference.clone(), method: Method::RegistryTemplate };
                let (state, _) = doorstep.live_images(against, &held, 2.5)?;
                summary.live_refused += 1;
                say(&format!(
                    "        someone holds up the recipient's photo: {}; nothing paid",
                    visit_refusal(&state)
                ));
                say("        he is bedridden: his daughter shows her e-KTP and the surat kuasa he signed");
                let member = match doorstep::find_member(&store, ROSTER, &recipient.recipient, PROXY.0)? {
                    doorstep::ProxyLookup::Member(m) => m,
                    other => return Err(Error::NotFound(format!("{} is not in Budi's KK: {other:?}", PROXY.1))),
                };
                say(&format!("        her NIK is in his KK as {}: the names match her card", member.name));
                let kuasa_jpeg = doorstep::kuasa_photo(&demo_letters::kuasa_photo()?)?;
                let card_jpeg = doorstep::card_photo(card)?;
                let card = doorstep::CardFace::of(&engine, &decode_image(&card_jpeg)?)?;
                let against = Against::Proxy { card, card_jpeg, member: member.member, kuasa_jpeg };
                let images = frames.iter().map(|f| decode_image(f)).collect::<Result<Vec<_>, _>>()?;
                match doorstep.live_images(against, &images, LIVE_FPS)? {
                    (VisitState::Checked(check), _) if check.accepted() => {
                        doorstep::may_pay(&check, recipient, store.standing(ROSTER, &recipient.recipient)?)?;
                        let score = check.verification.score;
                        store.record(&signer, doorstep::paid_draft(recipient, *check, time))?;
                        summary.paid += 1;
                        summary.paid_live += 1;
                        summary.paid_proxy += 1;
                        say(&format!(
                            "        she is live and matches her own e-KTP (score {score:.2}): paid {} to her, by proxy",
                            rupiah(recipient.amount)
                        ));
                    }
                    (other, _) => {
                        summary.live_refused += 1;
                        say(&format!("        not paid to her: {}", visit_refusal(&other)));
                    }
                }
            }
            Visit::CannotDoLiveCheck(photos) => {
                let mut last = None;
                for photo in photos {
                    match doorstep.check(&decode_image(photo)?, &mut timings) {
                        Ok(check) if check.matched() => {
                            say(&format!(
                                "        face matches (score {:.2}) but the recipient cannot turn her head",
                                check.verification.score
                            ));
                            last = Some(check);
                            break;
                        }
                        outcome => {
                            summary.rejected += 1;
                            say(&format!("        camera: {}", refusal(&outcome)));
                        }
                    }
                }
                let reason = "very old recipient with a stiff neck cannot do the head turns";
                let code = OverrideCode::CannotDoLiveCheck;
                let answer = approve(code);
                let evidence = doorstep::override_evidence(SUPERVISOR, reason, code, Some(&answer), last.as_ref());
                doorstep.record(Outcome::Paid, Some(evidence), None, time)?;
                summary.paid += 1;
                summary.overrides += 1;
                say("        supervisor override, reason: cannot do the live check (flagged for audit): paid");
            }
            Visit::Impostor(photo) => {
                let outcome = doorstep.check(&decode_image(photo)?, &mut timings);
                summary.rejected += 1;
                say(&format!("        someone else presents themself: {}; nothing paid", refusal(&outcome)));
            }
            Visit::Deceased => {
                let outcome = Outcome::Ineligible { reason: IneligibleReason::Deceased, note: None };
                doorstep.record(outcome, None, None, time)?;
                summary.ineligible += 1;
                say("        deceased: recorded ineligible, the aid goes back for reallocation");
            }
            Visit::NotHome => {
                doorstep.record(Outcome::NotHome, None, None, time)?;
                summary.not_home += 1;
                say("        nobody home: recorded, to visit again");
            }
            Visit::Override(photo) => {
                let dim = darken(&decode_image(photo)?);
                let outcome = doorstep.check(&dim, &mut timings);
                summary.rejected += 1;
                say(&format!("        camera: {}", refusal(&outcome)));
                let reason = "elderly recipient in a dark house; identity confirmed on the e-KTP";
                let code = OverrideCode::FaceNotVerified;
                let answer = approve(code);
                let evidence =
                    doorstep::override_evidence(SUPERVISOR, reason, code, Some(&answer), outcome.as_ref().ok());
                doorstep.record(Outcome::Paid, Some(evidence), None, time)?;
                summary.paid += 1;
                summary.overrides += 1;
                say("        supervisor override (flagged for audit): paid");
            }
        }
    }

    say("[5/6] trying to upload with no signal");
    let offline = SyncClient::new(&client_config(&closed_port_url()?))?;
    if let Err(e) = offline.sync(&store, &signer, &()).await {
        say(&format!("      {}", e.hint().unwrap_or("upload failed")));
    }
    summary.pending_offline = store.sync_status()?.pending;
    say(&format!("      {} receipts kept on the phone", summary.pending_offline));

    say("[6/6] signal again: syncing, then the server verifies every device chain");
    let report = online.sync(&store, &signer, &()).await?;
    summary.synced = store.sync_status()?.acknowledged;
    summary.pending = store.sync_status()?.pending;
    say(&format!("      {} receipts acknowledged by the server", report.progress.acknowledged));
    let dashboard = db.dashboard(Some(ROSTER)).await.map_err(storage)?;
    summary.dashboard_paid_after = dashboard.total.paid;
    summary.server_receipts = dashboard.receipts;
    summary.chains_valid = chains_valid(&db).await?;
    summary.face_duplicates = dashboard.face_duplicates_count;
    for (verdict, n) in &dashboard.server_checks {
        match verdict {
            Verdict::Verified => summary.server_verified = *n,
            _ if *n > 0 => summary.server_not_verified.push((verdict.as_str().to_string(), *n)),
            _ => {}
        }
    }
    let not_verified: Vec<String> = summary.server_not_verified.iter().map(|(v, n)| format!("{n} {v}")).collect();
    say(&format!(
        "      the server compared each face payment's evidence with its reference (overrides are judged by \
         their approval code): {} verified{}",
        summary.server_verified,
        if not_verified.is_empty() { String::new() } else { format!(", {}", not_verified.join(", ")) }
    ));
    // The period ends: the post office closes it and writes its report and retur list.
    let closing = super::close_period::close_and_write(&db, ROSTER, &dir, &names, admin.clone()).await?;
    summary.period_closed = closing.closed.now;
    summary.retur = closing.retur as u64;
    say(&format!(
        "      period closed: {} of {} paid ({}), {} to return ({}); report {}",
        closing.total.paid,
        closing.total.recipients,
        rupiah(closing.total.paid_amount),
        closing.retur,
        rupiah(closing.total.retur_amount),
        closing.written.pdf.display()
    ));
    if let Some(code) = &receipt_code {
        // At home, the recipient types the code from her slip into the public check page.
        let checked = online.check_receipt(code).await?;
        summary.receipt_checked = checked.outcome == "paid";
        say(&format!(
            "      the recipient checks {code} on {url}/cek: {} {} on {} at post office {}",
            checked.outcome,
            rupiah(checked.amount),
            checked.paid_at,
            checked.post_office
        ));
    }
    summary.overrides_unverified = dashboard.overrides_unverified_count;
    timings.sort_by(f64::total_cmp);
    summary.verify_ms_median = timings.get(timings.len() / 2).copied().unwrap_or_default();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// One doorstep: the recipient, their reference, and the phone's engine, store and key.
struct Doorstep<'a> {
    engine: &'a FaceEngine,
    live: &'a LivenessEngine,
    store: &'a Store,
    signer: &'a SoftwareSigner,
    recipient: &'a Recipient,
    reference: Template,
}

impl Doorstep<'_> {
    fn check(&self, img: &RgbImage, timings: &mut Vec<f64>) -> Result<FaceCheck, Error> {
        let t = Instant::now();
        let result = doorstep::check_face(self.engine, &self.reference, Method::RegistryTemplate, img);
        timings.push(t.elapsed().as_secs_f64() * 1e3);
        result
    }

    /// A live visit (the challenge the clip's person follows: left, then right) over JPEG frames.
    fn live_visit(&self, frames: &[&[u8]], fps: f64) -> Result<(VisitState, String), Error> {
        let images = frames.iter().map(|f| decode_image(f)).collect::<Result<Vec<_>, _>>()?;
        let against = Against::Reference { template: self.reference.clone(), method: Method::RegistryTemplate };
        self.live_images(against, &images, fps)
    }

    /// A live visit bound to the recipient, against `against`, over decoded frames.
    fn live_images(&self, against: Against, frames: &[RgbImage], fps: f64) -> Result<(VisitState, String), Error> {
        let mut visit = LiveVisit::with_challenge(self.live, against, Challenge::new(Movement::TurnLeft))
            .for_recipient(&self.recipient.roster_id, &self.recipient.recipient);
        let challenge =
            visit.challenge().steps().iter().map(|m| m.as_str().replace('_', " ")).collect::<Vec<_>>().join(", then ");
        for (i, img) in frames.iter().enumerate() {
            let state = visit.push(self.engine, self.live, img, (i as f64 * 1000.0 / fps) as u64)?;
            if !matches!(state, VisitState::InProgress { .. }) {
                return Ok((state, challenge));
            }
        }
        Ok((VisitState::Failed(VisitFailure::Live(FailReason::Incomplete)), challenge))
    }

    fn record(
        &self,
        outcome: Outcome,
        evidence: Option<Evidence>,
        crop: Option<Vec<u8>>,
        time: Times,
    ) -> Result<salur_core::receipt::SignedReceipt, Error> {
        let paid = outcome == Outcome::Paid;
        let mut draft = doorstep::draft(self.recipient, outcome, evidence, crop, time);
        // The recipient counts the money and confirms it is all there.
        draft.received_in_full = paid.then_some(true);
        self.store.record(self.signer, draft)
    }
}

fn visit_refusal(state: &VisitState) -> String {
    match state {
        VisitState::Failed(f) => format!("live check failed ({})", f.as_str()),
        VisitState::Checked(c) => format!("face does not match (score {:.2})", c.verification.score),
        VisitState::InProgress { .. } | VisitState::Enrolled(_) => "live check not finished".into(),
    }
}

/// A photo held in the hand in front of the camera: drifting and rotating a little over 10 s.
fn photo_moved_in_hand(photo: &RgbImage) -> Vec<RgbImage> {
    let (w, h) = photo.dimensions();
    (0..30)
        .map(|i| {
            let (dx, dy) = ((i as f32 * 0.6).sin() * w as f32 * 0.03, i as f32 * h as f32 * 0.002);
            let mut out = RgbImage::from_pixel(w, h, image::Rgb([90, 90, 90]));
            for (x, y, p) in out.enumerate_pixels_mut() {
                let (sx, sy) = (x as f32 - dx, y as f32 - dy);
                if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
                    *p = *photo.get_pixel(sx as u32, sy as u32);
                }
            }
            out
        })
        .collect()
}

fn refusal(outcome: &Result<FaceCheck, Error>) -> String {
    match outcome {
        Ok(c) => format!(
            "{:?} (score {:.2}, threshold {:.2})",
            c.verification.outcome, c.verification.score, c.verification.threshold
        )
        .to_lowercase(),
        Err(e) => format!("{e}. {}", e.hint().unwrap_or("")).trim_end().to_string(),
    }
}

/// Rupiah the Indonesian way: Rp600.000.
pub(crate) use salur_core::slip::rupiah;

/// A dim room: every pixel at a tenth of its brightness.
fn darken(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    out.pixels_mut().for_each(|p| p.0.iter_mut().for_each(|c| *c /= 10));
    out
}

fn client_config(url: &str) -> SyncConfig {
    let mut c = SyncConfig::new(url);
    c.allow_http_loopback = true;
    c.backoff = Backoff {
        base: std::time::Duration::from_millis(100),
        cap: std::time::Duration::from_secs(1),
        max_attempts: 3,
    };
    c
}

/// A loopback address where nothing listens (the phone "out of signal").
fn closed_port_url() -> Result<String, Error> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|source| Error::Io { context: "finding a closed port".into(), source })?;
    let addr = probe.local_addr().map_err(|source| Error::Io { context: "finding a closed port".into(), source })?;
    Ok(format!("http://{addr}"))
}

async fn chains_valid(db: &Db) -> Result<bool, Error> {
    let mut all = true;
    for d in db.devices().await.map_err(storage)? {
        let receipts = db.device_receipts(&d.device_id).await.map_err(storage)?;
        let report = salur_core::receipt::verify_chain(&d.public_key, receipts.iter().map(Vec::as_slice));
        all &= report.is_valid();
    }
    Ok(all)
}
