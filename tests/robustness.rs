//! Reliability under load and abuse: pipelines in parallel on one model, seeks and EOS
//! in every state, and state cycles that must not leak sessions or file descriptors.
//! Every step that could hang is bounded, so a deadlock fails instead of hanging.

use crate::common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;
use gstimgclassify::testing::live_sessions;

#[test]
fn eight_pipelines_in_parallel_threads_on_one_model() {
    let _s = common::serial();
    common::init();
    let coffee = common::data("coffee.png").display().to_string();
    let start = Arc::new(Barrier::new(8));
    let labels = common::bounded("eight pipelines", 120, move || {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (coffee, start) = (coffee.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    common::run(&format!(
                        "filesrc location={coffee} ! decodebin ! videoconvert \
                         ! imagefreeze num-buffers=3 ! imgclassify ! appsink name=sink"
                    ))
                    .results()
                    .into_iter()
                    .map(|r| r.expect("every frame has a meta").labels[0].clone())
                    .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("pipeline thread"))
            .collect::<Vec<_>>()
    });
    assert_eq!(labels, vec![vec!["espresso"; 3]; 8]);
    assert_eq!(live_sessions(), 0, "a session outlived its pipelines");
}

#[derive(Debug, Clone, Copy)]
enum Action {
    FlushingSeek,
    Eos,
}

/// 100 frames a second, shown in real time, so the stream is still running (and in
/// `async` mode the worker busy) when the event arrives. Seeks need a seekable source;
/// EOS is what applications send to live sources to finish (and a prerolled non-live
/// pipeline in PAUSED cannot take EOS from the application at all: GstBaseSrc waits for
/// its streaming thread, which the sink holds until PLAYING, with any element between).
fn events_pipeline(mode: &str, action: Action) -> gst::Pipeline {
    let source = match action {
        Action::FlushingSeek => "videotestsrc num-buffers=1000",
        Action::Eos => "videotestsrc is-live=true",
    };
    common::pipeline(&format!(
        "{source} ! video/x-raw,width=64,height=48,framerate=100/1 \
         ! imgclassify mode={mode} ! appsink name=sink sync=true max-buffers=2"
    ))
}

const SEEK_TO: gst::ClockTime = gst::ClockTime::from_seconds(5);

/// Sends `action` in `state`, then plays: returns whether the event was accepted and
/// what came out afterwards (frames, then whether EOS came).
fn act(mode: &'static str, state: gst::State, action: Action) -> (bool, Vec<gst::Buffer>, bool) {
    let p = events_pipeline(mode, action);
    let sink = p
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    p.set_state(state).expect("state change");
    let (result, reached, _) = p.state(gst::ClockTime::from_seconds(10));
    assert!(result.is_ok() && reached == state, "{state:?}: {result:?}");
    assert_eq!(live_sessions(), usize::from(state >= gst::State::Ready));
    if state == gst::State::Playing {
        // Let frames flow so the event lands mid-stream.
        for _ in 0..10 {
            sink.pull_sample().expect("frame");
        }
    }
    let accepted = match action {
        Action::FlushingSeek => p
            .seek_simple(gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE, SEEK_TO)
            .is_ok(),
        Action::Eos => p.send_event(gst::event::Eos::new()),
    };
    p.set_state(gst::State::Playing).expect("plays");
    let mut frames = Vec::new();
    while frames.len() < 20 {
        match sink.try_pull_sample(gst::ClockTime::from_seconds(5)) {
            Some(sample) => frames.extend(sample.buffer_owned()),
            None => break,
        }
    }
    let eos = sink.is_eos();
    p.set_state(gst::State::Null).expect("stops");
    (accepted, frames, eos)
}

#[test]
fn flushing_seeks_and_eos_in_every_state_neither_crash_nor_hang() {
    let _s = common::serial();
    common::init();
    use gst::State::*;
    for mode in ["sync", "async"] {
        for state in [Null, Ready, Paused, Playing] {
            for action in [Action::FlushingSeek, Action::Eos] {
                let what = format!("mode={mode}, {action:?} in {state:?}");
                let started = Instant::now();
                let (accepted, frames, eos) =
                    common::bounded(&what, 30, move || act(mode, state, action));
                println!(
                    "{what}: accepted {accepted}, {} frames, eos {eos}, {:?}",
                    frames.len(),
                    started.elapsed()
                );
                assert_eq!(live_sessions(), 0, "{what}: session left behind");
                let results: Vec<Classification> = frames
                    .iter()
                    .filter_map(|b| Classification::from_buffer(b))
                    .collect();
                match action {
                    // basesrc keeps an EOS sent before it runs and sends it first thing.
                    Action::Eos => {
                        assert!(accepted, "{what}");
                        assert!(eos, "{what}: no EOS");
                    }
                    Action::FlushingSeek if state >= Paused => {
                        assert!(accepted, "{what}");
                        assert_eq!(frames.len(), 20, "{what}");
                        assert_eq!(frames[0].pts(), Some(SEEK_TO), "{what}");
                        // No result from before the flush survives it.
                        assert!(
                            results.iter().all(|r| r.source_pts >= Some(SEEK_TO)),
                            "{what}: {results:?}"
                        );
                    }
                    // Before PAUSED nothing can seek yet; the stream starts at 0.
                    Action::FlushingSeek => {
                        assert!(!accepted, "{what}");
                        assert_eq!(frames.len(), 20, "{what}");
                        assert_eq!(frames[0].pts(), Some(gst::ClockTime::ZERO), "{what}");
                    }
                }
                if mode == "sync" {
                    assert_eq!(results.len(), frames.len(), "{what}: unlabelled frames");
                } else if !frames.is_empty() {
                    // The first frames after a start or flush may pass before the
                    // worker's first result.
                    assert!(!results.is_empty(), "{what}: no result at all");
                }
            }
        }
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd readable")
        .count()
}

/// One NULL→PLAYING→NULL cycle in which every element classifies before it stops.
fn cycle(p: &gst::Pipeline, elements: &[gst::Element]) {
    p.set_state(gst::State::Playing).expect("plays");
    let deadline = Instant::now() + Duration::from_secs(10);
    for element in elements {
        while element
            .property::<gst::Structure>("stats")
            .get::<u64>("frames-classified")
            .expect("field")
            == 0
        {
            assert!(Instant::now() < deadline, "nothing classified within 10 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    p.set_state(gst::State::Null).expect("stops");
}

#[test]
fn fifty_state_cycles_leave_no_file_descriptor_open() {
    let _s = common::serial();
    common::bounded("state cycles", 120, || {
        let p = common::pipeline(
            "videotestsrc is-live=true ! video/x-raw,width=32,height=32 \
             ! imgclassify name=sync ! fakesink \
             videotestsrc is-live=true ! video/x-raw,width=32,height=32 \
             ! imgclassify name=async mode=async ! fakesink",
        );
        let elements = ["sync", "async"].map(|n| p.by_name(n).expect("imgclassify"));
        // The first cycle opens what then stays open for the process, such as the
        // system clock's wake-up descriptors.
        cycle(&p, &elements);
        let before = open_fds();
        for _ in 0..50 {
            // Each cycle loads the model afresh (both elements share one session) and
            // starts and stops the async worker.
            cycle(&p, &elements);
            assert_eq!(live_sessions(), 0);
        }
        let after = open_fds();
        println!("open file descriptors: {before} before, {after} after 50 cycles");
        assert_eq!(after, before, "file descriptors leaked by state cycles");

        // Failed loads too: ONNX Runtime refuses the file each time.
        let truncated = common::fixture("truncated.onnx");
        let bad = common::pipeline(&format!(
            "videotestsrc ! imgclassify model-file={truncated} ! fakesink"
        ));
        let before = open_fds();
        for _ in 0..20 {
            assert!(bad.set_state(gst::State::Playing).is_err());
            bad.set_state(gst::State::Null).expect("stops");
        }
        assert_eq!(
            open_fds(),
            before,
            "file descriptors leaked by failed loads"
        );
    });
}
