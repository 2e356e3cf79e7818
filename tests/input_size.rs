//! `input-size`: a model with dynamic height and width runs at another square size; a
//! fixed-size model accepts only its own; sizes out of range stop NULL→READY.

use crate::common;

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;

fn classify_photo(photo: &str, props: &str) -> Classification {
    let path = common::data(photo).display().to_string();
    let run = common::run(&format!(
        "filesrc location={path} ! decodebin ! videoconvert ! imgclassify {props} ! appsink name=sink"
    ));
    assert_eq!(run.buffers.len(), 1, "{photo}: one decoded picture");
    run.results()[0]
        .clone()
        .unwrap_or_else(|| panic!("{photo} with '{props}': no meta"))
}

#[test]
fn mobilenet_at_160_still_sees_the_espresso() {
    let own = classify_photo("coffee.png", "model=mobilenet");
    let small = classify_photo("coffee.png", "model=mobilenet input-size=160");
    println!(
        "224: {} {:.4}; 160: {} {:.4}",
        own.labels[0], own.scores[0], small.labels[0], small.scores[0]
    );
    assert_eq!(small.labels[0], "espresso");
    // Other scores prove the model really ran on a 160x160 tensor.
    assert_ne!(small.scores, own.scores);
}

#[test]
fn the_models_own_size_gives_the_default_result() {
    let own = classify_photo("coffee.png", "model=mobilenet");
    let same = classify_photo("coffee.png", "model=mobilenet input-size=224");
    assert_eq!(same.labels, own.labels);
    assert_eq!(same.scores, own.scores);
}

#[test]
fn a_fixed_size_model_runs_at_its_own_size() {
    let model = common::fixture("fixed_64.onnx");
    let run = common::run(&format!(
        "videotestsrc num-buffers=1 pattern=black ! imgclassify model-file={model} input-size=64 \
         ! appsink name=sink"
    ));
    let result = run.results()[0].clone().expect("meta");
    // A black frame makes class 0 win (see make_fixtures.py).
    assert_eq!(result.labels[0], "zero");
}

#[test]
fn a_fixed_size_model_refuses_another_size() {
    let model = common::fixture("fixed_64.onnx");
    common::assert_error(
        &format!("model-file={model} input-size=224"),
        &[
            &model,
            "fixed at 64x64",
            "input-size=224",
            "set input-size=0",
            "or input-size=64",
        ],
    );
    let model = common::fixture("four_classes.onnx");
    common::assert_error(
        &format!("model-file={model} input-size=32"),
        &[&model, "fixed at 8x8", "input-size=32", "set input-size=0"],
    );
}

/// The property's range stops at 1024, so GLib refuses more when set; sizes under 32
/// fail NULL→READY.
#[test]
fn sizes_out_of_range_are_refused() {
    common::init();
    let element = gst::ElementFactory::make("imgclassify")
        .build()
        .expect("imgclassify");
    let spec = element
        .find_property("input-size")
        .expect("input-size")
        .downcast::<gst::glib::ParamSpecUInt>()
        .expect("a uint");
    assert_eq!((spec.minimum(), spec.maximum()), (0, 1024));
    for size in ["16", "31"] {
        common::assert_error(
            &format!("input-size={size}"),
            &[
                &format!("input-size={size} is out of range"),
                "input-size=0",
                "32 to 1024",
            ],
        );
    }
}

/// The first result of a pipeline whose `imgclassify` is named `c`, with `input-size`
/// set to `size` only once the model is loaded (READY).
fn first_result_after_setting_in_ready(p: &gst::Pipeline, size: u32) -> Classification {
    let sink = p
        .by_name("sink")
        .expect("sink")
        .downcast::<gst_app::AppSink>()
        .expect("appsink");
    p.set_state(gst::State::Ready).expect("ready");
    p.by_name("c")
        .expect("element")
        .set_property("input-size", size);
    p.set_state(gst::State::Playing).expect("plays");
    let sample = sink
        .try_pull_sample(gst::ClockTime::from_seconds(60))
        .expect("a frame within 60 s");
    let result = Classification::from_buffer(sample.buffer().expect("buffer")).expect("meta");
    p.set_state(gst::State::Null).expect("stops");
    result
}

#[test]
fn a_change_while_loaded_waits_for_null() {
    common::init();
    let path = common::data("coffee.png").display().to_string();
    // pngdec, not decodebin: its pads are static, so the pipeline links again after NULL.
    let description = format!(
        "filesrc location={path} ! pngdec ! videoconvert ! imgclassify name=c \
         ! appsink name=sink sync=false"
    );
    let p = gst::parse::launch(&description)
        .expect("parses")
        .downcast::<gst::Pipeline>()
        .expect("pipeline");
    let own = classify_photo("coffee.png", "");
    let small = classify_photo("coffee.png", "input-size=160");
    // Set in READY: the loaded model keeps its size for this run...
    let first = first_result_after_setting_in_ready(&p, 160);
    assert_eq!(first.scores, own.scores);
    // ...and the next load uses the new one.
    let second = first_result_after_setting_in_ready(&p, 160);
    assert_eq!(second.scores, small.scores);
}
