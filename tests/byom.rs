//! Bring your own model: ONNX exports of every input and output kind, built from the
//! built-in MobileNetV2 by tests/data/models/make_byom.py, each classifying the coffee
//! photo through the element; the normalisation and activation properties; and the
//! models and values that must be refused.

use crate::common;

use std::path::PathBuf;

use gst::prelude::*;
use gstimgclassify::gst;

/// Top labels and scores of `photo` through `imgclassify {props}`.
fn classify(photo: &str, props: &str) -> (Vec<String>, Vec<f64>) {
    let run = common::run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! imgclassify {props} ! appsink name=sink",
        common::data(photo).display()
    ));
    let result = run.results()[0].clone().expect("a result");
    (result.labels, result.scores)
}

fn top1(props: &str) -> String {
    classify("coffee.png", props).0.remove(0)
}

#[test]
fn every_input_and_output_kind_says_espresso() {
    common::init();
    for model in [
        "uint8_nhwc.onnx",
        "float16.onnx",
        "float64_out.onnx",
        "out_nc11.onnx",
        "out_n1c.onnx",
        "out_c.onnx",
        "two_outputs.onnx",
    ] {
        assert_eq!(
            top1(&format!("model-file={}", common::byom(model))),
            "espresso",
            "{model}"
        );
    }
    // The output picked by name gives the same.
    assert_eq!(
        top1(&format!(
            "model-file={} output-name=logits",
            common::byom("two_outputs.onnx")
        )),
        "espresso"
    );
}

/// A model without normalisation metadata that wants BGR pixels 0..255.
#[test]
fn normalisation_properties_describe_a_model_without_metadata() {
    common::init();
    let model = common::byom("bgr_raw.onnx");
    assert_eq!(
        top1(&format!(
            "model-file={model} color-order=bgr input-mean=0 input-std=1"
        )),
        "espresso"
    );
    assert_eq!(
        top1(&format!(
            "model-file={model} color-order=bgr input-mean=0,0,0 input-std=1,1,1"
        )),
        "espresso"
    );
}

/// A uint8 model gets its pixels as they are, in the channel order `color-order` says;
/// a mean or std set for it is ignored with a warning.
#[test]
fn a_uint8_model_takes_color_order_and_warns_about_mean_and_std() {
    common::init();
    let model = common::byom("uint8_nhwc.onnx");
    let (rgb_labels, rgb) = classify("coffee.png", &format!("model-file={model}"));
    let (_, bgr) = classify("coffee.png", &format!("model-file={model} color-order=bgr"));
    assert_eq!(rgb_labels[0], "espresso");
    assert!(
        (rgb[0] - bgr[0]).abs() > 1e-3,
        "swapping red and blue changes the scores: {rgb:?} {bgr:?}"
    );
    let (_, explicit) = classify("coffee.png", &format!("model-file={model} color-order=rgb"));
    assert_eq!(explicit, rgb);
    let run = common::run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! imgclassify model-file={model} \
         input-mean=127 color-order=rgb ! appsink name=sink",
        common::data("coffee.png").display()
    ));
    assert_eq!(run.results()[0].clone().expect("a result").scores, rgb);
    let w = &run.warnings;
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("input-mean and input-std are ignored"),
        "{w:?}"
    );
}

fn above(photo: &str, props: &str, threshold: f64) -> Vec<String> {
    let (labels, scores) = classify(photo, &format!("{props} top-k=3 threshold={threshold}"));
    assert!(
        scores.iter().all(|&s| s >= threshold),
        "{labels:?} {scores:?}"
    );
    let mut labels = labels;
    labels.sort();
    labels
}

/// Independent attributes: the right set above the threshold for two photos, whether
/// the model gives scores (metadata says so) or logits (output-activation=sigmoid).
#[test]
fn multi_label_models_report_each_attribute_on_its_own() {
    common::init();
    for props in [
        format!("model-file={}", common::byom("attributes.onnx")),
        format!(
            "model-file={} output-activation=sigmoid",
            common::byom("attributes_logits.onnx")
        ),
    ] {
        assert_eq!(above("coffee.png", &props, 0.5), vec!["drink"], "{props}");
        assert_eq!(above("chelsea.png", &props, 0.5), vec!["cat"], "{props}");
    }
    // With `none` the scores are used as they are: not softened into a distribution.
    let (_, scores) = classify(
        "coffee.png",
        &format!(
            "model-file={} output-activation=none top-k=3",
            common::byom("attributes.onnx")
        ),
    );
    assert!(scores[0] > 0.9, "{scores:?}");
}

#[test]
fn unsupported_models_and_settings_are_clear_errors() {
    common::init();
    let int64 = common::fixture("int64_input.onnx");
    common::assert_error(
        &format!("model-file={int64}"),
        &[&int64, "input is int64", "float32, float16 or uint8"],
    );
    let two = common::byom("two_outputs.onnx");
    common::assert_error(
        &format!("model-file={two} output-name=nosuch"),
        &[
            "no output named 'nosuch'",
            "'preview', 'logits'",
            "output-name",
        ],
    );
    common::assert_error(
        &format!("model-file={two} output-name=preview"),
        &["[-1, 3, -1, -1]", "[N,C]"],
    );
    let one = common::fixture("one_class.onnx");
    common::assert_error(
        &format!("model-file={one} output-activation=softmax"),
        &[&one, "one class", "output-activation=sigmoid"],
    );
    // A multi-label model with a labels file of one line.
    let labels = std::env::temp_dir().join(format!("imgclassify-one-{}.txt", std::process::id()));
    std::fs::write(&labels, "cat\n").expect("labels");
    common::assert_error(
        &format!(
            "model-file={} labels-file={}",
            common::byom("attributes.onnx"),
            labels.display()
        ),
        &["1 labels", "3 classes"],
    );
    std::fs::remove_file(&labels).ok();
}

#[test]
fn bad_normalisation_values_are_refused_with_a_warning() {
    common::init();
    let pipeline = gst::Pipeline::new();
    let element = gst::ElementFactory::make("imgclassify")
        .build()
        .expect("element");
    pipeline.add(&element).expect("add");
    let bus = pipeline.bus().expect("bus");
    for (name, value, why) in [
        ("input-mean", "1,2", "2 values given"),
        ("input-std", "0", "0 is not a positive number"),
        ("input-std", "a,b,c", "'a' is not a number"),
    ] {
        element.set_property(name, value);
        assert_eq!(
            element.property::<String>(name),
            "",
            "{name} kept its value"
        );
        let warning = bus
            .pop_filtered(&[gst::MessageType::Warning])
            .expect("a warning");
        let gst::MessageView::Warning(w) = warning.view() else {
            unreachable!()
        };
        let text = w.error().to_string();
        assert!(
            text.starts_with(&format!("{name} '{value}': {why}")),
            "{text}"
        );
    }
    element.set_property("input-mean", "127");
    assert_eq!(element.property::<String>("input-mean"), "127");
}

/// models/set_metadata.py writes the metadata into a model, after which it needs no
/// properties: the BGR raw-pixel model above, tagged, says espresso on its own.
#[test]
fn metadata_written_by_set_metadata_replaces_the_properties() {
    common::init();
    if std::env::var_os(common::MADE_BEFORE).is_some() {
        // The caller ran the same tool on the host (see MADE_BEFORE).
        assert_eq!(
            top1(&format!("model-file={}", common::byom("bgr_tagged.onnx"))),
            "espresso"
        );
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("deps/venv/bin/python");
    let tool = root.join("models/set_metadata.py");
    let tagged = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bgr_tagged.onnx");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new(&python)
            .arg(&tool)
            .args(args)
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "set_metadata.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["--self-test".as_ref()]);
    let source = common::byom("bgr_raw.onnx");
    run(&[
        source.as_ref(),
        "--color-order".as_ref(),
        "bgr".as_ref(),
        "--mean".as_ref(),
        "0".as_ref(),
        "--std".as_ref(),
        "1".as_ref(),
        "--out".as_ref(),
        tagged.as_os_str(),
    ]);
    assert_eq!(
        top1(&format!("model-file={}", tagged.display())),
        "espresso"
    );
}
