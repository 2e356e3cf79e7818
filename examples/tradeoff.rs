//! Speed against accuracy of every built-in model at every input size of its family
//! (`input-size`), printed as a Markdown table:
//!
//!     cargo run --release --example tradeoff -- [FRAMES] [ROUNDS] [WARMUP] [MODELS]
//!
//! MODELS: built-in models, comma-separated (default: all eight), e.g.
//! `mobilenet,mobilenet-int8` for a model next to its int8 twin.
//!
//! Speed: the element in `videotestsrc ! imagefreeze ! imgclassify ! fakesink` on one
//! 1920x1080 NV12 frame, default threads; per frame, the time from the buffer entering
//! `imgclassify`'s sink pad to it leaving the src pad (preprocessing, inference,
//! softmax, meta). FRAMES frames (default 100) per model and size, measured in ROUNDS
//! rounds (default 4) that each visit every model and size once, so a burst of load on
//! a shared machine falls on all of them alike; each round starts a new pipeline and
//! skips its first WARMUP frames (default 5).
//! Accuracy: top-1 on the sample photos of tests/data, a hit when the label is one that
//! tests/data/expected.tsv accepts for the photo.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;
use gstimgclassify::testing::model::zoo;

fn data(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Photo and the top-1 labels it may get, from expected.tsv.
fn expected() -> Vec<(String, Vec<String>)> {
    let path = data("expected.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(photo, labels)| {
            (
                photo.to_string(),
                labels.split('|').map(str::to_string).collect(),
            )
        })
        .collect()
}

fn launch(description: &str) -> gst::Pipeline {
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("'{description}': {e}"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline")
}

fn run_to_eos(pipeline: &gst::Pipeline) {
    pipeline.set_state(gst::State::Playing).expect("plays");
    let bus = pipeline.bus().expect("bus");
    for msg in bus.iter_timed(gst::ClockTime::NONE) {
        match msg.view() {
            gst::MessageView::Eos(..) => break,
            gst::MessageView::Error(e) => panic!("{} ({:?})", e.error(), e.debug()),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).expect("stops");
}

/// Per measured frame: time in the element, and ONNX Runtime's part of it.
fn measure(model: &str, size: usize, frames: u32, warmup: u32) -> Vec<(Duration, Duration)> {
    let pipeline = launch(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=NV12,width=1920,height=1080 \
         ! imagefreeze num-buffers={} ! imgclassify name=c model={model} input-size={size} \
         ! fakesink sync=false",
        frames + warmup
    ));
    let element = pipeline.by_name("c").expect("imgclassify");
    let entered = Arc::new(Mutex::new(None::<Instant>));
    let times = Arc::new(Mutex::new(Vec::new()));
    {
        let entered = Arc::clone(&entered);
        element.static_pad("sink").expect("sink pad").add_probe(
            gst::PadProbeType::BUFFER,
            move |_, _| {
                *gstimgclassify::testing::lock(&entered) = Some(Instant::now());
                gst::PadProbeReturn::Ok
            },
        );
    }
    {
        let times = Arc::clone(&times);
        element.static_pad("src").expect("src pad").add_probe(
            gst::PadProbeType::BUFFER,
            move |_, info| {
                let took = gstimgclassify::testing::lock(&entered).take();
                if let (Some(t), Some(buffer)) = (took, info.buffer()) {
                    let inference = Classification::from_buffer(buffer)
                        .map(|c| Duration::from_nanos(c.inference_time_ns))
                        .unwrap_or_default();
                    gstimgclassify::testing::lock(&times).push((t.elapsed(), inference));
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
    run_to_eos(&pipeline);
    let times = gstimgclassify::testing::lock(&times).clone();
    assert_eq!(times.len(), (frames + warmup) as usize, "every frame timed");
    times.into_iter().skip(warmup as usize).collect()
}

/// Top-1 label of one photo.
fn top1(model: &str, size: usize, photo: &str) -> String {
    let path = data(photo).display().to_string();
    let pipeline = launch(&format!(
        "filesrc location={path} ! decodebin ! videoconvert \
         ! imgclassify model={model} input-size={size} ! appsink name=sink sync=false"
    ));
    let sink = pipeline
        .by_name("sink")
        .expect("sink")
        .downcast::<gst_app::AppSink>()
        .expect("appsink");
    pipeline.set_state(gst::State::Playing).expect("plays");
    let label = sink
        .pull_sample()
        .ok()
        .and_then(|s| s.buffer().and_then(Classification::from_buffer))
        .and_then(|c| c.labels.first().cloned())
        .unwrap_or_else(|| panic!("{model} at {size}: no result for {photo}"));
    pipeline.set_state(gst::State::Null).expect("stops");
    label
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The 1-minute load average, to tell how quiet the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn arg(args: &[String], i: usize, default: u32) -> u32 {
    match args.get(i) {
        None => default,
        Some(v) => {
            v.parse().ok().filter(|n| *n > 0).unwrap_or_else(|| {
                panic!("argument {} '{v}' must be a whole number above 0", i + 1)
            })
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let frames = arg(&args, 0, 100);
    let rounds = arg(&args, 1, 4).min(frames);
    let warmup = arg(&args, 2, 5);
    let wanted: Option<Vec<&str>> = args.get(3).map(|list| list.split(',').collect());
    if let Some(names) = &wanted
        && let Some(unknown) = names.iter().find(|n| zoo::built_in(n).is_none())
    {
        panic!(
            "unknown model '{unknown}'; built-in models are: {}",
            zoo::names()
        );
    }
    gst::init().expect("GStreamer initialises");
    gstimgclassify::plugin_register_static().expect("plugin registers");
    let photos = expected();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load_before = load_average();
    let configs: Vec<(&zoo::BuiltIn, usize)> = zoo::BUILT_IN
        .iter()
        .filter(|m| wanted.as_ref().is_none_or(|names| names.contains(&m.name)))
        .flat_map(|m| m.family_sizes.iter().map(move |&s| (m, s)))
        .collect();
    let mut times = vec![Vec::new(); configs.len()];
    for round in 0..rounds {
        // Spread FRAMES over the rounds, the first rounds taking any remainder.
        let n = frames / rounds + u32::from(round < frames % rounds);
        for (i, (model, size)) in configs.iter().enumerate() {
            times[i].extend(measure(model.name, *size, n, warmup));
        }
    }
    let mut misses = Vec::new();
    let hits: Vec<usize> = configs
        .iter()
        .map(|(model, size)| {
            let mut hits = 0;
            for (photo, accepted) in &photos {
                let label = top1(model.name, *size, photo);
                if accepted.contains(&label) {
                    hits += 1;
                } else {
                    misses.push(format!("{} at {size}: {photo} → {label}", model.name));
                }
            }
            hits
        })
        .collect();
    println!(
        "1920x1080 NV12, {frames} frames per row in {rounds} rounds (each after {warmup} warm-up \
         frames), {cores} cores, default threads; top-1 on {} photos; load average {load_before} \
         before, {} after",
        photos.len(),
        load_average()
    );
    println!();
    println!(
        "| model | input size | ms/frame, median (mean) | of which ONNX Runtime, median | top-1 hits / photos |"
    );
    println!("|---|---|---|---|---|");
    for (((model, size), times), hits) in configs.iter().zip(times).zip(hits) {
        let total: Vec<Duration> = times.iter().map(|t| t.0).collect();
        let mean = total.iter().sum::<Duration>() / total.len() as u32;
        let inference = median(times.iter().map(|t| t.1).collect());
        let own = if *size == model.size { " (own)" } else { "" };
        println!(
            "| `{}` | {size}{own} | {:.1} ({:.1}) | {:.1} | {hits}/{} |",
            model.name,
            ms(median(total)),
            ms(mean),
            ms(inference),
            photos.len()
        );
    }
    println!();
    if misses.is_empty() {
        println!("No misses.");
    } else {
        println!("Misses: {}", misses.join("; "));
    }
}
