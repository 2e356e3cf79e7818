//! Per-frame cost of `classifyoverlay` on 1080p video: the time from a buffer entering
//! the element's sink pad to it leaving the src pad, for labels that stay the same
//! (the drawing is reused, only blended) and labels that change on every frame (drawn
//! with pango/cairo, then blended), and for attaching the meta instead of blending.
//!
//!     cargo run --release --example overlay_bench -- [FORMAT] [FRAMES]
//!
//! FORMAT defaults to NV12, FRAMES to 300.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::{Classification, Target};

fn labels(n: u64, change: bool) -> Classification {
    let k = if change { n } else { 0 };
    Classification {
        classifier: "imgclassify0".into(),
        target: Target::Frame,
        model: "mobilenet".into(),
        labels: vec![
            format!("espresso {k}"),
            "consomme".into(),
            "soup bowl".into(),
        ],
        class_ids: vec![967, 925, 809],
        scores: vec![0.91, 0.05, 0.01],
        inference_time_ns: 0,
        provider: "cpu".into(),
        fresh: true,
        source_pts: None,
        seq: 0,
        regions: Vec::new(),
        embedding: None,
    }
}

/// Per-frame times through the element, in the order the frames came.
fn measure(format: &str, frames: u32, change: bool, attach: bool) -> Vec<Duration> {
    let downstream = if attach {
        // A capsfilter only meta caps pass: the element attaches instead of blending.
        "video/x-raw(meta:GstVideoOverlayComposition) ! fakesink sync=false"
    } else {
        "fakesink sync=false"
    };
    let description = format!(
        "videotestsrc num-buffers={frames} pattern=smpte \
         ! video/x-raw,format={format},width=1920,height=1080,framerate=30/1 \
         ! identity name=tag ! classifyoverlay name=overlay ! {downstream}"
    );
    let pipeline = gst::parse::launch(&description)
        .expect("pipeline parses")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let tag = pipeline.by_name("tag").expect("tag");
    let count = AtomicU64::new(0);
    tag.static_pad("src")
        .expect("pad")
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(buffer)) = &mut info.data {
                let n = count.fetch_add(1, Ordering::SeqCst);
                labels(n, change)
                    .attach(buffer.make_mut())
                    .expect("meta attaches");
            }
            gst::PadProbeReturn::Ok
        });
    let overlay = pipeline.by_name("overlay").expect("overlay");
    let entered = Arc::new(Mutex::new(None::<Instant>));
    let times = Arc::new(Mutex::new(Vec::new()));
    {
        let entered = entered.clone();
        overlay.static_pad("sink").expect("pad").add_probe(
            gst::PadProbeType::BUFFER,
            move |_, _| {
                *entered.lock().unwrap() = Some(Instant::now());
                gst::PadProbeReturn::Ok
            },
        );
    }
    {
        let times = times.clone();
        overlay.static_pad("src").expect("pad").add_probe(
            gst::PadProbeType::BUFFER,
            move |_, _| {
                if let Some(t) = entered.lock().unwrap().take() {
                    times.lock().unwrap().push(t.elapsed());
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
    pipeline.set_state(gst::State::Playing).expect("plays");
    let bus = pipeline.bus().expect("bus");
    for msg in bus.iter_timed(gst::ClockTime::NONE) {
        match msg.view() {
            gst::MessageView::Eos(..) => break,
            gst::MessageView::Error(e) => panic!("{}", e.error()),
            _ => {}
        }
    }
    let renders: u64 = overlay.property("renders");
    pipeline.set_state(gst::State::Null).expect("stops");
    let times = times.lock().unwrap().clone();
    assert_eq!(times.len(), frames as usize);
    let expected = if change { frames as u64 } else { 1 };
    assert_eq!(renders, expected, "renders");
    times
}

fn report(what: &str, times: &[Duration]) {
    // The first frame loads the fonts; it is reported apart.
    let rest = &times[1..];
    let mut sorted: Vec<Duration> = rest.to_vec();
    sorted.sort();
    let mean = rest.iter().sum::<Duration>() / rest.len() as u32;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<44} mean {:6.3} ms  median {:6.3} ms  p95 {:6.3} ms  (first frame {:.1} ms)",
        ms(mean),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() * 95 / 100]),
        ms(times[0])
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let format = args.next().unwrap_or_else(|| "NV12".into());
    let frames: u32 = args.next().and_then(|f| f.parse().ok()).unwrap_or(300);
    gst::init().expect("GStreamer initialises");
    gstimgclassify::plugin_register_static().expect("plugin registers");
    println!(
        "classifyoverlay, 1920x1080 {format}, {frames} frames, time in the element per frame:"
    );
    report(
        "blend, same labels (drawing reused)",
        &measure(&format, frames, false, false),
    );
    report(
        "blend, labels change every frame (redrawn)",
        &measure(&format, frames, true, false),
    );
    report(
        "attach meta, same labels",
        &measure(&format, frames, false, true),
    );
    report(
        "attach meta, labels change every frame",
        &measure(&format, frames, true, true),
    );
}
