//! `in-flight`: in `sync` mode the element holds up to K frames while its own thread
//! classifies them, so upstream works on the next. Frames leave in order, each with its
//! own result; EOS drains them, a flush seek lets go of them, a state change does not
//! wait for them, and the latency query counts them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::common;

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;

const W: usize = 600;
const H: usize = 400;

fn caps() -> gst::Caps {
    common::raw_caps("RGB", (W as i32, H as i32), 30)
}

/// Frame `n` of 30 per second: the coffee photo, or the cat photo on grey, in a pattern
/// with runs of both, so a frame leaving out of order shows in its label.
fn frames(count: u64) -> Vec<gst::Buffer> {
    let coffee = common::photo_rgb("coffee.png");
    let (cw, ch, cat) = common::photo_rgb("chelsea.png");
    let mut cat_frame = vec![128u8; W * H * 3];
    for row in 0..ch {
        let at = (row + 50) * W * 3 + 70 * 3;
        cat_frame[at..at + cw * 3].copy_from_slice(&cat[row * cw * 3..(row + 1) * cw * 3]);
    }
    (0..count)
        .map(|n| {
            let pixels = if (n * 7) % 5 < 2 {
                coffee.2.clone()
            } else {
                cat_frame.clone()
            };
            let mut buffer = gst::Buffer::from_mut_slice(pixels);
            let b = buffer.get_mut().expect("writable");
            b.set_pts(gst::ClockTime::from_nseconds(n * 1_000_000_000 / 30));
            b.set_duration(gst::ClockTime::from_nseconds(1_000_000_000 / 30));
            buffer
        })
        .collect()
}

/// What a run gave: each buffer's PTS and top-1 label, in the order they left, and
/// the element messages posted, in order, without their inference times.
struct Output {
    buffers: Vec<(gst::ClockTime, String)>,
    messages: Vec<String>,
}

/// A message as text, with the values that differ from run to run cut: how long the
/// inference took and the wall-clock time of a change.
fn without_times(message: &gst::Structure) -> String {
    let mut text = message.to_string();
    for field in ["inference-time=(guint64)", "wall-time=(guint64)"] {
        let mut parts = text.split(field);
        let mut kept = parts.next().unwrap_or_default().to_string();
        for part in parts {
            kept.push_str(part.trim_start_matches(|c: char| c.is_ascii_digit()));
        }
        text = kept;
    }
    text
}

/// Pushes `frames` through `appsrc ! imgclassify {props} ! appsink` to EOS.
fn run(props: &str, frames: &[gst::Buffer]) -> Output {
    let pipeline = common::pipeline(&format!(
        "appsrc name=src format=time max-bytes=0 ! imgclassify name=c {props} ! appsink name=sink"
    ));
    let src = pipeline
        .by_name("src")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .expect("appsrc");
    src.set_caps(Some(&caps()));
    pipeline.set_state(gst::State::Playing).expect("plays");
    for frame in frames {
        src.push_buffer(frame.clone()).expect("pushed");
    }
    src.end_of_stream().expect("EOS pushed");
    let run = common::try_run_pipeline(&pipeline).unwrap_or_else(|e| panic!("{props}: {e}"));
    let buffers = run
        .buffers
        .iter()
        .map(|b| {
            let result = Classification::from_buffer(b).expect("every buffer has a result");
            (
                b.pts().expect("PTS"),
                result.labels.first().cloned().unwrap_or_default(),
            )
        })
        .collect();
    Output {
        buffers,
        messages: run.messages.iter().map(without_times).collect(),
    }
}

#[test]
fn frames_leave_in_order_with_the_results_of_in_flight_1() {
    common::init();
    let frames = frames(40);
    let messages = "post-messages=true post-changes=true";
    let alone = run(&format!("in-flight=1 {messages}"), &frames);
    let held = run(&format!("in-flight=4 {messages}"), &frames);
    let pts: Vec<gst::ClockTime> = frames.iter().map(|f| f.pts().expect("PTS")).collect();
    assert_eq!(alone.buffers.iter().map(|r| r.0).collect::<Vec<_>>(), pts);
    assert_eq!(held.buffers, alone.buffers);
    let labels: std::collections::BTreeSet<&String> = alone.buffers.iter().map(|r| &r.1).collect();
    assert!(labels.len() >= 2, "the frames differ: {labels:?}");
    // A result message per frame, and a change message per change of label.
    assert!(
        alone.messages.len() > frames.len(),
        "{}",
        alone.messages.len()
    );
    assert_eq!(held.messages, alone.messages);
}

#[test]
fn eos_drains_every_held_frame() {
    common::init();
    let frames = frames(23);
    for props in ["in-flight=2", "in-flight=7", "in-flight=0"] {
        assert_eq!(run(props, &frames).buffers.len(), 23, "{props}");
    }
}

/// The coffee photo as a non-live (or live) stream of RGB frames into `imgclassify
/// name=c {props}`, then `sink`.
fn coffee_stream(source: &str, props: &str, sink: &str) -> gst::Pipeline {
    common::pipeline(&format!(
        "filesrc location={} ! pngdec ! {source} ! videoconvert \
         ! video/x-raw,format=RGB,framerate=30/1 ! imgclassify name=c {props} ! {sink}",
        common::data("coffee.png").display()
    ))
}

#[test]
fn a_flush_seek_lets_go_of_held_frames_and_results_continue() {
    common::init();
    let pipeline = coffee_stream(
        "imagefreeze",
        "in-flight=4",
        "appsink name=sink sync=false max-buffers=2",
    );
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    pipeline.set_state(gst::State::Paused).expect("pauses");
    let _ = pipeline.state(gst::ClockTime::from_seconds(60));
    let seek = |start: u64, stop: u64| {
        pipeline
            .seek(
                1.0,
                gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
                gst::SeekType::Set,
                gst::ClockTime::from_mseconds(start),
                gst::SeekType::Set,
                gst::ClockTime::from_mseconds(stop),
            )
            .expect("seeks");
    };
    seek(0, 2000);
    pipeline.set_state(gst::State::Playing).expect("plays");
    for _ in 0..8 {
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_seconds(60))
            .expect("a frame before the seek");
        assert!(Classification::from_buffer(sample.buffer().expect("buffer")).is_some());
    }
    // Frames are held now (the sink holds at most 2): the seek lets go of them.
    seek(1000, 1500);
    let mut after = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(60)) {
        let buffer = sample.buffer().expect("buffer");
        let result = Classification::from_buffer(buffer).expect("a result after the seek");
        after.push((buffer.pts().expect("PTS"), result.labels[0].clone()));
    }
    assert!(sink.is_eos(), "EOS after the seek");
    pipeline.set_state(gst::State::Null).expect("stops");
    let expected: Vec<gst::ClockTime> = (30..45)
        .map(|n| gst::ClockTime::from_nseconds(n * 1_000_000_000 / 30))
        .collect();
    assert_eq!(after.iter().map(|a| a.0).collect::<Vec<_>>(), expected);
    assert!(after.iter().all(|a| a.1 == after[0].1), "{after:?}");
}

/// Counts buffers through `pad` in `count`.
fn counting(pad: &gst::Pad, count: &Arc<AtomicU64>, block: bool) -> gst::PadProbeId {
    let count = Arc::clone(count);
    let mut kind = gst::PadProbeType::BUFFER;
    if block {
        kind |= gst::PadProbeType::BLOCK;
    }
    pad.add_probe(kind, move |_, _| {
        count.fetch_add(1, Ordering::SeqCst);
        gst::PadProbeReturn::Ok
    })
    .expect("probe added")
}

#[test]
fn a_stalled_downstream_holds_at_most_k_frames_and_null_does_not_hang() {
    const K: u64 = 3;
    common::init();
    let pipeline = coffee_stream(
        "imagefreeze num-buffers=200",
        &format!("in-flight={K}"),
        "fakesink",
    );
    let element = pipeline.by_name("c").expect("imgclassify");
    let (entered, left) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    counting(
        &element.static_pad("sink").expect("sink pad"),
        &entered,
        false,
    );
    // Downstream stalls on the first frame that leaves.
    counting(&element.static_pad("src").expect("src pad"), &left, true);
    let _ = pipeline.set_state(gst::State::Playing);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    // The first frame out stalls; K − 1 more wait behind it, and one more waits for
    // room on the streaming thread.
    while entered.load(Ordering::SeqCst) < K + 1 {
        assert!(std::time::Instant::now() < deadline, "frames never came in");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // However long it stalls, no more come in.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(entered.load(Ordering::SeqCst), K + 1);
    assert_eq!(left.load(Ordering::SeqCst), 1);
    let pipeline = gst::Pipeline::clone(&pipeline);
    let stopped = common::bounded("NULL with frames held", 60, move || {
        pipeline.set_state(gst::State::Null)
    });
    assert_eq!(stopped, Ok(gst::StateChangeSuccess::Success));
}

#[test]
fn ready_while_frames_are_held_does_not_hang_and_plays_again() {
    common::init();
    let pipeline = coffee_stream(
        "imagefreeze num-buffers=40",
        "in-flight=4",
        "appsink name=sink max-buffers=1",
    );
    pipeline.set_state(gst::State::Playing).expect("plays");
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    sink.try_pull_sample(gst::ClockTime::from_seconds(60))
        .expect("a first frame");
    let p = pipeline.clone();
    let ready = common::bounded("READY with frames held", 60, move || {
        p.set_state(gst::State::Ready)
    });
    assert_eq!(ready, Ok(gst::StateChangeSuccess::Success));
    sink.set_property("sync", false);
    pipeline
        .set_state(gst::State::Playing)
        .expect("plays again");
    let mut count = 0;
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(60)) {
        assert!(Classification::from_buffer(sample.buffer().expect("buffer")).is_some());
        count += 1;
    }
    assert_eq!(count, 40, "every frame of the second run");
    pipeline.set_state(gst::State::Null).expect("stops");
}

/// The latency the element's source pad answers, in `pipeline` prerolled or playing.
fn latency(pipeline: &gst::Pipeline) -> (bool, gst::ClockTime) {
    let pad = pipeline
        .by_name("c")
        .and_then(|c| c.static_pad("src"))
        .expect("imgclassify src pad");
    let mut query = gst::query::Latency::new();
    assert!(pad.query(&mut query), "latency answered");
    let (live, min, _) = query.result();
    (live, min)
}

#[test]
fn the_latency_query_counts_the_held_frames() {
    common::init();
    let pipeline = coffee_stream("imagefreeze", "", "fakesink");
    let element = pipeline.by_name("c").expect("imgclassify");
    let mut measured = Vec::new();
    // One loaded model (READY keeps it) for every setting: the same inference latency.
    for k in [1u32, 4, 0] {
        element.set_property("in-flight", k);
        pipeline.set_state(gst::State::Paused).expect("pauses");
        let (done, _, _) = pipeline.state(gst::ClockTime::from_seconds(60));
        assert_eq!(done, Ok(gst::StateChangeSuccess::Success), "prerolled");
        measured.push(latency(&pipeline));
        pipeline.set_state(gst::State::Ready).expect("ready");
    }
    pipeline.set_state(gst::State::Null).expect("stops");
    let (live, one) = measured[0];
    assert!(!live);
    assert!(one > gst::ClockTime::ZERO);
    assert_eq!(measured[1], (false, 4 * one), "in-flight=4");
    assert_eq!(measured[2], (false, 2 * one), "auto, not live: 2");
}

#[test]
fn auto_holds_nothing_when_upstream_is_live() {
    common::init();
    let pipeline = coffee_stream("imagefreeze is-live=true", "in-flight=1", "fakesink");
    let element = pipeline.by_name("c").expect("imgclassify");
    let first = |pipeline: &gst::Pipeline| {
        let (tx, rx) = std::sync::mpsc::channel();
        let pad = pipeline
            .by_name("c")
            .and_then(|c| c.static_pad("src"))
            .expect("src pad");
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            let _ = tx.send(());
            gst::PadProbeReturn::Remove
        });
        pipeline.set_state(gst::State::Playing).expect("plays");
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("a first frame");
        latency(pipeline)
    };
    let one = first(&pipeline);
    pipeline.set_state(gst::State::Ready).expect("ready");
    element.set_property("in-flight", 0u32);
    let auto = first(&pipeline);
    pipeline.set_state(gst::State::Null).expect("stops");
    assert!(one.0, "upstream is live");
    assert_eq!(auto, one);
}

#[test]
fn a_downstream_flow_error_goes_back_upstream() {
    common::init();
    let frames = frames(30);
    let pipeline = common::pipeline(
        "appsrc name=src format=time max-bytes=0 ! imgclassify name=c in-flight=3 \
         ! appsink name=sink sync=false",
    );
    let src = pipeline
        .by_name("src")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .expect("appsrc");
    src.set_caps(Some(&caps()));
    // From the fifth frame on, downstream answers not-linked.
    let passed = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&passed);
    pipeline
        .by_name("c")
        .and_then(|c| c.static_pad("src"))
        .expect("src pad")
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if counter.fetch_add(1, Ordering::SeqCst) < 4 {
                return gst::PadProbeReturn::Ok;
            }
            info.flow_res = Err(gst::FlowError::NotLinked);
            gst::PadProbeReturn::Handled
        });
    pipeline.set_state(gst::State::Playing).expect("plays");
    for frame in &frames {
        let _ = src.push_buffer(frame.clone());
    }
    let _ = src.end_of_stream();
    let bus = pipeline.bus().expect("bus");
    let message = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(120),
        &[gst::MessageType::Error, gst::MessageType::Eos],
    );
    pipeline.set_state(gst::State::Null).expect("stops");
    let Some(gst::MessageView::Error(e)) = message.as_ref().map(|m| m.view()) else {
        panic!("upstream heard of nothing: {message:?}");
    };
    let debug = format!("{:?}", e.debug());
    assert!(debug.contains("not-linked"), "{debug}");
    // Frames held when the push failed were let go, not pushed after it.
    assert_eq!(passed.load(Ordering::SeqCst), 5);
}
