//! Several classifiers on one stream: every result names its classifier, none overwrites
//! another, and every consumer (meta readers, messages, JSON, overlay) sees all of them.

use crate::common;

use std::path::PathBuf;

use gstimgclassify::gst;
use gstimgclassify::{Classification, Target};
use serde_json::Value;

fn coffee() -> String {
    common::data("coffee.png").display().to_string()
}

/// The photo, once, through `chain` (the classifiers) into the test's sink.
fn classify_coffee(chain: &str) -> common::Run {
    common::run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! imagefreeze num-buffers=1 ! {chain} ! appsink name=sink",
        coffee()
    ))
}

fn ids(results: &[Classification]) -> Vec<&str> {
    results.iter().map(|r| r.classifier.as_str()).collect()
}

#[test]
fn two_classifiers_each_add_a_result_named_after_the_element() {
    let run =
        classify_coffee("imgclassify name=first ! imgclassify name=second model=efficientnet");
    let all = Classification::all_from_buffer(&run.buffers[0]);
    assert_eq!(ids(&all), vec!["first", "second"]);
    let models: Vec<&str> = all.iter().map(|r| r.model.as_str()).collect();
    assert_eq!(models, vec!["mobilenet", "efficientnet"]);
    for r in &all {
        assert_eq!(r.labels[0], "espresso", "{}", r.classifier);
        assert_eq!(r.target, Target::Frame);
    }
    assert_eq!(
        Classification::from_buffer(&run.buffers[0]).as_ref(),
        all.first()
    );
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
}

#[test]
fn three_classifiers_with_a_stable_classifier_id() {
    let run = classify_coffee(
        "imgclassify classifier-id=imagenet-a ! imgclassify name=b model=efficientnet \
         ! imgclassify name=c input-size=160",
    );
    let all = Classification::all_from_buffer(&run.buffers[0]);
    assert_eq!(ids(&all), vec!["imagenet-a", "b", "c"]);
    assert!(all.iter().all(|r| r.labels[0] == "espresso"), "{all:?}");
}

#[test]
fn messages_name_their_classifier() {
    let run = classify_coffee(
        "imgclassify name=first post-messages=true ! imgclassify name=second model=efficientnet post-messages=true",
    );
    let named: Vec<&str> = run
        .messages
        .iter()
        .map(|m| m.get::<&str>("classifier").expect("classifier field"))
        .collect();
    assert_eq!(named, vec!["first", "second"]);
}

#[test]
fn the_same_id_twice_for_the_same_target_is_a_warning() {
    let run = classify_coffee(
        "imgclassify classifier-id=twin ! imgclassify classifier-id=twin model=efficientnet",
    );
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
    assert!(
        run.warnings[0].contains("'twin'") && run.warnings[0].contains("cannot be told apart"),
        "{}",
        run.warnings[0]
    );
    // Both results are still there.
    assert_eq!(Classification::all_from_buffer(&run.buffers[0]).len(), 2);

    let other_target = classify_coffee(
        "imgclassify classifier-id=twin ! imgclassify classifier-id=twin target=regions",
    );
    assert!(
        other_target.warnings.is_empty(),
        "{:?}",
        other_target.warnings
    );
}

#[test]
fn each_classifier_keeps_its_own_interval() {
    let run = common::run(
        "videotestsrc num-buffers=11 ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! imgclassify name=every ! imgclassify name=fifth inference-interval=5 ! appsink name=sink",
    );
    let fresh = |id: &str| -> Vec<usize> {
        run.buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| {
                Classification::all_from_buffer(b)
                    .iter()
                    .any(|r| r.classifier == id && r.fresh)
            })
            .map(|(i, _)| i)
            .collect()
    };
    assert_eq!(fresh("every"), (0..11).collect::<Vec<_>>());
    assert_eq!(fresh("fifth"), vec![0, 5, 10]);
    for b in &run.buffers {
        assert_eq!(
            ids(&Classification::all_from_buffer(b)),
            vec!["every", "fifth"]
        );
    }
}

fn json_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("imgclassify-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn json_lines_list_every_classification() {
    let path = json_file("classifiers.jsonl");
    let run = classify_coffee(&format!(
        "imgclassify name=first ! imgclassify name=second model=efficientnet ! classifyjson location={}",
        path.display()
    ));
    let text = std::fs::read_to_string(&path).expect("JSON lines");
    let _ = std::fs::remove_file(&path);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON"))
        .collect();
    assert_eq!(lines.len(), 1);
    let metas = Classification::all_from_buffer(&run.buffers[0]);
    let listed = lines[0]["classifications"].as_array().expect("array");
    assert_eq!(listed.len(), 2);
    for (json, meta) in listed.iter().zip(&metas) {
        assert_eq!(json["classifier"], meta.classifier.as_str());
        assert_eq!(json["model"], meta.model.as_str());
        assert_eq!(json["labels"][0], meta.labels[0].as_str());
        assert_eq!(json["scores"][0].as_f64(), Some(meta.scores[0]));
    }
    // The first classifier stays at the top level, as with one.
    assert_eq!(lines[0]["classifier"], "first");
    assert_eq!(lines[0]["labels"], listed[0]["labels"]);
}

/// What classifyoverlay draws on a grey RGBx frame carrying `results`: the number of
/// pixels it changed.
fn overlay_changes(results: &[Classification]) -> usize {
    let (w, h) = (640usize, 480usize);
    let (mut harness, _bus) = common::harness("classifyoverlay");
    harness.play();
    harness.set_src_caps_str(&format!(
        "video/x-raw,format=RGBx,width={w},height={h},framerate=30/1"
    ));
    let mut frame = gst::Buffer::from_mut_slice(vec![128u8; w * h * 4]);
    {
        let b = frame.get_mut().expect("writable");
        b.set_pts(gst::ClockTime::ZERO);
        for r in results {
            r.attach(b).expect("attach");
        }
    }
    let out = harness.push_and_pull(frame).expect("a frame out");
    let map = out.map_readable().expect("readable");
    map.chunks(4)
        .filter(|px| px[..3] != [128, 128, 128])
        .count()
}

#[test]
fn the_overlay_draws_every_classifier() {
    common::init();
    let vehicle = common::classification("vehicle", &["sports car", "convertible"], &[0.8, 0.1]);
    let colour = common::classification("colour", &["red", "blue"], &[0.7, 0.2]);
    let one = overlay_changes(std::slice::from_ref(&vehicle));
    let other = overlay_changes(std::slice::from_ref(&colour));
    let both = overlay_changes(&[vehicle, colour]);
    assert!(one > 0 && other > 0, "single renders draw: {one}, {other}");
    // Two stacked blocks with their names cover more than either block alone.
    assert!(
        both > one.max(other),
        "both {both}, one {one}, other {other}"
    );
}
