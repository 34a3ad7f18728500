//! Receipts: sign + durable commit per receipt (synchronous FULL and NORMAL), and verification.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use salur_core::crypto::DataKey;
use salur_core::keys::{FixedKey, Signer, SoftwareSigner};
use salur_core::receipt::{verify, Evidence, Liveness, Method, Outcome, Times};
use salur_core::store::{Draft, Durability, Store};

fn draft(n: u64) -> Draft {
    Draft {
        roster_id: "blt-2026-11".into(),
        recipient: n.to_le_bytes().repeat(2),
        amount: 600_000,
        outcome: Outcome::Paid,
        evidence: Some(Evidence {
            method: Method::RegistryTemplate,
            score_e6: Some(612_000),
            threshold_e6: Some(400_000),
            model: "sface_2021dec_int8bq".into(),
            liveness: Liveness::Passed,
            live: None,
            face_sha256: None,
            card_face_sha256: None,
            enrolled_sha256: None,
        }),
        evidence_jpeg: Some(vec![0x5a; 3000]), // a 112x112 JPEG crop is about this size
        time: Times { wall_ms: 1_795_000_000_000, mono_ms: n, offset_ms: 0 },
        location: None,
        received_in_full: None,
        kuasa_jpeg: None,
        card_jpeg: None,
        card_face_jpeg: None,
        enrolled_template: None,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("receipts");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    for (name, durability) in [("record_sync_full", Durability::Full), ("record_sync_normal", Durability::Normal)] {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open_with(&dir.path().join("b.db"), &FixedKey(DataKey::generate().unwrap()), durability).unwrap();
        let signer = SoftwareSigner::generate().unwrap().0;
        store.set_device("dev-bench", "pos-bench", &signer).unwrap();
        let mut n = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                store.record(&signer, draft(n)).unwrap()
            })
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("v.db"), &FixedKey(DataKey::generate().unwrap())).unwrap();
    let signer = SoftwareSigner::generate().unwrap().0;
    store.set_device("dev-bench", "pos-bench", &signer).unwrap();
    let signed = store.record(&signer, draft(1)).unwrap();
    let spki = signer.public_key_spki().unwrap();
    g.bench_function("verify", |b| b.iter(|| verify(&signed.bytes, &spki).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
