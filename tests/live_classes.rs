//! While PLAYING: photos and class folders added to, removed from and replaced in
//! `classes-dir`, and `model-file` set, are used from a frame on with the results a
//! freshly started pipeline gives, while frames keep flowing; a folder emptied and a
//! model that cannot load leave what is in use, with a warning. The longest gap
//! between two output buffers while a change was being made is printed (not asserted:
//! it measures the machine as much as the element).

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;

const CLASSES: [&str; 4] = ["fish", "hammer", "tape-measure", "windmill"];
/// A hang guard, not a measurement: a change never used fails here instead of hanging.
const GIVE_UP: Duration = Duration::from_secs(60);

/// The photos each pipeline classifies, scaled to one size so the caps never change.
fn probes() -> Vec<gst::Buffer> {
    let mut photos: Vec<String> = CLASSES
        .iter()
        .map(|c| format!("classes-heldback/{c}.jpg"))
        .collect();
    photos.extend(["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"].map(String::from));
    photos
        .iter()
        .map(|photo| {
            let run = common::run(&format!(
                "filesrc location={} ! decodebin ! videoconvert ! videoscale \
                 ! video/x-raw,format=RGB,width=320,height=240,pixel-aspect-ratio=1/1 \
                 ! appsink name=sink",
                common::data(photo).display()
            ));
            run.buffers[0].clone()
        })
        .collect()
}

fn caps() -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("format", "RGB")
        .field("width", 320)
        .field("height", 240)
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .field("framerate", gst::Fraction::new(30, 1))
        .build()
}

/// A copy of tests/data/classes to change.
fn copied_classes() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for class in CLASSES {
        copy_folder(
            &common::data("classes").join(class),
            &dir.path().join(class),
        );
    }
    dir
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for file in std::fs::read_dir(from).expect("folder") {
        let file = file.expect("entry").path();
        std::fs::copy(&file, to.join(file.file_name().expect("name"))).expect("copy");
    }
}

/// appsrc ! imgclassify ! appsink, one frame in and out at a time.
struct Playing {
    pipeline: gst::Pipeline,
    element: gst::Element,
    src: gst_app::AppSrc,
    sink: gst_app::AppSink,
    bus: gst::Bus,
    frames: u64,
    last_out: Option<Instant>,
    /// The longest time between two output buffers since `measure` was last called.
    longest_gap: Duration,
}

impl Playing {
    fn start(props: &str) -> Playing {
        let pipeline = common::pipeline(&format!(
            "appsrc name=src format=time ! imgclassify name=c {props} \
             ! appsink name=sink sync=false"
        ));
        let src = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .expect("appsrc");
        src.set_caps(Some(&caps()));
        let sink = pipeline
            .by_name("sink")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .expect("appsink");
        let element = pipeline.by_name("c").expect("imgclassify");
        let bus = pipeline.bus().expect("bus");
        pipeline.set_state(gst::State::Playing).expect("plays");
        Playing {
            pipeline,
            element,
            src,
            sink,
            bus,
            frames: 0,
            last_out: None,
            longest_gap: Duration::ZERO,
        }
    }

    /// Pushes `frame` and returns its result once it came out.
    fn classify(&mut self, frame: &gst::Buffer) -> Classification {
        self.push(frame).expect("classified")
    }

    /// Pushes `frame` and returns what it carries once it came out: in `async` mode
    /// nothing until the first answer.
    fn push(&mut self, frame: &gst::Buffer) -> Option<Classification> {
        let mut buffer = frame.copy();
        {
            let b = buffer.get_mut().expect("writable");
            b.set_pts(gst::ClockTime::from_mseconds(self.frames * 33));
            b.set_duration(gst::ClockTime::from_mseconds(33));
        }
        self.frames += 1;
        self.src.push_buffer(buffer).expect("pushed");
        let sample = self
            .sink
            .try_pull_sample(gst::ClockTime::from_seconds(30))
            .unwrap_or_else(|| {
                panic!(
                    "no output buffer: {:?}",
                    self.bus.pop_filtered(&[gst::MessageType::Error])
                )
            });
        let now = Instant::now();
        if let Some(last) = self.last_out {
            self.longest_gap = self.longest_gap.max(now - last);
        }
        self.last_out = Some(now);
        Classification::from_buffer(sample.buffer().expect("buffer"))
    }

    fn results(&mut self, probes: &[gst::Buffer]) -> Vec<Classification> {
        probes.iter().map(|p| self.classify(p)).collect()
    }

    /// Classifies the probes in turn until the bus has an element message named `name`
    /// (checked after each frame, so every frame pushed after it was seen was classified
    /// after it was posted); returns its structure, the warnings seen on the way and the
    /// time it took.
    fn until_message(
        &mut self,
        name: &str,
        probes: &[gst::Buffer],
    ) -> (gst::Structure, Vec<String>, Duration) {
        let started = Instant::now();
        let mut warnings = Vec::new();
        for probe in probes.iter().cycle() {
            assert!(
                started.elapsed() < GIVE_UP,
                "no {name} in {GIVE_UP:?}: {warnings:?}"
            );
            self.push(probe);
            while let Some(msg) = self.bus.pop() {
                match msg.view() {
                    gst::MessageView::Element(e) => {
                        if let Some(s) = e.structure().filter(|s| s.name() == name) {
                            return (s.to_owned(), warnings, started.elapsed());
                        }
                    }
                    gst::MessageView::Warning(w) => warnings.push(w.error().to_string()),
                    gst::MessageView::Error(e) => panic!("{} {:?}", e.error(), e.debug()),
                    _ => {}
                }
            }
        }
        unreachable!("the probes cycle")
    }

    /// Classifies the probes in turn until a warning comes; returns its text.
    fn until_warning(&mut self, probes: &[gst::Buffer]) -> String {
        let started = Instant::now();
        for probe in probes.iter().cycle() {
            assert!(started.elapsed() < GIVE_UP, "no warning in {GIVE_UP:?}");
            self.push(probe);
            while let Some(msg) = self.bus.pop() {
                match msg.view() {
                    gst::MessageView::Warning(w) => return w.error().to_string(),
                    gst::MessageView::Error(e) => panic!("{} {:?}", e.error(), e.debug()),
                    gst::MessageView::Element(e) => {
                        panic!(
                            "unexpected {:?}",
                            e.structure().map(|s| s.name().to_string())
                        )
                    }
                    _ => {}
                }
            }
        }
        unreachable!("the probes cycle")
    }

    /// The longest gap between two output buffers since the last call.
    fn measure(&mut self) -> Duration {
        std::mem::take(&mut self.longest_gap)
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// What a pipeline started now with `props` gives for each probe.
fn fresh(props: &str, probes: &[gst::Buffer]) -> Vec<Classification> {
    let mut p = Playing::start(props);
    let results = p.results(probes);
    while let Some(msg) = p.bus.pop() {
        if let gst::MessageView::Error(e) = msg.view() {
            panic!("{} {:?}", e.error(), e.debug());
        }
    }
    results
}

/// Labels, class ids and scores as a fresh start gives them (scores to 1e-5: the same
/// model and inputs, on another ONNX Runtime session).
fn assert_agree(live: &[Classification], fresh: &[Classification], what: &str) {
    assert_eq!(live.len(), fresh.len());
    for (i, (l, f)) in live.iter().zip(fresh).enumerate() {
        assert_eq!(l.labels, f.labels, "{what}, probe {i}");
        assert_eq!(l.class_ids, f.class_ids, "{what}, probe {i}");
        assert_eq!(l.model, f.model, "{what}, probe {i}");
        for (a, b) in l.scores.iter().zip(&f.scores) {
            assert!((a - b).abs() < 1e-5, "{what}, probe {i}: {l:?} vs {f:?}");
        }
    }
}

fn strings(s: &gst::StructureRef, field: &str) -> Vec<String> {
    s.get::<gst::Array>(field)
        .unwrap_or_else(|_| panic!("{field} in {s:?}"))
        .iter()
        .map(|v| v.get::<String>().expect("text"))
        .collect()
}

#[test]
fn classes_added_removed_and_replaced_while_playing_agree_with_a_fresh_start() {
    let dir = copied_classes();
    let cache = tempfile::tempdir().expect("tempdir");
    let props = format!(
        "classes-dir={} classes-cache-dir={} top-k=3",
        dir.path().display(),
        cache.path().display()
    );
    let probes = probes();
    let mut live = Playing::start(&props);
    let before = live.results(&probes);
    assert_agree(&before, &fresh(&props, &probes), "at the start");
    assert_eq!(before[4].labels.len(), 3);
    live.measure();
    live.results(&probes);
    live.results(&probes);
    println!(
        "no change: longest gap between output buffers {:?}",
        live.measure()
    );

    // A new class folder with one photo: the cat photo becomes a cat.
    std::fs::create_dir(dir.path().join("cat")).expect("mkdir");
    std::fs::copy(
        common::data("chelsea.png"),
        dir.path().join("cat/chelsea.png"),
    )
    .expect("copy");
    let (msg, warnings, took) = live.until_message("imgclassify-classes-changed", &probes);
    let gap = live.measure();
    println!("class added: in use after {took:?}, longest gap between output buffers {gap:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        strings(&msg, "classes"),
        ["cat", "fish", "hammer", "tape-measure", "windmill"]
    );
    assert_eq!(msg.get::<u64>("examples").expect("examples"), 17);
    assert_eq!(strings(&msg, "added"), ["cat/chelsea.png"]);
    assert!(strings(&msg, "removed").is_empty());
    let after = live.results(&probes);
    assert_eq!(after[4].labels[0], "cat", "{:?}", after[4]);
    assert_agree(&after, &fresh(&props, &probes), "class added");

    // A photo dropped into a class folder.
    std::fs::copy(
        common::data("coffee.png"),
        dir.path().join("hammer/coffee.png"),
    )
    .expect("copy");
    let (msg, _, took) = live.until_message("imgclassify-classes-changed", &probes);
    let gap = live.measure();
    println!("photo added: in use after {took:?}, longest gap between output buffers {gap:?}");
    assert_eq!(strings(&msg, "added"), ["hammer/coffee.png"]);
    assert_agree(
        &live.results(&probes),
        &fresh(&props, &probes),
        "photo added",
    );

    // A class folder removed.
    std::fs::remove_dir_all(dir.path().join("windmill")).expect("rm");
    let (msg, _, took) = live.until_message("imgclassify-classes-changed", &probes);
    let gap = live.measure();
    println!("class removed: in use after {took:?}, longest gap between output buffers {gap:?}");
    assert_eq!(
        strings(&msg, "classes"),
        ["cat", "fish", "hammer", "tape-measure"]
    );
    assert_eq!(strings(&msg, "removed").len(), 4);
    assert!(strings(&msg, "added").is_empty());
    let after = live.results(&probes);
    assert!(after.iter().all(|r| r.labels[0] != "windmill"), "{after:?}");
    assert_agree(&after, &fresh(&props, &probes), "class removed");

    // A photo replaced under the same name: the cat class is the astronaut now.
    let replacement = dir.path().join("astronaut.tmp");
    std::fs::copy(common::data("astronaut.png"), &replacement).expect("copy");
    std::fs::rename(&replacement, dir.path().join("cat/chelsea.png")).expect("rename");
    let (msg, _, took) = live.until_message("imgclassify-classes-changed", &probes);
    let gap = live.measure();
    println!("photo replaced: in use after {took:?}, longest gap between output buffers {gap:?}");
    assert_eq!(strings(&msg, "added"), ["cat/chelsea.png"]);
    assert_eq!(strings(&msg, "removed"), ["cat/chelsea.png"]);
    assert_eq!(live.results(&probes)[6].labels[0], "cat");
    assert_agree(
        &live.results(&probes),
        &fresh(&props, &probes),
        "photo replaced",
    );
}

#[test]
fn a_class_folder_emptied_keeps_the_classes_in_use_with_a_warning() {
    let dir = copied_classes();
    let cache = tempfile::tempdir().expect("tempdir");
    let props = format!(
        "classes-dir={} classes-cache-dir={} top-k=4",
        dir.path().display(),
        cache.path().display()
    );
    let probes = probes();
    let mut live = Playing::start(&props);
    let before = live.results(&probes);
    for file in std::fs::read_dir(dir.path().join("fish")).expect("fish") {
        std::fs::remove_file(file.expect("entry").path()).expect("rm");
    }
    let warning = live.until_warning(&probes);
    for needle in ["'fish'", "classes in use stay"] {
        assert!(warning.contains(needle), "lacks {needle}: {warning}");
    }
    assert_agree(&live.results(&probes), &before, "fish emptied");
    // Back again, the set is the same as before: nothing changes, nothing is posted.
    copy_folder(&common::data("classes/fish"), &dir.path().join("fish"));
    // A class added after it shows the watch still works.
    copy_folder(
        &common::data("classes/hammer"),
        &dir.path().join("hammer-2"),
    );
    let (msg, warnings, _) = live.until_message("imgclassify-classes-changed", &probes);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(strings(&msg, "added").len(), 4, "{msg:?}");
    assert!(strings(&msg, "classes").contains(&"hammer-2".to_string()));
}

fn model_swapped_while_playing(mode: &str) {
    let probes = probes();
    let four = common::fixture("four_classes.onnx");
    let props = format!("mode={mode}");
    let mut live = Playing::start(&props);
    for probe in &probes {
        live.push(probe);
    }
    live.measure();
    live.element.set_property("model-file", &four);
    let (msg, warnings, took) = live.until_message("imgclassify-model-changed", &probes);
    let gap = live.measure();
    println!(
        "mode={mode}: model swapped after {took:?}, longest gap between output buffers {gap:?}"
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(msg.get::<String>("model").expect("model"), "four_classes");
    if mode == "sync" {
        // The frame that posted the message, and every one after, ran on the new model.
        let after = live.results(&probes);
        let fresh = fresh(&format!("{props} model-file={four}"), &probes);
        assert_agree(&after, &fresh, "model swapped");
    } else {
        // Async: a frame carries the newest answer, which is the new model's from the
        // first answer after the swap on.
        let started = Instant::now();
        let mut seen_new = false;
        for probe in probes.iter().cycle() {
            assert!(started.elapsed() < GIVE_UP, "no answer of the new model");
            let Some(result) = live.push(probe) else {
                continue;
            };
            if result.model == "four_classes" {
                seen_new = true;
            } else {
                assert!(!seen_new, "an answer of the old model after the new one's");
            }
            if seen_new && result.fresh {
                break;
            }
        }
    }
}

#[test]
fn a_model_swapped_while_playing_is_used_from_a_frame_on() {
    model_swapped_while_playing("sync");
}

#[test]
fn a_model_swapped_while_playing_in_async_mode_is_used_from_an_answer_on() {
    model_swapped_while_playing("async");
}

#[test]
fn a_model_that_cannot_load_while_playing_leaves_the_model_in_use() {
    let probes = probes();
    let mut live = Playing::start("");
    let before = live.results(&probes);
    live.element
        .set_property("model-file", common::fixture("random_bytes.onnx"));
    let warning = live.until_warning(&probes);
    for needle in ["random_bytes.onnx", "the model in use stays"] {
        assert!(warning.contains(needle), "lacks {needle}: {warning}");
    }
    assert_agree(&live.results(&probes), &before, "after the failed swap");
    // A good model set after it still loads.
    live.element.set_property("model", "mobilenet-int8");
    live.element.set_property("model-file", None::<String>);
    let (msg, _, _) = live.until_message("imgclassify-model-changed", &probes);
    assert_eq!(msg.get::<String>("model").expect("model"), "mobilenet-int8");
}

/// A new `classes-dir` on the same model: its classes are built on the model's own
/// session, used from a frame on, and the new folder is the one watched.
#[test]
fn classes_dir_set_while_playing_is_used_from_a_frame_on() {
    let first = copied_classes();
    let second = tempfile::tempdir().expect("tempdir");
    for (class, photo) in [("cat", "chelsea.png"), ("cup", "coffee.png")] {
        std::fs::create_dir(second.path().join(class)).expect("mkdir");
        std::fs::copy(common::data(photo), second.path().join(class).join(photo)).expect("copy");
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let props = |dir: &Path| {
        format!(
            "classes-dir={} classes-cache-dir={} top-k=2",
            dir.display(),
            cache.path().display()
        )
    };
    let probes = probes();
    let mut live = Playing::start(&props(first.path()));
    live.results(&probes);
    live.measure();
    live.element
        .set_property("classes-dir", second.path().to_str().expect("UTF-8"));
    let (msg, warnings, took) = live.until_message("imgclassify-classes-changed", &probes);
    let gap = live.measure();
    println!("classes-dir set: in use after {took:?}, longest gap between output buffers {gap:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(strings(&msg, "classes"), ["cat", "cup"]);
    assert_agree(
        &live.results(&probes),
        &fresh(&props(second.path()), &probes),
        "new folder",
    );

    copy_folder(&common::data("classes/fish"), &second.path().join("fish"));
    let (msg, _, _) = live.until_message("imgclassify-classes-changed", &probes);
    assert_eq!(strings(&msg, "classes"), ["cat", "cup", "fish"]);
    // The old folder is no longer watched: a change there posts nothing.
    std::fs::remove_dir_all(first.path().join("fish")).expect("rm");
    std::thread::sleep(Duration::from_millis(1000));
    live.results(&probes);
    while let Some(msg) = live.bus.pop() {
        if let gst::MessageView::Element(e) = msg.view() {
            let name = e.structure().map(|s| s.name().to_string());
            assert_ne!(name.as_deref(), Some("imgclassify-classes-changed"));
        }
    }
}
