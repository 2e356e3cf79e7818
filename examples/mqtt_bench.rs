//! What `classifyjson location=mqtt://…` costs: pushes N classified buffers through the
//! element as fast as it takes them, to a `mosquitto` this program starts on a free
//! local port, and reports the streaming thread's cost per message (mean and worst
//! push), the sustained rate until the broker acknowledged the last one, and the same
//! push cost when writing a file instead, for comparison; then 300 messages at a
//! camera's pace (30 per second). Numbers: docs/consumers.md.
//!
//!   cargo run --release --example mqtt_bench [N]     (default 20000)

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::{Classification, Target, gst};

struct Mosquitto(Child);

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn buffers(n: u64) -> Vec<gst::Buffer> {
    (0..n)
        .map(|i| {
            let mut buffer = gst::Buffer::new();
            let b = buffer.get_mut().expect("writable");
            b.set_pts(gst::ClockTime::from_mseconds(i));
            Classification {
                classifier: "imgclassify0".into(),
                target: Target::Frame,
                model: "mobilenet".into(),
                labels: vec!["espresso".into(), "consomme".into(), "soup bowl".into()],
                class_ids: vec![967, 925, 809],
                scores: vec![
                    0.993057923297414,
                    0.0032801426912211825,
                    0.0015461925924685313,
                ],
                inference_time_ns: 8908753,
                provider: "cpu".into(),
                fresh: true,
                source_pts: Some(gst::ClockTime::from_mseconds(i)),
                seq: 0,
                regions: Vec::new(),
                embedding: None,
            }
            .attach(b)
            .expect("meta");
            buffer
        })
        .collect()
}

struct Run {
    /// Pushes that took over a millisecond.
    slow: usize,
    mean_push: Duration,
    worst_push: Duration,
    /// Until every message was acknowledged (MQTT) or written (file).
    total: Duration,
    dropped: u64,
}

/// `pace`: the interval between pushes (None: as fast as the element takes them).
fn run(
    location: &str,
    props: &[(&str, u32)],
    frames: &[gst::Buffer],
    pace: Option<Duration>,
) -> Run {
    let e = gst::ElementFactory::make("classifyjson")
        .property("location", location)
        .build()
        .expect("classifyjson");
    for (k, v) in props {
        e.set_property(k, v);
    }
    e.set_state(gst::State::Playing)
        .expect("starts (is the broker up?)");
    let mut h = gst_check::Harness::with_element(&e, Some("sink"), Some("src"));
    h.set_src_caps_str("application/x-bench");
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    let mut slow = 0;
    let mut busy = Duration::ZERO;
    for (i, f) in frames.iter().enumerate() {
        if let Some(p) = pace {
            let due = start + p * i as u32;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let t = Instant::now();
        h.push(f.clone()).expect("push");
        let took = t.elapsed();
        busy += took;
        worst = worst.max(took);
        if took > Duration::from_millis(1) {
            slow += 1;
        }
        let _ = h.pull();
    }
    if location.starts_with("mqtt") {
        while e.property::<u64>("messages-delivered") + e.property::<u64>("messages-dropped")
            < frames.len() as u64
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let total = start.elapsed();
    let dropped = e.property::<u64>("messages-dropped");
    drop(h);
    let _ = e.set_state(gst::State::Null);
    Run {
        slow,
        mean_push: busy / frames.len() as u32,
        worst_push: worst,
        total,
        dropped,
    }
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    gst::init().expect("GStreamer");
    gstimgclassify::plugin_register_static().expect("plugin");
    let dir = tempfile::tempdir().expect("temporary folder");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"),
    )
    .expect("config");
    let _broker = Mosquitto(
        Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (Debian: apt install mosquitto)"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "mosquitto did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let frames = buffers(n);
    let location = format!("mqtt://127.0.0.1:{port}/imgclassify/bench/classification");
    let file = dir.path().join("out.jsonl").display().to_string();
    let queue = n as u32;
    for (name, loc, props) in [
        ("file (baseline)", file.as_str(), vec![]),
        (
            "mqtt mqtt-qos=0",
            location.as_str(),
            vec![("mqtt-qos", 0), ("queue-size", queue)],
        ),
        (
            "mqtt mqtt-qos=1",
            location.as_str(),
            vec![("mqtt-qos", 1), ("queue-size", queue)],
        ),
    ] {
        let r = run(loc, &props, &frames, None);
        println!(
            "{name:>16}: push {:>6.2} µs/message (worst {:>7.1} µs, {} over 1 ms), all delivered in {:>6.3} s = {:>7.0} messages/s, dropped {}",
            r.mean_push.as_secs_f64() * 1e6,
            r.worst_push.as_secs_f64() * 1e6,
            r.slow,
            r.total.as_secs_f64(),
            n as f64 / r.total.as_secs_f64(),
            r.dropped
        );
        if loc == file {
            let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            println!(
                "{:>16}  {n} messages of {} bytes each",
                "",
                bytes / n.max(1)
            );
        }
    }
    // A camera's pace: 300 frames at 30 per second, to the file and with QoS 1.
    let paced = &frames[..300.min(frames.len())];
    let every = Some(Duration::from_micros(33_333));
    for (name, loc, props) in [
        ("file 30/s", file.as_str(), vec![]),
        (
            "mqtt mqtt-qos=1 30/s",
            location.as_str(),
            vec![("mqtt-qos", 1)],
        ),
    ] {
        let r = run(loc, &props, paced, every);
        println!(
            "{name:>16}: push {:>6.2} µs/message (worst {:>7.1} µs, {} over 1 ms), dropped {}",
            r.mean_push.as_secs_f64() * 1e6,
            r.worst_push.as_secs_f64() * 1e6,
            r.slow,
            r.dropped
        );
    }
}
