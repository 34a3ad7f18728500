//! Face pipeline speed, single thread: decode, detect at 320 and 640, align + embed, whole verify,
//! model load. `scripts/bench.sh` runs this beside onnxruntime and OpenCV on the same models.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use salur_core::face::models::{PreluForm, RawModel, Rewrites, RunSettings, SFACE, YUNET};
use salur_core::face::{align_crop, decode_image, FaceConfig, FaceEngine, FacePick, RgbImage};

/// The project folder: `SALUR_ROOT` where the bench runs away from its sources (on a phone).
fn root() -> PathBuf {
    std::env::var_os("SALUR_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf())
}

/// Thread counts for the lever rows (`SALUR_BENCH_THREADS=1,2,4` on a phone; 1 and 2 here).
fn thread_counts() -> Vec<usize> {
    std::env::var("SALUR_BENCH_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect()
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

/// Planar BGR 0..255 of a square image (YuNet's input) or planar RGB (SFace's), as the engine lays them out.
fn planar(img: &RgbImage, bgr: bool) -> Vec<f32> {
    let n = (img.width() * img.height()) as usize;
    let mut v = vec![0f32; 3 * n];
    for (i, p) in img.pixels().enumerate() {
        for c in 0..3 {
            v[if bgr { 2 - c } else { c } * n + i] = f32::from(p.0[c]);
        }
    }
    v
}

/// Minor page faults this process has taken (field 10 of /proc/self/stat; 0 where there is none).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(7)?.parse().ok()).unwrap_or(0)
}

/// Minor page faults per whole verify with this build's allocator, written beside criterion's
/// results for `scripts/bench.sh` (a caching allocator keeps the models' scratch buffers mapped).
fn faults(_: &mut Criterion) {
    let e = engine(640);
    let bytes = std::fs::read(root().join(PHOTO)).unwrap();
    let reference =
        e.template(&decode_image(&std::fs::read(root().join(REFERENCE)).unwrap()).unwrap(), FacePick::Single).unwrap();
    let verify =
        || e.verify(&reference, &e.capture(&decode_image(&bytes).unwrap(), FacePick::Single).unwrap()).unwrap();
    for _ in 0..3 {
        verify();
    }
    const RUNS: u64 = 30;
    let before = minor_faults();
    for _ in 0..RUNS {
        verify();
    }
    let per = (minor_faults() - before) as f64 / RUNS as f64;
    eprintln!("minor page faults per verify ({}): {per:.0}", salur_core::ALLOCATOR);
    let dir = PathBuf::from(
        std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| root().join("target").display().to_string()),
    )
    .join("criterion/face");
    std::fs::create_dir_all(&dir).unwrap();
    let json = format!("{{\"allocator\": \"{}\", \"minor_faults_per_verify\": {per}}}", salur_core::ALLOCATOR);
    std::fs::write(dir.join(format!("faults-{}.json", salur_core::ALLOCATOR)), json).unwrap();
}

/// The speed levers one at a time, before and after, on the models alone: the split 2x2 MaxPool
/// (YuNet), the PRelu chain form (SFace), and 1 or 2 intra-op threads.
fn levers(c: &mut Criterion) {
    let models = root().join("models");
    let img = decode_image(&std::fs::read(root().join(PHOTO)).unwrap()).unwrap();
    let square = image::imageops::resize(&img, 640, 640, image::imageops::FilterType::Triangle);
    let face = engine(640).detect(&img).unwrap()[0];
    let (yunet, sface) =
        (std::fs::read(models.join(YUNET.file)).unwrap(), std::fs::read(models.join(SFACE.file)).unwrap());
    let (yunet_in, sface_in) = (planar(&square, true), planar(&align_crop(&img, &face.landmarks), false));
    let mut g = c.benchmark_group("levers");
    g.sample_size(30).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    let mut rows = vec![
        ("before_1t".to_string(), Rewrites::BEFORE, 1, false),
        ("maxpool_1t".into(), Rewrites { split_maxpool: true, ..Rewrites::BEFORE }, 1, false),
        ("prelu_chain_1t".into(), Rewrites { prelu: PreluForm::Chain, ..Rewrites::BEFORE }, 1, false),
    ];
    rows.extend(thread_counts().into_iter().map(|t| (format!("after_{t}t"), Rewrites::FAST, t, false)));
    // Half precision only where the cores compute in it (SALUR_BENCH_F16=1 on an arm64 phone).
    if std::env::var("SALUR_BENCH_F16").is_ok_and(|v| v == "1") {
        rows.push(("after_f16_1t".into(), Rewrites::FAST, 1, true));
    }
    for (name, rewrites, threads, f16) in rows {
        let settings = RunSettings { threads, rewrites, f16 };
        let y = RawModel::load(&YUNET, &yunet, &[1, 3, 640, 640], settings).unwrap();
        let s = RawModel::load(&SFACE, &sface, &[1, 3, 112, 112], settings).unwrap();
        g.bench_function(format!("yunet_640/{name}"), |b| b.iter(|| y.run(&yunet_in).unwrap()));
        g.bench_function(format!("sface/{name}"), |b| b.iter(|| s.run(&sface_in).unwrap()));
    }
    let two = FaceEngine::from_dir(&models, FaceConfig { threads: 2, ..FaceConfig::default() }).unwrap();
    let reference = two
        .template(&decode_image(&std::fs::read(root().join(REFERENCE)).unwrap()).unwrap(), FacePick::Single)
        .unwrap();
    let bytes = std::fs::read(root().join(PHOTO)).unwrap();
    g.bench_function("verify_640_2t", |b| {
        b.iter(|| {
            let probe = decode_image(&bytes).unwrap();
            two.verify(&reference, &two.capture(&probe, FacePick::Single).unwrap()).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, faults, bench, levers);
criterion_main!(benches);
