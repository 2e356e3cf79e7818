//! Measures, for one live case, how many frames reach the sink and how many are
//! classified in each mode: `cargo run --release --example live_modes [model] [fps] [seconds]`.

use gst::prelude::*;
use gstimgclassify::gst;

fn run(model: &str, fps: u32, seconds: u64, props: &str) -> (u64, gst::Structure) {
    let p = gst::parse::launch(&format!(
        "videotestsrc is-live=true pattern=ball \
         ! video/x-raw,format=NV12,width=1920,height=1080,framerate={fps}/1 \
         ! imgclassify name=c model={model} {props} ! appsink name=sink sync=true qos=true"
    ))
    .expect("pipeline parses")
    .downcast::<gst::Pipeline>()
    .expect("pipeline");
    let sink = p
        .by_name("sink")
        .expect("sink")
        .downcast::<gst_app::AppSink>()
        .expect("appsink");
    let frames = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = std::sync::Arc::clone(&frames);
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    p.set_state(gst::State::Playing).expect("plays");
    std::thread::sleep(std::time::Duration::from_secs(seconds));
    let stats = p
        .by_name("c")
        .expect("element")
        .property::<gst::Structure>("stats");
    p.set_state(gst::State::Null).expect("stops");
    (frames.load(std::sync::atomic::Ordering::Relaxed), stats)
}

fn main() {
    gst::init().expect("GStreamer");
    gstimgclassify::plugin_register_static().expect("plugin");
    let args: Vec<String> = std::env::args().collect();
    let model = args.get(1).map_or("efficientnet-lite2", String::as_str);
    let fps: u32 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(60);
    let seconds: u64 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(10);
    println!(
        "{model}, live 1920x1080 NV12 at {fps} fps for {seconds} s ({} frames offered)",
        u64::from(fps) * seconds
    );
    println!(
        "| settings | frames delivered | frames classified | async results dropped | QoS-skipped | mean inference |"
    );
    println!("|---|---|---|---|---|---|");
    for props in [
        "mode=sync",
        "mode=sync inference-interval=3",
        "mode=async",
        "mode=async threads=1",
    ] {
        let (delivered, s) = run(model, fps, seconds, props);
        let get = |f: &str| s.get::<u64>(f).unwrap_or(0);
        println!(
            "| `{props}` | {delivered} | {} | {} | {} | {:.1} ms |",
            get("frames-classified"),
            get("results-dropped"),
            get("qos-skipped"),
            get("mean-inference-time") as f64 / 1e6
        );
    }
}
