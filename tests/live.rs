//! Live video: inference interval, async mode, smoothing, QoS, latency and statistics.

use crate::common;

use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;
use gstimgclassify::testing::live_sessions;

fn stats(element: &gst::Element) -> gst::Structure {
    element.property::<gst::Structure>("stats")
}

#[test]
fn async_mode_keeps_every_live_frame_and_results_stay_recent() {
    let _s = common::serial();
    let run = common::run(
        "videotestsrc is-live=true num-buffers=300 pattern=ball \
         ! video/x-raw,format=NV12,width=1920,height=1080,framerate=30/1 \
         ! imgclassify model=efficientnet-lite2 mode=async ! appsink name=sink sync=true",
    );
    // The mean inference time of the results shown, each counted once.
    let mut seen = std::collections::BTreeMap::new();
    for result in run.results().into_iter().flatten() {
        seen.insert(result.seq, result.inference_time_ns);
    }
    let inference = seen.values().sum::<u64>() / (seen.len() as u64).max(1);
    assert_eq!(run.buffers.len(), 300, "every frame reaches the sink");
    let frame = gst::ClockTime::from_nseconds(1_000_000_000 / 30);
    let mut ages = Vec::new();
    for (i, buffer) in run.buffers.iter().enumerate() {
        let Some(result) = Classification::from_buffer(buffer) else {
            assert!(i < 10, "frame {i} has no result yet");
            continue;
        };
        let pts = buffer.pts().expect("pts");
        let source = result.source_pts.expect("source-pts");
        assert!(source <= pts, "frame {i}: result from the future");
        ages.push((pts - source).nseconds() / frame.nseconds());
    }
    ages.sort();
    let (median, p99, max) = (
        ages[ages.len() / 2],
        ages[ages.len() * 99 / 100],
        ages[ages.len() - 1],
    );
    println!(
        "result age in frames: median {median}, 99th percentile {p99}, max {max}, {} labelled",
        ages.len()
    );
    assert!(ages.len() >= 290, "{} of 300 frames labelled", ages.len());
    // A result is as old as the inference that made it, plus the wait for the worker:
    // about two inferences. On an idle machine (11 ms an inference) that is within 2
    // frames, but a loaded machine slows every inference, and the bound with it.
    // One scheduling hiccup of a shared 2-core machine must not decide; 99 % of frames must.
    let inferences = |n: u64| (n * inference).div_ceil(frame.nseconds());
    let (median_bound, p99_bound) = (inferences(2).max(2), inferences(4).max(5));
    println!("mean inference {inference} ns: bounds {median_bound} and {p99_bound} frames");
    assert!(median <= median_bound, "median result age {median} frames");
    assert!(p99 <= p99_bound, "1 % of results older than {p99} frames");
}

#[test]
fn interval_five_classifies_exactly_one_frame_in_five() {
    let _s = common::serial();
    // ABGR at 30/1: what videotestsrc picks for imgclassify when the format is left open.
    let (caps, frame) = common::video_test_frame(
        "",
        "video/x-raw,format=ABGR,width=160,height=120,framerate=30/1",
    );
    let run = common::run_harness(
        "imgclassify inference-interval=5 post-messages=true",
        &caps,
        &frame,
        20,
    );
    let results: Vec<Classification> = run
        .results()
        .into_iter()
        .map(|r| r.expect("meta"))
        .collect();
    let fresh: Vec<usize> = (0..20).filter(|&i| results[i].fresh).collect();
    assert_eq!(fresh, vec![0, 5, 10, 15]);
    for (i, r) in results.iter().enumerate() {
        let source_frame = i - i % 5;
        assert_eq!(r.source_pts, run.buffers[source_frame].pts(), "frame {i}");
    }
    assert_eq!(run.messages.len(), 4, "one message per result");
}

/// Decoded photo, scaled to a common size, as a raw RGB buffer.
fn photo_frame(name: &str) -> (gst::Caps, gst::Buffer) {
    let path = common::data(name).display().to_string();
    let run = common::run(&format!(
        "filesrc location={path} ! decodebin ! videoconvert ! videoscale \
         ! video/x-raw,format=RGB,width=320,height=240 ! appsink name=sink"
    ));
    let caps = common::raw_caps("RGB", (320, 240), 30);
    (caps, run.buffers[0].clone())
}

fn top1_changes(smoothing: f64) -> usize {
    common::init();
    let (caps, coffee) = photo_frame("coffee.png");
    let (_, cat) = photo_frame("chelsea.png");
    let mut h = gst_check::Harness::new("imgclassify");
    h.element()
        .expect("element")
        .set_property("smoothing", smoothing);
    h.play();
    h.set_src_caps(caps);
    let mut last = None;
    let mut changes = 0;
    for i in 0..40u64 {
        let mut frame = if i % 2 == 0 {
            coffee.copy()
        } else {
            cat.copy()
        };
        frame
            .make_mut()
            .set_pts(gst::ClockTime::from_mseconds(33 * i));
        let out = h.push_and_pull(frame).expect("out");
        let top = Classification::from_buffer(&out).expect("meta").labels[0].clone();
        changes += usize::from(last.as_ref().is_some_and(|l| *l != top));
        last = Some(top);
    }
    changes
}

#[test]
fn smoothing_stops_labels_flickering() {
    let _s = common::serial();
    let raw = top1_changes(0.0);
    let smooth = top1_changes(0.8);
    println!("top-1 changes over 40 alternating frames: {raw} raw, {smooth} smoothed");
    assert_eq!(raw, 39, "without smoothing every frame flips");
    assert!(smooth * 10 <= raw, "smoothed {smooth} vs raw {raw}");
}

#[test]
fn late_frames_skip_inference_not_the_frame() {
    let _s = common::serial();
    common::init();
    let mut h = gst_check::Harness::new("imgclassify");
    h.play();
    late_frame_after_qos(&mut h, false);
}

/// `qos=false` (BaseTransform's property) means every frame is classified, late or not.
#[test]
fn with_qos_false_late_frames_are_classified_too() {
    let _s = common::serial();
    common::init();
    let mut h = gst_check::Harness::new("imgclassify");
    h.element().expect("element").set_property("qos", false);
    h.play();
    late_frame_after_qos(&mut h, true);
}

/// Pushes a frame, a QoS event that makes the next frame late, the late frame and one on
/// time; `classified` says whether the late one is classified.
fn late_frame_after_qos(h: &mut gst_check::Harness, classified: bool) {
    h.set_src_caps_str("video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
    let frame = |ms: u64| {
        let mut b = gst::Buffer::with_size(64 * 48 * 3).expect("alloc");
        b.make_mut().set_pts(gst::ClockTime::from_mseconds(ms));
        b
    };
    assert!(
        Classification::from_buffer(&h.push_and_pull(frame(0)).expect("out"))
            .expect("meta")
            .fresh
    );
    // Downstream: the frame at 0 ms arrived 500 ms late, so anything before 1 s is late.
    let qos = gst::event::Qos::builder(gst::QOSType::Underflow, 0.5, 500_000_000)
        .timestamp(gst::ClockTime::ZERO)
        .build();
    assert!(h.push_upstream_event(qos));
    let late =
        Classification::from_buffer(&h.push_and_pull(frame(100)).expect("out")).expect("meta");
    assert_eq!(
        late.fresh, classified,
        "a late frame carries the previous result unless qos=false"
    );
    let on_time =
        Classification::from_buffer(&h.push_and_pull(frame(1500)).expect("out")).expect("meta");
    assert!(on_time.fresh);
    let s = stats(&h.element().expect("element"));
    let skipped = if classified { 0 } else { 1 };
    assert_eq!(s.get::<u64>("qos-skipped").expect("field"), skipped);
    assert_eq!(s.get::<u64>("frames-seen").expect("field"), 3);
    assert_eq!(
        s.get::<u64>("frames-classified").expect("field"),
        3 - skipped
    );
}

fn pipeline_latency(mode: &str) -> gst::ClockTime {
    let p = gst::parse::launch(&format!(
        "videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=30/1 \
         ! imgclassify mode={mode} ! fakesink sync=true"
    ))
    .expect("parses");
    p.set_state(gst::State::Playing).expect("plays");
    let _ = p.state(gst::ClockTime::from_seconds(10));
    let mut q = gst::query::Latency::new();
    assert!(p.query(&mut q), "latency query answered");
    p.set_state(gst::State::Null).expect("stops");
    let (live, min, _) = q.result();
    assert!(live);
    min
}

#[test]
fn sync_mode_reports_its_inference_time_as_latency() {
    let _s = common::serial();
    common::init();
    let sync = pipeline_latency("sync");
    let asynchronous = pipeline_latency("async");
    println!("latency: sync {sync}, async {asynchronous}");
    assert!(
        sync >= asynchronous + gst::ClockTime::from_mseconds(1),
        "sync {sync} vs async {asynchronous}"
    );
}

#[test]
fn stats_count_frames_and_inference_time() {
    let _s = common::serial();
    common::init();
    let p = gst::parse::launch(
        "videotestsrc num-buffers=10 ! video/x-raw,width=64,height=48 \
         ! imgclassify name=c inference-interval=2 ! fakesink",
    )
    .expect("parses")
    .downcast::<gst::Pipeline>()
    .expect("pipeline");
    p.set_state(gst::State::Playing).expect("plays");
    let bus = p.bus().expect("bus");
    bus.timed_pop_filtered(gst::ClockTime::from_seconds(30), &[gst::MessageType::Eos])
        .expect("eos");
    let s = stats(&p.by_name("c").expect("element"));
    p.set_state(gst::State::Null).expect("stops");
    assert_eq!(s.get::<u64>("frames-seen").expect("field"), 10);
    assert_eq!(s.get::<u64>("frames-classified").expect("field"), 5);
    let mean = s.get::<u64>("mean-inference-time").expect("field");
    let max = s.get::<u64>("max-inference-time").expect("field");
    assert!(mean > 0 && max >= mean, "mean {mean} max {max}");
    assert_eq!(s.get::<u64>("results-dropped").expect("field"), 0);
}

/// Runs `action` on a playing async pipeline and checks it returns promptly and leaves
/// no session behind.
fn promptly(description: &str, action: impl FnOnce(&gst::Pipeline)) {
    common::init();
    let p = gst::parse::launch(description)
        .expect("parses")
        .downcast::<gst::Pipeline>()
        .expect("pipeline");
    p.set_state(gst::State::Playing).expect("plays");
    let _ = p.state(gst::ClockTime::from_seconds(10));
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    action(&p);
    p.set_state(gst::State::Null).expect("stops");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(live_sessions(), 0, "session left behind");
}

const ASYNC_LIVE: &str = "videotestsrc is-live=true ! video/x-raw,width=640,height=480,framerate=30/1 \
     ! imgclassify model=efficientnet-lite2 mode=async ! fakesink sync=true";

#[test]
fn stopping_during_async_inference_is_prompt() {
    let _s = common::serial();
    promptly(ASYNC_LIVE, |_| {});
}

#[test]
fn flushing_seek_during_async_inference_is_prompt() {
    let _s = common::serial();
    promptly(
        "videotestsrc ! video/x-raw,width=640,height=480,framerate=30/1 \
         ! imgclassify model=efficientnet-lite2 mode=async ! fakesink sync=true",
        |p| {
            p.seek_simple(gst::SeekFlags::FLUSH, gst::ClockTime::from_seconds(5))
                .expect("seek");
            let _ = p.state(gst::ClockTime::from_seconds(5));
        },
    );
}

#[test]
fn eos_during_async_inference_is_prompt() {
    let _s = common::serial();
    promptly(ASYNC_LIVE, |p| {
        p.send_event(gst::event::Eos::new());
        let bus = p.bus().expect("bus");
        let msg = bus.timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Eos]);
        assert!(msg.is_some(), "EOS reached the bus");
    });
}
