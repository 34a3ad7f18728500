//! Live-person check speed, single thread: the passive check of one face (two crops, two
//! MiniFASNet runs), each model alone, one challenge frame (detect + passive), model load.
//! `scripts/liveness-reference.py --timing` times onnxruntime on the same models and photo.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use salur_core::face::liveness::{
    crop_patch, Challenge, ChallengeSession, LivenessConfig, LivenessEngine, Movement, SCALE_V1SE, SCALE_V2,
};
use salur_core::face::{read_image, FaceConfig, FaceEngine};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
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
    // One frontal frame of a running session: detection, the tracker, the passive check on every
    // other frontal frame and an embedding every 6th (limits lifted so the session never ends).
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

criterion_group!(benches, bench);
criterion_main!(benches);
