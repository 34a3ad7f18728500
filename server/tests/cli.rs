//! The `salur` face commands as a user runs them: exit codes and the stable JSON keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

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
fn eval_reports_the_stable_keys() {
    let dir = tempdir();
    let csv = dir.join("pairs.csv");
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

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("salur-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
