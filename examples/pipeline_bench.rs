//! How close `imgclassify` comes to bare ONNX Runtime, how it compares with the same job
//! written in Python with OpenCV, and (with `--soak`) whether its memory stays flat.
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
the median of the ratios within a round.

  ort     bare ONNX Runtime: the very session the element uses, run on a fixed tensor
          (tests/data/coffee.png, preprocessed once)
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
  --variants LIST   of ort,nv12,nv12x2,i420,rgbx,opencv         [all]
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
const VENV_PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deps/venv/bin/python");
/// Without a buffer reaching the sink for this long, the pipeline is taken as stuck.
const STALL: Duration = Duration::from_secs(60);

type Error = Box<dyn std::error::Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Ort,
    Nv12,
    Nv12Twice,
    I420,
    Rgbx,
    OpenCv,
}

impl Variant {
    const ALL: [Variant; 6] = [
        Variant::Ort,
        Variant::Nv12,
        Variant::Nv12Twice,
        Variant::I420,
        Variant::Rgbx,
        Variant::OpenCv,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Ort => "ort",
            Variant::Nv12 => "nv12",
            Variant::Nv12Twice => "nv12x2",
            Variant::I420 => "i420",
            Variant::Rgbx => "rgbx",
            Variant::OpenCv => "opencv",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Variant::Ort => "bare ONNX Runtime (a)",
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
            Variant::Ort | Variant::OpenCv => None,
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

/// The test photo scaled to `width`x`height` (black bars keep its shape) in `format`.
/// YUV gets BT.601 colours because that is what OpenCV's NV12 conversion assumes.
fn photo(format: PixelFormat, width: u32, height: u32) -> Result<gst::Sample, Error> {
    let colorimetry = match format {
        PixelFormat::Nv12 | PixelFormat::I420 => ",colorimetry=bt601",
        _ => "",
    };
    let pipeline = gst::parse::launch(&format!(
        "filesrc name=file ! decodebin ! videoconvert ! videoscale \
         ! video/x-raw,format={},width={width},height={height},pixel-aspect-ratio=1/1{colorimetry} \
         ! appsink name=sink",
        format.name()
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let by_name = |name| pipeline.by_name(name).ok_or("element missing");
    by_name("file")?.set_property("location", PHOTO);
    let sink = by_name("sink")?
        .downcast::<gst_app::AppSink>()
        .map_err(|_| "not an appsink")?;
    pipeline.set_state(gst::State::Playing)?;
    let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(30));
    // Read before NULL, which flushes the bus.
    let why = sample.is_none().then(|| bus_error(&pipeline));
    pipeline.set_state(gst::State::Null)?;
    sample.ok_or_else(|| {
        format!(
            "could not convert {PHOTO} to {}: {}",
            format.name(),
            why.unwrap_or_default()
        )
        .into()
    })
}

fn video_info(sample: &gst::Sample) -> Result<gst_video::VideoInfo, Error> {
    Ok(gst_video::VideoInfo::from_caps(
        sample.caps().ok_or("frame without caps")?,
    )?)
}

/// NV12 rows without stride padding, as `opencv_loop.py` reads them.
fn packed_nv12(sample: &gst::Sample) -> Result<Vec<u8>, Error> {
    let info = video_info(sample)?;
    let buffer = sample.buffer().ok_or("frame without buffer")?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)?;
    let (w, h) = (info.width() as usize, info.height() as usize);
    let mut packed = Vec::with_capacity(w * h * 3 / 2);
    for (plane, rows) in [(0, h), (1, h / 2)] {
        let stride = frame.plane_stride()[plane] as usize;
        let data = frame.plane_data(plane as u32)?;
        for row in 0..rows {
            packed.extend_from_slice(&data[row * stride..row * stride + w]);
        }
    }
    Ok(packed)
}

/// The photo as the model's input tensor, for the bare ONNX Runtime variant.
fn tensor(engine: &OnnxRuntime, rgbx: &gst::Sample) -> Result<Vec<f32>, Error> {
    let info = video_info(rgbx)?;
    let buffer = rgbx.buffer().ok_or("frame without buffer")?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)?;
    let view = FrameView::new(
        PixelFormat::Rgbx,
        (info.width() as usize, info.height() as usize),
        &[frame.plane_data(0)?],
        &[frame.plane_stride()[0] as usize],
        YuvMatrix::BT601,
    )?;
    let spec = &engine.info().spec;
    let mut preprocessor = Preprocessor::new(
        spec.tensor.clone(),
        ResizeMode::CenterCrop,
        spec.crop_fraction,
    );
    let mut tensor = vec![0.0; spec.tensor.len()];
    preprocessor.run(&view, &mut tensor)?;
    Ok(tensor)
}

fn top1(engine: &OnnxRuntime, scores: &[f32]) -> String {
    let best = scores
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    engine
        .info()
        .labels
        .as_ref()
        .and_then(|labels| labels.get(best))
        .cloned()
        .unwrap_or_default()
}

fn imgclassify(model: &str, threads: u32) -> Result<gst::Element, Error> {
    // The bench's own sessions are CPU ones; the element must ask for the same to share them.
    Ok(gst::ElementFactory::make("imgclassify")
        .property("model", model)
        .property("threads", threads)
        .property_from_str("execution-provider", "cpu")
        .build()?)
}

/// What a pipeline variant runs: `classifiers` imgclassify elements in a row.
#[derive(Clone, Copy)]
struct Chain<'a> {
    classifiers: usize,
    model: &'a str,
    threads: u32,
}

impl Chain<'_> {
    /// One classifier is the element itself; more are a bin with ghost pads.
    fn build(self) -> Result<gst::Element, Error> {
        if self.classifiers <= 1 {
            return imgclassify(self.model, self.threads);
        }
        let bin = gst::Bin::new();
        let elements = (0..self.classifiers)
            .map(|_| imgclassify(self.model, self.threads))
            .collect::<Result<Vec<_>, _>>()?;
        bin.add_many(&elements)?;
        gst::Element::link_many(&elements)?;
        let (first, last) = (&elements[0], &elements[self.classifiers - 1]);
        let sink = gst::GhostPad::with_target(&first.static_pad("sink").ok_or("no sink pad")?)?;
        let src = gst::GhostPad::with_target(&last.static_pad("src").ok_or("no src pad")?)?;
        bin.add_pad(&sink)?;
        bin.add_pad(&src)?;
        Ok(bin.upcast())
    }
}

fn engine_options(threads: u32) -> EngineOptions {
    EngineOptions {
        threads: threads as usize,
        input_size: None,
        provider: ProviderOptions {
            requested: Requested::Cpu,
            ..ProviderOptions::default()
        },
        ..EngineOptions::default()
    }
}

fn bus_error(pipeline: &gst::Pipeline) -> String {
    let error = pipeline.bus().and_then(|bus| {
        bus.pop_filtered(&[gst::MessageType::Error])
            .and_then(|m| match m.view() {
                gst::MessageView::Error(e) => Some(format!("{} ({:?})", e.error(), e.debug())),
                _ => None,
            })
    });
    error.unwrap_or_else(|| "the pipeline failed without an error message".into())
}

/// Pushes `total` frames, fresh buffers sharing the sample's pixels (as a camera hands
/// over a new buffer per frame), through `appsrc ! element ! fakesink`, all in the
/// source's streaming thread, and calls `on_buffer` for each one reaching the sink.
fn stream(
    sample: &gst::Sample,
    element: &gst::Element,
    total: u64,
    on_buffer: impl FnMut(u64, &gst::BufferRef) + Send + 'static,
) -> Result<(), Error> {
    let caps = sample.caps().ok_or("frame without caps")?.to_owned();
    let buffer = sample.buffer_owned().ok_or("frame without buffer")?;
    let src = gst_app::AppSrc::builder()
        .caps(&caps)
        .format(gst::Format::Time)
        .build();
    let sink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()?;
    let pipeline = gst::Pipeline::new();
    pipeline.add_many([src.upcast_ref(), element, &sink])?;
    gst::Element::link_many([src.upcast_ref(), element, &sink])?;

    let period = gst::ClockTime::from_nseconds(1_000_000_000 / 30);
    let mut pushed = 0u64;
    src.set_callbacks(
        gst_app::AppSrcCallbacks::builder()
            .need_data(move |src, _| {
                if pushed == total {
                    let _ = src.end_of_stream();
                    return;
                }
                let mut frame = buffer.copy();
                let frame_ref = frame.make_mut();
                frame_ref.set_pts(period * pushed);
                frame_ref.set_duration(period);
                pushed += 1;
                // Fails only while the pipeline shuts down, which ends the stream anyway.
                let _ = src.push_buffer(frame);
            })
            .build(),
    );
    let arrived = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&arrived);
    let on_buffer = Mutex::new(on_buffer);
    sink.static_pad("sink")
        .ok_or("fakesink has no sink pad")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer() {
                let index = counter.fetch_add(1, Ordering::Relaxed);
                (on_buffer.lock().expect("callback panicked"))(index, buffer);
            }
            gst::PadProbeReturn::Ok
        });

    let result = run_to_eos(&pipeline, &arrived);
    pipeline.set_state(gst::State::Null)?;
    result?;
    let seen = arrived.load(Ordering::Relaxed);
    if seen != total {
        return Err(format!("{seen} of {total} frames reached the sink").into());
    }
    Ok(())
}

fn run_to_eos(pipeline: &gst::Pipeline, arrived: &AtomicU64) -> Result<(), Error> {
    if pipeline.set_state(gst::State::Playing).is_err() {
        return Err(bus_error(pipeline).into());
    }
    let bus = pipeline.bus().ok_or("pipeline without bus")?;
    let mut last = (arrived.load(Ordering::Relaxed), Instant::now());
    loop {
        // Every message is popped, the element's own included, so the bus never grows.
        match bus.timed_pop(gst::ClockTime::from_mseconds(500)) {
            Some(m) => match m.view() {
                gst::MessageView::Eos(_) => return Ok(()),
                gst::MessageView::Error(e) => {
                    return Err(format!("{} ({:?})", e.error(), e.debug()).into());
                }
                _ => {}
            },
            None => {
                let now = arrived.load(Ordering::Relaxed);
                if now != last.0 {
                    last = (now, Instant::now());
                } else if last.1.elapsed() > STALL {
                    return Err(format!("no frame reached the sink for {STALL:?}").into());
                }
            }
        }
    }
}

/// One pipeline variant for one round: time per frame over `frames` frames that follow
/// `warmup` frames, from the sink's clock, and the element's top-1 on the last frame.
fn pipeline_round(
    sample: &gst::Sample,
    under_test: Chain<'_>,
    (warmup, frames): (u64, u64),
    sessions: usize,
    shared: &Arc<AtomicBool>,
) -> Result<(Duration, Option<String>), Error> {
    let total = warmup + frames;
    let arrivals = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let label = Arc::new(Mutex::new(None));
    let element = under_test.build()?;
    let (times, last, shared) = (arrivals.clone(), label.clone(), shared.clone());
    stream(sample, &element, total, move |index, buffer| {
        let now = Instant::now();
        if index == 0 && live_sessions() != sessions {
            shared.store(false, Ordering::Relaxed);
        }
        times.lock().expect("probe panicked").push(now);
        if index + 1 == total {
            *last.lock().expect("probe panicked") =
                Classification::from_buffer(buffer).and_then(|c| c.labels.first().cloned());
        }
    })?;
    let times = arrivals.lock().expect("probe panicked");
    let elapsed = times[times.len() - 1] - times[warmup as usize - 1];
    let label = label.lock().expect("probe panicked").clone();
    Ok((elapsed / frames as u32, label))
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

struct PythonRun {
    per_frame: Duration,
    top1: String,
    versions: String,
}

fn opencv_round(
    python: &Path,
    frame: &Path,
    (width, height): (u32, u32),
    (model, threads): (&Path, u32),
    (warmup, frames): (u64, u64),
) -> Result<PythonRun, Error> {
    let out = Command::new(python)
        .arg(OPENCV_LOOP)
        .arg("--frame")
        .arg(frame)
        .arg("--model")
        .arg(model)
        .args([
            "--width",
            &width.to_string(),
            "--height",
            &height.to_string(),
        ])
        .args(["--threads", &threads.to_string()])
        .args([
            "--warmup",
            &warmup.to_string(),
            "--frames",
            &frames.to_string(),
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{OPENCV_LOOP} failed ({}); scripts/setup.sh installs its packages, or give \
             --python, or leave out --variants opencv:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let text = |key: &str| report[key].as_str().unwrap_or("?").to_string();
    let ms = report["ms_per_frame"]
        .as_f64()
        .ok_or("opencv_loop.py reported no ms_per_frame")?;
    Ok(PythonRun {
        per_frame: Duration::from_secs_f64(ms / 1e3),
        top1: text("top1"),
        versions: format!(
            "Python onnxruntime {}, OpenCV {}",
            text("onnxruntime"),
            text("opencv")
        ),
    })
}

/// One row of the table: a model with one thread count.
struct Row {
    model: String,
    path: PathBuf,
    threads: u32,
    engine: OnnxRuntime,
    tensor: Vec<f32>,
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

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
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
            rows.push(Row {
                model: model.clone(),
                path: path.clone(),
                threads,
                engine,
                tensor,
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

/// This process's resident set size in KiB.
fn rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn soak(o: &Options) -> Result<(), Error> {
    let frames = o.frames.unwrap_or(100_000);
    let (width, height) = o.size.unwrap_or((320, 240));
    let (model, threads) = (&o.models[0], o.threads[0]);
    let every = o.every;
    let sample = photo(PixelFormat::Nv12, width, height)?;
    let element = imgclassify(model, threads)?;
    // Messages too, so their path is soaked as well; stream() pops them all.
    element.set_property("post-messages", true);
    println!(
        "soak: {frames} frames of {width}x{height} NV12 through imgclassify model={model} \
         threads={threads} post-messages=true; VmRSS every {every} frames"
    );
    println!(
        "VmRSS before loading the model: {} KiB",
        rss_kib().unwrap_or(0)
    );
    let rss = Arc::new(Mutex::new(Vec::new()));
    let samples = Arc::clone(&rss);
    let started = Instant::now();
    let mut mark = started;
    stream(&sample, &element, frames, move |index, _| {
        let n = index + 1;
        if n % every == 0 {
            let now = Instant::now();
            let kib = rss_kib().unwrap_or(0);
            println!(
                "{n:>9} frames {:>8.1} s {:>7.2} ms/frame  VmRSS {kib} KiB",
                (now - started).as_secs_f64(),
                ms(now - mark) / every as f64
            );
            mark = now;
            samples.lock().expect("probe panicked").push(kib);
        }
    })?;
    let rss = rss.lock().expect("probe panicked");
    match (rss.iter().min(), rss.iter().max()) {
        (Some(lo), Some(hi)) => println!(
            "VmRSS from frame {every} (after warm-up) to the end: min {lo} KiB, max {hi} KiB, \
             max-min {} KiB over {} samples",
            hi - lo,
            rss.len()
        ),
        _ => println!("fewer than {every} frames: no memory samples"),
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
