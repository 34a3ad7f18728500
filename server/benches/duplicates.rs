//! The national 1:N face check at 1 M and 8.5 M stored faces: the time to search one new face
//! against all of them (brute force over 8-bit packed vectors, `domain::duplicates`), the memory
//! the index holds, and side by side the same search over `f32` vectors (the naive form, at
//! 1 M only: 4.4 GB at 8.5 M). The stored faces are random unit vectors with the project's real
//! embeddings planted among them; the probes are real faces of people whose other photo is
//! planted, so every search must find its planted match (checked) and nothing else.
//!
//!     cargo bench -p salur-server --bench duplicates
//!
//! SALUR_BENCH_FACES (comma-separated, e.g. 1000000,8500000) changes the sizes.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use salur_core::face::{read_image, FaceConfig, FaceEngine, FacePick};
use salur_server::domain::duplicates::{pack, Packed, DIM, THRESHOLD_1N};

/// A pseudo-random unit vector (xorshift; deterministic, no dependency).
fn random_unit(state: &mut u64) -> Vec<f32> {
    let mut v: Vec<f32> = (0..DIM)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            // A sum of two uniforms: close enough to a normal for a direction on the sphere.
            let a = (*state >> 40) as f32 / (1u64 << 24) as f32;
            let b = (*state & 0xff_ffff) as f32 / (1u64 << 24) as f32;
            a + b - 1.0
        })
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::var("SALUR_BENCH_FACES")
        .unwrap_or_else(|_| "1000000,8500000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("SALUR_BENCH_FACES: numbers"))
        .collect();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!("1:N face search, brute force, one thread, on {cpu}; threshold {THRESHOLD_1N}");
    // Real faces: the first photo of each person is planted, the second searched for.
    let engine = FaceEngine::bundled(FaceConfig::default()).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces/same");
    let mut pairs = Vec::new();
    for dir in std::fs::read_dir(root).unwrap().map(|e| e.unwrap().path()) {
        let embed = |n: &str| {
            read_image(&dir.join(n))
                .ok()
                .and_then(|img| engine.capture(&img, FacePick::Centered).ok())
                .map(|c| c.embedding)
        };
        if let (Some(a), Some(b)) = (embed("1.jpg"), embed("2.jpg")) {
            // With a margin over the threshold: packing moves a score by up to a few thousandths.
            if salur_core::face::cosine(&a, &b) >= THRESHOLD_1N + 0.02 {
                pairs.push((dir.file_name().unwrap().to_string_lossy().into_owned(), a, b));
            }
        }
    }
    println!("{} real people planted (those whose two photos score at least the threshold)", pairs.len());
    for n in sizes {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let before = rss_mb();
        let mut index = Packed::default();
        let mut floats: Vec<f32> = Vec::new();
        let keep_floats = n <= 1_000_000;
        let every = n / pairs.len().max(1);
        let mut planted = pairs.iter();
        let mut planted_at = std::collections::HashMap::new();
        for i in 0..n {
            let plant = if i % every == 0 { planted.next() } else { None };
            let (who, v) = match plant {
                Some((who, a, _)) => (who.clone(), a.clone()),
                None => (String::new(), random_unit(&mut state)),
            };
            if !who.is_empty() {
                planted_at.insert(i as i64, who);
            }
            index.push(&pack(&v).unwrap(), i as i64);
            if keep_floats {
                floats.extend_from_slice(&v);
            }
        }
        let held = rss_mb() - before;
        let mut times = Vec::new();
        for (who, _, b) in &pairs {
            let probe = pack(b).unwrap();
            let t = Instant::now();
            let hits = index.search(&probe, THRESHOLD_1N);
            times.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(hits.iter().any(|h| planted_at.get(&h.seq) == Some(who)), "{who} not found among {n}");
            assert!(hits.iter().all(|h| planted_at.contains_key(&h.seq)), "a random face above the threshold");
        }
        let packed = median_ms(times);
        let float = if keep_floats {
            let mut times = Vec::new();
            for (_, _, b) in &pairs {
                let t = Instant::now();
                let found = floats
                    .chunks_exact(DIM)
                    .filter(|v| v.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() >= THRESHOLD_1N)
                    .count();
                times.push(t.elapsed().as_secs_f64() * 1e3);
                assert!(found >= 1);
            }
            format!("{:.1} ms", median_ms(times))
        } else {
            "not run (4.4 GB)".into()
        };
        println!(
            "{n} faces: packed i8 search median {packed:.1} ms per new face ({} searches), index {:.0} MB, \
             process grew {held:.0} MB (incl. f32 copy: {keep_floats}); f32 search {float}",
            pairs.len(),
            index.bytes() as f64 / 1e6
        );
    }
}
