//! What changing the classes or the model of a running `imgclassify` costs the stream:
//! a 30 fps stream of one photo (appsrc, 320x240 RGB) runs through `imgclassify
//! classes-dir=…`, and every 2 s a photo is dropped into a new class folder, or `model`
//! is set. Printed per change: the time from the photo written (or the property set)
//! to the element message saying the new set (or model) is in use, and the longest gap
//! between two output buffers around it, against the longest gap with no change, and
//! the process's resident memory (VmRSS) before, at most during and after it. First, the
//! memory of the session apart that embeds examples while frames run, alone.
//!
//! ```sh
//! cargo run --release --example live_classes_bench -- [rounds, default 5]
//! ```

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::testing::aside_sessions;
use gstimgclassify::testing::backend::{Backend, Batch, EngineOptions, OnnxRuntime};

#[path = "common/memory.rs"]
mod memory;
use memory::rss_kib;

const FRAME: Duration = Duration::from_nanos(1_000_000_000 / 30);

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn frame(photo: &str) -> (gst::Caps, gst::Buffer) {
    let pipeline = gst::parse::launch(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! videoscale \
         ! video/x-raw,format=RGB,width=320,height=240,pixel-aspect-ratio=1/1 \
         ! appsink name=sink",
        data(photo).display()
    ))
    .expect("parses")
    .downcast::<gst::Pipeline>()
    .expect("pipeline");
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    pipeline.set_state(gst::State::Playing).expect("plays");
    let sample = sink.pull_sample().expect("a frame");
    pipeline.set_state(gst::State::Null).expect("stops");
    let caps = sample.caps().expect("caps").to_owned();
    let mut caps = caps;
    caps.make_mut().set("framerate", gst::Fraction::new(30, 1));
    (caps, sample.buffer().expect("buffer").to_owned())
}

struct Change {
    what: String,
    at: Instant,
}

/// What the session apart adds: `mobilenet` loaded as an element loads it, then one
/// example embedded apart, then the session dropped.
fn aside_memory() {
    let path = gstimgclassify::testing::model::zoo::resolve("mobilenet").expect("mobilenet");
    let model = OnnxRuntime::load(&path, &EngineOptions::default(), 0).expect("loads");
    let zeros = vec![0.0f32; model.info().spec.tensor.len()];
    let embed = Batch {
        embed: true,
        ..Batch::new(&zeros, 1)
    };
    model.run(&embed).expect("runs");
    let before = rss_kib().unwrap_or(0);
    let aside = model.aside().expect("a session apart");
    let started = Instant::now();
    aside.run(&embed).expect("runs apart");
    let built = started.elapsed();
    let during = rss_kib().unwrap_or(0);
    assert_eq!(aside_sessions().0, 1);
    drop(aside);
    let after = rss_kib().unwrap_or(0);
    println!(
        "session apart (mobilenet): VmRSS {:.1} MiB before, {:.1} MiB with it ({:+.1} MiB, \
         built and run once in {:.0} ms), {:.1} MiB after it was dropped",
        mib(before),
        mib(during),
        mib(during) - mib(before),
        ms(built),
        mib(after)
    );
    println!();
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// VmRSS sampled every millisecond until `stop` is set.
fn sample_rss(
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<(Instant, u64)>> {
    std::thread::spawn(move || {
        let mut samples = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            samples.push((Instant::now(), rss_kib().unwrap_or(0)));
            std::thread::sleep(Duration::from_millis(1));
        }
        samples
    })
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("rounds: a number"))
        .unwrap_or(5);
    gst::init().expect("GStreamer");
    gstimgclassify::plugin_register_static().expect("plugin");
    aside_memory();
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    for class in ["fish", "hammer", "tape-measure", "windmill"] {
        let to = dir.path().join(class);
        std::fs::create_dir_all(&to).expect("mkdir");
        for file in std::fs::read_dir(data("classes").join(class)).expect("class") {
            let file = file.expect("entry").path();
            std::fs::copy(&file, to.join(file.file_name().expect("name"))).expect("copy");
        }
    }
    let (caps, buffer) = frame("chelsea.png");
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=src format=time ! imgclassify name=c classes-dir={} \
         classes-cache-dir={} ! appsink name=sink sync=false",
        dir.path().display(),
        cache.path().display()
    ))
    .expect("parses")
    .downcast::<gst::Pipeline>()
    .expect("pipeline");
    let src = pipeline
        .by_name("src")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .expect("appsrc");
    src.set_caps(Some(&caps));
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    let element = pipeline.by_name("c").expect("imgclassify");
    // When each change message was posted, from the posting thread.
    let posted: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    {
        let posted = Arc::clone(&posted);
        pipeline
            .bus()
            .expect("bus")
            .set_sync_handler(move |_, msg| {
                match msg.view() {
                    gst::MessageView::Element(e) => {
                        if let Some(s) = e.structure()
                            && s.name().starts_with("imgclassify-")
                            && s.name().ends_with("-changed")
                        {
                            posted
                                .lock()
                                .unwrap()
                                .push((s.name().to_string(), Instant::now()));
                        }
                    }
                    gst::MessageView::Warning(w) => eprintln!("warning: {}", w.error()),
                    gst::MessageView::Error(e) => panic!("{} {:?}", e.error(), e.debug()),
                    _ => {}
                }
                gst::BusSyncReply::Drop
            });
    }
    pipeline.set_state(gst::State::Playing).expect("plays");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_rss(Arc::clone(&stop));

    let photos = ["fish", "hammer", "tape-measure", "windmill"];
    let mut changes: Vec<Change> = Vec::new();
    let mut outputs: Vec<Instant> = Vec::new();
    let started = Instant::now();
    let mut next_change = started + Duration::from_secs(3);
    let total = 3 + 2 * (2 * rounds as u64) + 2;
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(total) {
        let due = started + FRAME * n as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let mut b = buffer.copy();
        {
            let b = b.get_mut().expect("writable");
            b.set_pts(gst::ClockTime::from_nseconds(FRAME.as_nanos() as u64 * n));
            b.set_duration(gst::ClockTime::from_nseconds(FRAME.as_nanos() as u64));
        }
        src.push_buffer(b).expect("pushed");
        sink.pull_sample().expect("output");
        outputs.push(Instant::now());
        n += 1;
        if Instant::now() >= next_change && changes.len() < 2 * rounds {
            let i = changes.len();
            if i.is_multiple_of(2) {
                // A new class of one photo, written aside and renamed in, as a copy
                // tool that is careful does.
                let class = dir.path().join(format!("new-{i}"));
                std::fs::create_dir_all(&class).expect("mkdir");
                let photo = data(&format!("classes-heldback/{}.jpg", photos[i / 2 % 4]));
                let aside = dir.path().join(format!(".new-{i}.jpg"));
                std::fs::copy(photo, &aside).expect("copy");
                std::fs::rename(&aside, class.join("photo.jpg")).expect("rename");
                changes.push(Change {
                    what: "photo dropped into a new class folder".into(),
                    at: Instant::now(),
                });
            } else {
                let model = ["mobilenet-int8", "mobilenet"][i / 2 % 2];
                element.set_property("model", model);
                changes.push(Change {
                    what: format!("model={model} set"),
                    at: Instant::now(),
                });
            }
            next_change += Duration::from_secs(2);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rss = sampler.join().expect("sampler");
    pipeline.set_state(gst::State::Null).expect("stops");

    let gap_in = |from: Instant, to: Instant| {
        outputs
            .windows(2)
            .filter(|w| w[1] > from && w[0] < to)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default()
    };
    let quiet = gap_in(
        started + Duration::from_millis(500),
        started + Duration::from_secs(3),
    );
    println!(
        "{n} frames at 30 fps; longest gap with no change: {:.1} ms",
        ms(quiet)
    );
    println!();
    let rss_before = |at: Instant| {
        rss.iter()
            .take_while(|(t, _)| *t < at)
            .last()
            .map_or(0, |(_, kib)| *kib)
    };
    let rss_peak = |from: Instant, to: Instant| {
        rss.iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(_, kib)| *kib)
            .max()
            .unwrap_or(0)
    };
    println!(
        "| change | in use after | longest gap until then | VmRSS before, peak until then, 0.5 s after (MiB) |"
    );
    println!("|---|---|---|---|");
    let posted = posted.lock().unwrap().clone();
    for change in &changes {
        let Some((name, at)) = posted.iter().find(|(_, at)| *at > change.at) else {
            println!("| {} | never | |", change.what);
            continue;
        };
        let gap = gap_in(change.at, *at + FRAME);
        let after = rss_before(*at + Duration::from_millis(500));
        println!(
            "| {} | {:.0} ms ({name}) | {:.1} ms | {:.1}, {:.1}, {:.1} |",
            change.what,
            ms(*at - change.at),
            ms(gap),
            mib(rss_before(change.at)),
            mib(rss_peak(change.at, *at)),
            mib(after)
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
