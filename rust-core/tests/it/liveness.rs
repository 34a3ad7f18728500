//! The live-person check on real images and clips, and on attacks synthesized from them.
//!
//! `cargo test --release -p salur-core --features bundled-models --test it liveness::`
//! The measurements quoted in docs/liveness.md: add `-- --ignored --nocapture measure`.

#![allow(missing_docs)]

#[path = "common/attacks.rs"]
pub(crate) mod attacks;
use crate::common;

use std::path::PathBuf;
use std::sync::OnceLock;

use attacks::{box_onto, clip, draw, flat_motion, held, print_frame, screen_frame, wall, Screen};
use salur_core::face::liveness::{
    crop_patch, nose_parallax, turn, width_kept, Challenge, ChallengeSession, ChallengeState, FailReason, Hint,
    LivenessConfig, LivenessEngine, Movement, PassiveVerdict, SequenceReport, SCALE_V1SE, SCALE_V2,
};
use salur_core::face::{read_image, Detection, FaceEngine, RgbImage};
use serde_json::Value;

fn live_dir() -> PathBuf {
    common::root().join("test-vectors/liveness")
}

fn image(name: &str) -> RgbImage {
    read_image(&live_dir().join("images").join(name)).unwrap()
}

fn motion(name: &str) -> (Vec<RgbImage>, f32) {
    clip(&live_dir().join("motion").join(name))
}

fn d12() -> &'static (Vec<RgbImage>, f32) {
    static CLIP: OnceLock<(Vec<RgbImage>, f32)> = OnceLock::new();
    CLIP.get_or_init(|| motion("lp_d12"))
}

fn live() -> &'static LivenessEngine {
    static ENGINE: OnceLock<LivenessEngine> = OnceLock::new();
    ENGINE.get_or_init(|| LivenessEngine::bundled().expect("liveness models load"))
}

/// The same engine with the passive models' verdict switched off, to test the motion checks alone
/// (the passive models already refuse most synthesized cards and screens).
fn geometry_only() -> &'static LivenessEngine {
    static ENGINE: OnceLock<LivenessEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let (v2, v1se) = salur_core::face::models::bundled_liveness();
        let cfg = LivenessConfig { passive_threshold: 0.0, ..LivenessConfig::default() };
        LivenessEngine::with_config(v2, v1se, cfg).unwrap()
    })
}

fn face() -> &'static FaceEngine {
    common::engine()
}

fn detect(img: &RgbImage) -> Option<Detection> {
    face().detect(img).unwrap().into_iter().max_by(|a, b| a.area().total_cmp(&b.area()))
}

fn analyze(frames: &[RgbImage], fps: f32) -> SequenceReport {
    live().analyze_sequence(face(), frames, fps).unwrap()
}

fn analyze_geometry(frames: &[RgbImage], fps: f32) -> SequenceReport {
    geometry_only().analyze_sequence(face(), frames, fps).unwrap()
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(live_dir().join("reference.json")).unwrap()).unwrap()
}

// ---------------------------------------------------------------- passive

#[test]
fn tract_matches_onnxruntime_on_the_same_patches() {
    let doc = reference();
    let images = doc["images"].as_object().unwrap();
    assert_eq!(images.len(), 4);
    for (name, e) in images {
        let patch = |m: &str| read_image(&live_dir().join("crops").join(e[m]["crop"].as_str().unwrap())).unwrap();
        let s = live().score_patches(&patch("v2"), &patch("v1se")).unwrap();
        for (m, logits) in [("v2", s.v2_logits), ("v1se", s.v1se_logits)] {
            for (k, got) in logits.iter().enumerate() {
                let want = e[m]["logits"][k].as_f64().unwrap() as f32;
                assert!((got - want).abs() < 1e-3, "{name} {m} logit {k}: tract {got} onnxruntime {want}");
            }
        }
        let want = e["fused"].as_f64().unwrap() as f32;
        println!("{name}: same patches, fused tract {:.6} onnxruntime {want:.6}", s.fused);
        assert!((s.fused - want).abs() < 1e-4, "{name}: fused {} vs {want}", s.fused);
    }
}

#[test]
fn crops_match_upstream_preprocessing_from_the_same_box() {
    let doc = reference();
    for (name, e) in doc["images"].as_object().unwrap() {
        let img = image(name);
        assert_eq!(
            (img.width(), img.height()),
            (e["width"].as_u64().unwrap() as u32, e["height"].as_u64().unwrap() as u32),
            "{name}: EXIF orientation"
        );
        let b: Vec<f32> = e["face"]["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let bbox = [b[0], b[1], b[2], b[3]];
        for (m, scale) in [("v2", SCALE_V2), ("v1se", SCALE_V1SE)] {
            let want: Vec<i64> = e[m]["crop_box"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
            let got = salur_core::face::liveness::crop_box(img.width(), img.height(), bbox, scale);
            assert_eq!(got.to_vec(), want, "{name} {m} crop box");
            let ours = crop_patch(&img, bbox, scale);
            let theirs = read_image(&live_dir().join("crops").join(e[m]["crop"].as_str().unwrap())).unwrap();
            let diffs: Vec<u8> = ours.as_raw().iter().zip(theirs.as_raw()).map(|(a, b)| a.abs_diff(*b)).collect();
            let max = diffs.iter().max().copied().unwrap();
            let off = diffs.iter().filter(|&&d| d > 0).count() as f32 / diffs.len() as f32;
            // OpenCV's vectorised fixed-point rounding differs from ours by a level here and there
            // (it differs as much from exact float arithmetic and from its own INTER_LINEAR_EXACT).
            assert!(
                max <= 3 && off < 0.25,
                "{name} {m}: patch differs from OpenCV's by up to {max} ({off:.3} of values)"
            );
            println!("{name} {m}: patch max diff {max}, {:.1}% of values differ", off * 100.0);
        }
        let s = live().score_box(&img, bbox).unwrap();
        let want = e["fused"].as_f64().unwrap() as f32;
        println!("{name}: fused P(real) tract {:.5} onnxruntime {want:.5}", s.fused);
        assert!((s.fused - want).abs() < 0.01, "{name}: fused {} vs onnxruntime {want}", s.fused);
    }
}

#[test]
fn live_photos_pass_and_print_and_screen_fail_the_passive_check() {
    for (name, want) in [
        ("sfas_image_T1.jpg", PassiveVerdict::Live),
        ("sfas_apk_7.jpeg", PassiveVerdict::Live),
        ("sfas_image_F1.jpg", PassiveVerdict::NotLive),
        ("sfas_image_F2.jpg", PassiveVerdict::NotLive),
    ] {
        let img = image(name);
        let d = detect(&img).unwrap_or_else(|| panic!("{name}: no face"));
        let r = live().passive(&img, &d).unwrap();
        assert_eq!(r.verdict, want, "{name}: {r:?}");
        assert_eq!(r.live(), want == PassiveVerdict::Live);
    }
}

#[test]
fn a_turned_face_gets_no_passive_verdict() {
    let (frames, _) = d12();
    let (i, d) = frames
        .iter()
        .enumerate()
        .filter_map(|(i, f)| detect(f).map(|d| (i, d)))
        .max_by(|a, b| turn(&a.1.landmarks).abs().total_cmp(&turn(&b.1.landmarks).abs()))
        .unwrap();
    let r = live().passive(&frames[i], &d).unwrap();
    assert!(r.turn.abs() > live().config().max_passive_turn, "{r:?}");
    assert_eq!(r.verdict, PassiveVerdict::PoseNotFrontal);
    assert_eq!(r.verdict.as_str(), "pose_not_frontal");
    let r = live().passive(&frames[0], &detect(&frames[0]).unwrap()).unwrap();
    assert_eq!(r.verdict, PassiveVerdict::Live, "{r:?}");
}

#[test]
fn wrong_model_bytes_are_refused() {
    let (v2, v1se) = salur_core::face::models::bundled_liveness();
    assert!(LivenessEngine::from_bytes(v1se, v2).is_err());
    let mut bad = v2.to_vec();
    bad[1000] ^= 1;
    assert!(matches!(LivenessEngine::from_bytes(&bad, v1se), Err(salur_core::Error::ModelHash { .. })));
}

// ---------------------------------------------------------------- real clips

#[test]
fn the_turning_clip_passes_with_a_turn_each_way() {
    let (frames, fps) = d12();
    let r = analyze(frames, *fps);
    assert!(r.live, "{r:?}");
    assert_eq!(r.reason, None);
    assert_eq!(r.turns.len(), 2);
    let dirs: Vec<Movement> = r.turns.iter().map(|t| t.movement).collect();
    assert!(dirs.contains(&Movement::TurnLeft) && dirs.contains(&Movement::TurnRight), "{dirs:?}");
    for t in &r.turns {
        assert!(t.continuous() && t.parallax >= live().config().min_parallax, "{t:?}");
    }
    // A cooperative person finishes within 6 s of frames.
    assert!(r.frames as f32 / fps <= 6.0, "{} frames at {fps} fps", r.frames);
}

#[test]
fn still_and_frontal_clips_do_not_pass() {
    for name in ["lp_d0", "lp_d13"] {
        let (frames, fps) = motion(name);
        let r = analyze(&frames, fps);
        assert!(!r.live, "{name}: {r:?}");
        assert!(r.turns.is_empty(), "{name}: {:?}", r.turns);
        assert!(matches!(r.reason, Some(FailReason::Incomplete | FailReason::TimedOut)), "{name}: {:?}", r.reason);
    }
}

fn turns_clip(name: &str) -> (Vec<RgbImage>, f32) {
    clip(&live_dir().join("turns").join(name))
}

/// The webcam clips of one man turning mildly (about 20 degrees, faces of about 70 px, 2012
/// webcams) were all refused before the check took turns from the person's resting pose and judged
/// the passive models on their best frames.
#[test]
fn real_mild_webcam_turns_pass_and_eyes_only_does_not() {
    for name in ["ht_capture4", "ht_capture5", "clm_cap12"] {
        let (frames, fps) = turns_clip(name);
        let r = analyze(&frames, fps);
        assert!(r.live, "{name}: {r:?}");
        // Mild turns: under the old absolute 0.18 one of each pair never counted.
        let smallest = r.turns.iter().map(|t| t.peak.abs()).fold(f32::MAX, f32::min);
        assert!(smallest < 0.22, "{name}: {r:?}");
    }
    let (frames, fps) = turns_clip("noturn_proc_gaze_left");
    let r = analyze(&frames, fps);
    assert!(!r.live && r.turns.is_empty(), "{r:?}");
}

/// The real turning clips under each degradation a low-end phone brings, as (clip, degradation,
/// passed, reason) rows, for the rates docs/liveness.md quotes.
fn degraded_runs(degradations: &[Degradation]) -> Vec<(String, &'static str, bool, &'static str)> {
    let mut clips = vec![("lp_d12".to_string(), d12().clone())];
    for n in ["ht_capture4", "ht_capture5", "clm_cap12"] {
        clips.push((n.to_string(), turns_clip(n)));
    }
    let mut rows = Vec::new();
    for (name, (frames, fps)) in &clips {
        for d in degradations {
            let (seq, f) = d.apply(frames, *fps);
            let r = analyze(&seq, f);
            rows.push((name.clone(), d.name(), r.live, r.reason_str().unwrap_or("")));
        }
    }
    rows
}

#[derive(Clone, Copy)]
enum Degradation {
    Dark,
    Blur,
    Jpeg40,
    HalfRate,
    Side320,
    Face70,
}

impl Degradation {
    const ALL: [Degradation; 6] = [Self::Dark, Self::Blur, Self::Jpeg40, Self::HalfRate, Self::Side320, Self::Face70];

    fn name(self) -> &'static str {
        match self {
            Self::Dark => "dark x0.35",
            Self::Blur => "blur sigma 1.5",
            Self::Jpeg40 => "JPEG 40",
            Self::HalfRate => "half frame rate",
            Self::Side320 => "longest side 320",
            Self::Face70 => "face 70 px",
        }
    }

    fn apply(self, frames: &[RgbImage], fps: f32) -> (Vec<RgbImage>, f32) {
        let resize = |f: &RgbImage, k: f32| {
            let (w, h) = ((f.width() as f32 * k).round() as u32, (f.height() as f32 * k).round() as u32);
            image::imageops::resize(f, w.max(1), h.max(1), image::imageops::FilterType::Triangle)
        };
        match self {
            Self::Dark => (frames.iter().map(|f| dim(f, 0.35)).collect(), fps),
            Self::Blur => (frames.iter().map(|f| image::imageops::blur(f, 1.5)).collect(), fps),
            Self::Jpeg40 => (frames.iter().map(|f| jpeg(f, 40)).collect(), fps),
            Self::HalfRate => (frames.iter().step_by(2).cloned().collect(), fps / 2.0),
            Self::Side320 => {
                (frames.iter().map(|f| resize(f, (320.0 / f.width().max(f.height()) as f32).min(1.0))).collect(), fps)
            }
            Self::Face70 => {
                let w = frames.iter().find_map(detect).map_or(70.0, |d| d.bbox.width);
                (frames.iter().map(|f| resize(f, (70.0 / w).min(1.0))).collect(), fps)
            }
        }
    }
}

fn jpeg(f: &RgbImage, quality: u8) -> RgbImage {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(f).unwrap();
    image::load_from_memory(&out).unwrap().to_rgb8()
}

/// The pass rates docs/liveness.md reports for each degradation, as floors: a change that makes
/// real people fail more often under any of them fails here.
#[test]
fn real_turns_pass_degraded_at_the_reported_rates() {
    let floors = [
        ("dark x0.35", 2),
        ("blur sigma 1.5", 1),
        ("JPEG 40", 3),
        ("half frame rate", 3),
        ("longest side 320", 3),
        ("face 70 px", 3),
    ];
    let rows = degraded_runs(&Degradation::ALL);
    for (name, floor) in floors {
        let passed = rows.iter().filter(|r| r.1 == name && r.2).count();
        let refused: Vec<_> = rows.iter().filter(|r| r.1 == name && !r.2).map(|r| (&r.0, r.3)).collect();
        println!("{name}: {passed}/4 pass; refused: {refused:?}");
        assert!(passed >= floor, "{name}: {passed} of 4 passed, {floor} reported; refused {refused:?}");
    }
}

/// The order of the turns in lp_d12, as the analysis sees them.
fn d12_order() -> [Movement; 2] {
    let (frames, fps) = d12();
    let r = analyze(frames, *fps);
    [r.turns[0].movement, r.turns[1].movement]
}

fn run_session(challenge: Challenge, frames: &[RgbImage], fps: f32) -> (ChallengeState, Vec<Hint>) {
    let mut s = ChallengeSession::new(challenge, live());
    let mut hints = Vec::new();
    let mut state = ChallengeState::InProgress { step: 0, hint: Hint::FaceTheCamera };
    for (i, f) in frames.iter().enumerate() {
        state = s.push(face(), live(), f, (i as f32 * 1000.0 / fps) as u64).unwrap();
        if let ChallengeState::InProgress { hint, .. } = state {
            hints.push(hint);
        }
        if state.is_done() {
            break;
        }
    }
    (state, hints)
}

#[test]
fn a_session_asking_the_clip_order_passes_with_evidence_and_the_other_order_fails() {
    let (frames, fps) = d12();
    let order = d12_order();
    let (state, hints) = run_session(Challenge::new(order[0]), frames, *fps);
    let ChallengeState::Passed(e) = state else { panic!("{state:?}") };
    assert_eq!(e.challenge.steps(), order);
    assert_eq!(e.turns.len(), 2);
    assert!(e.passive_score >= live().config().passive_threshold && e.passive_frames >= 2, "{e:?}");
    assert!(e.min_same_face >= live().config().same_face_threshold);
    assert!(e.duration_ms > 0 && e.duration_ms <= 10_000 && e.frames <= frames.len());
    // The captured face is the session's person: it verifies against the clip's first frame.
    let first = face().capture(&frames[0], salur_core::face::FacePick::Single).unwrap();
    assert!(salur_core::face::cosine(&first.embedding, &e.capture.embedding) > 0.6);
    assert!(
        hints.contains(&Hint::HoldStill)
            && hints.contains(&match order[0] {
                Movement::TurnLeft => Hint::TurnLeft,
                Movement::TurnRight => Hint::TurnRight,
            })
    );
    let (state, _) = run_session(Challenge::new(order[1]), frames, *fps);
    assert!(matches!(state, ChallengeState::Failed(FailReason::WrongDirection)), "{state:?}");
}

#[test]
fn the_time_limit_the_frame_budget_and_a_lost_face_end_a_session() {
    let (frames, _) = d12();
    // A session not passed by its time limit fails (a 3 s limit here: the clip answers in 4 s).
    let cfg = LivenessConfig { max_duration_ms: 3_000, ..live().config().clone() };
    let mut s = ChallengeSession::with_config(Challenge::new(d12_order()[0]), cfg);
    let end = frames
        .iter()
        .enumerate()
        .map(|(i, f)| s.push(face(), live(), f, i as u64 * 120).unwrap())
        .find(|st| st.is_done());
    assert!(matches!(end, Some(ChallengeState::Failed(FailReason::TimedOut))), "{end:?}");
    // Nobody steady in front of the camera: the session's face is not found within 10 s.
    let turned = turns_clip("noturn_proc_gaze_left").0[0].clone();
    let mut s = ChallengeSession::new(Challenge::new(Movement::TurnLeft), live());
    let blank = wall(turned.width(), turned.height());
    let end = (0..120u64).map(|i| s.push(face(), live(), &blank, i * 100).unwrap()).find(|st| st.is_done());
    assert!(matches!(end, Some(ChallengeState::Failed(FailReason::TimedOut))), "{end:?}");
    // The face leaves the view for a second once the session has its face (before the turns).
    let blank = wall(frames[0].width(), frames[0].height());
    let mut gap: Vec<RgbImage> = frames[..16].to_vec();
    gap.extend(std::iter::repeat_n(blank, 10));
    gap.extend(frames[16..].iter().cloned());
    let r = analyze(&gap, d12().1);
    assert_eq!(r.reason, Some(FailReason::FaceLost), "{r:?}");
    // Frames sent faster than anyone turns.
    let cfg = salur_core::face::liveness::LivenessConfig { max_frames: 20, ..live().config().clone() };
    let mut s = ChallengeSession::with_config(Challenge::new(Movement::TurnLeft), cfg);
    let mut last = None;
    for (i, f) in frames.iter().take(21).enumerate() {
        last = Some(s.push(face(), live(), f, i as u64).unwrap());
    }
    assert!(matches!(last, Some(ChallengeState::Failed(FailReason::TooManyFrames))), "{last:?}");
}

#[test]
fn two_faces_in_view_fail_the_session() {
    let two = common::photo("multi/fr_obama_and_biden.jpg");
    let r = analyze(&vec![two; 6], 10.0);
    assert_eq!(r.reason, Some(FailReason::MultipleFaces), "{r:?}");
}

// ---------------------------------------------------------------- synthesized attacks

#[test]
fn a_still_photo_moved_rotated_scaled_and_tilted_does_not_pass() {
    let (frames, _) = d12();
    for (name, photo) in [("T1", image("sfas_image_T1.jpg")), ("d12 frame 0", frames[0].clone())] {
        for tilt in [25.0, 60.0] {
            let seq = flat_motion(&photo, 60, tilt, 480, 480);
            let r = analyze(&seq, 10.0);
            assert!(!r.live, "{name} tilted {tilt}: {r:?}");
            // Without the passive models: the motion checks alone refuse it.
            let r = analyze_geometry(&seq, 10.0);
            assert!(!r.live, "{name} tilted {tilt}, motion checks only: {r:?}");
            assert!(
                matches!(r.reason, Some(FailReason::FlatPicture | FailReason::Incomplete)),
                "{name} tilted {tilt}: {r:?}"
            );
        }
    }
    // The motion checks alone still pass the real clip.
    let (frames, fps) = d12();
    assert!(analyze_geometry(frames, *fps).live);
}

#[test]
fn photos_of_one_person_held_up_one_after_another_do_not_pass() {
    let (frames, fps) = d12();
    let dets: Vec<Option<Detection>> = frames.iter().map(detect).collect();
    let by_turn = |pick: fn(f32, f32) -> bool| {
        let mut best: Option<(usize, f32)> = None;
        for (i, d) in dets.iter().enumerate() {
            let Some(d) = d else { continue };
            let t = turn(&d.landmarks);
            if best.is_none_or(|(_, b)| pick(t, b)) {
                best = Some((i, t));
            }
        }
        best.unwrap().0
    };
    let left = by_turn(|t, b| t > b);
    let right = by_turn(|t, b| t < b);
    let front = by_turn(|t, b| t.abs() < b.abs());
    // Each photo placed so that its face sits where the frontal one was (a careful attacker).
    let (w, h) = (frames[0].width(), frames[0].height());
    let at = dets[front].unwrap().bbox;
    let placed = |i: usize| {
        let b = dets[i].unwrap().bbox;
        let mut canvas = wall(w, h);
        draw(&mut canvas, &frames[i], &box_onto([b.x, b.y, b.width, b.height], [at.x, at.y, at.width, at.height]));
        canvas
    };
    let mut seq = Vec::new();
    for (k, &i) in [front, left, front, right, front].iter().enumerate() {
        let photo = placed(i);
        for j in 0..8 {
            seq.push(held(&photo, k * 8 + j, w, h));
        }
    }
    for r in [analyze(&seq, *fps), analyze_geometry(&seq, *fps)] {
        assert!(!r.live, "{r:?}");
        assert_eq!(r.reason, Some(FailReason::NotContinuous), "{r:?}");
    }
}

#[test]
fn another_person_taking_over_mid_sequence_does_not_pass() {
    let (frames, fps) = d12();
    // Cut after the first turn; the rest is another person, placed exactly where the first face was.
    let first = analyze(frames, *fps).turns[0];
    let cut = (first.end_ms as f32 * fps / 1000.0).round() as usize + 2;
    let at = detect(&frames[cut]).unwrap().bbox;
    let (others, _) = motion("lp_d13");
    let mut seq: Vec<RgbImage> = frames[..cut].to_vec();
    for (k, o) in others.iter().take(40).enumerate() {
        let d = detect(o).unwrap().bbox;
        let mut canvas = wall(frames[0].width(), frames[0].height());
        let step = [at.x + (k % 3) as f32, at.y, at.width, at.height];
        draw(&mut canvas, o, &box_onto([d.x, d.y, d.width, d.height], step));
        seq.push(canvas);
    }
    seq.extend(frames[cut..].iter().cloned());
    for r in [analyze(&seq, *fps), analyze_geometry(&seq, *fps)] {
        assert!(!r.live, "{r:?}");
        assert_eq!(r.reason, Some(FailReason::FaceChanged), "{r:?}");
    }
    // A photo of a third person simply shown after the first turn: the box jumps or the face changes.
    let stranger = common::photo("single/fr_lin_manuel_miranda.jpg");
    let stranger = image::imageops::resize(
        &stranger,
        frames[0].width(),
        frames[0].height(),
        image::imageops::FilterType::Triangle,
    );
    let mut seq: Vec<RgbImage> = frames[..cut].to_vec();
    seq.extend(std::iter::repeat_n(stranger, 20));
    let r = analyze(&seq, *fps);
    assert!(matches!(r.reason, Some(FailReason::FaceChanged | FailReason::FaceJumped)), "{r:?}");
}

/// The app's engine: detector input 320 (`SalurApp.loadEngine`), where following a face pays.
fn face320() -> &'static FaceEngine {
    static ENGINE: OnceLock<FaceEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let config = salur_core::face::FaceConfig { detector_size: 320, ..Default::default() };
        FaceEngine::from_dir(&common::root().join("models"), config).unwrap()
    })
}

/// The clip as a 1280x720 camera would frame it: the same pixels in the middle of a wider frame
/// (the recipient a step further back), where a whole-frame search at 320 sees the face at a
/// quarter of its size and following it in a region pays.
fn wide(frames: &[RgbImage]) -> Vec<RgbImage> {
    frames
        .iter()
        .map(|f| {
            let mut canvas = RgbImage::from_pixel(1280, 720, image::Rgb([120, 120, 120]));
            image::imageops::overlay(
                &mut canvas,
                f,
                i64::from((1280 - f.width()) / 2),
                i64::from((720 - f.height()) / 2),
            );
            canvas
        })
        .collect()
}

fn largest(faces: Vec<Detection>) -> Option<Detection> {
    faces.into_iter().max_by(|a, b| a.area().total_cmp(&b.area()))
}

#[test]
fn the_tracker_follows_the_face_only_where_it_saves_work_and_stays_on_it() {
    let (frames, _) = d12();
    // In the clip itself the face fills half the frame: nothing to save, so nothing is followed.
    let first = largest(face320().detect(&frames[0]).unwrap()).unwrap();
    assert!(face320().detect_near(&frames[1], &first.bbox).unwrap().is_none());
    let frames = &wide(frames);
    let whole = |f: &RgbImage| largest(face320().detect(f).unwrap()).unwrap();
    let mut last = whole(&frames[0]).bbox;
    let (mut followed, mut worst_centre, mut worst_size, mut worst_landmark) = (0, 0f32, 0f32, 0f32);
    for f in &frames[1..] {
        let full = whole(f);
        let near = largest(face320().detect_near(f, &last).unwrap().expect("worth following")).expect("in the region");
        followed += 1;
        let (a, b) = (full.bbox, near.bbox);
        let centre = (a.x + a.width / 2.0 - b.x - b.width / 2.0).hypot(a.y + a.height / 2.0 - b.y - b.height / 2.0);
        worst_centre = worst_centre.max(centre / a.width);
        worst_size = worst_size.max((b.width / a.width - 1.0).abs());
        for k in 0..5 {
            let (p, q) = (full.landmarks[k], near.landmarks[k]);
            worst_landmark = worst_landmark.max((p[0] - q[0]).hypot(p[1] - q[1]) / a.width);
        }
        last = near.bbox;
    }
    // docs/performance.md quotes this line: why following is off by default.
    eprintln!(
        "followed {followed} of {}; against a whole-frame search, worst: centre {worst_centre:.3}, size {worst_size:.3}, landmark {worst_landmark:.3} box widths",
        frames.len() - 1
    );
    assert!(worst_centre < 0.15 && worst_size < 0.2, "the same face: {worst_centre} {worst_size}");
}

#[test]
fn a_second_person_stepping_in_while_the_face_is_followed_fails_the_session() {
    let (frames, fps) = d12();
    let frames = &wide(frames);
    // From the 4th frame on, another real face stands in a corner, outside the followed region.
    let other = common::photo("single/fr_lin_manuel_miranda.jpg");
    let d = detect(&other).unwrap().bbox;
    let m = d.width / 3.0;
    let (x0, y0) = ((d.x - m).max(0.0) as u32, (d.y - m).max(0.0) as u32);
    let head = image::imageops::crop_imm(&other, x0, y0, (d.width + 2.0 * m) as u32, (d.height + 2.0 * m) as u32);
    let head = image::imageops::resize(&head.to_image(), 240, 240, image::imageops::FilterType::Triangle);
    // The passive models judge the grey border of these composed frames a print: off here, this
    // test is about the whole-frame searches between followed frames.
    let cfg = LivenessConfig { full_frame_every: 4, passive_threshold: 0.0, ..LivenessConfig::default() };
    let mut s = ChallengeSession::with_config(Challenge::new(d12_order()[0]), cfg);
    let mut end = None;
    for (i, f) in frames.iter().enumerate() {
        let mut f = f.clone();
        if i >= 3 {
            image::imageops::overlay(&mut f, &head, 0, 0);
        }
        let state = s.push(face320(), geometry_only(), &f, (i as f32 * 1000.0 / fps) as u64).unwrap();
        if state.is_done() {
            end = Some((i, state));
            break;
        }
    }
    let (at, state) = end.expect("the session ends");
    assert!(matches!(state, ChallengeState::Failed(FailReason::MultipleFaces)), "{state:?}");
    assert!(at <= 3 + 4 + 1, "refused at frame {at}: at the next whole-frame search and the one confirming it");
}

#[test]
fn a_real_turn_replayed_on_a_phone_screen_does_not_pass() {
    let (frames, fps) = d12();
    for s in &Screen::SET {
        let seq: Vec<RgbImage> = frames.iter().map(|f| screen_frame(f, s)).collect();
        let r = analyze(&seq, *fps);
        assert!(!r.live, "{s:?}: {r:?}");
        // What stops it by design is the passive models, whatever the motion checks made of the
        // degraded frames: even the best three near-frontal frames read as a recapture.
        let best = best_frontal_passive(&seq, 3);
        assert!(best < live().config().passive_threshold, "{s:?}: best three {best}");
    }
    // The real clip's best three read as live.
    assert!(best_frontal_passive(frames, 3) >= live().config().passive_threshold);
}

/// Mean fused P(real) of the `k` best frames facing the camera (|turn| <= 0.10).
fn best_frontal_passive(frames: &[RgbImage], k: usize) -> f32 {
    let mut scores: Vec<f32> = frames
        .iter()
        .filter_map(|f| {
            let d = detect(f)?;
            (turn(&d.landmarks).abs() <= 0.10).then(|| live().passive(f, &d).unwrap().score)
        })
        .collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    scores.truncate(k);
    scores.iter().sum::<f32>() / scores.len().max(1) as f32
}

// ---------------------------------------------------------------- measurements (docs/liveness.md)

#[test]
#[ignore]
fn measure_clips() {
    for name in ["lp_d0", "lp_d12", "lp_d13"] {
        let (frames, fps) = motion(name);
        print_clip(name, &frames, fps);
    }
}

/// Every clip of the shared `turns/` folder (or `SALUR_TURNS_DIR`), frame by frame.
#[test]
#[ignore]
fn measure_turns() {
    let dir = std::env::var_os("SALUR_TURNS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join("../shared/test-faces/turns"));
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().filter(|e| e.path().is_dir()).collect();
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let (frames, fps) = clip(&e.path());
        print_clip(&e.file_name().to_string_lossy(), &frames, fps);
    }
}

fn print_clip(name: &str, frames: &[RgbImage], fps: f32) {
    {
        let mut anchor = None;
        let first = face().capture(&frames[0], salur_core::face::FacePick::Largest).unwrap().embedding;
        println!("{name} ({} frames, {fps} fps)", frames.len());
        let mut prev: Option<f32> = None;
        for (i, f) in frames.iter().enumerate() {
            let Some(d) = detect(f) else {
                println!("  {i:3} no face");
                continue;
            };
            let t = turn(&d.landmarks);
            if t.abs() <= 0.10 {
                anchor = Some(d.landmarks);
            }
            let par = anchor.and_then(|a| nose_parallax(&a, &d.landmarks)).map_or(f32::NAN, |p| p.0);
            let wk = anchor.map_or(f32::NAN, |a| width_kept(&a, &d.landmarks));
            let p = live().passive(f, &d).unwrap();
            let cos = salur_core::face::cosine(
                &first,
                &face().embed_crop(&salur_core::face::align_crop(f, &d.landmarks)).unwrap(),
            );
            println!(
                "  {i:3} turn {t:+.3} step {:+.3} parallax {par:+.3} width {wk:.3} passive {:.3} cos {cos:.3} box {:.0}",
                prev.map_or(0.0, |p| t - p),
                p.score,
                d.bbox.width
            );
            prev = Some(t);
        }
        let r = analyze(frames, fps);
        println!("  => live {} reason {:?} turns {:?}", r.live, r.reason_str(), r.turns);
    }
}

#[test]
#[ignore]
fn measure_passive_sets() {
    let thresholds = [0.5f32, 0.6, 0.7, 0.8, 0.85, 0.9, 0.915, 0.95];
    let mut sets: Vec<(&str, Vec<f32>)> = Vec::new();
    let score = |img: &RgbImage| -> Option<f32> {
        let d = detect(img)?;
        let r = live().passive(img, &d).unwrap();
        (r.verdict != PassiveVerdict::PoseNotFrontal).then_some(r.score)
    };
    let mut bona = Vec::new();
    for n in ["sfas_image_T1.jpg", "sfas_apk_7.jpeg"] {
        bona.extend(score(&image(n)));
    }
    let mut frontal_frames = Vec::new();
    for name in ["lp_d0", "lp_d12", "lp_d13"] {
        let (frames, _) = motion(name);
        for f in frames {
            if let Some(s) = score(&f) {
                bona.push(s);
                frontal_frames.push(f);
            }
        }
    }
    sets.push(("bona fide: 2 photos + frontal clip frames", bona));
    sets.push(("print (real, F1)", score(&image("sfas_image_F1.jpg")).into_iter().collect()));
    sets.push(("screen (real, F2)", score(&image("sfas_image_F2.jpg")).into_iter().collect()));
    for (k, s) in Screen::SET.iter().enumerate() {
        let v: Vec<f32> = frontal_frames.iter().step_by(4).filter_map(|f| score(&screen_frame(f, s))).collect();
        sets.push((["screen sim A", "screen sim B", "screen sim C"][k], v));
    }
    let v: Vec<f32> = frontal_frames.iter().step_by(4).filter_map(|f| score(&print_frame(f))).collect();
    sets.push(("print sim", v));
    for (name, v) in &sets {
        let mut sorted = v.clone();
        sorted.sort_by(f32::total_cmp);
        let row: Vec<String> = thresholds
            .iter()
            .map(|&t| {
                let bad = if name.starts_with("bona") {
                    v.iter().filter(|&&s| s < t).count()
                } else {
                    v.iter().filter(|&&s| s >= t).count()
                };
                format!("{t}: {bad}/{}", v.len())
            })
            .collect();
        println!(
            "{name}: n={} min {:.3} median {:.3} max {:.3} | {}",
            v.len(),
            sorted.first().unwrap_or(&f32::NAN),
            sorted.get(sorted.len() / 2).unwrap_or(&f32::NAN),
            sorted.last().unwrap_or(&f32::NAN),
            row.join("  ")
        );
    }
}

#[test]
#[ignore]
fn measure_identity() {
    let emb = |img: &RgbImage| {
        let d = detect(img)?;
        Some((turn(&d.landmarks), face().embed_crop(&salur_core::face::align_crop(img, &d.landmarks)).unwrap()))
    };
    let clips: Vec<(&str, Vec<RgbImage>)> = ["lp_d0", "lp_d12", "lp_d13"].iter().map(|n| (*n, motion(n).0)).collect();
    let mut others: Vec<(String, RgbImage)> =
        clips.iter().flat_map(|(n, f)| f.iter().step_by(3).map(move |i| (n.to_string(), i.clone()))).collect();
    for entry in std::fs::read_dir(common::faces().join("single")).unwrap() {
        let p = entry.unwrap().path();
        others.push((p.file_name().unwrap().to_string_lossy().into(), read_image(&p).unwrap()));
    }
    for (name, frames) in &clips {
        let (_, r) = emb(&frames[0]).unwrap();
        let mut same = Vec::new();
        for f in frames {
            if let Some((t, e)) = emb(f) {
                same.push((t, salur_core::face::cosine(&r, &e)));
            }
        }
        let min_frontal = same.iter().filter(|s| s.0.abs() <= 0.10).map(|s| s.1).fold(1.0f32, f32::min);
        let min_02 = same.iter().filter(|s| s.0.abs() <= 0.20).map(|s| s.1).fold(1.0f32, f32::min);
        let mut diff: Vec<(f32, String)> = Vec::new();
        for (n, o) in &others {
            if n == name {
                continue;
            }
            if let Some((_, e)) = emb(o) {
                diff.push((salur_core::face::cosine(&r, &e), n.clone()));
            }
        }
        diff.sort_by(|a, b| b.0.total_cmp(&a.0));
        println!(
            "{name}: same-person min cos |turn|<=0.10 {min_frontal:.3}, <=0.20 {min_02:.3}; other people n={} max {:?}",
            diff.len(),
            &diff[..3]
        );
    }
}

#[test]
#[ignore]
fn measure_flat() {
    let (frames, _) = d12();
    let photos = [
        ("T1", image("sfas_image_T1.jpg")),
        ("apk7", image("sfas_apk_7.jpeg")),
        ("d12f0", frames[0].clone()),
        ("d13f0", motion("lp_d13").0[0].clone()),
        ("d0f0", motion("lp_d0").0[0].clone()),
    ];
    let mut all_max_par: f32 = 0.0;
    let mut all_max_turn: f32 = 0.0;
    for (name, photo) in &photos {
        for tilt in [25.0, 45.0, 60.0] {
            let seq = flat_motion(photo, 60, tilt, 480, 480);
            let dets: Vec<Option<Detection>> = seq.iter().map(detect).collect();
            let first = dets.iter().flatten().next().unwrap();
            let (mut mp, mut mt, mut mpt, mut nf): (f32, f32, f32, usize) = (0.0, 0.0, 0.0, 0);
            let mut wk_turned: Vec<String> = Vec::new();
            for d in dets.iter() {
                let Some(d) = d else {
                    nf += 1;
                    continue;
                };
                let t = turn(&d.landmarks);
                let p = nose_parallax(&first.landmarks, &d.landmarks).unwrap().0;
                mp = mp.max(p.abs());
                mt = mt.max((t - turn(&first.landmarks)).abs());
                if t.abs() >= 0.18 {
                    mpt = mpt.max(p * t.signum());
                    wk_turned.push(format!("{:.2}", width_kept(&first.landmarks, &d.landmarks)));
                }
            }
            all_max_par = all_max_par.max(mp);
            all_max_turn = all_max_turn.max(mt);
            let r = analyze(&seq, 10.0);
            println!("{name} tilt {tilt}: max |parallax| {mp:.3}, max |turn change| {mt:.3}, max parallax at |turn|>=0.18 {mpt:.3}, no-face frames {nf}, width kept at |turn|>=0.18 {wk_turned:?} => {:?} turns {}", r.reason_str(), r.turns.len());
        }
    }
    println!("flat overall: max |parallax| {all_max_par:.3}, max |turn change| {all_max_turn:.3}");
}

fn dim(f: &RgbImage, k: f32) -> RgbImage {
    let mut o = f.clone();
    o.pixels_mut().for_each(|p| p.0 = p.0.map(|c| (f32::from(c) * k) as u8));
    o
}

fn swap_attack(frames: &[RgbImage], order: [usize; 5], hold: usize) -> Vec<RgbImage> {
    let dets: Vec<Detection> = order.iter().map(|&i| detect(&frames[i]).unwrap()).collect();
    let (w, h) = (frames[0].width(), frames[0].height());
    let at = dets[0].bbox;
    let mut seq = Vec::new();
    for (k, (&i, d)) in order.iter().zip(&dets).enumerate() {
        let b = d.bbox;
        let mut photo = wall(w, h);
        draw(&mut photo, &frames[i], &box_onto([b.x, b.y, b.width, b.height], [at.x, at.y, at.width, at.height]));
        for j in 0..hold {
            seq.push(held(&photo, k * hold + j, w, h));
        }
    }
    seq
}

#[test]
#[ignore]
fn measure_active() {
    let (d12f, fps) = d12();
    let fps = *fps;
    let mirror: Vec<RgbImage> = d12f.iter().map(image::imageops::flip_horizontal).collect();
    let reversed: Vec<RgbImage> = d12f.iter().rev().cloned().collect();
    let mut bona: Vec<(String, Vec<RgbImage>, f32)> = vec![
        ("d12".into(), d12f.clone(), fps),
        ("d12 mirrored".into(), mirror.clone(), fps),
        ("d12 reversed".into(), reversed.clone(), fps),
        ("d12 mirrored reversed".into(), mirror.iter().rev().cloned().collect(), fps),
        ("d12 every 2nd frame (4.2 fps)".into(), d12f.iter().step_by(2).cloned().collect(), fps / 2.0),
        ("d12 from frame 20".into(), d12f[20..].to_vec(), fps),
        ("d12 dim x0.5".into(), d12f.iter().map(|f| dim(f, 0.5)).collect(), fps),
        (
            "d12 half size".into(),
            d12f.iter()
                .map(|f| {
                    image::imageops::resize(f, f.width() / 2, f.height() / 2, image::imageops::FilterType::Triangle)
                })
                .collect(),
            fps,
        ),
    ];
    let mut attacks: Vec<(&str, String, Vec<RgbImage>, f32)> = Vec::new();
    let photos = [
        ("T1", image("sfas_image_T1.jpg")),
        ("apk7", image("sfas_apk_7.jpeg")),
        ("d12f0", d12f[0].clone()),
        ("d13f0", motion("lp_d13").0[0].clone()),
        ("d0f0", motion("lp_d0").0[0].clone()),
    ];
    for (n, p) in &photos {
        for tilt in [25.0, 45.0, 60.0] {
            attacks.push((
                "flat photo moved/tilted",
                format!("{n} tilt {tilt}"),
                flat_motion(p, 60, tilt, 480, 480),
                10.0,
            ));
        }
    }
    // Extremes of lp_d12 as analysed by measure_clips: frontal 0, left-most 56 (+0.30), right-most 27 (-0.34).
    for hold in [4, 8, 12] {
        attacks.push(("photo swap", format!("F-L-F-R-F hold {hold}"), swap_attack(d12f, [0, 56, 0, 27, 0], hold), fps));
        attacks.push(("photo swap", format!("F-R-F-L-F hold {hold}"), swap_attack(d12f, [0, 27, 0, 56, 0], hold), fps));
    }
    let first_end = 19;
    let at = detect(&d12f[first_end]).unwrap().bbox;
    let (d13f, _) = motion("lp_d13");
    let mut strangers: Vec<(String, RgbImage)> = vec![("lp_d13".into(), d13f[0].clone())];
    for n in ["facenet_paul_rudd.jpg", "fr_lin_manuel_miranda.jpg", "openface_carell.jpg", "insightface_tom_hanks.jpg"]
    {
        strangers.push((n.into(), common::photo(&format!("single/{n}"))));
    }
    for (n, o) in &strangers {
        let d = detect(o).unwrap().bbox;
        let mut seq: Vec<RgbImage> = d12f[..first_end].to_vec();
        for k in 0..30 {
            let mut canvas = wall(d12f[0].width(), d12f[0].height());
            draw(
                &mut canvas,
                o,
                &box_onto([d.x, d.y, d.width, d.height], [at.x + (k % 3) as f32, at.y, at.width, at.height]),
            );
            seq.push(canvas);
        }
        seq.extend(d12f[first_end..].iter().cloned());
        attacks.push(("other person mid-way", n.clone(), seq, fps));
    }
    for (k, sc) in Screen::SET.iter().enumerate() {
        for (n, src) in [("d12", d12f), ("d12 mirrored", &mirror), ("d12 reversed", &reversed)] {
            attacks.push((
                "screen replay of a real turn",
                format!("{n} screen {k}"),
                src.iter().map(|f| screen_frame(f, sc)).collect(),
                fps,
            ));
        }
    }
    println!("BONA FIDE");
    let mut refused = 0;
    for (n, seq, f) in bona.drain(..) {
        let r = analyze(&seq, f);
        refused += usize::from(!r.live);
        println!(
            "  {n}: live {} reason {:?} frames {} ({:.1} s) turns {:?}",
            r.live,
            r.reason_str(),
            r.frames,
            r.frames as f32 / f,
            r.turns
                .iter()
                .map(|t| (t.movement.as_str(), t.peak, t.parallax, t.width_kept, t.intermediate))
                .collect::<Vec<_>>()
        );
    }
    println!("  BPCER {refused}/8");
    println!("ATTACKS (full check | motion checks only)");
    let mut tally: std::collections::BTreeMap<&str, (usize, usize, usize)> = Default::default();
    for (kind, n, seq, f) in &attacks {
        let r = analyze(seq, *f);
        let g = analyze_geometry(seq, *f);
        let e = tally.entry(kind).or_default();
        e.0 += 1;
        e.1 += usize::from(r.live);
        e.2 += usize::from(g.live);
        println!(
            "  {kind} / {n}: full {:?} | motion-only {:?} turns {:?}",
            r.reason_str().unwrap_or("LIVE"),
            g.reason_str().unwrap_or("LIVE"),
            g.turns
                .iter()
                .map(|t| (t.movement.as_str(), t.peak, t.parallax, t.width_kept, t.intermediate))
                .collect::<Vec<_>>()
        );
    }
    for (k, (n, a, g)) in tally {
        println!("  APCER {k}: full {a}/{n}, motion-only {g}/{n}");
    }
}

/// Passive scores of every near-frontal frame (|turn - resting turn| <= 0.07) of every real clip
/// and of each clip replayed on the simulated screens, one line per sequence, for choosing how a
/// session combines them (docs/liveness.md).
#[test]
#[ignore]
fn measure_passive_sequences() {
    let turns = common::root().join("../shared/test-faces/turns");
    let mut clips: Vec<(String, Vec<RgbImage>)> =
        ["lp_d0", "lp_d12", "lp_d13"].iter().map(|n| (n.to_string(), motion(n).0)).collect();
    for n in ["ht_capture4", "ht_capture5", "clm_cap12", "noturn_proc_gaze_left", "st_katiehill", "tps_driving"] {
        if turns.join(n).is_dir() {
            clips.push((n.to_string(), clip(&turns.join(n)).0));
        }
    }
    let mut seqs: Vec<(String, Vec<RgbImage>)> = Vec::new();
    for (n, frames) in &clips {
        seqs.push((format!("real {n}"), frames.clone()));
        for (k, s) in Screen::SET.iter().enumerate() {
            seqs.push((format!("screen{k} {n}"), frames.iter().map(|f| screen_frame(f, s)).collect()));
        }
    }
    for (name, frames) in &seqs {
        let mut rest: Vec<f32> = Vec::new();
        let mut scores = Vec::new();
        for f in frames {
            let Some(d) = detect(f) else { continue };
            let t = turn(&d.landmarks);
            if rest.len() < 3 {
                rest.push(t);
            }
            let r = rest.iter().sum::<f32>() / rest.len() as f32;
            if (t - r).abs() <= 0.07 && d.bbox.width.min(d.bbox.height) >= 60.0 {
                scores.push(format!(
                    "{:.3}",
                    live().score_box(f, [d.bbox.x, d.bbox.y, d.bbox.width, d.bbox.height]).unwrap().fused
                ));
            }
        }
        println!("SEQ {name}: {}", scores.join(" "));
    }
}

// ---------------------------------------------------------------- random, timed challenges

/// lp_d12's frames as a person's answers: the index of a frame facing the camera, and the frames
/// of its left and right turns (from the frame before the head leaves the frontal zone to the
/// frame after it is back).
struct Answers {
    front: usize,
    left: Vec<usize>,
    right: Vec<usize>,
}

fn answers() -> &'static Answers {
    static A: OnceLock<Answers> = OnceLock::new();
    A.get_or_init(|| {
        let (frames, _) = d12();
        let turns: Vec<f32> = frames.iter().map(|f| detect(f).map_or(0.0, |d| turn(&d.landmarks))).collect();
        let front = (0..10).min_by(|&a, &b| turns[a].abs().total_cmp(&turns[b].abs())).unwrap();
        let segment = |out: fn(f32) -> bool| {
            let first = turns.iter().position(|&t| out(t)).unwrap();
            let last = first + turns[first..].iter().position(|&t| !out(t)).unwrap();
            (first - 1..=last).collect::<Vec<_>>()
        };
        // Measured: front 2, left 11-17, right 24-33 (the Kotlin tests' camera plays these).
        Answers { front, left: segment(|t| t > 0.10), right: segment(|t| t < -0.10) }
    })
}

/// A person in front of the phone doing what the screen says: facing the camera until a turn is
/// asked, then turning that way (lp_d12's own turn), 120 ms a frame. Returns the end and every
/// (frame, time) pushed: the recording an attacker would make.
fn answer(challenge: Challenge) -> (ChallengeState, Vec<(usize, u64)>) {
    let (frames, _) = d12();
    let a = answers();
    let mut s = ChallengeSession::new(challenge, live());
    let mut pushed = Vec::new();
    let mut t = 0u64;
    let mut next = vec![a.front];
    while pushed.len() < 400 {
        let i = if next.is_empty() { a.front } else { next.remove(0) };
        let state = s.push(face(), live(), &frames[i], t).unwrap();
        pushed.push((i, t));
        t += 120;
        match state {
            ChallengeState::InProgress { hint: Hint::TurnLeft, .. } if next.is_empty() => next = a.left.clone(),
            ChallengeState::InProgress { hint: Hint::TurnRight, .. } if next.is_empty() => next = a.right.clone(),
            ChallengeState::InProgress { .. } => {}
            done => return (done, pushed),
        }
    }
    panic!("the session did not end in 400 frames");
}

/// Plays a recorded answer to a session with `challenge`.
fn replay(challenge: Challenge, recording: &[(usize, u64)]) -> ChallengeState {
    let (frames, _) = d12();
    let mut s = ChallengeSession::new(challenge, live());
    let mut last = None;
    for &(i, t) in recording {
        let state = s.push(face(), live(), &frames[i], t).unwrap();
        if state.is_done() {
            return state;
        }
        last = Some(state);
    }
    last.unwrap()
}

#[test]
fn a_person_following_the_prompts_passes_random_challenges_and_a_recording_fails_the_others() {
    // Bits 0-2: right (1) or left (0) for each turn; bits 3-5: the long (1) or short (0) hold.
    let asked = Challenge::numbered(0b000_010); // left, right, left; short holds
    let (state, recording) = answer(asked.clone());
    let ChallengeState::Passed(e) = state else { panic!("{state:?}") };
    let made: Vec<Movement> = e.turns.iter().map(|t| t.movement).collect();
    assert_eq!(made, asked.steps());
    for (other, why) in [
        (0b000_011, FailReason::WrongDirection), // right first
        (0b010_010, FailReason::TooEarly),       // the second turn asked 3.5 s after the first, not 0.5 s
    ] {
        let r = replay(Challenge::numbered(other), &recording);
        assert!(matches!(r, ChallengeState::Failed(f) if f == why), "challenge {other:06b}: {r:?}");
    }
    // A person answering a long hold passes; replayed to the short hold, its turn comes too late.
    let waited = Challenge::numbered(0b100_101); // right, left, right; the third after a long hold
    let (state, recording) = answer(waited.clone());
    assert!(matches!(state, ChallengeState::Passed(_)), "{state:?}");
    let r = replay(Challenge::numbered(0b000_101), &recording);
    assert!(matches!(r, ChallengeState::Failed(FailReason::TooLate)), "{r:?}");
    // The screen asks nothing while a hold runs: only "face the camera".
    let mut s = ChallengeSession::new(Challenge::numbered(0b001_000), live());
    let hints: Vec<Hint> = (0..8)
        .map(|k| match s.push(face(), live(), &d12().0[answers().front], k * 120).unwrap() {
            ChallengeState::InProgress { hint, .. } => hint,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(!hints.contains(&Hint::TurnLeft) && !hints.contains(&Hint::TurnRight), "{hints:?}");
}
