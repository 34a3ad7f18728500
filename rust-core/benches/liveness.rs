//! Live-person check speed, single thread: the passive check of one face (two crops, two
//! MiniFASNet runs), each model alone, one challenge frame (detect + passive), model load.
//! `scripts/liveness-reference.py --timing` times onnxruntime on the same models and photo.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use salur_core::face::liveness::{
    crop_patch, Challenge, ChallengeSession, ChallengeState, LivenessConfig, LivenessEngine, Movement, SCALE_V1SE,
    SCALE_V2,
};
use salur_core::face::{read_image, FaceConfig, FaceEngine, RgbImage};

/// The project folder: `SALUR_ROOT` where the bench runs away from its sources (on a phone).
fn root() -> PathBuf {
    std::env::var_os("SALUR_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf())
}

fn bench(c: &mut Criterion) {
    let models = root().join("models");
    let live = LivenessEngine::from_dir(&models, Default::default()).unwrap();
    let img = read_image(&root().join("test-vectors/liveness/images/sfas_image_T1.jpg")).unwrap();
    let face = FaceEngine::from_dir(&models, FaceConfig::default()).unwrap();
    let det = face.detect(&img).unwrap()[0];
    let b = [det.bbox.x, det.bbox.y, det.bbox.width, det.bbox.height];
    let (p2, p4) = (crop_patch(&img, b, SCALE_V2), crop_patch(&img, b, SCALE_V1SE));
    let frame = read_image(&root().join("test-vectors/liveness/motion/lp_d12/0000.jpg")).unwrap();
    let face320 = FaceEngine::from_dir(&models, FaceConfig { detector_size: 320, ..FaceConfig::default() }).unwrap();

    let mut g = c.benchmark_group("liveness");
    g.sample_size(50).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    g.bench_function("passive_per_face", |bn| bn.iter(|| live.passive(&img, &det).unwrap()));
    g.bench_function("crops_only", |bn| bn.iter(|| (crop_patch(&img, b, SCALE_V2), crop_patch(&img, b, SCALE_V1SE))));
    g.bench_function("models_only", |bn| bn.iter(|| live.score_patches(&p2, &p4).unwrap()));
    // One frontal frame of a running session: detection, the tracker, the passive check (every
    // frontal frame, up to the session's budget of 24) and an embedding every 6th (limits lifted so
    // the session never ends and every frame is scored: the worst case per frame).
    let endless = LivenessConfig {
        max_frames: usize::MAX,
        max_duration_ms: u64::MAX,
        passive_frames: usize::MAX,
        ..LivenessConfig::default()
    };
    for (name, fe) in [("challenge_frame_640", &face), ("challenge_frame_320", &face320)] {
        let mut s = ChallengeSession::with_config(Challenge::new(Movement::TurnLeft), endless.clone());
        let mut t = 0;
        g.bench_function(name, |bn| {
            bn.iter(|| {
                t += 1;
                s.push(fe, &live, &frame, t).unwrap()
            })
        });
    }
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("load_models", |bn| bn.iter(|| LivenessEngine::from_dir(&models, Default::default()).unwrap()));
    g.finish();
}

/// The frames of a motion clip and their timestamps (ms) at its frame rate.
fn clip(name: &str) -> Vec<(RgbImage, u64)> {
    let dir = root().join("test-vectors/liveness/motion").join(name);
    let fps: f64 = std::fs::read_to_string(dir.join("fps.txt")).unwrap().trim().parse().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "jpg"));
    files.sort();
    files.iter().enumerate().map(|(i, p)| (read_image(p).unwrap(), (i as f64 * 1000.0 / fps) as u64)).collect()
}

/// One doorstep decision on a real head-turn clip (lp_d12, 61 frames at 480 px, the app's 320
/// detector input): every frame through the live check until it passes, then the steady face
/// against the reference template. Then what following the face would save where it can (the
/// clip centred in a 1280x720 frame): a whole-frame search against the tracker's region.
fn doorstep(c: &mut Criterion) {
    let models = root().join("models");
    let live = LivenessEngine::from_dir(&models, Default::default()).unwrap();
    let face = FaceEngine::from_dir(&models, FaceConfig { detector_size: 320, ..FaceConfig::default() }).unwrap();
    let frames = clip("lp_d12");
    let reference = face.reference_template(&frames[0].0).unwrap().0;
    let decide = |first: Movement| {
        let mut s = ChallengeSession::new(Challenge::new(first), &live);
        for (img, t) in &frames {
            match s.push(&face, &live, img, *t).unwrap() {
                ChallengeState::Passed(e) => return Some(face.verify(&reference, &e.capture).unwrap().outcome),
                ChallengeState::Failed(_) => return None,
                ChallengeState::InProgress { .. } => {}
            }
        }
        None
    };
    let first = [Movement::TurnLeft, Movement::TurnRight]
        .into_iter()
        .find(|m| decide(*m) == Some(salur_core::face::Outcome::Accept))
        .expect("the clip passes in one order");
    let mut g = c.benchmark_group("doorstep");
    g.sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
    g.bench_function("sequence", |b| b.iter(|| decide(first)));
    let mut wide = RgbImage::from_pixel(1280, 720, image::Rgb([120, 120, 120]));
    image::imageops::overlay(&mut wide, &frames[0].0, 400, 120);
    let last = face.detect(&wide).unwrap()[0].bbox;
    assert!(face.detect_near(&wide, &last).unwrap().is_some_and(|f| !f.is_empty()));
    g.sample_size(30).measurement_time(Duration::from_secs(4));
    g.bench_function("wide_whole_frame", |b| b.iter(|| face.detect(&wide).unwrap()));
    g.bench_function("wide_followed", |b| b.iter(|| face.detect_near(&wide, &last).unwrap()));
    g.finish();
}

criterion_group!(benches, bench, doorstep);
criterion_main!(benches);
