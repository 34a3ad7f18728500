//! Bad captures and bad files give the typed errors a worker can act on, never a panic.

use crate::common;

use std::io::Cursor;

use image::{ImageFormat, RgbImage};
use salur_core::face::{decode_image, FaceConfig, FaceEngine, FacePick, Outcome, Template};
use salur_core::Error;

fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn file(rel: &str) -> Vec<u8> {
    std::fs::read(common::faces().join(rel)).unwrap()
}

fn names(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(common::faces().join(dir))
        .unwrap()
        .map(|e| format!("{dir}/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    v.sort();
    v
}

#[test]
fn every_multi_face_photo_is_refused_with_its_faces_unless_the_largest_is_asked_for() {
    let engine = common::engine();
    let photos = names("multi");
    assert_eq!(photos.len(), 12);
    for p in photos {
        let img = common::photo(&p);
        match engine.capture(&img, FacePick::Single) {
            Err(Error::MultipleFaces { faces }) => assert!(faces.len() >= 2, "{p}"),
            other => panic!("{p}: expected MultipleFaces, got {other:?}"),
        }
        assert!(engine.capture(&img, FacePick::Largest).is_ok(), "{p}");
    }
}

#[test]
fn every_photo_without_a_face_says_so() {
    let engine = common::engine();
    let photos = names("noface");
    assert_eq!(photos.len(), 10);
    for p in photos {
        let err = engine.capture(&common::photo(&p), FacePick::Single).unwrap_err();
        assert!(matches!(err, Error::NoFace), "{p}: {err:?}");
        assert!(err.hint().is_some());
    }
}

#[test]
fn a_tiny_face_is_too_small() {
    let img = common::photo("single/skimage_astronaut.jpg");
    let tiny = image::imageops::resize(&img, 110, 110, image::imageops::FilterType::Triangle);
    let err = common::engine().capture(&tiny, FacePick::Single).unwrap_err();
    assert!(matches!(err, Error::FaceTooSmall { .. }), "{err:?}");
}

#[test]
fn a_dark_photo_is_too_dark() {
    let mut img = common::photo("same/fr_obama/1.jpg");
    img.pixels_mut().for_each(|p| p.0 = p.0.map(|c| c / 8));
    let err = common::engine().capture(&img, FacePick::Single).unwrap_err();
    assert!(matches!(err, Error::TooDark { .. }), "{err:?}");
}

#[test]
fn a_blurred_photo_is_too_blurry() {
    let img = image::imageops::blur(&common::photo("same/fr_obama/1.jpg"), 6.0);
    let err = common::engine().capture(&img, FacePick::Single).unwrap_err();
    assert!(matches!(err, Error::TooBlurry { .. }), "{err:?}");
}

#[test]
fn broken_files_are_typed_errors() {
    let jpeg = file("same/fr_obama/1.jpg");
    assert!(matches!(decode_image(&jpeg[..jpeg.len() / 2]), Err(Error::TruncatedImage)));
    let png = encode(&common::photo("single/skimage_astronaut.jpg"), ImageFormat::Png);
    let cut = decode_image(&png[..png.len() / 2]).unwrap_err();
    assert!(matches!(cut, Error::TruncatedImage | Error::CorruptImage(_)), "{cut:?}");
    let mut garbage = vec![0xFF, 0xD8, 0xFF, 0xE0];
    garbage.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    garbage.extend([0xFF, 0xD9]);
    assert!(matches!(decode_image(&garbage), Err(Error::CorruptImage(_) | Error::TruncatedImage)));
    assert!(matches!(decode_image(b"NIK,name\n3171,Siti\n"), Err(Error::NotAnImage)));
    assert!(matches!(decode_image(&[]), Err(Error::NotAnImage)));
}

/// A PNG that declares 30000 x 30000 pixels (2.7 GB as RGB) and holds almost nothing.
fn png_bomb_header() -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(30_000u32.to_be_bytes());
    ihdr.extend(30_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (len, chunk) in [(13u32, ihdr), (2, b"IDAT\x78\x9c".to_vec()), (0, b"IEND".to_vec())] {
        png.extend(len.to_be_bytes());
        png.extend(&chunk);
        png.extend(crc32(&chunk).to_be_bytes());
    }
    png
}

#[test]
fn a_huge_image_is_refused_from_its_header() {
    match decode_image(&png_bomb_header()) {
        Err(Error::ImageTooLarge { width: 30_000, height: 30_000, .. }) => {}
        other => panic!("expected ImageTooLarge, got {other:?}"),
    }
}

#[test]
fn a_wrong_model_file_is_refused_by_hash() {
    let dir = common::root().join("models");
    let yunet = std::fs::read(dir.join("face_detection_yunet_2023mar_int8bq.onnx")).unwrap();
    let mut sface = std::fs::read(dir.join("face_recognition_sface_2021dec_int8bq.onnx")).unwrap();
    sface[1000] ^= 1;
    let err = FaceEngine::from_bytes(&yunet, &sface, FaceConfig::default()).err().unwrap();
    assert!(matches!(err, Error::ModelHash { .. }), "{err:?}");
    let err = FaceEngine::from_bytes(&sface, &yunet, FaceConfig::default()).err().unwrap();
    assert!(matches!(err, Error::ModelHash { .. }), "{err:?}");
}

#[test]
fn verify_gives_three_bands_and_checks_the_template_model() {
    let engine = common::engine();
    let reference = engine.template(&common::photo("same/fr_biden/1.jpg"), FacePick::Single).unwrap();
    let same = engine.capture(&common::photo("same/fr_biden/2.jpg"), FacePick::Single).unwrap();
    let other = engine.capture(&common::photo("same/fr_obama/1.jpg"), FacePick::Single).unwrap();
    let accept = engine.verify(&reference, &same).unwrap();
    assert_eq!(accept.outcome, Outcome::Accept);
    assert_eq!(engine.verify(&reference, &other).unwrap().outcome, Outcome::Reject);

    // The same genuine score just under a stricter threshold falls in the grey zone: retry.
    let strict = FaceConfig { match_threshold: accept.score + 0.02, ..FaceConfig::default() };
    let strict = FaceEngine::from_dir(&common::root().join("models"), strict).unwrap();
    let retry = strict.verify(&reference, &same).unwrap();
    assert_eq!(retry.outcome, Outcome::Retry);
    assert!(!retry.reasons.is_empty());

    // The evidence crop kept with a receipt: a small JPEG of the aligned face.
    let jpeg = FaceEngine::crop_jpeg(&same.crop).unwrap();
    assert!(jpeg.len() < 12_000, "{} bytes", jpeg.len());
    assert_eq!(decode_image(&jpeg).unwrap().dimensions(), (112, 112));

    let foreign = Template { model_sha256: [0; 32], ..reference.clone() };
    assert!(matches!(engine.verify(&foreign, &same), Err(Error::InvalidTemplate(_))));
    let decoded = Template::decode(&reference.encode()).unwrap();
    assert_eq!(engine.verify(&decoded, &same).unwrap().score, accept.score);
}

#[test]
fn enrolment_fuses_one_person_and_refuses_two() {
    let engine = common::engine();
    let [a, b, c] = ["same/fr_obama/1.jpg", "same/fr_obama/2.jpg", "same/fr_biden/1.jpg"].map(common::photo);
    let t = engine.enroll(&[a.clone(), b]).unwrap();
    assert_eq!(t.captures, 2);
    let probe = engine.capture(&common::photo("hard/fr_obama_240p.jpg"), FacePick::Single).unwrap();
    assert_eq!(engine.verify(&t, &probe).unwrap().outcome, Outcome::Accept);
    let err = engine.enroll(&[a, c]).unwrap_err();
    assert!(matches!(err, Error::EnrolmentMismatch { a: 0, b: 1, .. }), "{err:?}");
}
