//! One session per model and options, shared between elements and freed by the last
//! one; no first-frame stall. The session count is process-wide, so these tests run
//! one at a time.

mod common;

use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::testing::live_sessions;

fn branches(n: usize, props: impl Fn(usize) -> String) -> String {
    (0..n)
        .map(|i| {
            format!(
                "videotestsrc num-buffers=3 ! video/x-raw,width=64,height=48 ! imgclassify {} ! fakesink ",
                props(i)
            )
        })
        .collect()
}

fn play_to_eos(p: &gst::Pipeline) {
    p.set_state(gst::State::Playing).expect("plays");
    let bus = p.bus().expect("bus");
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("finishes");
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
}

#[test]
fn elements_with_the_same_model_and_options_share_one_session() {
    let _serial = common::serial();
    for n in [2, 8] {
        let p = common::pipeline(&branches(n, |_| String::new()));
        p.set_state(gst::State::Ready).expect("ready");
        assert_eq!(live_sessions(), 1, "{n} elements");
        play_to_eos(&p);
        p.set_state(gst::State::Null).expect("null");
        assert_eq!(live_sessions(), 0, "freed after {n} elements stop");
    }
}

#[test]
fn different_options_get_different_sessions() {
    let _serial = common::serial();
    let p = common::pipeline(&branches(3, |i| format!("threads={}", 1 + i % 2)));
    p.set_state(gst::State::Ready).expect("ready");
    assert_eq!(live_sessions(), 2);
    let q = common::pipeline(&branches(1, |_| "model=efficientnet".to_string()));
    q.set_state(gst::State::Ready).expect("ready");
    assert_eq!(live_sessions(), 3);
    p.set_state(gst::State::Null).expect("null");
    assert_eq!(live_sessions(), 1);
    q.set_state(gst::State::Null).expect("null");
    assert_eq!(live_sessions(), 0);
}

#[test]
fn each_input_size_gets_its_own_session() {
    let _serial = common::serial();
    let sizes = ["input-size=160", "input-size=160", ""];
    let p = common::pipeline(&branches(3, |i| sizes[i].to_string()));
    p.set_state(gst::State::Ready).expect("ready");
    assert_eq!(live_sessions(), 2);
    play_to_eos(&p);
    p.set_state(gst::State::Null).expect("null");
    assert_eq!(live_sessions(), 0);
}

#[test]
fn two_hundred_state_cycles_leak_no_session() {
    let _serial = common::serial();
    let p = common::pipeline(
        "videotestsrc is-live=true ! video/x-raw,width=32,height=32 ! imgclassify ! fakesink",
    );
    for cycle in 0..200 {
        p.set_state(gst::State::Playing).expect("plays");
        let (result, state, _) = p.state(gst::ClockTime::from_seconds(30));
        assert!(
            result.is_ok() && state == gst::State::Playing,
            "cycle {cycle}"
        );
        assert_eq!(live_sessions(), 1, "cycle {cycle}");
        p.set_state(gst::State::Null).expect("stops");
        assert_eq!(live_sessions(), 0, "cycle {cycle}");
    }
}

#[test]
fn first_frame_is_not_slower_than_twice_the_steady_state() {
    let _serial = common::serial();
    let p = common::pipeline(
        "videotestsrc num-buffers=40 ! video/x-raw,format=NV12,width=160,height=120 \
         ! imgclassify ! appsink name=sink sync=false",
    );
    let sink = p
        .by_name("sink")
        .expect("sink")
        .downcast::<gst_app::AppSink>()
        .expect("appsink");
    // Best of three starts, so one burst of load on a shared machine does not decide.
    let mut firsts = Vec::new();
    let mut gaps = Vec::new();
    for _ in 0..3 {
        // The model loads and warms up here, as an application would do before going live.
        p.set_state(gst::State::Ready).expect("ready");
        let start = Instant::now();
        p.set_state(gst::State::Playing).expect("plays");
        sink.pull_sample().expect("first frame");
        firsts.push(start.elapsed());
        let mut last = Instant::now();
        for _ in 0..20 {
            sink.pull_sample().expect("frame");
            gaps.push(last.elapsed());
            last = Instant::now();
        }
        p.set_state(gst::State::Null).expect("stops");
    }
    gaps.sort();
    let steady: Duration = gaps[gaps.len() / 2];
    let first = firsts.iter().min().copied().unwrap_or_default();
    let ratio = first.as_secs_f64() / steady.as_secs_f64();
    println!(
        "first frame {first:?} (of {firsts:?}), steady {steady:?} per frame, ratio {ratio:.2}"
    );
    assert!(
        ratio <= 2.0,
        "first frame {first:?} vs steady {steady:?}: ratio {ratio:.2}"
    );
}
