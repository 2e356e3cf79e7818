//! The ways applications read results: the Python and C examples (ImgClassifyMeta via
//! gst_buffer_get_custom_meta), JSON lines from `classifyjson`, and (feature
//! `analytics`) the GStreamer analytics meta.
//!
//! The examples and `gst-launch-1.0` run in their own processes and load the plugin
//! that `cargo test` has just built (target/<profile>/libgstimgclassify.so).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use gstimgclassify::Classification;
use gstimgclassify::gst;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PLUGIN: &str = "libgstimgclassify.so";

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// A folder holding only the freshly built plugin, for GST_PLUGIN_PATH. The library is
/// built by `cargo test` itself (the crate is a cdylib too) next to the test binaries'
/// `deps/` folder; copying it keeps GStreamer from scanning everything else there.
/// Copied once per test process, before any test starts a program that loads it.
fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(copy_plugin)
}

fn copy_plugin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps folder");
    let candidates = [
        deps.parent().map(|p| p.join(PLUGIN)),
        Some(deps.join(PLUGIN)),
    ];
    let built = candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{PLUGIN} not found next to {}: run `cargo build` (the tests load the built plugin)",
                deps.display()
            )
        });
    let dir = tmp(&format!("plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("plugin folder");
    std::fs::copy(&built, dir.join(PLUGIN)).expect("copy plugin");
    dir
}

/// `program` with the environment that makes GStreamer find this build of the plugin,
/// with a registry of its own so no stale cache is used.
fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let dir = plugin_dir();
    let mut cmd = Command::new(program);
    cmd.current_dir(ROOT)
        .env("GST_PLUGIN_PATH", dir)
        .env("GST_REGISTRY", dir.join("registry.bin"));
    cmd
}

fn ok(what: &str, output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The system Python: PyGObject (python3-gi) is a Debian package, not in a venv.
fn python() -> String {
    let python = std::env::var("IMGCLASSIFY_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let probe = Command::new(&python)
        .args([
            "-c",
            "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst",
        ])
        .output();
    match probe {
        Ok(out) if out.status.success() => python,
        _ => panic!(
            "{python} cannot import PyGObject with GStreamer: install python3-gi and \
             gir1.2-gstreamer-1.0 (scripts/setup.sh does), or set IMGCLASSIFY_PYTHON"
        ),
    }
}

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
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "gstreamer-1.0"])
        .output()
        .expect("pkg-config runs (install pkg-config)");
    let flags = ok(
        "pkg-config gstreamer-1.0 (install libgstreamer1.0-dev)",
        flags,
    );
    let exe = tmp("read_meta");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let build = Command::new(&cc)
        .args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(Path::new(ROOT).join("examples/read_meta.c"))
        .args(flags.split_whitespace())
        .output()
        .unwrap_or_else(|e| panic!("{cc} runs: {e}"));
    ok("compiling examples/read_meta.c", build);
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

fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("JSON lines file");
    assert!(text.ends_with('\n'), "last line is complete: {text:?}");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON {l}: {e}")))
        .collect()
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
