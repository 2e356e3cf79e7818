//! Properties changed while PLAYING from an application thread, while the streaming
//! thread classifies: per-frame ones apply from the next frame, load-time ones warn on
//! the bus and wait for the next NULL→READY, and nothing races or deadlocks.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;
use gstimgclassify::testing::live_sessions;

/// Frames that may already be past the point where the element reads its settings
/// when a property changes: one queued in the appsink (max-buffers=1), one blocked on
/// it, one inside the element.
const IN_FLIGHT: usize = 3;

struct Playing {
    pipeline: gst::Pipeline,
    element: gst::Element,
    sink: gst_app::AppSink,
}

impl Playing {
    fn start(props: &str) -> Playing {
        common::init();
        let pipeline = gst::parse::launch(&format!(
            "videotestsrc ! video/x-raw,width=64,height=48 ! imgclassify name=c {props} \
             ! appsink name=sink sync=false max-buffers=1"
        ))
        .expect("parses")
        .downcast::<gst::Pipeline>()
        .expect("pipeline");
        let element = pipeline.by_name("c").expect("imgclassify");
        let sink = pipeline
            .by_name("sink")
            .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
            .expect("appsink");
        pipeline.set_state(gst::State::Playing).expect("plays");
        Playing {
            pipeline,
            element,
            sink,
        }
    }

    fn frame(&self) -> gst::Buffer {
        self.sink
            .try_pull_sample(gst::ClockTime::from_seconds(30))
            .and_then(|s| s.buffer_owned())
            .expect("a frame within 30 s")
    }

    fn result(&self) -> Classification {
        Classification::from_buffer(&self.frame()).expect("every frame has a meta")
    }

    /// After a property change: at most IN_FLIGHT frames still show the old value,
    /// then five in a row show the new one.
    fn expect_switch(
        &self,
        what: &str,
        old: impl Fn(&Classification) -> bool,
        new: impl Fn(&Classification) -> bool,
    ) {
        let (mut olds, mut news) = (0, 0);
        while news < 5 {
            let r = self.result();
            if news == 0 && old(&r) {
                olds += 1;
                assert!(olds <= IN_FLIGHT, "{what}: not applied after {olds} frames");
            } else {
                assert!(
                    new(&r),
                    "{what}: frame {} after the change: {r:?}",
                    olds + news
                );
                news += 1;
            }
        }
    }

    /// The next warning the element posts, within five seconds.
    fn warning(&self) -> String {
        let bus = self.pipeline.bus().expect("bus");
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(5),
                &[gst::MessageType::Warning, gst::MessageType::Error],
            )
            .expect("a warning on the bus");
        let gst::MessageView::Warning(w) = msg.view() else {
            panic!("{msg:?}");
        };
        assert_eq!(msg.src(), Some(self.element.upcast_ref::<gst::Object>()));
        format!("{} {:?}", w.error(), w.debug())
    }

    fn no_warning(&self) {
        let bus = self.pipeline.bus().expect("bus");
        let msg = bus.pop_filtered(&[gst::MessageType::Warning, gst::MessageType::Error]);
        assert!(msg.is_none(), "{msg:?}");
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[test]
fn per_frame_properties_apply_from_the_next_frame_while_playing() {
    let _s = common::serial();
    let p = Playing::start("top-k=1");
    assert!((0..3).all(|_| p.result().labels.len() == 1));

    p.element.set_property("top-k", 3u32);
    p.expect_switch(
        "top-k 1→3",
        |r| r.labels.len() == 1,
        |r| r.labels.len() == 3,
    );

    p.element.set_property("threshold", 1.0f64);
    p.expect_switch(
        "threshold 0→1",
        |r| r.labels.len() == 3,
        |r| r.labels.is_empty(),
    );
    p.element.set_property("threshold", 0.0f64);
    p.expect_switch(
        "threshold 1→0",
        |r| r.labels.is_empty(),
        |r| r.labels.len() == 3,
    );

    // The test pattern is still, so the scores change only with the resize mode.
    let cropped = p.result().scores;
    p.element.set_property_from_str("resize-mode", "stretch");
    p.expect_switch(
        "resize-mode center-crop→stretch",
        |r| r.scores == cropped,
        |r| r.scores != cropped,
    );

    p.element.set_property("post-messages", true);
    let bus = p.pipeline.bus().expect("bus");
    while bus.pop_filtered(&[gst::MessageType::Element]).is_some() {}
    let frames = 8;
    for _ in 0..frames {
        p.frame();
    }
    let mut messages = 0;
    while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Element]) {
        messages += usize::from(msg.structure().is_some_and(|s| s.name() == "imgclassify"));
    }
    assert!(messages >= frames - IN_FLIGHT, "{messages} messages");

    p.element.set_property("inference-interval", 4u32);
    for _ in 0..IN_FLIGHT + 4 {
        p.frame();
    }
    // From here every fourth frame is classified; the others carry its result.
    let frames: Vec<gst::Buffer> = (0..16).map(|_| p.frame()).collect();
    let results: Vec<Classification> = frames
        .iter()
        .map(|b| Classification::from_buffer(b).expect("meta"))
        .collect();
    let fresh: Vec<usize> = (0..16).filter(|&i| results[i].fresh).collect();
    assert_eq!(fresh.len(), 4, "{fresh:?}");
    assert!(fresh.windows(2).all(|w| w[1] - w[0] == 4), "{fresh:?}");
    for (i, r) in results.iter().enumerate().skip(fresh[0]) {
        let source = i - (i - fresh[0]) % 4;
        assert_eq!(r.source_pts, frames[source].pts(), "frame {i}");
    }
    p.no_warning();
}

#[test]
fn load_time_properties_warn_and_apply_after_null() {
    let _s = common::serial();
    let p = Playing::start("");
    assert_eq!(p.result().model, "mobilenet");
    let four = common::fixture("four_classes.onnx");

    p.element.set_property("model-file", &four);
    let warning = p.warning();
    for needle in ["'model-file'", "NULL", "mobilenet"] {
        assert!(warning.contains(needle), "lacks {needle}: {warning}");
    }
    p.element.set_property("threads", 1u32);
    assert!(p.warning().contains("'threads'"));
    p.element.set_property("sessions", 2u32);
    assert!(p.warning().contains("'sessions'"));
    // The same value again changes nothing, so says nothing.
    p.element.set_property("model-file", &four);
    p.element.set_property_from_str("mode", "async");
    let warning = p.warning();
    for needle in ["'mode'", "READY", "sync"] {
        assert!(warning.contains(needle), "lacks {needle}: {warning}");
    }
    p.no_warning();

    // The stream keeps its model; the new values are stored for the next start.
    for _ in 0..IN_FLIGHT + 3 {
        assert_eq!(p.result().model, "mobilenet");
    }
    assert_eq!(live_sessions(), 1);
    assert_eq!(
        p.element.property::<Option<String>>("model-file"),
        Some(four)
    );

    p.pipeline.set_state(gst::State::Null).expect("stops");
    assert_eq!(live_sessions(), 0);
    p.pipeline.set_state(gst::State::Playing).expect("plays");
    // Async: frames pass unlabelled until the worker's first result, which on a busy
    // machine may take many frames of this fast source.
    let deadline = Instant::now() + Duration::from_secs(10);
    let result = loop {
        if let Some(result) = Classification::from_buffer(&p.frame()) {
            break result;
        }
        assert!(
            Instant::now() < deadline,
            "no result from the new model in 10 s"
        );
    };
    assert_eq!(result.model, "four_classes");
    assert_eq!(result.labels.len(), 3);
    p.no_warning();
}

#[test]
fn hammering_properties_during_playback_neither_races_nor_deadlocks() {
    let _s = common::serial();
    common::init();
    for mode in ["sync", "async"] {
        let (model_changes, warnings) = common::bounded(&format!("mode={mode}"), 60, move || {
            hammer(mode, Duration::from_millis(1500))
        });
        println!("mode={mode}: {model_changes} model changes, {warnings} warnings");
        // Each change of a load-time property warns once; nothing else warns.
        assert_eq!(warnings, model_changes, "mode={mode}");
        assert_eq!(live_sessions(), 0, "mode={mode}");
    }
}

/// Plays while one thread sets every per-frame property in a loop and another reads
/// properties and flips the model; returns how many model changes and warnings there
/// were.
fn hammer(mode: &str, how_long: Duration) -> (usize, usize) {
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc ! video/x-raw,width=64,height=48 ! imgclassify name=c mode={mode} \
         ! fakesink sync=false"
    ))
    .expect("parses")
    .downcast::<gst::Pipeline>()
    .expect("pipeline");
    let element = pipeline.by_name("c").expect("imgclassify");
    pipeline.set_state(gst::State::Playing).expect("plays");
    let stop = Arc::new(AtomicBool::new(false));
    let model_changes = Arc::new(AtomicUsize::new(0));
    let setter = {
        let (element, stop) = (element.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                element.set_property("top-k", 1 + i % 5);
                element.set_property("threshold", f64::from(i % 3) * 0.1);
                element.set_property("smoothing", f64::from(i % 2) * 0.5);
                element.set_property("inference-interval", 1 + i % 3);
                let resize = ["center-crop", "stretch", "letterbox"][i as usize % 3];
                element.set_property_from_str("resize-mode", resize);
                element.set_property("post-messages", i.is_multiple_of(2));
                element.set_property_from_str("target", ["frame", "regions"][i as usize % 2]);
                element.set_property("max-regions", i % 4);
                i += 1;
            }
        })
    };
    let reader = {
        let (element, stop) = (element.clone(), Arc::clone(&stop));
        let changes = Arc::clone(&model_changes);
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let _ = element.property::<gst::Structure>("stats");
                let _ = element.property::<Option<String>>("active-provider");
                let _ = element.property::<u32>("top-k");
                if i.is_multiple_of(50) {
                    let model = ["efficientnet", "mobilenet"][(i / 50) % 2];
                    element.set_property("model", model);
                    changes.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        })
    };
    let bus = pipeline.bus().expect("bus");
    let mut warnings = 0;
    let until = Instant::now() + how_long;
    while Instant::now() < until {
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(20)) {
            match msg.view() {
                gst::MessageView::Warning(_) => warnings += 1,
                gst::MessageView::Error(e) => panic!("{} {:?}", e.error(), e.debug()),
                _ => {}
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    setter.join().expect("setter thread");
    reader.join().expect("reader thread");
    let seen = |e: &gst::Element| {
        e.property::<gst::Structure>("stats")
            .get::<u64>("frames-seen")
            .expect("frames-seen")
    };
    let before = seen(&element);
    std::thread::sleep(Duration::from_millis(200));
    assert!(seen(&element) > before, "frames stopped flowing");
    pipeline.send_event(gst::event::Eos::new());
    loop {
        let msg = bus
            .timed_pop(gst::ClockTime::from_seconds(10))
            .expect("EOS within 10 s");
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Warning(_) => warnings += 1,
            gst::MessageView::Error(e) => panic!("{} {:?}", e.error(), e.debug()),
            _ => {}
        }
    }
    println!("mode={mode}: {} frames", seen(&element));
    pipeline.set_state(gst::State::Null).expect("stops");
    (model_changes.load(Ordering::Relaxed), warnings)
}

/// Applications often read the element's properties from a bus sync handler, on the
/// thread that posted the message; that must not deadlock on the element's own locks.
#[test]
fn a_sync_handler_may_read_properties_when_the_element_warns() {
    let _s = common::serial();
    common::init();
    let nan = common::fixture("nan_scores.onnx");
    let cases = [
        ("NaN scores", format!("model-file={nan}"), None),
        (
            "model changed while playing",
            String::new(),
            Some(("model", "efficientnet")),
        ),
        (
            "bad min-region-size",
            String::new(),
            Some(("min-region-size", "big")),
        ),
    ];
    for (what, props, change) in cases {
        let handled = common::bounded(what, 20, move || {
            let pipeline = gst::parse::launch(&format!(
                "videotestsrc ! video/x-raw,width=64,height=48 ! imgclassify name=c {props} \
                 ! fakesink sync=false"
            ))
            .expect("parses")
            .downcast::<gst::Pipeline>()
            .expect("pipeline");
            let element = pipeline.by_name("c").expect("imgclassify");
            let bus = pipeline.bus().expect("bus");
            let handled = Arc::new(AtomicUsize::new(0));
            {
                let (element, handled) = (element.clone(), Arc::clone(&handled));
                bus.set_sync_handler(move |_, msg| {
                    if let gst::MessageView::Warning(_) = msg.view() {
                        let _ = element.property::<gst::Structure>("stats");
                        let _ = element.property::<String>("model");
                        handled.fetch_add(1, Ordering::SeqCst);
                    }
                    gst::BusSyncReply::Pass
                });
            }
            pipeline.set_state(gst::State::Playing).expect("plays");
            let _ = pipeline.state(gst::ClockTime::from_seconds(10));
            if let Some((name, value)) = change {
                element.set_property_from_str(name, value);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while handled.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            pipeline.set_state(gst::State::Null).expect("stops");
            bus.unset_sync_handler();
            handled.load(Ordering::SeqCst)
        });
        assert_eq!(handled, 1, "{what}");
    }
}

/// Every field of the `stats` structure is named in the property's blurb (what
/// gst-inspect-1.0 shows), the README's property table and docs/live.md's stats table.
#[test]
fn every_stats_field_is_documented() {
    common::init();
    let element = gst::ElementFactory::make("imgclassify")
        .build()
        .expect("imgclassify");
    let stats = element.property::<gst::Structure>("stats");
    let blurb = element
        .find_property("stats")
        .and_then(|p| p.blurb().map(str::to_owned))
        .expect("stats blurb");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let live = std::fs::read_to_string(root.join("docs/live.md")).expect("docs/live.md");
    assert!(stats.n_fields() > 0);
    for (field, _) in stats.iter() {
        assert!(
            blurb.contains(field.as_str()),
            "blurb lacks {field}: {blurb}"
        );
        assert!(
            readme.contains(&format!("`{field}`")),
            "README lacks `{field}`"
        );
        assert!(
            live.contains(&format!("| `{field}` |")),
            "docs/live.md lacks `{field}`"
        );
    }
}
