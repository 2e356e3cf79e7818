//! How close `imgclassify` comes to bare ONNX Runtime (its own session, and ONNX Runtime
//! with its defaults as Python gets it), how it compares with the same job written in
//! Python with OpenCV, and (with `--soak`) whether its memory stays flat.
//!
//!     cargo run --release --example pipeline_bench -- [OPTIONS]
//!
//! See `USAGE` below or `--help` for the variants and options.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst_video::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;
use gstimgclassify::testing::backend::{
    Backend, Batch, EngineOptions, OnnxRuntime, ProviderOptions, Requested, runtime,
};
use gstimgclassify::testing::live_sessions;
use gstimgclassify::testing::model::zoo;
use gstimgclassify::testing::preprocess::{
    FrameView, PixelFormat, Preprocessor, ResizeMode, YuvMatrix,
};

const USAGE: &str = "\
Usage: cargo run --release --example pipeline_bench -- [OPTIONS]

Benchmark (default). Each round runs every variant for --frames frames after --warmup
frames, in an order that rotates from round to round, so load on the machine hits all
variants alike. Prints a Markdown table: median time per frame over the rounds, with the
fastest and the slowest round in brackets, and the ratios overhead (b/a) and d/b, each
the median of the ratios within a round; b/f compares the element with ONNX Runtime as it
comes.

  ort     bare ONNX Runtime: the very session the element uses (its threads and
          spinning), run on a fixed tensor (tests/data/coffee.png, preprocessed once)
  ortdef  bare ONNX Runtime with its own defaults, as a Python user gets it:
          benches/ort_defaults.py, onnxruntime.InferenceSession(model) with no options
          (ONNX Runtime's thread count, spinning on), the same tensor; --threads does
          not apply
  nv12    appsrc ! imgclassify ! fakesink, the photo scaled to --size, converted once to
          NV12 and pushed again and again; time per frame between buffers at the sink
  nv12x2  the same with two imgclassify in a row (one model, two classifiers): what a
          second classifier on the stream costs
  i420    the same in I420
  rgbx    the same in RGBx
  opencv  benches/opencv_loop.py, the same job in Python: the NV12 frame through
          cv2.cvtColor, cv2.resize (INTER_AREA), centre crop, normalisation and
          onnxruntime, same model file and threads; its start-up is not counted

Soak (--soak): --frames small NV12 frames (default 100000 at 320x240) through
imgclassify, printing VmRSS every --every frames and its spread after the first sample.

Options:
  --model LIST      built-in models, comma-separated, or all (the eight built-in
                    ones)  [mobilenet,mobilenet-int8,efficientnet,efficientnet-int8]
  --threads LIST    the element's threads values, comma-separated (0 = ONNX Runtime's
                    default)                                    [0]
  --variants LIST   of ort,ortdef,nv12,nv12x2,i420,rgbx,opencv  [all]
  --frames N        timed frames per variant and round          [100; soak: 100000]
  --warmup N        untimed frames before them, at least 1      [10]
  --rounds N                                                    [10]
  --size WxH        frame size, even numbers                    [1920x1080; soak: 320x240]
  --python PATH     the Python with cv2 and onnxruntime         [deps/venv/bin/python]
  --soak            run the soak instead of the benchmark
  --every N         soak: frames between memory samples         [10000]
";

const PHOTO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/coffee.png");
const OPENCV_LOOP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/opencv_loop.py");
const ORT_DEFAULTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/ort_defaults.py");
const VENV_PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deps/venv/bin/python");
/// Without a buffer reaching the sink for this long, the pipeline is taken as stuck.
const STALL: Duration = Duration::from_secs(60);

type Error = Box<dyn std::error::Error>;

mod frames;
#[path = "../common/measure.rs"]
mod measure;
#[path = "../common/memory.rs"]
mod memory;
mod pipeline;
mod python;
mod soak;

use frames::*;
use measure::{cpu_model, median};
use memory::rss_kib;
use pipeline::*;
use python::*;
use soak::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Ort,
    OrtDefaults,
    Nv12,
    Nv12Twice,
    I420,
    Rgbx,
    OpenCv,
}

impl Variant {
    const ALL: [Variant; 7] = [
        Variant::Ort,
        Variant::OrtDefaults,
        Variant::Nv12,
        Variant::Nv12Twice,
        Variant::I420,
        Variant::Rgbx,
        Variant::OpenCv,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Ort => "ort",
            Variant::OrtDefaults => "ortdef",
            Variant::Nv12 => "nv12",
            Variant::Nv12Twice => "nv12x2",
            Variant::I420 => "i420",
            Variant::Rgbx => "rgbx",
            Variant::OpenCv => "opencv",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Variant::Ort => "bare ONNX Runtime, our session (a)",
            Variant::OrtDefaults => "bare ONNX Runtime, its defaults, Python (f)",
            Variant::Nv12 => "imgclassify NV12 (b)",
            Variant::Nv12Twice => "two imgclassify NV12 (e)",
            Variant::I420 => "imgclassify I420 (c)",
            Variant::Rgbx => "imgclassify RGBx (c)",
            Variant::OpenCv => "Python OpenCV + ORT, NV12 (d)",
        }
    }

    /// The frame a pipeline variant is fed.
    fn format(self) -> Option<PixelFormat> {
        match self {
            Variant::Nv12 | Variant::Nv12Twice => Some(PixelFormat::Nv12),
            Variant::I420 => Some(PixelFormat::I420),
            Variant::Rgbx => Some(PixelFormat::Rgbx),
            Variant::Ort | Variant::OrtDefaults | Variant::OpenCv => None,
        }
    }
}

struct Options {
    models: Vec<String>,
    threads: Vec<u32>,
    variants: Vec<Variant>,
    frames: Option<u64>,
    warmup: u64,
    rounds: usize,
    size: Option<(u32, u32)>,
    python: PathBuf,
    soak: bool,
    every: u64,
    /// The arguments as given, echoed above the table so it says how it was made.
    command: String,
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn parse_options() -> Result<Options, Error> {
    use lexopt::prelude::*;
    let mut o = Options {
        // Each fp32 model next to its int8 twin: bare and element, fp32 and int8, and
        // the Python loop, side by side in one run.
        models: [
            "mobilenet",
            "mobilenet-int8",
            "efficientnet",
            "efficientnet-int8",
        ]
        .map(String::from)
        .to_vec(),
        threads: vec![0],
        variants: Variant::ALL.to_vec(),
        frames: None,
        warmup: 10,
        rounds: 10,
        size: None,
        python: PathBuf::from(VENV_PYTHON),
        soak: false,
        every: 10_000,
        command: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("model") => {
                let v = parser.value()?.string()?;
                o.models = if v == "all" {
                    zoo::BUILT_IN.iter().map(|m| m.name.to_string()).collect()
                } else {
                    list(&v)
                };
            }
            Long("threads") => {
                o.threads = list(&parser.value()?.string()?)
                    .iter()
                    .map(|t| t.parse())
                    .collect::<Result<_, _>>()?;
            }
            Long("variants") => {
                o.variants = list(&parser.value()?.string()?)
                    .iter()
                    .map(|name| {
                        Variant::ALL
                            .into_iter()
                            .find(|v| v.name() == name)
                            .ok_or_else(|| format!("unknown variant '{name}'"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            Long("frames") => o.frames = Some(parser.value()?.parse()?),
            Long("warmup") => o.warmup = parser.value()?.parse()?,
            Long("rounds") => o.rounds = parser.value()?.parse()?,
            Long("size") => {
                let v = parser.value()?.string()?;
                let (w, h) = v
                    .split_once('x')
                    .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                    .ok_or_else(|| format!("--size {v} is not WxH"))?;
                o.size = Some((w, h));
            }
            Long("python") => o.python = parser.value()?.into(),
            Long("soak") => o.soak = true,
            Long("every") => o.every = parser.value()?.parse()?,
            Short('h') | Long("help") => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if o.models.is_empty() || o.threads.is_empty() || o.variants.is_empty() {
        return Err("--model, --threads and --variants need at least one value".into());
    }
    if o.frames == Some(0) || o.warmup == 0 || o.rounds == 0 || o.every == 0 {
        return Err("--frames, --warmup, --rounds and --every must be at least 1".into());
    }
    if o.size
        .is_some_and(|(w, h)| w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1)
    {
        return Err("--size needs even, non-zero width and height (4:2:0 frames)".into());
    }
    Ok(o)
}

fn ort_round(
    engine: &OnnxRuntime,
    tensor: &[f32],
    warmup: u64,
    frames: u64,
) -> Result<Duration, Error> {
    for _ in 0..warmup {
        engine.run(&Batch::new(tensor, 1))?;
    }
    let started = Instant::now();
    for _ in 0..frames {
        std::hint::black_box(engine.run(&Batch::new(tensor, 1))?);
    }
    Ok(started.elapsed() / frames as u32)
}

/// One row of the table: a model with one thread count.
struct Row {
    model: String,
    path: PathBuf,
    threads: u32,
    engine: OnnxRuntime,
    tensor: Vec<f32>,
    /// The same tensor in a file, for `ort_defaults.py`.
    tensor_file: tempfile::NamedTempFile,
    /// Per variant (in `Variant::ALL` order): time per frame of each round.
    times: [Vec<Duration>; Variant::ALL.len()],
    /// Per variant: the top-1 label it produced.
    top1: [Option<String>; Variant::ALL.len()],
}

fn index(v: Variant) -> usize {
    Variant::ALL.iter().position(|&x| x == v).unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The ONNX Runtime release in use, from the library's file name (its build info string
/// names no release), e.g. `1.31.1`; else the library's path.
fn ort_version() -> String {
    let Ok(rt) = runtime() else {
        return "unknown".into();
    };
    std::fs::canonicalize(&rt.library)
        .ok()
        .and_then(|p| {
            p.file_name()?
                .to_str()?
                .strip_prefix("libonnxruntime.so.")
                .map(String::from)
        })
        .unwrap_or_else(|| rt.library.display().to_string())
}

fn bench(o: &Options) -> Result<(), Error> {
    let frames = o.frames.unwrap_or(100);
    let (width, height) = o.size.unwrap_or((1920, 1080));
    let mut samples: Vec<Option<gst::Sample>> = vec![None; Variant::ALL.len()];
    for v in &o.variants {
        if let Some(format) = v.format() {
            samples[index(*v)] = Some(photo(format, width, height)?);
        }
    }
    let rgbx = photo(PixelFormat::Rgbx, width, height)?;

    let mut rows = Vec::new();
    for model in &o.models {
        let path = zoo::resolve(model)?;
        for &threads in &o.threads {
            let engine = OnnxRuntime::load(&path, &engine_options(threads), 0)?;
            let tensor = tensor(&engine, &rgbx)?;
            let mut top1: [Option<String>; Variant::ALL.len()] = Default::default();
            top1[index(Variant::Ort)] = Some(self::top1(
                &engine,
                &engine.run(&Batch::new(&tensor, 1))?.rows,
            ));
            let tensor_file = tempfile::Builder::new()
                .prefix("imgclassify-bench-")
                .suffix(".f32")
                .tempfile()?;
            let bytes: Vec<u8> = tensor.iter().flat_map(|v| v.to_ne_bytes()).collect();
            std::fs::write(tensor_file.path(), bytes)?;
            rows.push(Row {
                model: model.clone(),
                path: path.clone(),
                threads,
                engine,
                tensor,
                tensor_file,
                times: Default::default(),
                top1,
            });
        }
    }
    // The elements find these sessions in the process-wide cache; if one loaded its own
    // instead, (a) and (b) would no longer run the very same session.
    let sessions = live_sessions();
    let shared = Arc::new(AtomicBool::new(true));

    let nv12_file = tempfile::Builder::new()
        .prefix("imgclassify-bench-")
        .suffix(".nv12")
        .tempfile()?;
    let mut python_versions = None;
    if o.variants.contains(&Variant::OpenCv) {
        std::fs::write(
            nv12_file.path(),
            packed_nv12(&photo(PixelFormat::Nv12, width, height)?)?,
        )?;
        // Fails early, before the rounds, where Python lacks its packages.
        let probe = opencv_round(
            &o.python,
            nv12_file.path(),
            (width, height),
            (&rows[0].path, rows[0].threads),
            (1, 1),
        )?;
        python_versions = Some(probe.versions);
    }

    let tasks: Vec<(usize, Variant)> = (0..rows.len())
        .flat_map(|r| o.variants.iter().map(move |&v| (r, v)))
        .collect();
    let started = Instant::now();
    for round in 0..o.rounds {
        let mut progress = format!("round {}/{}:", round + 1, o.rounds);
        for i in 0..tasks.len() {
            let (r, variant) = tasks[(i + round) % tasks.len()];
            let row = &rows[r];
            let (time, label) = match variant {
                Variant::Ort => (ort_round(&row.engine, &row.tensor, o.warmup, frames)?, None),
                Variant::OrtDefaults => {
                    let run = ort_defaults_round(
                        &o.python,
                        row.tensor_file.path(),
                        &row.path,
                        (o.warmup, frames),
                    )?;
                    (run.per_frame, Some(run.top1))
                }
                Variant::OpenCv => {
                    let run = opencv_round(
                        &o.python,
                        nv12_file.path(),
                        (width, height),
                        (&row.path, row.threads),
                        (o.warmup, frames),
                    )?;
                    (run.per_frame, Some(run.top1))
                }
                _ => {
                    let sample = samples[index(variant)]
                        .as_ref()
                        .ok_or("frame not prepared")?;
                    pipeline_round(
                        sample,
                        Chain {
                            classifiers: if variant == Variant::Nv12Twice { 2 } else { 1 },
                            model: &row.model,
                            threads: row.threads,
                        },
                        (o.warmup, frames),
                        sessions,
                        &shared,
                    )?
                }
            };
            progress.push_str(&format!(
                " {}/{}/{} {:.2}",
                row.model,
                row.threads,
                variant.name(),
                ms(time)
            ));
            let row = &mut rows[r];
            row.times[index(variant)].push(time);
            if label.is_some() {
                row.top1[index(variant)] = label;
            }
        }
        eprintln!("{progress} ms");
    }
    let took = started.elapsed();

    let date = gst::glib::DateTime::now_local()
        .and_then(|d| d.format("%Y-%m-%d"))
        .map(|d| d.to_string())
        .unwrap_or_default();
    println!();
    println!(
        "`cargo run --release --example pipeline_bench{}` ({date}): {} at {width}x{height}, \
         {frames} frames per variant and round after {} warm-up frames, {} rounds interleaved \
         ({:.0} s); {}, {} CPUs; ONNX Runtime {}{}.",
        if o.command.is_empty() {
            String::new()
        } else {
            format!(" -- {}", o.command)
        },
        Path::new(PHOTO)
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        o.warmup,
        o.rounds,
        took.as_secs_f64(),
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        ort_version(),
        python_versions
            .map(|v| format!("; {v}"))
            .unwrap_or_default(),
    );
    println!();
    // Each ratio: its heading, numerator, denominator, and how it reads.
    type Ratio = (&'static str, Variant, Variant, fn(f64) -> String);
    let ratios: Vec<Ratio> = [
        (
            "overhead (b/a)",
            Variant::Nv12,
            Variant::Ort,
            (|r| format!("{:+.0} %", (r - 1.0) * 100.0)) as fn(f64) -> String,
        ),
        (
            "vs ONNX Runtime's defaults (b/f)",
            Variant::Nv12,
            Variant::OrtDefaults,
            |r| format!("{r:.2}×"),
        ),
        ("d/b", Variant::OpenCv, Variant::Nv12, |r| {
            format!("{r:.2}×")
        }),
        (
            "second classifier (e/b)",
            Variant::Nv12Twice,
            Variant::Nv12,
            |r| format!("{r:.2}×"),
        ),
    ]
    .into_iter()
    .filter(|(_, num, den, _)| o.variants.contains(num) && o.variants.contains(den))
    .collect();
    let mut heading = "| model | threads |".to_string();
    for v in &o.variants {
        heading.push_str(&format!(" {} |", v.heading()));
    }
    for (name, ..) in &ratios {
        heading.push_str(&format!(" {name} |"));
    }
    println!("{heading}");
    println!(
        "|---|---|{}",
        "---|".repeat(o.variants.len() + ratios.len())
    );
    for row in &rows {
        let threads = if row.threads == 0 {
            "0 (ORT default)".to_string()
        } else {
            row.threads.to_string()
        };
        let mut line = format!("| {} | {threads} |", row.model);
        for v in &o.variants {
            let times: Vec<f64> = row.times[index(*v)].iter().map(|&t| ms(t)).collect();
            let lo = times.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = times.iter().copied().fold(0.0, f64::max);
            if let Some(m) = median(times) {
                line.push_str(&format!(" {m:.2} ms ({lo:.2}–{hi:.2}) |"));
            }
        }
        for (_, num, den, show) in &ratios {
            // Within each round, then the median: both sides of a ratio ran seconds
            // apart at most, so a burst of load elsewhere mostly cancels out.
            let per_round = row.times[index(*num)]
                .iter()
                .zip(&row.times[index(*den)])
                .map(|(n, d)| n.as_secs_f64() / d.as_secs_f64())
                .collect();
            if let Some(r) = median(per_round) {
                line.push_str(&format!(" {} |", show(r)));
            }
        }
        println!("{line}");
    }
    println!();
    for row in rows.iter().filter(|r| r.threads == rows[0].threads) {
        let labels: Vec<String> = o
            .variants
            .iter()
            .map(|v| {
                let label = row.top1[index(*v)].as_deref().unwrap_or("none");
                format!("{} {label}", v.name())
            })
            .collect();
        println!("Top-1 with {}: {}.", row.model, labels.join(", "));
    }
    if !shared.load(Ordering::Relaxed) {
        println!(
            "Warning: imgclassify loaded a session of its own instead of sharing the bare \
             variant's; their settings may differ."
        );
    }
    Ok(())
}

fn main() {
    let result = parse_options().and_then(|o| {
        gst::init()?;
        gstimgclassify::plugin_register_static()?;
        runtime()?;
        if o.soak { soak(&o) } else { bench(&o) }
    });
    if let Err(e) = result {
        eprintln!("pipeline_bench: {e}");
        std::process::exit(1);
    }
}
