//! Frames per second of `imgclassify` where users run it, with each `spinning` setting:
//! a photo frozen into 1080p NV12 (`idle`), a 1080p H.264 file decoded straight into the
//! element (`decoder`), and the frozen photo while two busy-loop processes take the
//! cores (`loaded`).
//!
//!     cargo run --release --example spinning_bench -- [OPTIONS]
//!
//! See `USAGE` below or `--help`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gstimgclassify::gst;
use gstimgclassify::gst::prelude::*;

#[path = "common/h264.rs"]
mod h264;
#[path = "common/measure.rs"]
mod measure;
use measure::{cpu_model, median};

const USAGE: &str = "\
Usage: cargo run --release --example spinning_bench -- [OPTIONS]

Each round runs every case, model and spinning setting once, in an order that rotates
from round to round. A run starts its pipeline, waits for the first frame at the sink
(the model's load is not counted), lets --warmup-s seconds pass (spinning=auto measures
in these), then counts the frames that reach the sink in the next --measure-s seconds.
Prints a Markdown table: the median frames per second over the rounds with the lowest
and highest in brackets, what auto ran with at the end of each run, and auto against
the better of off and on (the median of that ratio within each round).

Cases:
  idle     filesrc (tests/data/coffee.png) ! pngdec ! videoconvert ! videoscale
           ! 1920x1080 NV12 ! imagefreeze ! imgclassify ! fakesink sync=false
  decoder  filesrc (1080p H.264, 4800 frames made once with x264enc speed-preset=ultrafast
           from videotestsrc pattern=snow,
           --bitrate kbit/s) ! qtdemux ! h264parse ! avdec_h264 ! imgclassify
           ! fakesink sync=false
  loaded   idle, with two `sh -c 'while :; do :; done'` processes running beside it

Options:
  --model LIST      built-in models, comma-separated     [mobilenet,mobilenet-int8]
  --cases LIST      of idle,decoder,loaded               [all]
  --spinning LIST   of off,on,auto                       [all]
  --rounds N                                             [2]
  --warmup-s S      seconds after the first frame before counting   [6]
  --measure-s S     seconds counted                                [8]
  --bitrate K       the H.264 file's bitrate in kbit/s            [6000]
";

const PHOTO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/coffee.png");
const SPINNING: [&str; 3] = ["off", "on", "auto"];
/// The H.264 file's length: longer than a warm-up and a measurement at 300 fps.
const FILE_FRAMES: u32 = 4800;

type Error = Box<dyn std::error::Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Case {
    Idle,
    Decoder,
    Loaded,
}

impl Case {
    const ALL: [Case; 3] = [Case::Idle, Case::Decoder, Case::Loaded];

    fn name(self) -> &'static str {
        match self {
            Case::Idle => "idle",
            Case::Decoder => "decoder",
            Case::Loaded => "loaded",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Case::Idle => "1080p NV12 frozen photo, idle",
            Case::Decoder => "1080p H.264 file, avdec_h264 in front",
            Case::Loaded => "1080p NV12 frozen photo, two busy processes",
        }
    }
}

struct Options {
    models: Vec<String>,
    cases: Vec<Case>,
    spinning: Vec<String>,
    rounds: usize,
    warmup: Duration,
    measure: Duration,
    bitrate: u32,
    command: String,
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn seconds(text: &str) -> Result<Duration, Error> {
    Ok(Duration::try_from_secs_f64(text.parse()?)?)
}

fn parse_options() -> Result<Options, Error> {
    use lexopt::prelude::*;
    let mut o = Options {
        models: list("mobilenet,mobilenet-int8"),
        cases: Case::ALL.to_vec(),
        spinning: SPINNING.map(String::from).to_vec(),
        rounds: 2,
        warmup: Duration::from_secs(6),
        measure: Duration::from_secs(8),
        bitrate: 6000,
        command: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("model") => o.models = list(&parser.value()?.string()?),
            Long("cases") => {
                o.cases = list(&parser.value()?.string()?)
                    .iter()
                    .map(|name| {
                        Case::ALL
                            .into_iter()
                            .find(|c| c.name() == name)
                            .ok_or_else(|| format!("unknown case '{name}'"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            Long("spinning") => {
                o.spinning = list(&parser.value()?.string()?);
                if let Some(bad) = o.spinning.iter().find(|s| !SPINNING.contains(&s.as_str())) {
                    return Err(format!("unknown spinning '{bad}': off, on or auto").into());
                }
            }
            Long("rounds") => o.rounds = parser.value()?.parse()?,
            Long("warmup-s") => o.warmup = seconds(&parser.value()?.string()?)?,
            Long("measure-s") => o.measure = seconds(&parser.value()?.string()?)?,
            Long("bitrate") => o.bitrate = parser.value()?.parse()?,
            Short('h') | Long("help") => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if o.models.is_empty() || o.cases.is_empty() || o.spinning.is_empty() {
        return Err("--model, --cases and --spinning need at least one value".into());
    }
    if o.rounds == 0 || o.measure.is_zero() || o.bitrate == 0 {
        return Err("--rounds, --measure-s and --bitrate must be above 0".into());
    }
    Ok(o)
}

/// Two busy-loop processes, killed when dropped, also when a run fails.
struct Busy(Vec<Child>);

impl Busy {
    fn start() -> Result<Busy, Error> {
        let children = (0..2)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .spawn()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Busy(children))
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

fn description(case: Case, model: &str, spinning: &str, h264: &Path) -> String {
    let element =
        format!("imgclassify name=c model={model} spinning={spinning} execution-provider=cpu");
    match case {
        Case::Idle | Case::Loaded => format!(
            "filesrc location={PHOTO} ! pngdec ! videoconvert ! videoscale \
             ! video/x-raw,format=NV12,width=1920,height=1080 ! imagefreeze \
             ! {element} ! fakesink name=sink sync=false"
        ),
        Case::Decoder => format!(
            "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 ! {element} \
             ! fakesink name=sink sync=false",
            h264.display()
        ),
    }
}

/// One run's frames per second, and the spinning it ran with at the end.
struct Outcome {
    fps: f64,
    ran_with: String,
}

fn run(description: &str, warmup: Duration, measure: Duration) -> Result<Outcome, Error> {
    let pipeline = gst::parse::launch(description)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline")?;
    let frames = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&frames);
    pipeline
        .by_name("sink")
        .and_then(|s| s.static_pad("sink"))
        .ok_or("no sink")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counter.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    let element = pipeline.by_name("c").ok_or("no imgclassify")?;
    let bus = pipeline.bus().ok_or("pipeline without bus")?;
    pipeline.set_state(gst::State::Playing)?;
    let started = Instant::now();
    let mut first = None;
    let mut mark: Option<(Instant, u64)> = None;
    let result: Result<f64, Error> = loop {
        let message = bus.timed_pop(gst::ClockTime::from_mseconds(20));
        let now = Instant::now();
        let count = frames.load(Ordering::Relaxed);
        let ended = match message.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Error(e)) => {
                break Err(format!("{} ({:?})", e.error(), e.debug()).into());
            }
            Some(gst::MessageView::Eos(_)) => true,
            _ => false,
        };
        if first.is_none() && count > 0 {
            first = Some(now);
        }
        if first.is_none() && now - started > Duration::from_secs(120) {
            break Err("no frame within 120 s".into());
        }
        if let Some(first) = first
            && mark.is_none()
            && now - first >= warmup
        {
            mark = Some((now, count));
        }
        if let Some((at, from)) = mark
            && (ended || now - at >= measure)
        {
            break Ok((count - from) as f64 / (now - at).as_secs_f64());
        }
        if ended {
            break Err("the stream ended before the warm-up did: a longer file is needed".into());
        }
    };
    let ran_with = element
        .property::<gst::Structure>("stats")
        .get::<String>("spinning")
        .unwrap_or_else(|_| "?".into());
    pipeline.set_state(gst::State::Null)?;
    Ok(Outcome {
        fps: result?,
        ran_with,
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".into())
}

type Key = (Case, String, String);

fn bench(o: &Options) -> Result<(), Error> {
    let h264 = if o.cases.contains(&Case::Decoder) {
        h264::h264_file(FILE_FRAMES, o.bitrate)?
    } else {
        PathBuf::new()
    };
    let tasks: Vec<Key> = o
        .cases
        .iter()
        .flat_map(|&case| {
            o.models.iter().flat_map(move |model| {
                o.spinning
                    .iter()
                    .map(move |s| (case, model.clone(), s.clone()))
            })
        })
        .collect();
    let mut results: std::collections::HashMap<Key, Vec<Outcome>> = Default::default();
    let load_before = load_average();
    let started = Instant::now();
    for round in 0..o.rounds {
        for i in 0..tasks.len() {
            let (case, model, spinning) = &tasks[(i + round) % tasks.len()];
            let busy = match case {
                Case::Loaded => Some(Busy::start()?),
                _ => None,
            };
            let outcome = run(
                &description(*case, model, spinning, &h264),
                o.warmup,
                o.measure,
            )?;
            drop(busy);
            eprintln!(
                "round {}/{}: {} {model} spinning={spinning}: {:.1} fps (ran {})",
                round + 1,
                o.rounds,
                case.name(),
                outcome.fps,
                outcome.ran_with
            );
            results
                .entry((*case, model.clone(), spinning.clone()))
                .or_default()
                .push(outcome);
        }
    }
    println!();
    println!(
        "`cargo run --release --example spinning_bench{}`: {} rounds interleaved ({:.0} s), \
         {} s warm-up and {} s counted per run; {}, {} CPUs; load average {} before, {} after.",
        if o.command.is_empty() {
            String::new()
        } else {
            format!(" -- {}", o.command)
        },
        o.rounds,
        started.elapsed().as_secs_f64(),
        o.warmup.as_secs_f64(),
        o.measure.as_secs_f64(),
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_before,
        load_average(),
    );
    println!();
    let mut heading = "| case | model |".to_string();
    for s in &o.spinning {
        heading.push_str(&format!(" spinning={s} (fps) |"));
    }
    let with_auto = ["off", "on", "auto"]
        .iter()
        .all(|s| o.spinning.iter().any(|x| x == s));
    if with_auto {
        heading.push_str(" auto ran with | auto / better of off and on |");
    }
    println!("{heading}");
    println!(
        "|---|---|{}",
        "---|".repeat(o.spinning.len() + if with_auto { 2 } else { 0 })
    );
    for &case in &o.cases {
        for model in &o.models {
            let of = |s: &str| results.get(&(case, model.clone(), s.to_string()));
            let mut line = format!("| {} | {model} |", case.heading());
            for s in &o.spinning {
                let fps: Vec<f64> = of(s).map_or(Vec::new(), |r| r.iter().map(|o| o.fps).collect());
                let lo = fps.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = fps.iter().copied().fold(0.0, f64::max);
                if let Some(m) = median(fps) {
                    line.push_str(&format!(" {m:.1} ({lo:.1}–{hi:.1}) |"));
                }
            }
            if with_auto
                && let (Some(off), Some(on), Some(auto)) = (of("off"), of("on"), of("auto"))
            {
                let ran: Vec<&str> = auto.iter().map(|o| o.ran_with.as_str()).collect();
                let ratios = off
                    .iter()
                    .zip(on)
                    .zip(auto)
                    .map(|((off, on), auto)| auto.fps / off.fps.max(on.fps))
                    .collect();
                line.push_str(&format!(
                    " {} | {:.2} |",
                    ran.join(", "),
                    median(ratios).unwrap_or(f64::NAN)
                ));
            }
            println!("{line}");
        }
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
        eprintln!("spinning_bench: {e}");
        std::process::exit(1);
    }
}
