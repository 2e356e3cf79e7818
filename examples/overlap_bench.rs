//! Frames per second of a 1080p H.264 file decoded straight into `imgclassify`, with
//! `in-flight=1` (inference on the streaming thread, the decoder waits for it),
//! `in-flight=2` (the element classifies one frame while the decoder decodes the
//! next) and `queue ! imgclassify in-flight=1` (what users wrote before `in-flight`).
//!
//!     cargo run --release --example overlap_bench -- [OPTIONS]
//!
//! See `USAGE` below or `--help`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use gstimgclassify::gst;
use gstimgclassify::gst::prelude::*;

#[path = "common/h264.rs"]
mod h264;
#[path = "common/measure.rs"]
mod measure;
use measure::{cpu_model, median};

const USAGE: &str = "\
Usage: cargo run --release --example overlap_bench -- [OPTIONS]

Each round plays the file to EOS once per model and variant, in an order that rotates
from round to round, and counts the frames reaching the sink from the first (the
model's load is not counted) to EOS. Prints a Markdown table: the median frames per
second over the rounds, the lowest and highest in brackets.

  filesrc (1080p H.264 made once with x264enc speed-preset=ultrafast from videotestsrc
  pattern=snow) ! qtdemux ! h264parse ! avdec_h264 ! VARIANT ! fakesink sync=false

Variants:
  in-flight=1        imgclassify in-flight=1
  in-flight=2        imgclassify in-flight=2
  queue+in-flight=1  queue ! imgclassify in-flight=1

Options:
  --model LIST    built-in models, comma-separated   [mobilenet,mobilenet-int8]
  --rounds N                                         [2]
  --frames N      the file's length                  [600]
  --bitrate K     the file's bitrate in kbit/s       [6000]
";

const VARIANTS: [(&str, &str); 3] = [
    ("in-flight=1", "imgclassify name=c in-flight=1"),
    ("in-flight=2", "imgclassify name=c in-flight=2"),
    (
        "queue+in-flight=1",
        "queue ! imgclassify name=c in-flight=1",
    ),
];

type Error = Box<dyn std::error::Error>;

struct Options {
    models: Vec<String>,
    rounds: usize,
    frames: u32,
    bitrate: u32,
    command: String,
}

fn parse_options() -> Result<Options, Error> {
    use lexopt::prelude::*;
    let mut o = Options {
        models: vec!["mobilenet".into(), "mobilenet-int8".into()],
        rounds: 2,
        frames: 600,
        bitrate: 6000,
        command: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("model") => {
                o.models = parser
                    .value()?
                    .string()?
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect();
            }
            Long("rounds") => o.rounds = parser.value()?.parse()?,
            Long("frames") => o.frames = parser.value()?.parse()?,
            Long("bitrate") => o.bitrate = parser.value()?.parse()?,
            Short('h') | Long("help") => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if o.models.is_empty() || o.rounds == 0 || o.frames < 2 || o.bitrate == 0 {
        return Err("--model needs a value; --rounds, --bitrate above 0, --frames above 1".into());
    }
    Ok(o)
}

/// Frames per second from the first frame at the sink to EOS.
fn run(description: &str) -> Result<f64, Error> {
    let pipeline = gst::parse::launch(description)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline")?;
    let frames = Arc::new(AtomicU64::new(0));
    let first: Arc<std::sync::OnceLock<Instant>> = Arc::default();
    let (counter, first_seen) = (Arc::clone(&frames), Arc::clone(&first));
    pipeline
        .by_name("sink")
        .and_then(|s| s.static_pad("sink"))
        .ok_or("no sink")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            first_seen.get_or_init(Instant::now);
            counter.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    let ended = h264::play_to_eos(pipeline.upcast_ref(), 600)?;
    let first = *first.get().ok_or("no frame reached the sink")?;
    // The first frame starts the clock, so it is not counted.
    let counted = frames.load(Ordering::Relaxed).saturating_sub(1);
    Ok(counted as f64 / (ended - first).as_secs_f64())
}

fn bench(o: &Options) -> Result<(), Error> {
    let file = h264::h264_file(o.frames, o.bitrate)?;
    let tasks: Vec<(String, usize)> = o
        .models
        .iter()
        .flat_map(|m| (0..VARIANTS.len()).map(move |v| (m.clone(), v)))
        .collect();
    let mut fps: std::collections::HashMap<(String, usize), Vec<f64>> = Default::default();
    let started = Instant::now();
    for round in 0..o.rounds {
        for i in 0..tasks.len() {
            let (model, v) = &tasks[(i + round) % tasks.len()];
            let (name, element) = VARIANTS[*v];
            let description = format!(
                "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 \
                 ! {element} model={model} execution-provider=cpu ! fakesink name=sink sync=false",
                file.display()
            );
            let rate = run(&description)?;
            eprintln!(
                "round {}/{}: {model} {name}: {rate:.1} fps",
                round + 1,
                o.rounds
            );
            fps.entry((model.clone(), *v)).or_default().push(rate);
        }
    }
    println!();
    println!(
        "`cargo run{} --example overlap_bench{}`: {} rounds interleaved ({:.0} s), \
         {} frames of 1080p H.264 at {} kbit/s; {}, {} CPUs.",
        if cfg!(debug_assertions) {
            ""
        } else {
            " --release"
        },
        if o.command.is_empty() {
            String::new()
        } else {
            format!(" -- {}", o.command)
        },
        o.rounds,
        started.elapsed().as_secs_f64(),
        o.frames,
        o.bitrate,
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!();
    let names: Vec<&str> = VARIANTS.iter().map(|v| v.0).collect();
    println!("| model | {} (fps) |", names.join(" (fps) | "));
    println!("|---|{}", "---|".repeat(VARIANTS.len()));
    for model in &o.models {
        let mut line = format!("| {model} |");
        for v in 0..VARIANTS.len() {
            let rates = fps.get(&(model.clone(), v)).cloned().unwrap_or_default();
            let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = rates.iter().copied().fold(0.0, f64::max);
            match median(rates) {
                Some(m) => line.push_str(&format!(" {m:.1} ({lo:.1}–{hi:.1}) |")),
                None => line.push_str(" – |"),
            }
        }
        println!("{line}");
    }
    Ok(())
}

fn main() {
    let result = parse_options().and_then(|o| {
        gst::init()?;
        gstimgclassify::plugin_register_static()?;
        bench(&o)
    });
    if let Err(e) = result {
        eprintln!("overlap_bench: {e}");
        std::process::exit(1);
    }
}
