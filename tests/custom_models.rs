//! Custom models: logits vs. probabilities, labels from metadata or defaults, NaN output.

use crate::common;

/// The fixtures' weights (tests/data/models/make_fixtures.py) and the scores they give
/// for a black frame under ImageNet normalisation.
fn expected_probabilities() -> Vec<f64> {
    let w = [
        [-1.0, -0.5, 0.0, 0.0],
        [-1.0, -0.5, -0.5, 0.0],
        [-1.0, -1.0, -0.8, 0.0],
    ];
    let mean = [0.485, 0.456, 0.406];
    let std = [0.229, 0.224, 0.225];
    let x: Vec<f64> = (0..3).map(|c| -mean[c] / std[c]).collect();
    let logits: Vec<f64> = (0..4)
        .map(|k| (0..3).map(|c| x[c] * w[c][k]).sum())
        .collect();
    let sum: f64 = logits.iter().map(|l| l.exp()).sum();
    logits.iter().map(|l| l.exp() / sum).collect()
}

fn classify_black(model: &str) -> gstimgclassify::Classification {
    let path = common::fixture(model);
    let run = common::run(&format!(
        "videotestsrc pattern=black num-buffers=1 ! video/x-raw,format=RGB,width=64,height=48 \
         ! imgclassify model-file={path} top-k=4 ! appsink name=sink"
    ));
    run.results()[0].clone().expect("meta")
}

#[test]
fn logits_are_softmaxed_and_metadata_labels_used() {
    let result = classify_black("four_classes.onnx");
    assert_eq!(result.labels, vec!["zero", "one", "two", "three"]);
    assert_eq!(result.model, "four_classes");
    for (got, want) in result.scores.iter().zip(expected_probabilities()) {
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }
}

#[test]
fn probabilities_are_not_softmaxed_twice() {
    let result = classify_black("probabilities.onnx");
    assert_eq!(
        result.labels,
        vec!["class 0", "class 1", "class 2", "class 3"]
    );
    for (got, want) in result.scores.iter().zip(expected_probabilities()) {
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }
}

#[test]
fn nan_scores_warn_once_and_attach_nothing() {
    let path = common::fixture("nan_scores.onnx");
    let run = common::run(&format!(
        "videotestsrc num-buffers=3 ! video/x-raw,width=32,height=32 ! imgclassify model-file={path} \
         ! appsink name=sink"
    ));
    assert_eq!(run.buffers.len(), 3, "no frame is lost");
    assert!(run.results().iter().all(Option::is_none));
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(run.warnings[0].contains("NaN"), "{:?}", run.warnings);
}

/// Logits whose all-zero warm-up output looks like a distribution: the first real
/// frame shows they are logits, and they are softmaxed.
#[test]
fn logits_that_looked_like_probabilities_at_warm_up_are_softmaxed() {
    let result = classify_black("logits_like_probabilities.onnx");
    assert_eq!(result.labels, vec!["zero", "one", "two", "three"]);
    for (got, want) in result.scores.iter().zip(expected_probabilities()) {
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }
}

/// A model that declares a batch axis but fixes the batch at one inside is run one
/// region at a time instead of failing the stream when two regions arrive.
#[test]
fn a_batch_axis_the_model_does_not_honour_falls_back_to_one_at_a_time() {
    use gst::prelude::*;
    use gstimgclassify::gst;
    common::init();
    let path = common::fixture("batch_fixed_inside.onnx");
    let mut h = gst_check::Harness::new_parse(&format!(
        "imgclassify name=c target=regions model-file={path}"
    ));
    let element = common::named(&h, "c");
    h.play();
    h.set_src_caps_str("video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
    let buffer = common::frame_with_rois(
        vec![0u8; 64 * 48 * 3],
        &[(1, (0, 0, 32, 24)), (2, (32, 24, 32, 24))],
    );
    let out = h.push_and_pull(buffer).expect("the frame passes");
    let meta = gstimgclassify::Classification::from_buffer(&out).expect("meta");
    assert_eq!(meta.regions.len(), 2);
    for region in &meta.regions {
        assert_eq!(region.labels[0], "zero", "black regions give class 0");
    }
    let stats = element.property::<gst::Structure>("stats");
    assert_eq!(stats.get::<u64>("inference-calls").expect("field"), 2);
}

/// What a greyscale fixture (tests/data/models/make_fixtures.py) answers for one frame
/// of `colour` (0xAARRGGBB) converted to `format`: its top label and the mean
/// brightness it saw, 0..1.
fn grey_model_sees(model: &str, format: &str, colour: u32) -> (String, f64) {
    let path = common::fixture(model);
    let run = common::run(&format!(
        "videotestsrc pattern=solid-color foreground-color={colour} num-buffers=1 \
         ! video/x-raw,format=RGB,width=64,height=48 ! videoconvert \
         ! video/x-raw,format={format} ! imgclassify model-file={path} top-k=2 \
         ! appsink name=sink"
    ));
    let result = run.results()[0].clone().expect("meta");
    let bright = result
        .labels
        .iter()
        .position(|l| l == "bright")
        .expect("both labels");
    (result.labels[0].clone(), result.scores[bright])
}

#[test]
fn greyscale_models_get_the_luma_of_every_format() {
    // White, black and RGB grey 128; one-channel luma in 0..1 after the model's scale.
    let cases = [
        (0xffff_ffff_u32, "bright", 1.0),
        (0xff00_0000, "dark", 0.0),
        (0xff80_8080, "bright", 128.0 / 255.0),
    ];
    for model in ["grey_nchw.onnx", "grey_nhwc.onnx"] {
        for format in [
            "RGB",
            "BGRx",
            "GRAY8",
            "I420",
            "YV12",
            "NV12",
            "YUY2",
            "Y444_10LE",
        ] {
            for (colour, label, brightness) in cases {
                let (top, seen) = grey_model_sees(model, format, colour);
                assert_eq!(top, label, "{model} {format} {colour:#x}");
                // Within a level of 255: videoconvert rounds grey 128 to 8-bit
                // limited-range Y' 126, which is 128.08, and to 10-bit Y' a little
                // higher (128.6).
                assert!(
                    (seen - brightness).abs() < 1.0 / 255.0,
                    "{model} {format} {colour:#x}: {seen} vs {brightness}"
                );
            }
        }
    }
}
