//! Real photos through a real pipeline give the ImageNet class they show.

use crate::common;

fn top1(model: &str, photo: &str, extra: &str) -> (String, f64) {
    let path = common::data(photo).display().to_string();
    let run = common::run(&format!(
        "filesrc location={path} ! decodebin ! videoconvert ! imgclassify model={model} {extra} \
         ! appsink name=sink"
    ));
    assert_eq!(run.buffers.len(), 1, "{photo}: one decoded picture");
    let result = run.results()[0]
        .clone()
        .unwrap_or_else(|| panic!("{photo}: no meta"));
    (result.labels[0].clone(), result.scores[0])
}

fn check_model(model: &str) {
    let expected = common::expected_labels();
    assert_eq!(
        expected.len(),
        5,
        "expected.tsv lists the five sample photos"
    );
    let mut wrong = Vec::new();
    for (photo, acceptable) in &expected {
        let (label, score) = top1(model, photo, "");
        println!("{model:>12} {photo:<20} {label} {score:.3}");
        if !acceptable.contains(&label) {
            wrong.push(format!(
                "{photo}: got '{label}' ({score:.3}), expected one of {acceptable:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{model}: {}", wrong.join("; "));
}

#[test]
fn mobilenet_recognises_the_sample_photos() {
    check_model("mobilenet");
}

#[test]
fn efficientnet_recognises_the_sample_photos() {
    check_model("efficientnet");
}

#[test]
fn scores_agree_with_the_reference_implementation() {
    // Reference: numpy + onnxruntime, resize 256 / centre crop 224 (models/README.md).
    let (label, score) = top1("mobilenet", "coffee.png", "");
    assert_eq!(label, "espresso");
    assert!(score > 0.95, "espresso {score}");
    let (label, score) = top1("mobilenet", "chelsea.png", "");
    assert_eq!(label, "Egyptian cat");
    assert!((score - 0.71).abs() < 0.08, "Egyptian cat {score}");
}

#[test]
fn every_resize_mode_still_sees_the_espresso() {
    for mode in ["center-crop", "stretch", "letterbox"] {
        let (label, _) = top1("mobilenet", "coffee.png", &format!("resize-mode={mode}"));
        assert_eq!(label, "espresso", "resize-mode={mode}");
    }
}

#[test]
fn grey_camera_input_is_classified_from_gray8() {
    let path = common::data("camera.png").display().to_string();
    let run = common::run(&format!(
        "filesrc location={path} ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 \
         ! imgclassify ! appsink name=sink"
    ));
    let result = run.results()[0].clone().expect("meta");
    assert_eq!(result.labels[0], "tripod");
}

#[test]
fn camera_formats_agree_on_the_photo() {
    // NV12 / YUY2 / I420 are what cameras deliver; the label must not depend on the format.
    for format in ["NV12", "YUY2", "I420", "BGRx"] {
        let path = common::data("motorcycle_left.png").display().to_string();
        let run = common::run(&format!(
            "filesrc location={path} ! decodebin ! videoconvert ! video/x-raw,format={format} \
             ! imgclassify ! appsink name=sink"
        ));
        let result = run.results()[0].clone().expect("meta");
        assert_eq!(result.labels[0], "moped", "{format}");
    }
}

#[test]
fn every_new_camera_and_10bit_format_sees_the_espresso() {
    // videoconvert makes the format upstream, as a camera or decoder would deliver it.
    for format in [
        "NV21",
        "UYVY",
        "YVYU",
        "Y42B",
        "Y444",
        "I420_10LE",
        "P010_10LE",
        "Y444_10LE",
        "YV12",
    ] {
        let path = common::data("coffee.png").display().to_string();
        let run = common::run(&format!(
            "filesrc location={path} ! decodebin ! videoconvert ! video/x-raw,format={format} \
             ! imgclassify ! appsink name=sink"
        ));
        let result = run.results()[0].clone().expect("meta");
        let (label, score) = (&result.labels[0], result.scores[0]);
        assert_eq!(label, "espresso", "{format}");
        assert!(score > 0.9, "{format}: espresso {score}");
    }
}

#[test]
fn a_10bit_h264_stream_is_classified_straight_from_the_decoder() {
    // High 10 H.264 made here, decoded by avdec_h264 to I420_10LE: no videoconvert
    // between the decoder and imgclassify.
    let path = common::data("coffee.png").display().to_string();
    let run = common::run(&format!(
        "filesrc location={path} ! decodebin ! videoconvert ! video/x-raw,format=I420_10LE \
         ! x264enc ! video/x-h264,profile=high-10 ! h264parse ! avdec_h264 \
         ! video/x-raw,format=I420_10LE ! imgclassify ! appsink name=sink"
    ));
    let result = run.results()[0].clone().expect("meta");
    assert_eq!(result.labels[0], "espresso");
}
