//! Many streams on one model in one process, with the pool of sessions in use: every
//! result lands on its own stream's buffer, and what one stream does (EOS, flushing
//! seeks, state changes) never disturbs the others.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;
use gstimgclassify::testing::{live_sessions, pooled_sessions};

/// `threads=1`, so the pool may hold a session per core.
fn photo_pipeline(photo: &str, frames: Option<u32>) -> gst::Pipeline {
    let path = common::data(photo).display().to_string();
    let frames = frames.map_or(String::new(), |n| format!("num-buffers={n}"));
    common::pipeline(&format!(
        "filesrc location={path} ! decodebin ! videoconvert \
         ! imagefreeze {frames} ! imgclassify name=c threads=1 ! appsink name=sink"
    ))
}

fn top1(buffer: &gst::BufferRef) -> String {
    Classification::from_buffer(buffer)
        .and_then(|c| c.labels.first().cloned())
        .unwrap_or_else(|| "no result".into())
}

#[test]
fn eight_streams_of_different_photos_each_get_their_own_label_on_every_frame() {
    let _s = common::serial();
    common::init();
    let photos = common::expected_labels();
    let start = Arc::new(Barrier::new(8));
    let pipelines: Vec<gst::Pipeline> = (0..8)
        .map(|i| photo_pipeline(&photos[i % photos.len()].0, Some(40)))
        .collect();
    for p in &pipelines {
        p.set_state(gst::State::Ready).expect("ready");
    }
    assert_eq!(live_sessions(), 1, "one model for all eight");
    assert_eq!(pooled_sessions(), 8, "a session per stream");
    let runs = common::bounded("eight photo streams", 240, move || {
        let threads: Vec<_> = pipelines
            .into_iter()
            .map(|p| {
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    // The stats as EOS passes, before NULL clears them.
                    let element = p.by_name("c").expect("element");
                    let at_eos = Arc::new(std::sync::Mutex::new(0u64));
                    let (e, seen) = (element.clone(), Arc::clone(&at_eos));
                    element.static_pad("src").expect("src pad").add_probe(
                        gst::PadProbeType::EVENT_DOWNSTREAM,
                        move |_, info| {
                            if let Some(gst::PadProbeData::Event(ev)) = &info.data
                                && ev.type_() == gst::EventType::Eos
                            {
                                let stats = e.property::<gst::Structure>("stats");
                                *seen.lock().expect("probe") =
                                    stats.get::<u64>("frames-classified").unwrap_or(0);
                            }
                            gst::PadProbeReturn::Ok
                        },
                    );
                    start.wait();
                    let run = common::try_run_pipeline(&p).expect("runs to EOS");
                    let labels: Vec<String> = run.buffers.iter().map(|b| top1(b)).collect();
                    let classified = *at_eos.lock().expect("probe");
                    (labels, classified)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("pipeline thread"))
            .collect::<Vec<_>>()
    });
    for (i, (labels, classified)) in runs.iter().enumerate() {
        let (photo, expected) = &photos[i % photos.len()];
        assert_eq!(labels.len(), 40, "{photo}");
        for (frame, label) in labels.iter().enumerate() {
            assert!(
                expected.contains(label),
                "stream {i} ({photo}) frame {frame}: got {label}, expected one of {expected:?}"
            );
        }
        // Each element counts its own frames only.
        assert_eq!(*classified, 40, "stream {i} ({photo}) stats");
    }
    assert_eq!(live_sessions(), 0);
    assert_eq!(pooled_sessions(), 0);
}

/// Pulls frames from `p` until `stop`, checking each label; returns how many came and
/// the longest gap between two.
fn keep_pulling(p: gst::Pipeline, expected: Vec<String>, stop: Arc<AtomicBool>) -> (u64, Duration) {
    let sink = p
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    sink.set_property("sync", false);
    p.set_state(gst::State::Playing).expect("plays");
    let (mut frames, mut gap, mut last) = (0u64, Duration::ZERO, Instant::now());
    while !stop.load(Ordering::Relaxed) {
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_seconds(30))
            .expect("frames keep coming while another stream changes state");
        let label = top1(sample.buffer().expect("buffer"));
        assert!(
            expected.contains(&label),
            "got {label}, expected {expected:?}"
        );
        frames += 1;
        gap = gap.max(last.elapsed());
        last = Instant::now();
    }
    let bus = p.bus().expect("bus");
    let error = bus.pop_filtered(&[gst::MessageType::Error]);
    assert!(error.is_none(), "{error:?}");
    p.set_state(gst::State::Null).expect("stops");
    (frames, gap)
}

#[test]
fn eos_flushes_and_state_changes_of_one_stream_leave_the_others_running() {
    let _s = common::serial();
    common::init();
    let photos = common::expected_labels();
    let stop = Arc::new(AtomicBool::new(false));
    let others: Vec<_> = (1..4)
        .map(|i| {
            let (photo, expected) = photos[i % photos.len()].clone();
            let p = photo_pipeline(&photo, None);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || keep_pulling(p, expected, stop))
        })
        .collect();
    let (photo, expected) = photos[0].clone();
    common::bounded("one stream changing state among others", 240, move || {
        for cycle in 0..3 {
            // To EOS, with a flushing seek on the way.
            let p = photo_pipeline(&photo, Some(30));
            let sink = p
                .by_name("sink")
                .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
                .expect("appsink");
            p.set_state(gst::State::Playing).expect("plays");
            let mut frames = 0;
            while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
                let label = top1(sample.buffer().expect("buffer"));
                assert!(expected.contains(&label), "cycle {cycle}: {label}");
                frames += 1;
                if frames == 5 {
                    assert!(
                        p.seek_simple(gst::SeekFlags::FLUSH, gst::ClockTime::ZERO)
                            .is_ok()
                    );
                }
            }
            assert!(sink.is_eos(), "cycle {cycle}: reached EOS");
            // Down through the states, then gone.
            for state in [gst::State::Paused, gst::State::Ready] {
                p.set_state(state).expect("state change");
                let (result, _, _) = p.state(gst::ClockTime::from_seconds(30));
                assert!(result.is_ok(), "cycle {cycle}: {state:?}");
            }
            p.set_state(gst::State::Null).expect("stops");
        }
    });
    stop.store(true, Ordering::Relaxed);
    for t in others {
        let (frames, gap) = t.join().expect("the other streams kept running");
        assert!(frames > 0);
        assert!(
            gap < Duration::from_secs(20),
            "a stream stalled for {gap:?}"
        );
    }
    assert_eq!(live_sessions(), 0);
}
