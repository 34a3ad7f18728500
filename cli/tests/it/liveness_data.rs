//! The field's own recordings (issue 35): `salur liveness record` seals consented, labelled
//! challenge frames; `calibrate` prints APCER and BPCER per passive threshold with exact 95 %
//! intervals, the tuning and held-out recordings apart; `purge` deletes what is past its date.
//! On the real clips of `test-vectors/liveness/` (three webcam turns and one phone turn; two
//! photos held still).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use salur_core::crypto::DataKey;
use salur_core::face::liveness::recording::{self, Label, Split};

fn vector(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/liveness").join(rel)
}

fn salur(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_salur")).current_dir(dir).arg("liveness").args(args).output().unwrap()
}

fn record(dir: &Path, clip: &str, extra: &[&str]) -> Output {
    let frames = vector(clip);
    let name = clip.rsplit('/').next().unwrap();
    let mut args = vec!["record", "--frames", frames.to_str().unwrap(), "--consent", "consent.txt", "--key", "k.bin"];
    args.extend_from_slice(extra);
    let out = format!("{name}.slv");
    args.extend_from_slice(&["--out", &out, "--subject", name, "--json"]);
    salur(dir, &args)
}

#[test]
fn recordings_are_sealed_with_consent_calibrated_per_split_and_purged_when_due() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("consent.txt"), "Saya setuju rekaman wajah saya disimpan tersegel selama 180 hari.").unwrap();
    for clip in ["turns/ht_capture5", "turns/clm_cap12", "motion/lp_d12"] {
        let out = record(d, clip, &["--label", "bona-fide", "--split", "tune"]);
        assert!(out.status.success(), "{clip}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = record(d, "turns/ht_capture4", &["--label", "bona-fide", "--split", "holdout"]);
    assert!(out.status.success());
    for clip in ["motion/lp_d0", "motion/lp_d13"] {
        let out = record(d, clip, &["--label", "attack", "--species", "photo", "--split", "tune"]);
        assert!(out.status.success(), "{clip}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // Refused: an attack without its kind, a NIK as the subject, a folder with no frames.
    let out = record(d, "motion/lp_d0", &["--label", "attack"]);
    assert_eq!(out.status.code(), Some(2));
    let frames = vector("motion/lp_d0");
    let nik = ["record", "--frames", frames.to_str().unwrap(), "--label", "bona-fide", "--subject", "3171010101900001"];
    let out = salur(d, &[&nik[..], &["--consent", "consent.txt", "--key", "k.bin", "--out", "x.slv"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("never a NIK"), "{out:?}");
    assert!(!d.join("x.slv").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["k.bin", "lp_d12.slv"] {
            assert_eq!(std::fs::metadata(d.join(f)).unwrap().permissions().mode() & 0o077, 0, "{f}: owner only");
        }
    }
    // The header reads without the key; the frames do not.
    let bytes = std::fs::read(d.join("lp_d12.slv")).unwrap();
    let h = recording::header(&bytes).unwrap();
    assert_eq!((h.label, h.split, h.frames > 10), (Label::BonaFide, Split::Tune, true));
    assert!(h.consent.starts_with("Saya setuju") && !String::from_utf8_lossy(&bytes).contains("lp_d12"));

    let calibrate = salur(d, &["calibrate", ".", "--key", "k.bin", "--thresholds", "0.5,0.85,0.95", "--json"]);
    assert!(calibrate.status.success(), "{}", String::from_utf8_lossy(&calibrate.stdout));
    let table: serde_json::Value = serde_json::from_slice(&calibrate.stdout).unwrap();
    let tune = &table["splits"][0];
    assert_eq!(
        (tune["split"].as_str(), tune["bona_fide"].as_u64(), tune["attacks"].as_u64()),
        (Some("tune"), Some(3), Some(2))
    );
    let line = |i: usize| &tune["lines"][i];
    // At the deployed 0.85: every real turn passes, no photo does.
    assert_eq!(
        (line(1)["bpcer"].clone(), line(1)["apcer"].clone()),
        (serde_json::json!([0, 3]), serde_json::json!([0, 2]))
    );
    assert_eq!(line(1)["worst_species"], "photo");
    let high = line(1)["bpcer_interval"][1].as_f64().unwrap();
    assert!((high - 0.7076).abs() < 1e-3, "0 of 3 is 0-70.8 %: {high}");
    // At 0.95 the passive models refuse the real webcam footage (best frames 0.85-0.95).
    assert!(line(2)["bpcer"][0].as_u64().unwrap() >= 2, "{tune}");
    let holdout = &table["splits"][1];
    assert_eq!(
        (holdout["bona_fide"].as_u64(), holdout["lines"][1]["bpcer"].clone()),
        (Some(1), serde_json::json!([0, 1]))
    );
    // The text table marks the deployed threshold.
    let text = salur(
        d,
        &["calibrate", "lp_d0.slv", "lp_d13.slv", "ht_capture5.slv", "--key", "k.bin", "--thresholds", "0.85"],
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("0.85       0/2 (0.0 %, 0.0-84.2 %) photo"), "{text}");
    assert!(text.contains("0/1 (0.0 %, 0.0-97.5 %) <- deployed"), "{text}");

    // Another key opens nothing.
    std::fs::write(d.join("other.bin"), [7u8; 32]).unwrap();
    let wrong = salur(d, &["calibrate", "lp_d12.slv", "--key", "other.bin"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("another recording key"), "{wrong:?}");

    // A recording past its deletion date is purged (no key needed) and never calibrated on.
    let key = DataKey::new(std::fs::read(d.join("k.bin")).unwrap().try_into().unwrap());
    let (mut old, frames) = recording::open(&bytes, &key).unwrap();
    (old.recorded_ms, old.delete_after_ms) = (1_000, 2_000);
    std::fs::write(d.join("old.slv"), recording::seal(&old, &frames, &key).unwrap()).unwrap();
    let stale = salur(d, &["calibrate", "old.slv", "--key", "k.bin"]);
    assert!(String::from_utf8_lossy(&stale.stderr).contains("past its deletion date"), "{stale:?}");
    let purge = salur(d, &["purge", ".", "--json"]);
    let purged: serde_json::Value = serde_json::from_slice(&purge.stdout).unwrap();
    assert_eq!((purged["deleted"].as_array().unwrap().len(), purged["kept"].as_u64()), (1, Some(6)));
    assert!(!d.join("old.slv").exists() && d.join("lp_d12.slv").exists());
}
