//! Choosing the face in a reference photo with someone else in it: the recipient framed in the
//! middle, a bystander nearer the lens (larger) to one side. The reference rule (the clear face
//! nearest the centre) keeps genuine pairs that "the largest clear face" loses to the bystander.
//! Real photos of real people, composed onto one canvas.

use crate::common;

use image::imageops::{overlay, resize, FilterType};
use salur_core::face::{cosine, FacePick, RgbImage};

/// `recipient` small in the middle of a 1280x720 frame, `bystander` large at the left edge.
fn with_bystander(recipient: &RgbImage, bystander: &RgbImage) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(1280, 720, image::Rgb([120, 120, 120]));
    // Scaled to height `h` (aspect kept), then its middle at most `max_w` wide.
    let fit = |img: &RgbImage, h: u32, max_w: u32| {
        let scaled = resize(img, img.width() * h / img.height(), h, FilterType::Triangle);
        let w = scaled.width().min(max_w);
        image::imageops::crop_imm(&scaled, (scaled.width() - w) / 2, 0, w, h).to_image()
    };
    let big = fit(bystander, 700, 430);
    overlay(&mut canvas, &big, 0, 10);
    let small = fit(recipient, 300, 260);
    overlay(&mut canvas, &small, i64::from(640 - small.width() / 2), i64::from(360 - small.height() / 2));
    canvas
}

#[test]
fn the_face_nearest_the_centre_is_the_recipient_not_the_bystander() {
    let engine = common::engine();
    let people = ["fr_obama", "fr_biden", "deepface_angelina", "deepface_elon", "fr_kit_harington", "deepface_jack"];
    let threshold = engine.config().match_threshold;
    let (mut centred_ok, mut largest_ok, mut plain_ok) = (0, 0, 0);
    for (i, person) in people.iter().enumerate() {
        let reference = common::photo(&format!("same/{person}/1.jpg"));
        let probe = engine.capture(&common::photo(&format!("same/{person}/2.jpg")), FacePick::Single).unwrap();
        let bystander = common::photo(&format!("same/{}/1.jpg", people[(i + 1) % people.len()]));
        let photo = with_bystander(&reference, &bystander);
        assert!(engine.detect(&photo).unwrap().len() >= 2, "{person}: both faces are seen");
        let score = |emb: &[f32]| cosine(emb, &probe.embedding);
        let plain = score(&engine.capture_reference(&reference).unwrap().embedding);
        let centred = score(&engine.capture_reference(&photo).unwrap().embedding);
        let largest = score(&engine.capture(&photo, FacePick::Largest).unwrap().embedding);
        eprintln!("{person}: alone {plain:.3}, centred {centred:.3}, largest {largest:.3}");
        plain_ok += usize::from(plain >= threshold);
        centred_ok += usize::from(centred >= threshold);
        largest_ok += usize::from(largest >= threshold);
        // The reference rule scores the recipient's own face: what the photo alone gives.
        assert!((centred - plain).abs() < 0.1, "{person}: centred {centred} vs alone {plain}");
    }
    assert_eq!(centred_ok, plain_ok, "every pair the plain photo accepts survives the bystander");
    assert_eq!(largest_ok, 0, "the largest face is the bystander: no genuine pair accepted");
    // The doorstep's single-face rule still refuses such a photo for a live capture.
    let crowded = with_bystander(&common::photo("same/fr_obama/1.jpg"), &common::photo("same/fr_biden/1.jpg"));
    assert!(matches!(engine.capture(&crowded, FacePick::Single), Err(salur_core::Error::MultipleFaces { .. })));
}

#[test]
fn a_small_or_soft_registry_photo_still_gives_a_reference_with_its_quality() {
    let engine = common::engine();
    let photo = common::photo("same/fr_obama/1.jpg");
    // A thumbnail-sized registry photo, then softened: the doorstep gates refuse it, the
    // reference rule keeps it and says how small and soft it was.
    let small = resize(&photo, photo.width() / 5, photo.height() / 5, FilterType::Triangle);
    let soft = image::imageops::blur(&small, 1.2);
    let refused = engine.capture(&soft, FacePick::Single);
    assert!(
        matches!(refused, Err(salur_core::Error::FaceTooSmall { .. } | salur_core::Error::TooBlurry { .. })),
        "{refused:?}"
    );
    let (template, quality) = engine.reference_template(&soft).unwrap();
    assert!(quality.face_px < engine.config().min_face_px || quality.sharpness < engine.config().min_sharpness);
    let probe = engine.capture(&common::photo("same/fr_obama/2.jpg"), FacePick::Single).unwrap();
    let score = engine.verify(&template, &probe).unwrap().score;
    eprintln!(
        "thumbnail reference: face {:.0} px, sharpness {:.0}, score {score:.3}",
        quality.face_px, quality.sharpness
    );
    assert!(score > 0.2, "still the same person, if less sure: {score}");
}
