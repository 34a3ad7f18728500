//! The Phone object as Kotlin calls it, against the real server on a loopback socket (a real
//! SQLite file): the worker's assigned rosters, the override challenge and its approval code, the
//! checks before an override is signed, "received in full", the location fix on receipts, and who
//! in a recipient's KK may collect for them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use salur_core::keys::{Signer as _, SoftwareSigner};
use salur_core::receipt::Method;
use salur_ffi::{
    DataKeyProvider, DeviceSigner, DeviceState, ErrorKind, FaceEngine, GeoFix, KkLookup, OverrideApproval,
    OverrideReason, Phone, SalurError, ServerConfig,
};
use salur_server::domain::devices::DeviceStatus;
use salur_server::domain::roster::RosterRow;
use salur_server::{AppState, Db};

struct Key(SoftwareSigner);

impl DeviceSigner for Key {
    fn public_key_spki(&self) -> Result<Vec<u8>, SalurError> {
        Ok(self.0.public_key_spki()?)
    }
    fn sign_der(&self, message: Vec<u8>) -> Result<Vec<u8>, SalurError> {
        Ok(self.0.sign_der(&message)?)
    }
}

struct Data;

impl DataKeyProvider for Data {
    fn data_key(&self) -> Result<Vec<u8>, SalurError> {
        Ok(vec![4; 32])
    }
}

fn row(nik: &str, name: &str, roster: &str, worker: &str, amount: u64) -> RosterRow {
    RosterRow {
        nik: nik.into(),
        name: name.into(),
        address: "Jl. Merdeka 1".into(),
        province: "31".into(),
        regency: "3171".into(),
        district: "317101".into(),
        village: "3171011001".into(),
        post_office: "jakarta-10110".into(),
        amount,
        period: roster.into(),
        worker_id: worker.into(),
        photo: None,
        kk_members: None,
    }
}

fn kind(e: SalurError) -> (ErrorKind, bool) {
    let SalurError::Failed { kind, hint, .. } = e;
    (kind, hint.is_some())
}

#[test]
fn assigned_rosters_override_approval_received_in_full_and_location_against_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let secret = salur_core::approval::new_secret().unwrap();
    let (db, url) = rt.block_on(async {
        let db = Db::open(&dir.path().join("server")).await.unwrap();
        for r in [
            row("3171010101900001", "Siti", "blt-ffi-1", "pos-1", 600_000),
            RosterRow {
                kk_members: Some("3171010101900021:Sri Santoso".into()),
                ..row("3171010101900002", "Budi", "blt-ffi-1", "pos-1", 400_000)
            },
            row("3171010101900003", "Wati", "blt-ffi-2", "pos-2", 600_000),
        ] {
            db.put_recipient(&r, None).await.unwrap();
        }
        db.add_supervisor("sup-1", "jakarta-10110", &secret).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(db.clone(), "admin").allow_unattested_devices(true);
        tokio::spawn(salur_server::serve(listener, state, std::future::pending()));
        (db, url)
    });
    let server =
        ServerConfig { url, ca_pem: None, pins_sha256_hex: vec![], allow_http_loopback: true, max_attempts: 3 };
    let signer = Arc::new(Key(SoftwareSigner::generate().unwrap().0));
    let phone = Phone::open(dir.path().join("phone.db").display().to_string(), signer, Arc::new(Data), server).unwrap();

    // Before registration there is no device to bind a challenge to.
    let unregistered = phone.override_challenge("blt-ffi-1".into(), "00".into(), OverrideReason::Other).unwrap_err();
    assert_eq!(kind(unregistered).0, ErrorKind::InvalidArgument);
    // A code the server does not know is refused as such, before any key is registered.
    let refused = rt.block_on(phone.registration_challenge("AAAAA-AAAAA".into())).unwrap_err();
    assert_eq!(kind(refused).0, ErrorKind::EnrolmentRefused);
    let code = salur_server::domain::enrolment::new_code().unwrap();
    let hash = salur_server::domain::enrolment::code_hash(&code).unwrap();
    rt.block_on(db.add_enrolment(&hash, "pos-1", "jakarta-10110", "test", salur_server::clock::now_ms() + 60_000))
        .unwrap();
    assert_eq!(rt.block_on(phone.registration_challenge(code.clone())).unwrap().len(), 32);
    let state = rt
        .block_on(phone.register("dev-ffi".into(), "pos-1".into(), "jakarta-10110".into(), code.clone(), vec![]))
        .unwrap();
    assert_eq!(state, DeviceState::Pending);
    rt.block_on(db.set_device_status("dev-ffi", DeviceStatus::Approved)).unwrap();

    // The worker's rosters: only the one with recipients assigned to pos-1.
    let rosters = rt.block_on(phone.assigned_rosters()).unwrap();
    let got: Vec<_> = rosters.iter().map(|r| (r.roster_id.as_str(), r.recipients, r.amount_total)).collect();
    assert_eq!(got, [("blt-ffi-1", 2, 1_000_000)]);
    rt.block_on(phone.refresh_roster("blt-ffi-1".into())).unwrap();
    let list = phone.roster("blt-ffi-1".into(), String::new(), None).unwrap();
    let (budi, siti) = (&list[0].recipient_ref, &list[1].recipient_ref);

    // A family member: Budi's daughter is in his KK (the roster brought it), nobody else's.
    let kk = |r: &str, nik: &str| phone.find_kk_member("blt-ffi-1".into(), r.into(), nik.into()).unwrap();
    let KkLookup::Member { member_ref, name } = kk(budi, "3171 0101 0190 0021") else { panic!("not found in the KK") };
    assert_eq!(name, "Sri Santoso");
    assert_eq!(member_ref.len(), 32, "a 16-byte reference, hex");
    assert_eq!(kk(siti, "3171010101900021"), KkLookup::NotInKk);
    assert_eq!(kk(budi, "3171010101900002"), KkLookup::RecipientThemself);
    assert_eq!(kk(budi, "12345"), KkLookup::NotANik);
    // Only a member may start a proxy visit; a kuasa photo too small to read is refused.
    let engine = FaceEngine::from_dir(root.join("models").display().to_string(), 320).unwrap();
    let card = std::fs::read(root.join("test-vectors/liveness/motion/lp_d12/0060.jpg")).unwrap();
    let page = std::fs::read(root.join("test-vectors/faces/noface/sklearn_china.jpg")).unwrap();
    let start = |r: &str, nik: &str, kuasa: &[u8]| {
        phone.start_proxy_visit(engine.clone(), "blt-ffi-1".into(), r.into(), nik.into(), card.clone(), kuasa.to_vec())
    };
    let outsider = start(siti, "3171010101900021", &page).err().unwrap();
    let SalurError::Failed { kind: outsider_kind, detail, .. } = outsider;
    assert_eq!(outsider_kind, ErrorKind::InvalidArgument);
    assert!(detail.contains("not in the recipient's KK"), "{detail}");
    assert_eq!(kind(salur_ffi::kuasa_photo(page.clone()).unwrap_err()).0, ErrorKind::InvalidArgument);
    assert!(start(budi, "3171010101900021", &page).is_err(), "the small photo is refused at the start too");

    // The challenge is bound to this device, roster, recipient and reason.
    let challenge =
        phone.override_challenge("blt-ffi-1".into(), siti.clone(), OverrideReason::CannotDoLiveCheck).unwrap();
    let expected = salur_core::approval::challenge(
        "dev-ffi",
        "blt-ffi-1",
        &hex::decode(siti).unwrap(),
        salur_core::receipt::OverrideCode::CannotDoLiveCheck,
    );
    assert_eq!(challenge, expected);
    let code = salur_core::approval::response(&secret, &challenge);
    let approval = |supervisor: &str, code: &str| OverrideApproval {
        supervisor_id: supervisor.into(),
        reason: "stiff neck, cannot turn her head".into(),
        code: OverrideReason::CannotDoLiveCheck,
        approval_code: code.into(),
    };
    let record = |a: OverrideApproval, full: bool, mono: u64| {
        phone.record_override("blt-ffi-1".into(), siti.clone(), a, None, mono, full)
    };
    // Refused before anything is signed, each with a hint for the worker.
    for refused in [
        record(approval("sup-1", "1234"), true, 1),
        record(approval("sup-1", "1234567a"), true, 1),
        record(approval("pos-1", &code), true, 1),
        record(approval("sup-1", &code), false, 1),
    ] {
        assert_eq!(kind(refused.unwrap_err()), (ErrorKind::InvalidArgument, true));
    }
    assert_eq!(phone.sync_status().unwrap().pending, 0, "nothing was recorded");

    // A location off the globe is refused; a good one is signed while it is fresh.
    let fix = GeoFix { lat_e7: -62_088_000, lon_e7: 1_068_456_000, accuracy_m: 12, mono_ms: 10_000 };
    assert_eq!(
        kind(phone.set_location(Some(GeoFix { lat_e7: 900_000_001, ..fix })).unwrap_err()).0,
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(phone.set_location(Some(GeoFix { accuracy_m: 100_001, ..fix })).unwrap_err()).0,
        ErrorKind::InvalidArgument
    );
    phone.set_location(Some(fix)).unwrap();
    let paid = record(approval("sup-1", &code), true, 10_000 + 60_000).unwrap();
    let decode = |cose: &[u8]| -> serde_json::Value {
        let sign1 = <coset::CoseSign1 as coset::TaggedCborSerializable>::from_tagged_slice(cose).unwrap();
        salur_core::receipt::payload_json(&sign1.payload.unwrap()).unwrap()
    };
    let r = decode(&paid.cose);
    assert_eq!(r["received_in_full"], true);
    assert_eq!(r["location"]["lat_e7"], -62_088_000);
    assert_eq!(r["evidence"]["method"]["approval"], code.as_str());
    assert_eq!(r["evidence"]["method"]["supervisor_id"], "sup-1");
    // Eleven minutes later the fix is stale: not signed. A not-home visit says nothing of money.
    let later = phone.record_not_home("blt-ffi-1".into(), budi.clone(), 10_000 + 11 * 60_000).unwrap();
    let r = decode(&later.cose);
    assert!(r.get("location").is_none() && r.get("received_in_full").is_none(), "{r}");
    phone.set_location(None).unwrap();
    let refused = phone.record_refused("blt-ffi-1".into(), budi.clone(), 10_001).unwrap();
    assert!(decode(&refused.cose).get("location").is_none());
    // "View receipt": each recipient's own receipts, oldest first, nobody else's.
    let ids = |r: &str| -> Vec<String> {
        phone.receipts_for("blt-ffi-1".into(), r.into()).unwrap().into_iter().map(|x| x.id).collect()
    };
    assert_eq!(ids(siti), vec![paid.id.clone()]);
    assert_eq!(ids(budi), vec![later.id.clone(), refused.id.clone()]);
    assert_eq!(kind(phone.receipts_for("blt-ffi-1".into(), "zz".into()).unwrap_err()).0, ErrorKind::InvalidArgument);

    // The code the recipient keeps is the receipt's, and prints on the slip with a QR code of
    // the check page.
    assert_eq!(paid.code, salur_core::receipt::code(&paid.cose));
    let slip = phone.receipt_slip(paid.id.clone(), "jakarta-10110".into()).unwrap();
    let slip_text = String::from_utf8_lossy(&slip);
    assert!(slip_text.contains(&paid.code) && slip_text.contains("Rp600.000"), "{slip_text}");
    assert!(slip_text.contains(&format!("{}?kode={}", phone.check_url(), paid.code.replace('-', ""))));
    assert_eq!(kind(phone.receipt_slip("no-such".into(), "x".into()).unwrap_err()).0, ErrorKind::NotFound);

    // The server verifies the approval: nothing to flag.
    let counts = rt.block_on(phone.sync(None)).unwrap();
    assert_eq!((counts.acknowledged, counts.rejected), (3, 0));
    // Once uploaded, the recipient's code says paid on the public check.
    let client = salur_core::sync::SyncClient::new(&{
        let mut c = salur_core::sync::SyncConfig::new(phone.check_url().trim_end_matches("/cek"));
        c.allow_http_loopback = true;
        c
    })
    .unwrap();
    let checked = rt.block_on(client.check_receipt(&paid.code)).unwrap();
    assert_eq!((checked.outcome.as_str(), checked.amount), ("paid", 600_000));
    let dashboard = rt.block_on(db.dashboard(Some("blt-ffi-1"))).unwrap();
    assert_eq!(dashboard.overrides_unverified_count, 0);
    assert!(dashboard.overrides_unverified.is_empty());
    assert_eq!(dashboard.total.overrides, 1);
    assert!(matches!(
        salur_core::receipt::verify(&paid.cose, &phone.public_key_spki().unwrap())
            .unwrap()
            .receipt
            .evidence
            .unwrap()
            .method,
        Method::SupervisorOverride { approval: Some(_), .. }
    ));
    assert_eq!(phone.sync_status().unwrap().evidence_refused, 0);
}
