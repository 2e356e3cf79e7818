//! A model that takes a second or more per inference (tests/data/models/slow.onnx) must
//! not stall anything around it: property setters and getters, the LATENCY query, and
//! loads of other models in the same process.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::gst;

/// Far less than one inference of the slow model (about 1.3 s on one thread).
const PROMPT: Duration = Duration::from_millis(300);

fn stat(element: &gst::Element, field: &str) -> u64 {
    element
        .property::<gst::Structure>("stats")
        .get::<u64>(field)
        .expect("stats field")
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let value = f();
    let took = started.elapsed();
    assert!(took < PROMPT, "{what} took {took:?} while an inference ran");
    value
}

#[test]
fn properties_and_the_latency_query_do_not_wait_for_a_running_inference() {
    common::init();
    let model = common::fixture("slow.onnx");
    let pipeline = common::pipeline(&format!(
        "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=48 \
         ! imgclassify name=c model-file={model} threads=1 ! fakesink"
    ));
    let element = pipeline.by_name("c").expect("imgclassify");
    pipeline.set_state(gst::State::Playing).expect("playing");
    // The first frame has been counted and its inference has not finished: it runs now.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(stat(&element, "frames-seen") == 1 && stat(&element, "frames-classified") == 0) {
        assert!(
            Instant::now() < deadline,
            "the first inference never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    timed("setting threshold", || {
        element.set_property("threshold", 0.1f64)
    });
    timed("setting top-k", || element.set_property("top-k", 2u32));
    timed("reading stats", || stat(&element, "frames-seen"));
    let active = timed("reading active-provider", || {
        element.property::<Option<String>>("active-provider")
    });
    assert_eq!(active.as_deref(), Some("cpu"));
    let mut query = gst::query::Latency::new();
    let src = element.static_pad("src").expect("src pad");
    let answered = timed("the LATENCY query", || src.query(&mut query));
    assert!(answered);
    let (_, min, _) = query.result();
    assert!(min >= gst::ClockTime::from_mseconds(500), "{min}");
    assert_eq!(
        stat(&element, "frames-classified"),
        0,
        "the inference was still running through all of it"
    );
    pipeline.set_state(gst::State::Null).expect("null");
}

#[test]
fn loading_one_model_does_not_wait_for_the_load_of_another() {
    common::init();
    let slow = common::pipeline(&format!(
        "videotestsrc ! imgclassify model-file={} threads=1 ! fakesink",
        common::fixture("slow.onnx")
    ));
    let done = Arc::new(AtomicBool::new(false));
    let loading = {
        let (slow, done) = (slow.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            // Loading ends with one warm-up inference of a second or more.
            slow.set_state(gst::State::Ready).expect("slow model loads");
            done.store(true, Ordering::SeqCst);
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !done.load(Ordering::SeqCst),
        "the slow model loaded too fast to test"
    );
    let quick = common::pipeline(&format!(
        "videotestsrc ! imgclassify model-file={} ! fakesink",
        common::fixture("four_classes.onnx")
    ));
    let started = Instant::now();
    quick
        .set_state(gst::State::Ready)
        .expect("quick model loads");
    let took = started.elapsed();
    let slow_done = done.load(Ordering::SeqCst);
    loading.join().expect("the slow load finished");
    assert!(
        !slow_done,
        "the quick model ({took:?}) finished only after the slow one"
    );
    quick.set_state(gst::State::Null).expect("null");
    slow.set_state(gst::State::Null).expect("null");
}
