//! A pipeline that classifies one frame at a time while its classes folder or model
//! is changed (tests/live_classes.rs, tests/live_embedding.rs): `appsrc ! imgclassify !
//! appsink`, the probe photos, a copy of tests/data/classes to change, and the
//! comparison with a freshly started pipeline.

use std::path::Path;
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;

pub const CLASSES: [&str; 4] = ["fish", "hammer", "tape-measure", "windmill"];
/// A hang guard, not a measurement: a change never used fails here instead of hanging.
pub const GIVE_UP: Duration = Duration::from_secs(60);

/// The photos each pipeline classifies, scaled to one size so the caps never change.
pub fn probes() -> Vec<gst::Buffer> {
    let mut photos: Vec<String> = CLASSES
        .iter()
        .map(|c| format!("classes-heldback/{c}.jpg"))
        .collect();
    photos.extend(["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"].map(String::from));
    photos
        .iter()
        .map(|photo| {
            let run = super::run(&format!(
                "filesrc location={} ! decodebin ! videoconvert ! videoscale \
                 ! video/x-raw,format=RGB,width=320,height=240,pixel-aspect-ratio=1/1 \
                 ! appsink name=sink",
                super::data(photo).display()
            ));
            run.buffers[0].clone()
        })
        .collect()
}

pub fn caps() -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("format", "RGB")
        .field("width", 320)
        .field("height", 240)
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .field("framerate", gst::Fraction::new(30, 1))
        .build()
}

/// A copy of tests/data/classes to change.
pub fn copied_classes() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for class in CLASSES {
        copy_folder(&super::data("classes").join(class), &dir.path().join(class));
    }
    dir
}

pub fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for file in std::fs::read_dir(from).expect("folder") {
        let file = file.expect("entry").path();
        std::fs::copy(&file, to.join(file.file_name().expect("name"))).expect("copy");
    }
}

/// appsrc ! imgclassify ! appsink, one frame in and out at a time.
pub struct Playing {
    pub pipeline: gst::Pipeline,
    pub element: gst::Element,
    pub src: gst_app::AppSrc,
    pub sink: gst_app::AppSink,
    pub bus: gst::Bus,
    pub frames: u64,
    pub last_out: Option<Instant>,
    /// The longest time between two output buffers since `measure` was last called.
    pub longest_gap: Duration,
}

impl Playing {
    pub fn start(props: &str) -> Playing {
        let pipeline = super::pipeline(&format!(
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
    pub fn classify(&mut self, frame: &gst::Buffer) -> Classification {
        self.push(frame).expect("classified")
    }

    /// Pushes `frame` and returns what it carries once it came out: in `async` mode
    /// nothing until the first answer.
    pub fn push(&mut self, frame: &gst::Buffer) -> Option<Classification> {
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

    pub fn results(&mut self, probes: &[gst::Buffer]) -> Vec<Classification> {
        probes.iter().map(|p| self.classify(p)).collect()
    }

    /// Classifies the probes in turn until the bus has an element message named `name`
    /// (checked after each frame, so every frame pushed after it was seen was classified
    /// after it was posted); returns its structure, the warnings seen on the way and the
    /// time it took.
    pub fn until_message(
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
    pub fn until_warning(&mut self, probes: &[gst::Buffer]) -> String {
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
    pub fn measure(&mut self) -> Duration {
        std::mem::take(&mut self.longest_gap)
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// What a pipeline started now with `props` gives for each probe.
pub fn fresh(props: &str, probes: &[gst::Buffer]) -> Vec<Classification> {
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
pub fn assert_agree(live: &[Classification], fresh: &[Classification], what: &str) {
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

pub fn strings(s: &gst::StructureRef, field: &str) -> Vec<String> {
    s.get::<gst::Array>(field)
        .unwrap_or_else(|_| panic!("{field} in {s:?}"))
        .iter()
        .map(|v| v.get::<String>().expect("text"))
        .collect()
}
