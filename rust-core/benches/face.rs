//! Face pipeline speed, single thread: decode, detect at 320 and 640, align + embed, whole verify,
//! model load. `scripts/bench.sh` runs this beside onnxruntime and OpenCV on the same models.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use salur_core::face::{align_crop, decode_image, FaceConfig, FaceEngine, FacePick};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The benchmark photo: 640 px on its long side, so "verify of a 640-px photo" is measured as is.
const PHOTO: &str = "test-vectors/faces/single/fr_lin_manuel_miranda.jpg";
const REFERENCE: &str = "test-vectors/faces/same/fr_biden/1.jpg";

fn engine(size: u32) -> FaceEngine {
    FaceEngine::from_dir(&root().join("models"), FaceConfig { detector_size: size, ..FaceConfig::default() }).unwrap()
}

fn bench(c: &mut Criterion) {
    let bytes = std::fs::read(root().join(PHOTO)).unwrap();
    let img = decode_image(&bytes).unwrap();
    let (e320, e640) = (engine(320), engine(640));
    let face = e640.detect(&img).unwrap()[0];
    let reference = e640
        .template(&decode_image(&std::fs::read(root().join(REFERENCE)).unwrap()).unwrap(), FacePick::Single)
        .unwrap();

    let mut g = c.benchmark_group("face");
    g.sample_size(30).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    g.bench_function("decode_jpeg", |b| b.iter(|| decode_image(&bytes).unwrap()));
    g.bench_function("detect_320", |b| b.iter(|| e320.detect(&img).unwrap()));
    g.bench_function("detect_640", |b| b.iter(|| e640.detect(&img).unwrap()));
    // A 640x640 frame needs no shrink: the model plus letterbox fill, decode and NMS.
    let square = image::imageops::resize(&img, 640, 640, image::imageops::FilterType::Triangle);
    g.bench_function("detect_640_no_shrink", |b| b.iter(|| e640.detect(&square).unwrap()));
    g.bench_function("align_embed", |b| b.iter(|| e640.embed_crop(&align_crop(&img, &face.landmarks)).unwrap()));
    g.bench_function("verify_640", |b| {
        b.iter(|| {
            let probe = decode_image(&bytes).unwrap();
            e640.verify(&reference, &e640.capture(&probe, FacePick::Single).unwrap()).unwrap()
        })
    });
    g.bench_function("verify_320", |b| {
        b.iter(|| {
            let probe = decode_image(&bytes).unwrap();
            e320.verify(&reference, &e320.capture(&probe, FacePick::Single).unwrap()).unwrap()
        })
    });
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("load_models", |b| b.iter(|| engine(640)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
