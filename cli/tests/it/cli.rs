//! The `salur` face commands as a user runs them: exit codes and the stable JSON keys.

use std::path::PathBuf;
use std::process::Command;

fn faces() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces")
}

fn salur(args: &[&str]) -> (i32, serde_json::Value) {
    // Run from an empty folder: the binary must find its models on its own.
    let dir = std::env::temp_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_salur")).args(args).current_dir(dir).output().unwrap();
    let json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), json)
}

fn photo(rel: &str) -> String {
    faces().join(rel).to_string_lossy().into_owned()
}

#[test]
fn verify_exit_codes_say_accept_reject_and_error() {
    let (code, out) = salur(&["verify", &photo("same/fr_biden/1.jpg"), &photo("same/fr_biden/2.jpg"), "--json"]);
    assert_eq!((code, out["outcome"].as_str()), (0, Some("accept")));
    let (code, out) = salur(&["verify", &photo("same/fr_biden/1.jpg"), &photo("same/fr_obama/1.jpg"), "--json"]);
    assert_eq!((code, out["outcome"].as_str()), (1, Some("reject")));
    let (code, out) =
        salur(&["verify", &photo("same/fr_biden/1.jpg"), &photo("multi/fr_obama_and_biden.jpg"), "--json"]);
    assert_eq!((code, out["error"].as_str()), (2, Some("multiple_faces")));
    assert!(out["hint"].as_str().unwrap().contains("face"));
    let (code, out) = salur(&["verify", &photo("same/fr_biden/1.jpg"), &photo("noface/skimage_coffee.jpg"), "--json"]);
    assert_eq!((code, out["error"].as_str()), (2, Some("no_face")));
    let (code, out) = salur(&["verify", &photo("same/fr_biden/1.jpg"), "/nonexistent.jpg", "--json"]);
    assert_eq!((code, out["error"].as_str()), (2, Some("io")));
}

#[test]
fn two_inference_threads_give_the_same_score_and_a_bad_count_is_refused() {
    let pair = [photo("same/fr_biden/1.jpg"), photo("same/fr_biden/2.jpg")];
    let score = |threads: &str| {
        let (code, out) = salur(&["verify", &pair[0], &pair[1], "--threads", threads, "--json"]);
        assert_eq!(code, 0, "{out}");
        out["score"].as_f64().unwrap()
    };
    let (one, two) = (score("1"), score("2"));
    assert!((one - two).abs() < 1e-5, "1 thread {one}, 2 threads {two}");
    let (code, out) = salur(&["verify", &pair[0], &pair[1], "--threads", "0", "--json"]);
    assert_eq!(code, 2, "{out}");
    assert!(out["message"].as_str().unwrap_or_default().contains("threads"), "{out}");
}

#[test]
fn eval_reports_the_stable_keys() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("pairs.csv");
    std::fs::write(
        &csv,
        "a,b,same\nsame/fr_obama/1.jpg,same/fr_obama/2.jpg,1\nsame/fr_biden/1.jpg,same/fr_biden/2.jpg,1\n\
         same/fr_obama/1.jpg,same/fr_biden/1.jpg,0\nsame/fr_obama/2.jpg,noface/skimage_coffee.jpg,0\n",
    )
    .unwrap();
    let (code, out) =
        salur(&["eval", "--pairs", &csv.to_string_lossy(), "--root", &faces().to_string_lossy(), "--json"]);
    assert_eq!(code, 0);
    for key in ["auc", "eer", "tar_at_far_1e-2", "tar_at_far_1e-3", "threshold_at_far_1e-3", "pairs", "failed"] {
        assert!(!out[key].is_null(), "missing {key}: {out}");
    }
    assert_eq!(out["pairs"], 3);
    assert_eq!(out["auc"], 1.0);
    let failed = out["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["reason"].as_str().unwrap().contains("no face"));
}

#[test]
fn detect_reports_boxes_landmarks_and_quality() {
    let (code, out) = salur(&["detect", &photo("multi/fr_obama_and_biden.jpg"), "--json", "--detector-size", "320"]);
    assert_eq!(code, 0);
    assert_eq!(out["detector_size"], 320);
    let faces = out["faces"].as_array().unwrap();
    assert!(faces.len() >= 2);
    assert_eq!(faces[0]["face"]["landmarks"].as_array().unwrap().len(), 5);
    assert!(faces[0]["quality"]["sharpness"].as_f64().unwrap() > 0.0);
}

#[test]
fn receipts_commands_list_show_and_find_a_tampered_receipt() {
    use salur_core::crypto::DataKey;
    use salur_core::keys::{FixedKey, SoftwareSigner};
    use salur_core::receipt::{Outcome, Times};
    use salur_core::store::{Draft, Store};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.db");
    let keys = FixedKey(DataKey::generate().unwrap());
    let store = Store::open(&db, &keys).unwrap();
    let signer = SoftwareSigner::generate().unwrap().0;
    store.set_device("dev-1", "pos-1", &signer).unwrap();
    for n in 0..3u64 {
        let draft = Draft {
            roster_id: "blt-2026-11".into(),
            recipient: vec![n as u8; 16],
            amount: 600_000,
            outcome: if n == 1 { Outcome::NotHome } else { Outcome::Paid },
            evidence: None,
            evidence_jpeg: None,
            time: Times { wall_ms: 1, mono_ms: n, offset_ms: 0 },
            location: None,
            received_in_full: None,
            kuasa_jpeg: None,
            card_jpeg: None,
            card_face_jpeg: None,
            enrolled_template: None,
        };
        store.record(&signer, draft).unwrap();
    }
    let db_arg = db.to_string_lossy().into_owned();
    let (code, out) = salur(&["receipts", "list", "--db", &db_arg, "--json"]);
    assert_eq!(code, 0);
    let rows = out["receipts"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["outcome"]["kind"], "not_home");
    assert!(rows.iter().all(|r| r["signature_valid"] == true && r["state"] == "pending"));
    let (code, out) = salur(&["receipts", "show", "2", "--db", &db_arg, "--json"]);
    assert_eq!((code, out["payload"]["seq"].as_u64()), (0, Some(2)));
    let (code, out) = salur(&["receipts", "verify-chain", "--db", &db_arg, "--json"]);
    assert_eq!((code, out["valid"].as_bool()), (0, Some(true)));

    // Someone with the file drops the guard and edits receipt 2's signed bytes: the chain says where.
    store
        .with_connection(|c| {
            c.execute_batch(
                "DROP TRIGGER receipts_no_update;
                 UPDATE receipts SET cose = substr(cose, 1, 40) || x'00' || substr(cose, 42) WHERE seq = 2;",
            )?;
            Ok(())
        })
        .unwrap();
    drop(store);
    let (code, out) = salur(&["receipts", "verify-chain", "--db", &db_arg, "--json"]);
    assert_eq!((code, out["valid"].as_bool()), (1, Some(false)), "{out}");
    assert_eq!(out["report"]["first_break"]["seq"], 2);
    let (code, out) = salur(&["receipts", "list", "--db", "/nonexistent/phone.db", "--json"]);
    assert_eq!((code, out["error"].as_str()), (2, Some("not_found")));
}

#[test]
fn receipts_verify_accepts_the_valid_vectors_and_refuses_the_second_forms() {
    let root = faces().parent().unwrap().join("receipts");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("vectors.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spki = dir.path().join("device.spki");
    std::fs::write(&spki, hex::decode(doc["key"]["spki_hex"].as_str().unwrap()).unwrap()).unwrap();
    let spki_arg = spki.display().to_string();
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let file = dir.path().join(format!("{name}.cose"));
        // Raw bytes for one half, hex text for the other: both are read.
        let hex_text = case["cose_hex"].as_str().unwrap();
        if checked % 2 == 0 {
            std::fs::write(&file, hex::decode(hex_text).unwrap()).unwrap();
        } else {
            std::fs::write(&file, format!("{hex_text}\n")).unwrap();
        }
        let (code, out) =
            salur(&["receipts", "verify", &file.display().to_string(), "--public-key", &spki_arg, "--json"]);
        let valid = case["expect"] == "valid";
        assert_eq!((code, out["valid"].as_bool()), (if valid { 0 } else { 1 }, Some(valid)), "{name}: {out}");
        if !valid {
            let why = case["why"].as_str().unwrap();
            assert!(out["receipts"][0]["error"].as_str().unwrap().contains(why), "{name}: {out}");
        }
        checked += 1;
    }
    assert!(checked >= 11, "the high-S twin and the extra-header cases are in the file");
    let (code, out) = salur(&["receipts", "verify", &spki_arg, "--json"]);
    assert_eq!((code, out["error"].as_str()), (2, Some("invalid_argument")), "no key given: {out}");
}

fn vector(rel: &str) -> String {
    faces().parent().unwrap().join("liveness").join(rel).display().to_string()
}

#[test]
fn liveness_judges_photos_and_frame_sequences_with_stable_keys() {
    let (code, live) = salur(&["liveness", &vector("images/sfas_image_T1.jpg"), "--json"]);
    assert_eq!((code, live["live"].as_bool(), live["reason"].as_str()), (0, Some(true), Some("")));
    assert!(live["score"].as_f64().unwrap() > 0.85);
    for attack in ["images/sfas_image_F1.jpg", "images/sfas_image_F2.jpg"] {
        let (code, out) = salur(&["liveness", &vector(attack), "--json"]);
        assert_eq!((code, out["live"].as_bool()), (1, Some(false)), "{attack}: {out}");
        assert_eq!(out["reason"], "not_live");
    }
    let (code, err) = salur(&["liveness", &photo("noface/skimage_coffee.jpg"), "--json"]);
    assert_eq!((code, err["error"].as_str()), (2, Some("no_face")));

    let (code, turns) = salur(&["liveness", "--frames", &vector("motion/lp_d12"), "--json"]);
    assert_eq!((code, turns["live"].as_bool()), (0, Some(true)), "{turns}");
    assert_eq!(turns["turns"], serde_json::json!(["left", "right"]));
    // Judged against a given challenge: the clip answers left-then-right and no other.
    let clip = vector("motion/lp_d12");
    let (code, out) = salur(&["liveness", "--frames", &clip, "--challenge", "left,right", "--json"]);
    assert_eq!((code, out["live"].as_bool()), (0, Some(true)), "{out}");
    let (code, out) = salur(&["liveness", "--frames", &clip, "--challenge", "right,left", "--json"]);
    assert_eq!((code, out["reason"].as_str()), (1, Some("wrong_direction")), "{out}");
    // The clip turns left, right, then left again: a third turn to the right is not there.
    let (code, out) = salur(&["liveness", "--frames", &clip, "--challenge", "left,right,right", "--json"]);
    assert_eq!((code, out["reason"].as_str()), (1, Some("wrong_direction")), "{out}");
    let (code, _) = salur(&["liveness", "--frames", &clip, "--challenge", "up", "--json"]);
    assert_eq!(code, 2);
    assert!(turns["frames"].as_u64().unwrap() >= 10);
    for still in ["motion/lp_d0", "motion/lp_d13"] {
        let (code, out) = salur(&["liveness", "--frames", &vector(still), "--json"]);
        assert_eq!((code, out["live"].as_bool()), (1, Some(false)), "{still}: {out}");
        assert!(!out["reason"].as_str().unwrap().is_empty());
    }
}

/// `salur <words> --help`: the exit code and what it printed.
fn help(words: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_salur")).args(words).arg("--help").output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The command lines in the operations guide's shell blocks, each `a | b` alternative completed
/// with its first's parent command ("salur users list | disable NAME" names `users disable`).
fn documented_command_lines() -> Vec<String> {
    let guide =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md")).unwrap();
    let mut lines = Vec::new();
    for block in guide.split("```sh").skip(1) {
        let block = block.split("```").next().unwrap_or("");
        for line in block.lines().map(str::trim).filter(|l| l.starts_with("salur ")) {
            let line = line.split("  #").next().unwrap_or(line);
            let mut alternatives = line.split(" | ");
            let first = alternatives.next().unwrap().to_string();
            let parent: Vec<&str> = first.split_whitespace().take(2).collect();
            for alt in alternatives {
                lines.push(format!("{} {alt}", parent.join(" ")));
            }
            lines.push(first);
        }
    }
    lines
}

#[test]
fn the_operations_guide_names_only_commands_and_flags_the_binary_has() {
    let lines = documented_command_lines();
    assert!(lines.len() >= 25, "the guide's command block was not found: {lines:?}");
    let mut problems = Vec::new();
    for line in &lines {
        // Words are subcommands as long as the help so far lists commands.
        let mut words: Vec<&str> = Vec::new();
        let (_, mut text) = help(&[]);
        for token in line.split_whitespace().skip(1) {
            let is_word = token.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !token.starts_with('-');
            if !is_word || !text.contains("\nCommands:") {
                break;
            }
            let mut next = words.clone();
            next.push(token);
            let (ok, said) = help(&next);
            if !ok {
                problems.push(format!("{line}: `salur {}` is no command", next.join(" ")));
                break;
            }
            (words, text) = (next, said);
        }
        for flag in line.split(|c: char| c.is_whitespace() || "[]=,".contains(c)).filter(|t| t.starts_with("--")) {
            if !text.contains(flag) {
                problems.push(format!("{line}: `salur {} --help` does not list {flag}", words.join(" ")));
            }
        }
    }
    assert!(problems.is_empty(), "the guide and --help disagree:\n{}", problems.join("\n"));
}
