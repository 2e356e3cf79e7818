//! The ways applications read results: the Python and C examples (ImgClassifyMeta via
//! gst_buffer_get_custom_meta), JSON lines from `classifyjson`, and (feature
//! `analytics`) the GStreamer analytics meta.
//!
//! The examples and `gst-launch-1.0` run in their own processes and load the plugin
//! that `cargo test` has just built (target/<profile>/libgstimgclassify.so).

use crate::common;

use std::path::Path;
use std::process::Command;

use common::programs::{ROOT, command, compile_c_example, ok, python, tmp};
use common::read_lines;

use gstimgclassify::Classification;
use gstimgclassify::gst;
use serde_json::Value;

fn coffee() -> String {
    common::data("coffee.png").display().to_string()
}

#[test]
fn python_example_prints_espresso() {
    let out = command(python())
        .arg(Path::new(ROOT).join("examples/read_meta.py"))
        .arg(coffee())
        .output()
        .expect("python runs");
    assert_eq!(ok("examples/read_meta.py", out), "espresso\n");
}

#[test]
fn python_example_reads_every_classifier() {
    let out = command(python())
        .arg(Path::new(ROOT).join("examples/read_meta.py"))
        .arg(coffee())
        .args(["mobilenet", "efficientnet"])
        .output()
        .expect("python runs");
    assert_eq!(
        ok("examples/read_meta.py", out),
        "mobilenet: espresso\nefficientnet: espresso\n"
    );
}

#[test]
fn c_example_compiles_and_prints_espresso() {
    let exe = compile_c_example("read_meta");
    let out = command(&exe)
        .arg(coffee())
        .output()
        .expect("read_meta runs");
    assert_eq!(ok("read_meta", out), "espresso\n");
    let out = command(&exe)
        .arg(coffee())
        .args(["mobilenet", "efficientnet"])
        .output()
        .expect("read_meta runs");
    assert_eq!(
        ok("read_meta with two classifiers", out),
        "mobilenet: espresso\nefficientnet: espresso\n"
    );
}

/// Every field of a JSON line equals the meta of the buffer it was written for.
fn assert_matches(line: &Value, meta: &Classification, buffer: &gst::BufferRef) {
    assert_eq!(line["model"], meta.model.as_str());
    assert_eq!(line["provider"], meta.provider.as_str());
    assert_eq!(line["inference-time"], meta.inference_time_ns);
    assert_eq!(line["labels"], serde_json::json!(meta.labels));
    assert_eq!(line["class-ids"], serde_json::json!(meta.class_ids));
    let scores: Vec<f64> = line["scores"]
        .as_array()
        .expect("scores array")
        .iter()
        .map(|s| s.as_f64().expect("finite score"))
        .collect();
    assert_eq!(scores, meta.scores, "scores round-trip exactly");
    assert_eq!(line["pts"].as_u64(), buffer.pts().map(|t| t.nseconds()));
    assert_eq!(
        line["duration"].as_u64(),
        buffer.duration().map(|t| t.nseconds())
    );
}

#[test]
fn json_lines_parse_and_match_the_meta_of_every_buffer() {
    let path = tmp("frames.jsonl");
    let run = common::run(&format!(
        "videotestsrc num-buffers=4 ! video/x-raw,width=160,height=120,framerate=25/1 \
         ! imgclassify top-k=5 ! classifyjson location={} ! appsink name=sink",
        path.display()
    ));
    let lines = read_lines(&path);
    assert_eq!(lines.len(), 4, "one line per classified buffer");
    for ((line, buffer), meta) in lines.iter().zip(&run.buffers).zip(run.results()) {
        let meta = meta.expect("every buffer classified");
        assert_matches(line, &meta, buffer);
        assert_eq!(meta.labels.len(), 5);
        // A plain segment from 0: running time and stream time are the PTS.
        assert_eq!(line["running-time"], line["pts"]);
        assert_eq!(line["stream-time"], line["pts"]);
    }
    assert_eq!(lines[1]["pts"], 40_000_000);

    // And a second, independent parser agrees. (On standard input: Python 3.13's
    // json.tool closes a named file before reading its lines.)
    let file = std::fs::File::open(&path).expect("JSON lines file");
    let out = Command::new(python())
        .args(["-m", "json.tool", "--json-lines"])
        .stdin(file)
        .output()
        .expect("python runs");
    ok("python3 -m json.tool --json-lines", out);
}

#[test]
fn json_lines_of_the_coffee_photo_say_espresso() {
    let path = tmp("coffee.jsonl");
    let run = common::run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! imgclassify \
         ! classifyjson location={} ! appsink name=sink",
        coffee(),
        path.display()
    ));
    let lines = read_lines(&path);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["labels"][0], "espresso");
    assert_eq!(lines[0]["class-ids"][0], 967);
    let meta = run.results()[0].clone().expect("meta");
    assert_matches(&lines[0], &meta, &run.buffers[0]);
}

#[test]
fn json_lines_stay_valid_for_awkward_labels() {
    let labels = [
        "say \"cheese\"",
        r"back\slash {}[],:",
        "tab\there \u{1} bell\u{7}",
        "café 日本語 🐈 \u{2028}",
    ];
    let labels_file = tmp("awkward-labels.txt");
    std::fs::write(&labels_file, labels.join("\n") + "\n").expect("labels file");
    let path = tmp("awkward.jsonl");
    let run = common::run(&format!(
        "videotestsrc pattern=black num-buffers=2 ! video/x-raw,format=RGB,width=64,height=48 \
         ! imgclassify model-file={} labels-file={} top-k=4 \
         ! classifyjson location={} ! appsink name=sink",
        common::fixture("four_classes.onnx"),
        labels_file.display(),
        path.display()
    ));
    let lines = read_lines(&path);
    assert_eq!(lines.len(), 2);
    for ((line, buffer), meta) in lines.iter().zip(&run.buffers).zip(run.results()) {
        let meta = meta.expect("meta");
        assert_matches(line, &meta, buffer);
        let mut got: Vec<&str> = line["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        got.sort();
        let mut want = labels.to_vec();
        want.sort();
        assert_eq!(got, want);
    }
}

#[test]
fn json_lines_to_standard_output_by_default() {
    let out = command("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=3",
            "!",
            "imgclassify",
            "!",
            "classifyjson",
            "!",
            "fakesink",
        ])
        .output()
        .expect("gst-launch-1.0 runs (install gstreamer1.0-tools)");
    let stdout = ok("gst-launch-1.0 … ! classifyjson ! fakesink", out);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON {l}: {e}")))
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[2]["pts"], 2 * 1_000_000_000u64 / 30);
}

#[test]
fn appending_keeps_earlier_lines() {
    let path = tmp("append.jsonl");
    std::fs::write(&path, "").expect("empty file");
    for _ in 0..2 {
        common::run(&format!(
            "videotestsrc num-buffers=2 ! imgclassify ! classifyjson location={} append=true \
             ! appsink name=sink",
            path.display()
        ));
    }
    assert_eq!(read_lines(&path).len(), 4);
    common::run(&format!(
        "videotestsrc num-buffers=1 ! imgclassify ! classifyjson location={} ! appsink name=sink",
        path.display()
    ));
    assert_eq!(
        read_lines(&path).len(),
        1,
        "without append the file is replaced"
    );
}

#[test]
fn appending_after_an_unfinished_line_starts_a_new_one() {
    let path = tmp("append-unfinished.jsonl");
    std::fs::write(&path, r#"{"a":1"#).expect("a file ending mid-line");
    common::run(&format!(
        "videotestsrc num-buffers=2 ! imgclassify ! classifyjson location={} append=true \
         ! appsink name=sink",
        path.display()
    ));
    let text = std::fs::read_to_string(&path).expect("readable");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0], r#"{"a":1"#,
        "the unfinished line is left as it was"
    );
    for line in &lines[1..] {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn unwritable_location_is_an_error_at_start_naming_the_path() {
    let path = tmp("no-such-folder/out.jsonl");
    let err = common::try_run(&format!(
        "videotestsrc num-buffers=1 ! imgclassify ! classifyjson location={} ! appsink name=sink",
        path.display()
    ))
    .err()
    .expect("error");
    assert!(
        err.contains(&format!("cannot open '{}' for writing", path.display())),
        "{err}"
    );
    assert!(err.contains("folder must exist"), "{err}");
}

#[test]
fn write_failure_is_an_error_not_a_panic() {
    let err = common::try_run(
        "videotestsrc num-buffers=3 ! imgclassify ! classifyjson location=/dev/full ! appsink name=sink",
    )
    .err()
    .expect("error");
    assert!(err.contains("could not write to '/dev/full'"), "{err}");
}

#[cfg(feature = "analytics")]
#[test]
fn analytics_cls_mtd_matches_the_meta() {
    let run = common::run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! imgclassify top-k=3 ! appsink name=sink",
        coffee()
    ));
    let meta = run.results()[0].clone().expect("meta");
    let cls = gstimgclassify::analytics::classifications(&run.buffers[0]);
    assert_eq!(cls.len(), 1, "one ClsMtd per classified frame");
    let (labels, levels): (Vec<String>, Vec<f32>) = cls[0].iter().cloned().unzip();
    assert_eq!(labels, meta.labels);
    assert_eq!(labels[0], "espresso");
    let scores: Vec<f32> = meta.scores.iter().map(|&s| s as f32).collect();
    assert_eq!(levels, scores);
}

/// The lines of a live example's output that report a result: "buffer …" or "message …",
/// each naming the classifier and a label.
fn assert_live_output(what: &str, stdout: &str) {
    let with_label = |kind: &str| {
        stdout
            .lines()
            .filter(|l| l.starts_with(kind) && l.contains("imgclassify0: ") && !l.contains(": -"))
            .count()
    };
    assert!(
        with_label("buffer ") > 0,
        "{what}: no labelled buffer in\n{stdout}"
    );
    assert!(
        with_label("message ") > 0,
        "{what}: no labelled message in\n{stdout}"
    );
}

#[test]
fn c_live_example_reads_appsink_buffers_and_bus_messages() {
    let exe = compile_c_example("live_appsink");
    let out = command(&exe)
        .arg("videotestsrc is-live=true num-buffers=20 ! video/x-raw,width=160,height=120,framerate=25/1")
        .output()
        .expect("live_appsink runs");
    assert_live_output("live_appsink", &ok("live_appsink", out));
}

#[test]
fn python_live_example_reads_appsink_buffers_and_bus_messages() {
    let out = command(python())
        .arg(Path::new(ROOT).join("examples/live_appsink.py"))
        .arg("videotestsrc is-live=true num-buffers=20 ! video/x-raw,width=160,height=120,framerate=25/1")
        .output()
        .expect("python runs");
    assert_live_output(
        "examples/live_appsink.py",
        &ok("examples/live_appsink.py", out),
    );
}

#[test]
fn live_examples_fail_on_a_pipeline_error() {
    let exe = compile_c_example("live_appsink");
    let bad = "filesrc location=/nonexistent.png ! decodebin ! videoconvert";
    let c = command(&exe).arg(bad).output().expect("live_appsink runs");
    assert!(
        !c.status.success(),
        "live_appsink exits non-zero on an error"
    );
    let py = command(python())
        .arg(Path::new(ROOT).join("examples/live_appsink.py"))
        .arg(bad)
        .output()
        .expect("python runs");
    assert!(
        !py.status.success(),
        "live_appsink.py exits non-zero on an error"
    );
}

/// facedetect (Debian: gstreamer1.0-opencv, opencv-data; scripts/setup.sh --dev) finds
/// the astronaut's face; both live examples print the region imgclassify labelled.
#[test]
fn live_examples_print_the_regions_of_a_detector() {
    let source = format!(
        "filesrc location={} ! decodebin ! videoconvert ! imagefreeze num-buffers=5 is-live=true \
         ! facedetect display=false ! videoconvert",
        common::data("astronaut.png").display()
    );
    let args = [source.as_str(), "target=regions", "region-types=face"];
    let exe = compile_c_example("live_appsink");
    let c = command(&exe)
        .args(args)
        .output()
        .expect("live_appsink runs");
    let py = command(python())
        .arg(Path::new(ROOT).join("examples/live_appsink.py"))
        .args(args)
        .output()
        .expect("python runs");
    for (what, out) in [("live_appsink", c), ("examples/live_appsink.py", py)] {
        let stdout = ok(what, out);
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("region face 97x97+175+64: ") && !l.ends_with(": -")),
            "{what}: {stdout}"
        );
    }
}
