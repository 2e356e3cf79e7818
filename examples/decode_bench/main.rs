//! Frames per second with a decoder in front, as users run the element: a 1080p H.264
//! file through `avdec_h264` into `imgclassify` (fp32 and int8), against GStreamer
//! 1.26's own `onnxinference` on the same weights in the Debian 13 root of
//! scripts/test-gst126.sh, where that root exists.
//!
//!     cargo run --release --example decode_bench -- [OPTIONS]
//!
//! See `USAGE` below or `--help`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gstimgclassify::gst;
use gstimgclassify::gst::prelude::*;
use gstimgclassify::testing::model::zoo;

// Only its way of playing a pipeline to EOS: this bench makes a file of its own.
#[path = "../common/h264.rs"]
#[allow(dead_code)]
mod h264;
#[path = "../common/measure.rs"]
mod measure;
mod peer;
mod video;

use measure::{cpu_model, median};

const USAGE: &str = "\
Usage: cargo run --release --example decode_bench -- [OPTIONS]

Each round runs every variant once over the whole file, in an order that rotates from
round to round (A B C, B C A, ...), so load on the machine hits all variants alike. A
probe on the sink's pad notes when frame --warmup + 1 arrives and when the last one
does; frames per second is the frames in between over that time (start-up, model load
and warm-up not counted). The peer variants are counted the same way, by
benches/onnxinference_peer.py in the root. Prints a Markdown table: the median over the
rounds with the lowest and highest in brackets, and ratios, each the median of the
ratios within a round.

The file (made once, in the temporary folder): --frames frames of 1920x1080 at 30 fps,
tests/data/coffee.png over a moving ball with snow blended in at 5 %, x264enc
--bitrate kbit/s, speed-preset=veryfast, no B-frames, a key frame every 60 frames.

Variants (host: this GStreamer; peer: the Debian 13 root, GStreamer 1.26):
  fp32         filesrc ! qtdemux ! h264parse ! avdec_h264 ! imgclassify model=mobilenet
               ! fakesink sync=false
  int8         the same with model=mobilenet-int8
  decode       the same without imgclassify: what the decoder alone reaches
  peer-fp32    in the root: ... ! avdec_h264 ! videoconvertscale
               ! video/x-raw,format=RGB,width=224,height=224 ! onnxinference
               model-file=(deps/models/mobilenet.onnx, its outputs given ids)
               input-image-format=chw input-tensor-offset=-114.495
               input-tensor-scale=57.630 optimization-level=(--peer-optimization)
               ! fakesink sync=false
  peer-int8    the same with mobilenet-int8
  peer-decode  in the root, the decoder alone

Options:
  --variants LIST        comma-separated  [fp32,int8,decode,peer-fp32,peer-int8,peer-decode;
                         without the peer ones when the root does not exist]
  --rounds N                                                       [3]
  --frames N             the file's length                         [600]
  --warmup N             frames not counted at the start of a run  [30]
  --bitrate K            the file's bitrate in kbit/s              [6000]
  --loaded               two `sh -c 'while :; do :; done'` processes run beside every
                         run, started before it and killed by PID after it
  --root DIR             the Debian 13 root  [$IMGCLASSIFY_GST126_ROOT or
                         /var/cache/gst-plugin-imgclassify/debian13]
  --peer-optimization L  onnxinference's optimization-level (its own default is
                         disable-all; ours runs ONNX Runtime's enable-all)  [enable-all]

The peer variants need root (chroot, and /proc mounted in the root, in a mount
namespace of the run's own that ends with it) and deps/venv's Python with `onnx`.
";

const PHOTO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/coffee.png");

type Error = Box<dyn std::error::Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Fp32,
    Int8,
    Decode,
    PeerFp32,
    PeerInt8,
    PeerDecode,
}

impl Variant {
    const ALL: [Variant; 6] = [
        Variant::Fp32,
        Variant::Int8,
        Variant::Decode,
        Variant::PeerFp32,
        Variant::PeerInt8,
        Variant::PeerDecode,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Fp32 => "fp32",
            Variant::Int8 => "int8",
            Variant::Decode => "decode",
            Variant::PeerFp32 => "peer-fp32",
            Variant::PeerInt8 => "peer-int8",
            Variant::PeerDecode => "peer-decode",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Variant::Fp32 => "imgclassify model=mobilenet",
            Variant::Int8 => "imgclassify model=mobilenet-int8",
            Variant::Decode => "decoder alone",
            Variant::PeerFp32 => "onnxinference, mobilenet.onnx",
            Variant::PeerInt8 => "onnxinference, mobilenet-int8.onnx",
            Variant::PeerDecode => "decoder alone",
        }
    }

    fn model(self) -> Option<&'static str> {
        match self {
            Variant::Fp32 | Variant::PeerFp32 => Some("mobilenet"),
            Variant::Int8 | Variant::PeerInt8 => Some("mobilenet-int8"),
            Variant::Decode | Variant::PeerDecode => None,
        }
    }

    fn is_peer(self) -> bool {
        matches!(
            self,
            Variant::PeerFp32 | Variant::PeerInt8 | Variant::PeerDecode
        )
    }
}

struct Options {
    variants: Option<Vec<Variant>>,
    rounds: usize,
    frames: u32,
    warmup: u64,
    bitrate: u32,
    loaded: bool,
    root: PathBuf,
    optimization: String,
    command: String,
}

fn parse_options() -> Result<Options, Error> {
    use lexopt::prelude::*;
    let mut o = Options {
        variants: None,
        rounds: 3,
        frames: 600,
        warmup: 30,
        bitrate: 6000,
        loaded: false,
        root: std::env::var_os("IMGCLASSIFY_GST126_ROOT")
            .map_or_else(|| PathBuf::from(peer::DEFAULT_ROOT), PathBuf::from),
        optimization: "enable-all".into(),
        command: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("variants") => {
                let names = parser.value()?.string()?;
                o.variants = Some(
                    names
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|name| {
                            Variant::ALL
                                .into_iter()
                                .find(|v| v.name() == name)
                                .ok_or_else(|| format!("unknown variant '{name}'"))
                        })
                        .collect::<Result<_, _>>()?,
                );
            }
            Long("rounds") => o.rounds = parser.value()?.parse()?,
            Long("frames") => o.frames = parser.value()?.parse()?,
            Long("warmup") => o.warmup = parser.value()?.parse()?,
            Long("bitrate") => o.bitrate = parser.value()?.parse()?,
            Long("loaded") => o.loaded = true,
            Long("root") => o.root = parser.value()?.into(),
            Long("peer-optimization") => o.optimization = parser.value()?.string()?,
            Short('h') | Long("help") => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if o.variants.as_ref().is_some_and(Vec::is_empty) {
        return Err("--variants needs at least one variant".into());
    }
    if o.rounds == 0 || o.bitrate == 0 {
        return Err("--rounds and --bitrate must be above 0".into());
    }
    if u64::from(o.frames) < o.warmup + 2 {
        return Err("--frames must exceed --warmup by at least 2".into());
    }
    Ok(o)
}

/// Two busy-loop processes, killed by PID when dropped, also when a run fails.
struct Busy(Vec<Child>);

impl Busy {
    fn start() -> Result<Busy, Error> {
        let mut busy = Busy(Vec::new());
        for _ in 0..2 {
            busy.0.push(
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .spawn()?,
            );
        }
        Ok(busy)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Frames reaching the sink: how many, when the first counted one came, the last.
#[derive(Default)]
struct Arrivals {
    count: u64,
    warm: Option<Instant>,
    last: Option<Instant>,
}

/// One run of a host variant to the end of the file: its frames per second.
fn host_run(description: &str, warmup: u64) -> Result<f64, Error> {
    let pipeline = gst::parse::launch(description)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline")?;
    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let seen = Arc::clone(&arrivals);
    pipeline
        .by_name("sink")
        .and_then(|s| s.static_pad("sink"))
        .ok_or("no sink")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            let now = Instant::now();
            if let Ok(mut a) = seen.lock() {
                a.count += 1;
                if a.count == warmup + 1 {
                    a.warm = Some(now);
                }
                a.last = Some(now);
            }
            gst::PadProbeReturn::Ok
        });
    h264::play_to_eos(pipeline.upcast_ref(), 600).map_err(|e| format!("{description}: {e}"))?;
    let a = arrivals.lock().map_err(|_| "probe poisoned")?;
    match (a.warm, a.last) {
        (Some(warm), Some(last)) if a.count > warmup + 1 && last > warm => {
            Ok((a.count - warmup - 1) as f64 / (last - warm).as_secs_f64())
        }
        _ => Err(format!("only {} frames reached the sink", a.count).into()),
    }
}

fn host_description(variant: Variant, h264: &Path) -> String {
    let element = variant
        .model()
        .map_or_else(String::new, |model| format!("! imgclassify model={model} "));
    format!(
        "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 {element}\
         ! fakesink name=sink sync=false",
        h264.display()
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn vnni() -> &'static str {
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    if flags.contains("avx512_vnni") {
        "yes (avx512_vnni)"
    } else if flags.contains("avx_vnni") {
        "yes (avx_vnni)"
    } else {
        "no"
    }
}

fn bench(o: &Options) -> Result<(), Error> {
    let variants = o.variants.clone().unwrap_or_else(|| {
        let root_there = o.root.join(".imgclassify-root").exists();
        if !root_there {
            eprintln!(
                "no Debian 13 root at {} (scripts/test-gst126.sh makes it): \
                 running without the onnxinference variants",
                o.root.display()
            );
        }
        Variant::ALL
            .into_iter()
            .filter(|v| root_there || !v.is_peer())
            .collect()
    });
    let h264 = video::h264_file(o.frames, o.bitrate)?;
    let root = if variants.iter().any(|v| v.is_peer()) {
        let models: Vec<&str> = variants
            .iter()
            .filter(|v| v.is_peer())
            .filter_map(|v| v.model())
            .collect();
        let root = peer::Root::prepare(&o.root, &h264, &models, &o.optimization)?;
        // The first run in a fresh root builds its plugin registry; it is not counted.
        root.run(&root.description(None), 0)?;
        Some(root)
    } else {
        None
    };
    let load_before = load_average();
    let mut fps: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut peer_gstreamer = String::new();
    let started = Instant::now();
    for round in 0..o.rounds {
        let mut progress = format!("round {}/{}:", round + 1, o.rounds);
        for i in 0..variants.len() {
            let index = (i + round) % variants.len();
            let variant = variants[index];
            let busy = if o.loaded { Some(Busy::start()?) } else { None };
            let result = match &root {
                Some(root) if variant.is_peer() => root
                    .run(&root.description(variant.model()), o.warmup)
                    .map(|run| {
                        peer_gstreamer = run.gstreamer;
                        run.fps
                    }),
                _ => host_run(&host_description(variant, &h264), o.warmup),
            };
            drop(busy);
            let value = result?;
            progress.push_str(&format!(" {} {value:.1}", variant.name()));
            fps[index].push(value);
        }
        eprintln!("{progress} fps");
    }
    print_table(
        o,
        &Measured {
            variants,
            fps,
            load_before,
            peer_gstreamer,
            started,
        },
    );
    Ok(())
}

/// What the rounds found, and what the heading says about them.
struct Measured {
    variants: Vec<Variant>,
    /// Per variant (in `variants` order): frames per second of each round.
    fps: Vec<Vec<f64>>,
    load_before: String,
    peer_gstreamer: String,
    started: Instant,
}

fn print_table(o: &Options, m: &Measured) {
    let Measured {
        variants,
        fps,
        load_before,
        peer_gstreamer,
        started,
    } = m;
    let date = gst::glib::DateTime::now_utc()
        .and_then(|d| d.format("%Y-%m-%d %H:%M UTC"))
        .map(|d| d.to_string())
        .unwrap_or_default();
    println!();
    println!(
        "`cargo run --release --example decode_bench{}` ({date}): {} frames of 1080p H.264 \
         at {} kbit/s, the first {} of each run not counted, {} rounds interleaved ({:.0} s){}; \
         {}, {} CPUs, VNNI {}; load average {load_before} at the start, {} at the end; \
         host {}{}.",
        if o.command.is_empty() {
            String::new()
        } else {
            format!(" -- {}", o.command)
        },
        o.frames,
        o.bitrate,
        o.warmup,
        o.rounds,
        started.elapsed().as_secs_f64(),
        if o.loaded {
            ", two busy-loop processes beside every run"
        } else {
            ""
        },
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        vnni(),
        load_average(),
        gst::version_string(),
        if peer_gstreamer.is_empty() {
            String::new()
        } else {
            format!(", Debian 13 root {peer_gstreamer}")
        },
    );
    println!();
    println!("| where | variant | frames per second |");
    println!("|---|---|---|");
    for (v, values) in variants.iter().zip(fps.iter()) {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(0.0, f64::max);
        if let Some(m) = median(values.clone()) {
            let place = if v.is_peer() {
                "GStreamer 1.26 (Debian 13 root)"
            } else {
                "this GStreamer"
            };
            println!("| {place} | {} | {m:.1} ({lo:.1}–{hi:.1}) |", v.heading());
        }
    }
    let of = |wanted: Variant| variants.iter().position(|&v| v == wanted).map(|i| &fps[i]);
    let ratios = [
        ("int8 / fp32, imgclassify", Variant::Int8, Variant::Fp32),
        (
            "imgclassify fp32 / onnxinference fp32",
            Variant::Fp32,
            Variant::PeerFp32,
        ),
        (
            "imgclassify int8 / onnxinference fp32",
            Variant::Int8,
            Variant::PeerFp32,
        ),
        (
            "imgclassify int8 / onnxinference int8",
            Variant::Int8,
            Variant::PeerInt8,
        ),
        (
            "int8 / fp32, onnxinference",
            Variant::PeerInt8,
            Variant::PeerFp32,
        ),
        (
            "decoder alone, host / root",
            Variant::Decode,
            Variant::PeerDecode,
        ),
    ];
    let mut lines = Vec::new();
    for (name, num, den) in ratios {
        if let (Some(n), Some(d)) = (of(num), of(den)) {
            let per_round = n.iter().zip(d).map(|(n, d)| n / d).collect();
            if let Some(r) = median(per_round) {
                lines.push(format!("| {name} | {r:.2}× |"));
            }
        }
    }
    if !lines.is_empty() {
        println!();
        println!("| ratio (median of the rounds' ratios) | |");
        println!("|---|---|");
        for line in lines {
            println!("{line}");
        }
    }
}

fn main() {
    let result = parse_options().and_then(|o| {
        gst::init()?;
        gstimgclassify::plugin_register_static()?;
        bench(&o)
    });
    if let Err(e) = result {
        eprintln!("decode_bench: {e}");
        std::process::exit(1);
    }
}
