//! Many streams on one model in one process, against the same streams in separate
//! processes: inferences per second, added latency (p50/p99 of the time a frame spends
//! in `imgclassify`), fairness and resident memory.
//!
//! `cargo run --release --example streams_bench -- [--streams 1,2,4,8,16]
//!  [--threads 1,0] [--mechanisms shared,pool,processes] [--seconds 3] [--rounds 1]
//!  [--model mobilenet] [--sessions 0] [--batch-check] [--batch-only]`
//!
//! Mechanisms: `shared` is one session for all streams (the pool limited to 1 with
//! IMGCLASSIFY_SESSIONS=1, as before pools), `pool` the default pool, `processes` one
//! process per stream. Every configuration runs in fresh child processes, so memory
//! and sessions of one never count for another; rounds run the mechanisms one after the
//! other, so a change in the machine's load hits them alike.
//! For measuring the fixes themselves: `pool-pinned` and `processes-pinned` pass
//! `threads=0` on to ONNX Runtime as 0 (its own thread count, pinned to cores, as before
//! the fix), `pool-unpacked` builds the pool's sessions without the shared
//! prepacked-weights container.
//! `--batch-check` also measures one batched run of N frames against N runs on N
//! sessions side by side, bare ONNX Runtime, to weigh cross-stream batching.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::testing::backend::{
    Backend, Batch, EngineOptions, OnnxRuntime, ProviderOptions, Requested,
};
use gstimgclassify::testing::{PINNED_THREADS_ENV, SESSIONS_ENV, SHARED_PREPACK_ENV};

#[path = "common/memory.rs"]
mod memory;
use memory::rss_kib;

type Error = Box<dyn std::error::Error>;

struct Options {
    streams: Vec<usize>,
    threads: Vec<u32>,
    mechanisms: Vec<String>,
    seconds: f64,
    rounds: usize,
    model: String,
    /// The elements' `sessions` property (0 = automatic).
    sessions: u32,
    batch_check: bool,
    batch_only: bool,
    /// Child mode: streams to run and the wall-clock start of the window (ms).
    child: Option<(usize, u64)>,
}

fn parse() -> Result<Options, Error> {
    let mut o = Options {
        streams: vec![1, 2, 4, 8, 16],
        threads: vec![1, 0],
        mechanisms: vec!["shared".into(), "pool".into(), "processes".into()],
        seconds: 3.0,
        rounds: 1,
        model: "mobilenet".into(),
        sessions: 0,
        batch_check: false,
        batch_only: false,
        child: None,
    };
    let mut args = std::env::args().skip(1);
    let list = |v: String| -> Result<Vec<String>, Error> {
        Ok(v.split(',').map(|s| s.trim().to_string()).collect())
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--streams" => {
                o.streams = list(value()?)?
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<_, _>>()?
            }
            "--threads" => {
                o.threads = list(value()?)?
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<_, _>>()?
            }
            "--mechanisms" => o.mechanisms = list(value()?)?,
            "--seconds" => o.seconds = value()?.parse()?,
            "--rounds" => o.rounds = value()?.parse()?,
            "--model" => o.model = value()?,
            "--sessions" => o.sessions = value()?.parse()?,
            "--batch-check" => o.batch_check = true,
            "--batch-only" => o.batch_only = true,
            "--child" => {
                let n = value()?.parse()?;
                let at = args.next().ok_or("--child needs N and a start time")?;
                o.child = Some((n, at.parse()?));
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(o)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// One stream: a 1280x720 NV12 frame repeated as fast as the element takes it.
struct Stream {
    pipeline: gst::Pipeline,
    element: gst::Element,
    latencies: Arc<Mutex<Vec<Duration>>>,
}

fn stream(i: usize, o: &Options, threads: u32, window: &Arc<AtomicBool>) -> Result<Stream, Error> {
    let (model, sessions) = (&o.model, o.sessions);
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=1 pattern={} ! video/x-raw,format=NV12,width=1280,height=720 \
         ! imagefreeze ! imgclassify name=c model={model} threads={threads} sessions={sessions} \
         execution-provider=cpu ! fakesink sync=false",
        i % 20
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let element = pipeline.by_name("c").ok_or("no imgclassify")?;
    // Frames go through the element in order, one at a time: entry times queue up.
    let entered = Arc::new(Mutex::new(std::collections::VecDeque::new()));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let q = Arc::clone(&entered);
    element.static_pad("sink").ok_or("no sink pad")?.add_probe(
        gst::PadProbeType::BUFFER,
        move |_, _| {
            if let Ok(mut q) = q.lock() {
                q.push_back(Instant::now());
            }
            gst::PadProbeReturn::Ok
        },
    );
    let (l, w) = (Arc::clone(&latencies), Arc::clone(window));
    element.static_pad("src").ok_or("no src pad")?.add_probe(
        gst::PadProbeType::BUFFER,
        move |_, _| {
            let start = entered.lock().ok().and_then(|mut q| q.pop_front());
            if let (Some(start), true, Ok(mut l)) = (start, w.load(Ordering::Relaxed), l.lock()) {
                l.push(start.elapsed());
            }
            gst::PadProbeReturn::Ok
        },
    );
    Ok(Stream {
        pipeline,
        element,
        latencies,
    })
}

fn classified(e: &gst::Element) -> u64 {
    e.property::<gst::Structure>("stats")
        .get::<u64>("frames-classified")
        .unwrap_or(0)
}

/// Child process: runs `n` streams, measures from `start_at` for `seconds` and prints
/// one `RESULT` line.
fn child(o: &Options, n: usize, start_at: u64) -> Result<(), Error> {
    let threads = o.threads.first().copied().unwrap_or(0);
    let window = Arc::new(AtomicBool::new(false));
    let streams = (0..n)
        .map(|i| stream(i, o, threads, &window))
        .collect::<Result<Vec<_>, _>>()?;
    for s in &streams {
        s.pipeline.set_state(gst::State::Playing)?;
    }
    let late = now_ms() > start_at;
    while now_ms() < start_at {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before: Vec<u64> = streams.iter().map(|s| classified(&s.element)).collect();
    window.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(o.seconds));
    let after: Vec<u64> = streams.iter().map(|s| classified(&s.element)).collect();
    let took = started.elapsed().as_secs_f64();
    window.store(false, Ordering::Relaxed);
    let rss = rss_kib().unwrap_or(0);
    let sessions = gstimgclassify::testing::pooled_sessions();
    let mut lat: Vec<f64> = Vec::new();
    for s in &streams {
        s.pipeline.set_state(gst::State::Null)?;
        if let Ok(l) = s.latencies.lock() {
            lat.extend(l.iter().map(|d| d.as_secs_f64() * 1e3));
        }
    }
    let rates: Vec<String> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| format!("{:.2}", (a - b) as f64 / took))
        .collect();
    println!(
        "RESULT rates={} lat={} rss={rss} sessions={sessions} late={late}",
        rates.join(","),
        lat.iter()
            .map(|v| format!("{v:.2}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    Ok(())
}

struct Measured {
    rates: Vec<f64>,
    lat: Vec<f64>,
    rss_kib: u64,
    sessions: usize,
    late: bool,
}

/// Environment a mechanism's children run with, beyond the bench's own.
type Env = &'static [(&'static str, &'static str)];

fn spawn(o: &Options, n: usize, threads: u32, start_at: u64, env: Env) -> Result<Child, Error> {
    let mut c = Command::new(std::env::current_exe()?);
    c.args([
        "--child",
        &n.to_string(),
        &start_at.to_string(),
        "--threads",
        &threads.to_string(),
        "--seconds",
        &o.seconds.to_string(),
        "--model",
        &o.model,
        "--sessions",
        &o.sessions.to_string(),
    ])
    .stdout(Stdio::piped());
    for var in [SESSIONS_ENV, PINNED_THREADS_ENV, SHARED_PREPACK_ENV] {
        c.env_remove(var);
    }
    c.envs(env.iter().copied());
    Ok(c.spawn()?)
}

fn collect(children: Vec<Child>) -> Result<Measured, Error> {
    let mut m = Measured {
        rates: Vec::new(),
        lat: Vec::new(),
        rss_kib: 0,
        sessions: 0,
        late: false,
    };
    for c in children {
        let out = c.wait_with_output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.starts_with("RESULT "))
            .ok_or_else(|| format!("a child failed ({})", out.status))?;
        for field in line.split_whitespace().skip(1) {
            let (k, v) = field.split_once('=').unwrap_or((field, ""));
            let nums = || v.split(',').filter_map(|x| x.parse::<f64>().ok());
            match k {
                "rates" => m.rates.extend(nums()),
                "lat" => m.lat.extend(nums()),
                "rss" => m.rss_kib += v.parse::<u64>().unwrap_or(0),
                "sessions" => m.sessions += v.parse::<usize>().unwrap_or(0),
                "late" => m.late |= v == "true",
                _ => {}
            }
        }
    }
    Ok(m)
}

fn measure(o: &Options, mechanism: &str, n: usize, threads: u32) -> Result<Measured, Error> {
    // Time for the children to load the model before the window opens.
    let start_at = now_ms() + 2500 + 400 * n as u64;
    let children = match mechanism {
        "shared" => vec![spawn(o, n, threads, start_at, &[(SESSIONS_ENV, "1")])?],
        "pool" => vec![spawn(o, n, threads, start_at, &[])?],
        "pool-pinned" => vec![spawn(
            o,
            n,
            threads,
            start_at,
            &[(PINNED_THREADS_ENV, "1")],
        )?],
        "pool-unpacked" => vec![spawn(
            o,
            n,
            threads,
            start_at,
            &[(SHARED_PREPACK_ENV, "0")],
        )?],
        "processes" => (0..n)
            .map(|_| spawn(o, 1, threads, start_at, &[]))
            .collect::<Result<_, _>>()?,
        "processes-pinned" => (0..n)
            .map(|_| spawn(o, 1, threads, start_at, &[(PINNED_THREADS_ENV, "1")]))
            .collect::<Result<_, _>>()?,
        other => return Err(format!("unknown mechanism {other}").into()),
    };
    collect(children)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn bench(o: &Options) -> Result<(), Error> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{cpu}, {cores} cores; model={} sessions={} 1280x720 NV12 imagefreeze, {} s windows, {} round(s)",
        o.model, o.sessions, o.seconds, o.rounds
    );
    println!(
        "| streams | threads | mechanism | round | inferences/s | min/mean stream | p50 ms | p99 ms | RSS MiB | sessions | loadavg |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    // (n, threads, mechanism) → inferences/s of each round, for the ratios.
    let mut totals: Vec<(usize, u32, String, Vec<f64>)> = Vec::new();
    for round in 0..o.rounds {
        for &n in &o.streams {
            for &threads in &o.threads {
                let mut order = o.mechanisms.clone();
                if round % 2 == 1 {
                    order.reverse();
                }
                for mech in &order {
                    let m = measure(o, mech, n, threads)?;
                    let total: f64 = m.rates.iter().sum();
                    let mean = total / m.rates.len().max(1) as f64;
                    let min = m.rates.iter().copied().fold(f64::INFINITY, f64::min);
                    let mut lat = m.lat.clone();
                    lat.sort_by(f64::total_cmp);
                    println!(
                        "| {n} | {threads} | {mech} | {round} | {total:.1} | {:.2} | {:.1} | {:.1} | {:.0} | {} | {}{} |",
                        min / mean,
                        percentile(&lat, 0.5),
                        percentile(&lat, 0.99),
                        m.rss_kib as f64 / 1024.0,
                        m.sessions,
                        loadavg(),
                        if m.late { " (late start)" } else { "" }
                    );
                    match totals
                        .iter_mut()
                        .find(|t| t.0 == n && t.1 == threads && &t.2 == mech)
                    {
                        Some(t) => t.3.push(total),
                        None => totals.push((n, threads, mech.clone(), vec![total])),
                    }
                }
            }
        }
    }
    println!("\nRatios against separate processes, per round:");
    for (n, threads, mech, runs) in &totals {
        if mech == "processes" {
            continue;
        }
        let Some((.., base)) = totals
            .iter()
            .find(|t| t.0 == *n && t.1 == *threads && t.2 == "processes")
        else {
            continue;
        };
        let ratios: Vec<String> = runs
            .iter()
            .zip(base)
            .map(|(a, b)| format!("{:.2}", a / b))
            .collect();
        println!(
            "streams={n} threads={threads} {mech}/processes: {}",
            ratios.join(" ")
        );
    }
    if o.batch_check {
        batch_check(o)?;
    }
    Ok(())
}

/// One batched run of `n` images against `n` threads each running one image on its own
/// session of the pool: what cross-stream batching could win over the pool. Rounds
/// alternate which runs first, so a change of load hits both alike.
fn batch_check(o: &Options) -> Result<(), Error> {
    let path = gstimgclassify::testing::model::zoo::resolve(&o.model)?;
    println!(
        "\nBare ONNX Runtime, {}: images/s, {} s each",
        path.display(),
        o.seconds
    );
    println!(
        "| images at once | threads | round | one batched run | one run per session, side by side | ratio | loadavg |"
    );
    println!("|---|---|---|---|---|---|---|");
    let window = Duration::from_secs_f64(o.seconds);
    for round in 0..o.rounds {
        for &threads in &o.threads {
            for n in [2usize, 4] {
                let options = EngineOptions {
                    threads: threads as usize,
                    input_size: None,
                    provider: ProviderOptions {
                        requested: Requested::Cpu,
                        ..ProviderOptions::default()
                    },
                    ..EngineOptions::default()
                };
                let handles = (0..n)
                    .map(|_| OnnxRuntime::load(&path, &options, 0).map(Arc::new))
                    .collect::<Result<Vec<_>, _>>()?;
                let (batched, pooled) = if round % 2 == 0 {
                    let b = batched(&handles, window)?;
                    (b, side_by_side(&handles, window))
                } else {
                    let p = side_by_side(&handles, window);
                    (batched(&handles, window)?, p)
                };
                println!(
                    "| {n} | {threads} | {round} | {batched:.1} | {pooled:.1} | {:.2} | {} |",
                    batched / pooled,
                    loadavg()
                );
            }
        }
    }
    Ok(())
}

/// Images/s of one run of all `handles.len()` images at a time.
fn batched(handles: &[Arc<OnnxRuntime>], window: Duration) -> Result<f64, Error> {
    let n = handles.len();
    if !handles[0].info().batchable {
        return Ok(f64::NAN);
    }
    let input = vec![0.5f32; n * handles[0].info().spec.tensor.len()];
    let started = Instant::now();
    let mut images = 0;
    while started.elapsed() < window {
        handles[0].run(&Batch::new(&input, n))?;
        images += n;
    }
    Ok(images as f64 / started.elapsed().as_secs_f64())
}

/// Images/s of one thread per handle, each running one image at a time.
fn side_by_side(handles: &[Arc<OnnxRuntime>], window: Duration) -> f64 {
    let len = handles[0].info().spec.tensor.len();
    let started = Instant::now();
    let workers: Vec<_> = handles
        .iter()
        .map(|h| {
            let h = Arc::clone(h);
            std::thread::spawn(move || {
                let input = vec![0.5f32; len];
                let mut images = 0u64;
                while started.elapsed() < window {
                    if h.run(&Batch::new(&input, 1)).is_err() {
                        break;
                    }
                    images += 1;
                }
                images
            })
        })
        .collect();
    let images: u64 = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
    images as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let result = parse().and_then(|o| {
        gst::init()?;
        gstimgclassify::plugin_register_static()?;
        match o.child {
            Some((n, at)) => child(&o, n, at),
            None if o.batch_only => batch_check(&o),
            None => bench(&o),
        }
    });
    if let Err(e) = result {
        eprintln!("streams_bench: {e}");
        std::process::exit(1);
    }
}
