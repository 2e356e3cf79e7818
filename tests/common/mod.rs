//! Shared set-up for the integration tests: GStreamer with the plugin registered,
//! paths of the committed test data, a pipeline runner that collects buffers and
//! messages, and the same for one element in a harness.
#![allow(dead_code)]

pub mod playing;
pub mod programs;
pub mod servers;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, Once, OnceLock};

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::{Classification, Target};

pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().expect("GStreamer initialises");
        gstimgclassify::plugin_register_static().expect("plugin registers");
        // The built-in models are part of the set-up; without them the tests cannot mean anything.
        if let Err(e) = gstimgclassify::testing::model::zoo::resolve("mobilenet") {
            panic!("{e}");
        }
    });
}

pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn fixture(name: &str) -> String {
    data("models").join(name).display().to_string()
}

/// What a pipeline run produced.
pub struct Run {
    pub buffers: Vec<gst::Buffer>,
    pub messages: Vec<gst::Structure>,
    pub warnings: Vec<String>,
}

impl Run {
    pub fn results(&self) -> Vec<Option<Classification>> {
        self.buffers
            .iter()
            .map(|b| Classification::from_buffer(b))
            .collect()
    }
}

/// Runs `description` (which must end in `appsink name=sink`) to EOS and collects
/// every buffer and every `imgclassify` and `imgclassify-change` element message. Panics on an error message.
pub fn run(description: &str) -> Run {
    try_run(description).unwrap_or_else(|e| panic!("pipeline '{description}' failed: {e}"))
}

/// Like `run`, but returns the error message text instead of panicking.
pub fn try_run(description: &str) -> Result<Run, String> {
    try_run_pipeline(&pipeline(description))
}

/// The pipeline of a gst-launch `description`, with the plugin registered.
pub fn pipeline(description: &str) -> gst::Pipeline {
    init();
    gst::parse::launch(description)
        .expect("pipeline parses")
        .downcast::<gst::Pipeline>()
        .expect("is a pipeline")
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Held by every test of `tests/serial.rs` (they count process-wide things: sessions,
/// threads, file descriptors; or time the element), so that they run one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Files `msg` into `run` (`imgclassify` element messages, warnings) or, for the first
/// error, into `failure`.
fn collect(msg: gst::Message, run: &mut Run, failure: &mut Option<String>) {
    match msg.view() {
        gst::MessageView::Element(e) => {
            if let Some(s) = e
                .structure()
                .filter(|s| ["imgclassify", "imgclassify-change"].contains(&s.name().as_str()))
            {
                run.messages.push(s.to_owned());
            }
        }
        gst::MessageView::Warning(w) => {
            run.warnings
                .push(format!("{} ({:?})", w.error(), w.debug()))
        }
        gst::MessageView::Error(e) => {
            failure.get_or_insert(format!("{} ({:?})", e.error(), e.debug()));
        }
        _ => {}
    }
}

/// `try_run` for a pipeline built by hand.
pub fn try_run_pipeline(pipeline: &gst::Pipeline) -> Result<Run, String> {
    let sink = pipeline
        .by_name("sink")
        .expect("pipeline has an appsink named sink")
        .downcast::<gst_app::AppSink>()
        .expect("sink is an appsink");
    sink.set_property("sync", false);
    let bus = pipeline.bus().expect("pipeline has a bus");
    let started = pipeline.set_state(gst::State::Playing);
    let mut run = Run {
        buffers: Vec::new(),
        messages: Vec::new(),
        warnings: Vec::new(),
    };
    let mut failure = None;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    if started.is_ok() {
        // Poll both: an error upstream means no EOS ever reaches the sink.
        loop {
            while let Some(msg) = bus.pop() {
                collect(msg, &mut run, &mut failure);
            }
            if failure.is_some() || std::time::Instant::now() > deadline {
                break;
            }
            match sink.try_pull_sample(gst::ClockTime::from_mseconds(50)) {
                Some(sample) => run.buffers.extend(sample.buffer_owned()),
                None if sink.is_eos() => break,
                None => {}
            }
        }
    }
    while let Some(msg) = bus.pop() {
        collect(msg, &mut run, &mut failure);
    }
    if std::time::Instant::now() > deadline {
        failure.get_or_insert("pipeline did not reach EOS within 120 s".into());
    }
    pipeline
        .set_state(gst::State::Null)
        .expect("pipeline stops");
    if started.is_err() && failure.is_none() {
        failure = Some("state change failed without an error message".into());
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(run),
    }
}

/// Raw video caps of `format`, `width` × `height`, at `fps` frames a second: what the
/// tests that push frames of their own give a harness.
pub fn raw_caps(format: &str, (width, height): (i32, i32), fps: i32) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("format", format)
        .field("width", width)
        .field("height", height)
        .field("framerate", gst::Fraction::new(fps, 1))
        .build()
}

/// A harness around `launch` (one element and its properties, as in a launch line), not
/// yet playing, and the bus its messages go to: outside a pipeline an element has no bus,
/// and what it posts would be lost.
/// A playing `imgclassify target=regions` with `props`, fed RGB frames of `size` at
/// 30 fps.
pub fn regions_harness(props: &[(&str, &str)], size: (usize, usize)) -> gst_check::Harness {
    init();
    let mut h = gst_check::Harness::new("imgclassify");
    let element = h.element().expect("element");
    element.set_property_from_str("target", "regions");
    for (k, v) in props {
        element.set_property_from_str(k, v);
    }
    h.play();
    h.set_src_caps(raw_caps("RGB", (size.0 as i32, size.1 as i32), 30));
    h
}

pub fn harness(launch: &str) -> (gst_check::Harness, gst::Bus) {
    init();
    let h = gst_check::Harness::new_parse(launch);
    let bus = gst::Bus::new();
    h.element().expect("harnessed element").set_bus(Some(&bus));
    (h, bus)
}

/// The element named `name` in the bin a harness made from a launch line.
pub fn named(h: &gst_check::Harness, name: &str) -> gst::Element {
    h.element()
        .and_then(|e| e.downcast::<gst::Bin>().ok())
        .and_then(|bin| bin.by_name(name))
        .unwrap_or_else(|| panic!("no element named {name} in the harness"))
}

/// Pushes `next()` into `h` until a buffer comes out carrying a classification, at most
/// `limit` frames 10 ms apart: the answer of `mode=async`'s inference thread, which is a
/// few frames away. None when no answer came.
pub fn first_answer(
    h: &mut gst_check::Harness,
    bus: &gst::Bus,
    limit: usize,
    mut next: impl FnMut() -> gst::Buffer,
) -> Option<gst::Buffer> {
    for _ in 0..limit {
        let out = push_and_pull(h, bus, next());
        if Classification::from_buffer(&out).is_some() {
            return Some(out);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

/// Pushes `buffer` into `h` and pulls what comes out; a refused push fails the test with
/// the error the element posted on `bus`.
pub fn push_and_pull(
    h: &mut gst_check::Harness,
    bus: &gst::Bus,
    buffer: gst::Buffer,
) -> gst::Buffer {
    if let Err(flow) = h.push(buffer) {
        let error = bus.pop_filtered(&[gst::MessageType::Error]);
        panic!("push refused with {flow:?}: {error:?}");
    }
    h.pull().expect("a buffer comes out")
}

/// `run` for one element in a harness instead of a pipeline: pushes `frames` deep copies
/// of `frame`, timestamped at the frame rate of `caps` as `videotestsrc` would, and
/// collects every buffer and every `imgclassify` element message. Panics on an error
/// message.
pub fn run_harness(launch: &str, caps: &gst::Caps, frame: &gst::Buffer, frames: u64) -> Run {
    let (mut h, bus) = harness(launch);
    h.play();
    h.set_src_caps(caps.clone());
    let rate = caps
        .structure(0)
        .and_then(|s| s.get::<gst::Fraction>("framerate").ok())
        .expect("caps with a frame rate");
    let (num, den) = (rate.numer() as u64, rate.denom() as u64);
    let at = |n: u64| gst::ClockTime::from_nseconds(n * den * 1_000_000_000 / num);
    let mut run = Run {
        buffers: Vec::new(),
        messages: Vec::new(),
        warnings: Vec::new(),
    };
    for n in 0..frames {
        let mut buffer = frame.copy_deep().expect("copy");
        {
            let b = buffer.get_mut().expect("writable");
            b.set_pts(at(n));
            b.set_duration(at(n + 1) - at(n));
        }
        run.buffers.push(push_and_pull(&mut h, &bus, buffer));
    }
    let mut failure = None;
    while let Some(msg) = bus.pop() {
        collect(msg, &mut run, &mut failure);
    }
    if let Some(failure) = failure {
        panic!("'{launch}' failed: {failure}");
    }
    run
}

/// One frame of `videotestsrc {properties}` within `caps`, and the fixed caps it
/// negotiated (colorimetry and all), to announce on a harness before pushing the frame.
pub fn video_test_frame(properties: &str, caps: &str) -> (gst::Caps, gst::Buffer) {
    init();
    let mut src = gst_check::Harness::new_parse(&format!(
        "videotestsrc num-buffers=1 {properties} ! capsfilter caps=\"{caps}\""
    ));
    src.play();
    let frame = src.pull().expect("videotestsrc produces a frame");
    let caps = src
        .sinkpad()
        .and_then(|p| p.current_caps())
        .expect("negotiated caps");
    (caps, frame)
}

/// The error that stops `videotestsrc num-buffers=1 ! imgclassify {props} ! appsink`;
/// panics if the pipeline runs.
pub fn error_of(props: &str) -> String {
    match try_run(&format!(
        "videotestsrc num-buffers=1 ! imgclassify {props} ! appsink name=sink"
    )) {
        Ok(_) => panic!("'{props}' should have failed"),
        Err(e) => e,
    }
}

/// `error_of(props)` names every one of `needles`.
pub fn assert_error(props: &str, needles: &[&str]) {
    let text = error_of(props);
    for needle in needles {
        assert!(
            text.contains(needle),
            "'{props}': error '{text}' lacks '{needle}'"
        );
    }
}

/// Top-1 labels each photo may get: tests/data/expected.tsv.
pub fn expected_labels() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(data("expected.tsv")).expect("expected.tsv readable");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (photo, labels) = l.split_once('\t').expect("photo<TAB>labels");
            (
                photo.to_string(),
                labels.split('|').map(str::to_string).collect(),
            )
        })
        .collect()
}

/// Runs `f` on its own thread and waits at most `seconds` for it, so that a deadlock
/// fails the test instead of hanging the suite. A panic in `f` is re-raised here.
pub fn bounded<T: Send + 'static>(
    what: &str,
    seconds: u64,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(seconds)) {
        Ok(value) => value,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: no answer within {seconds} s (deadlock?)")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread ended without sending"),
        },
    }
}

/// A frame result of classifier `classifier` (model `test`) with class ids 0.. for
/// `labels`, to attach to buffers by hand.
pub fn classification(classifier: &str, labels: &[&str], scores: &[f64]) -> Classification {
    Classification {
        classifier: classifier.into(),
        target: Target::Frame,
        model: "test".into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        class_ids: (0..labels.len() as u32).collect(),
        scores: scores.to_vec(),
        inference_time_ns: 1,
        provider: "cpu".into(),
        fresh: true,
        source_pts: None,
        seq: 0,
        regions: Vec::new(),
        embedding: None,
    }
}

/// The `renders` count of the element named `overlay` in a harnessed bin.
pub fn overlay_renders(h: &gst_check::Harness) -> u64 {
    h.element()
        .expect("bin")
        .downcast::<gst::Bin>()
        .expect("a bin")
        .by_name("overlay")
        .expect("overlay")
        .property::<u64>("renders")
}

/// The JSON lines `classifyjson` wrote to `path`, each parsed; the last must be complete.
pub fn read_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("JSON lines file");
    assert!(text.ends_with('\n'), "last line is complete: {text:?}");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON {l}: {e}")))
        .collect()
}

/// A decoded photo of `tests/data` (coffee.png or chelsea.png) as tightly packed RGB:
/// (width, height, bytes).
pub fn photo_rgb(name: &str) -> (usize, usize, Vec<u8>) {
    let path = data(name).display().to_string();
    let run = run(&format!(
        "filesrc location={path} ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink"
    ));
    let buffer = &run.buffers[0];
    let (w, h): (usize, usize) = match name {
        "coffee.png" => (600, 400),
        "chelsea.png" => (451, 300),
        _ => panic!("unknown photo"),
    };
    let map = buffer.map_readable().expect("readable");
    // GStreamer pads RGB rows to 4 bytes.
    let stride = (w * 3).div_ceil(4) * 4;
    let mut tight = Vec::with_capacity(w * h * 3);
    for row in 0..h {
        tight.extend_from_slice(&map[row * stride..row * stride + w * 3]);
    }
    (w, h, tight)
}

/// A region of interest to put on a frame: its id and rectangle (x, y, width, height).
pub type Roi = (i32, (u32, u32, u32, u32));

/// `pixels` as a buffer at PTS 0 carrying one "object" ROI meta per `(id, rect)`.
pub fn frame_with_rois(pixels: Vec<u8>, rois: &[Roi]) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_mut_slice(pixels);
    {
        let b = buffer.get_mut().expect("writable");
        b.set_pts(gst::ClockTime::ZERO);
        for (id, rect) in rois {
            let mut roi = gst_video::VideoRegionOfInterestMeta::add(b, "object", *rect);
            roi.set_id(*id);
        }
    }
    buffer
}

/// Where the wrapped models are made by a caller beforehand: the GStreamer 1.26 root of
/// scripts/test-gst126.sh has no Python with onnx, so the script makes them on the host.
pub const MADE_BEFORE: &str = "IMGCLASSIFY_BYOM_DIR";

/// The wrapped models, written once per test process.
pub fn byom(name: &str) -> String {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os(MADE_BEFORE) {
            return PathBuf::from(dir);
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("byom");
        let base = gstimgclassify::testing::model::zoo::resolve("mobilenet").expect("mobilenet");
        let status = std::process::Command::new(root.join("deps/venv/bin/python"))
            .arg(root.join("tests/data/models/make_byom.py"))
            .arg(base)
            .arg(&out)
            .status()
            .expect("the set-up's Python (deps/venv) runs");
        assert!(status.success(), "make_byom.py failed");
        out
    });
    dir.join(name).display().to_string()
}

/// The coffee photo decoded to RGB, and its caps.
pub fn coffee_rgb() -> (gst::Caps, gst::Buffer) {
    init();
    let pipeline = pipeline(&format!(
        "filesrc location={} ! pngdec ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink",
        data("coffee.png").display()
    ));
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    pipeline.set_state(gst::State::Playing).expect("plays");
    let sample = sink.pull_sample().expect("a frame");
    let _ = pipeline.set_state(gst::State::Null);
    (
        sample.caps().expect("caps").to_owned(),
        sample.buffer().expect("buffer").copy_deep().expect("copy"),
    )
}
