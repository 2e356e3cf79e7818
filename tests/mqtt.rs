//! `classifyjson location=mqtt://…` against a real broker (`mosquitto`, see
//! `mqtt/broker.rs`): every message arrives and parses, refused credentials, an absent
//! broker, a restart mid-stream with and without overflowing the queue, TLS with a CA
//! made here, and the password kept out of every log line and message. A fake broker
//! that never acknowledges (`mqtt/silent_broker.rs`) stands for one that hangs.

use crate::common;

pub mod broker;
mod silent_broker;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use broker::{Broker, Certs, PASSWORD, Subscriber, USER, wait_for};
use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::{Classification, Target};
use serde_json::Value;
use silent_broker::SilentBroker;

const TOPIC: &str = "imgclassify/cam1/classification";

fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        gst::init().expect("GStreamer initialises");
        gstimgclassify::plugin_register_static().expect("plugin registers");
    });
}

fn result(n: u64) -> Classification {
    Classification {
        classifier: "imgclassify0".into(),
        target: Target::Frame,
        model: "mobilenet".into(),
        labels: vec![format!("label {n}"), "espresso".into()],
        class_ids: vec![n as u32, 967],
        scores: vec![0.75, 0.25],
        inference_time_ns: 1000 + n,
        provider: "cpu".into(),
        fresh: true,
        source_pts: Some(gst::ClockTime::from_mseconds(n)),
        seq: n,
        regions: Vec::new(),
        embedding: None,
    }
}

/// Buffer `n`: PTS n ms, carrying `result(n)`.
fn frame(n: u64) -> gst::Buffer {
    frame_of(n, &result(n))
}

/// Buffer `n`: PTS n ms, carrying `result`.
fn frame_of(n: u64, result: &Classification) -> gst::Buffer {
    let mut buffer = gst::Buffer::new();
    {
        let b = buffer.get_mut().expect("writable");
        b.set_pts(gst::ClockTime::from_mseconds(n));
        result.attach(b).expect("meta attaches");
    }
    buffer
}

/// `result(n)` with an embedding of `floats` values: each float is 6 bytes of JSON
/// ("0.125,"), written twice (at the top and in `classifications`).
fn with_embedding(n: u64, floats: usize) -> Classification {
    Classification {
        embedding: Some(vec![0.125; floats]),
        ..result(n)
    }
}

/// The JSON line of `result` on buffer `n` pushed through the harness: its segment
/// starts at 0, so running and stream time are the PTS.
fn line_of(n: u64, result: &Classification) -> String {
    let pts = Some(n * 1_000_000);
    let times = gstimgclassify::testing::jsonlines::Times {
        pts,
        running_time: pts,
        stream_time: pts,
        ..Default::default()
    };
    gstimgclassify::testing::jsonlines::line(std::slice::from_ref(result), &times).expect("a line")
}

fn element(location: &str, props: &[(&str, &dyn ToValue)]) -> (gst::Element, gst::Bus) {
    init();
    let e = gst::ElementFactory::make("classifyjson")
        .property("location", location)
        .property("username", USER)
        .property("password", PASSWORD)
        .build()
        .expect("classifyjson");
    for (name, value) in props {
        e.set_property_from_value(name, &value.to_value());
    }
    let bus = gst::Bus::new();
    e.set_bus(Some(&bus));
    (e, bus)
}

/// A running harness around `e`, or the error its start posted.
fn start(e: &gst::Element, bus: &gst::Bus) -> Result<gst_check::Harness, gst::glib::Error> {
    if e.set_state(gst::State::Playing).is_err() {
        let msg = bus
            .pop_filtered(&[gst::MessageType::Error])
            .expect("an error message");
        let gst::MessageView::Error(err) = msg.view() else {
            unreachable!()
        };
        let text = format!("{} {:?}", err.error(), err.debug());
        assert!(
            !text.contains(PASSWORD),
            "the password is in the error: {text}"
        );
        let _ = e.set_state(gst::State::Null);
        return Err(err.error());
    }
    let mut h = gst_check::Harness::with_element(e, Some("sink"), Some("src"));
    h.set_src_caps_str("application/x-imgclassify-test");
    Ok(h)
}

fn push(h: &mut gst_check::Harness, frames: std::ops::Range<u64>) {
    for n in frames {
        h.push(frame(n)).expect("the element takes the buffer");
        h.pull().expect("the buffer passes through");
    }
}

fn pts_of(payloads: &[Vec<u8>]) -> Vec<u64> {
    let mut pts: Vec<u64> = payloads
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_slice(p).expect("each message is one JSON object");
            v["pts"].as_u64().expect("pts") / 1_000_000
        })
        .collect();
    pts.sort_unstable();
    pts
}

fn delivered(e: &gst::Element) -> u64 {
    e.property::<u64>("messages-delivered")
}

/// The text of the next message of `kind` on `bus`, waiting for it.
fn next_message(bus: &gst::Bus, kind: gst::MessageType) -> String {
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(broker::PATIENCE.as_secs()),
            &[kind],
        )
        .unwrap_or_else(|| panic!("no {kind:?} message"));
    match msg.view() {
        gst::MessageView::Warning(w) => format!("{} {:?}", w.error(), w.debug()),
        gst::MessageView::Info(i) => format!("{} {:?}", i.error(), i.debug()),
        gst::MessageView::Error(e) => format!("{} {:?}", e.error(), e.debug()),
        _ => String::new(),
    }
}

/// Every log line of every level (`GST_DEBUG=9`) that contains a secret, while it lives;
/// one at a time, as the threshold is the process's. Dropping it, also when a test
/// fails, turns logging off again.
struct LogCapture {
    found: Arc<Mutex<Vec<String>>>,
    function: Option<gst::log::DebugLogFunction>,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl LogCapture {
    fn start(secret: &'static str) -> LogCapture {
        static ONE: Mutex<()> = Mutex::new(());
        let one_at_a_time = ONE.lock().unwrap_or_else(|e| e.into_inner());
        init();
        let found = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = found.clone();
        gst::log::set_active(true);
        gst::log::set_default_threshold(gst::DebugLevel::Memdump);
        let function =
            gst::log::add_log_function(move |cat, level, _file, _fn, _line, _obj, msg| {
                if let Some(text) = msg.get()
                    && text.contains(secret)
                {
                    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                    seen.push(format!("{} {level:?}: {text}", cat.name()));
                }
            });
        gst::log::remove_default_log_function();
        LogCapture {
            found,
            function: Some(function),
            _one_at_a_time: one_at_a_time,
        }
    }

    /// The log lines that held the secret.
    fn found(&self) -> Vec<String> {
        self.found.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        gst::log::set_default_threshold(gst::DebugLevel::None);
        if let Some(function) = self.function.take() {
            gst::log::remove_log_function(function);
        }
    }
}

#[test]
fn every_frame_arrives_as_one_json_message_and_the_password_is_never_logged() {
    // Every log line of every level, from the moment the password is set.
    let log = LogCapture::start(PASSWORD);

    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port, TOPIC);
    let (e, bus) = element(&format!("mqtt://127.0.0.1:{}/{TOPIC}", broker.port), &[]);
    assert!(
        e.find_property("password")
            .is_some_and(|p| !p.flags().contains(gst::glib::ParamFlags::READABLE)),
        "password is write-only"
    );
    let mut h = start(&e, &bus).expect("connects");
    push(&mut h, 0..30);
    assert!(h.push_event(gst::event::Eos::new()));
    assert_eq!(delivered(&e), 30, "EOS waits for the acknowledgements");
    let got = sub.take(30);
    assert_eq!(pts_of(&got), (0..30).collect::<Vec<_>>());
    let first: Value = serde_json::from_slice(&got[0]).expect("JSON");
    assert_eq!(first["labels"][1], "espresso");
    assert_eq!(first["class-ids"][1], 967);
    drop(h);
    e.set_state(gst::State::Null).expect("stops");
    while let Some(msg) = bus.pop() {
        if let Some(s) = msg.structure() {
            assert!(!s.to_string().contains(PASSWORD), "{s}");
        }
        match msg.view() {
            gst::MessageView::Warning(w) => panic!("unexpected warning: {}", w.error()),
            gst::MessageView::Error(e) => panic!("unexpected error: {}", e.error()),
            _ => {}
        }
    }
    let leaked = log.found();
    assert!(leaked.is_empty(), "the password is in the log: {leaked:?}");
}

#[test]
fn a_wrong_password_fails_the_start_saying_so() {
    let broker = Broker::start();
    let (e, bus) = element(
        &format!("mqtt://127.0.0.1:{}/{TOPIC}", broker.port),
        &[("password", &"not-the-password")],
    );
    let err = start(&e, &bus).map(|_| ()).expect_err("refused");
    assert!(err.matches(gst::ResourceError::NotAuthorized), "{err}");
    assert!(err.message().contains("refused the credentials"), "{err}");
    assert!(!err.message().contains("not-the-password"));
}

#[test]
fn nothing_listening_is_an_error_naming_the_broker() {
    let port = common::servers::free_port();
    let (e, bus) = element(&format!("mqtt://127.0.0.1:{port}/{TOPIC}"), &[]);
    let err = start(&e, &bus).map(|_| ()).expect_err("no broker");
    assert!(
        err.message().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

/// A broker outage in the middle of a stream: the frames of `before` go out, the broker
/// stops, those of `during` are pushed while it is away, it restarts; the newest `kept`
/// of `during` must then be delivered.
struct Outage<'a> {
    props: &'a [(&'a str, &'a dyn ToValue)],
    frame: fn(u64) -> gst::Buffer,
    before: std::ops::Range<u64>,
    during: std::ops::Range<u64>,
    kept: u64,
}

/// Runs `outage`; returns the element, the PTS (ms) of what arrived and the reconnect
/// message.
fn restart_mid_stream(outage: &Outage) -> (gst::Element, Vec<u64>, String) {
    let mut broker = Broker::start();
    let sub = Subscriber::connect(broker.port, TOPIC);
    let (e, bus) = element(
        &format!("mqtt://127.0.0.1:{}/{TOPIC}", broker.port),
        outage.props,
    );
    let mut h = start(&e, &bus).expect("connects");
    let before = outage.before.end - outage.before.start;
    for n in outage.before.clone() {
        h.push((outage.frame)(n))
            .expect("the element takes the buffer");
        h.pull().expect("the buffer passes through");
    }
    wait_for("the first frames to be acknowledged", || {
        delivered(&e) == before
    });

    broker.stop();
    let warning = next_message(&bus, gst::MessageType::Warning);
    assert!(warning.contains("lost the connection"), "{warning}");
    // Pushing never waits for the broker.
    let pushed = Instant::now();
    for n in outage.during.clone() {
        h.push((outage.frame)(n))
            .expect("the element takes the buffer");
        h.pull().expect("the buffer passes through");
    }
    assert!(
        pushed.elapsed() < Duration::from_secs(5),
        "the stream was blocked"
    );

    broker.restart();
    let info = next_message(&bus, gst::MessageType::Info);
    wait_for("the queue to be delivered", || {
        delivered(&e) == before + outage.kept
    });
    assert!(h.push_event(gst::event::Eos::new()));
    let got = pts_of(&sub.take((before + outage.kept) as usize));
    drop(h);
    e.set_state(gst::State::Null).expect("stops");
    assert!(
        bus.pop_filtered(&[gst::MessageType::Warning]).is_none(),
        "one warning per outage"
    );
    (e, got, info)
}

#[test]
fn a_broker_restart_loses_nothing_within_the_queue() {
    let (e, got, info) = restart_mid_stream(&Outage {
        props: &[("queue-size", &20u32)],
        frame,
        before: 0..5,
        during: 5..20,
        kept: 15,
    });
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    assert_eq!(e.property::<u64>("messages-dropped"), 0);
    assert!(info.contains("0 messages were dropped"), "{info}");
}

#[test]
fn beyond_the_queue_the_oldest_are_dropped_and_counted_exactly() {
    let (e, got, info) = restart_mid_stream(&Outage {
        props: &[("queue-size", &10u32)],
        frame,
        before: 0..5,
        during: 5..30,
        kept: 10,
    });
    // The first five before the outage, then the newest ten of the 25 sent during it.
    let expected: Vec<u64> = (0..5).chain(20..30).collect();
    assert_eq!(got, expected);
    assert_eq!(e.property::<u64>("messages-dropped"), 15);
    assert!(info.contains("15 messages were dropped"), "{info}");
}

/// Floats in the embedding of the frames of the `queue-bytes` test: lines of about 96 KB.
const FLOATS_96K: usize = 8000;
const QUEUE_BYTES: u32 = 1 << 20;

#[test]
fn beyond_queue_bytes_the_oldest_are_dropped_and_counted_exactly() {
    // Two-digit frame numbers, so that every line has the same length.
    let line = line_of(10, &with_embedding(10, FLOATS_96K)).len() as u64;
    let kept = u64::from(QUEUE_BYTES) / line;
    assert!((2..30).contains(&kept), "{line} bytes a line, {kept} kept");
    let (e, got, info) = restart_mid_stream(&Outage {
        props: &[("queue-bytes", &QUEUE_BYTES)],
        frame: |n| frame_of(n, &with_embedding(n, FLOATS_96K)),
        before: 10..15,
        during: 15..45,
        kept,
    });
    let expected: Vec<u64> = (10..15).chain(45 - kept..45).collect();
    assert_eq!(got, expected);
    assert_eq!(e.property::<u64>("messages-dropped"), 30 - kept);
    assert!(
        info.contains(&format!("{} messages were dropped", 30 - kept)),
        "{info}"
    );
}

#[test]
fn a_broker_stopped_with_messages_in_flight_gets_them_all_after_restarting() {
    let mut broker = Broker::start();
    let sub = Subscriber::connect(broker.port, TOPIC);
    let (e, bus) = element(&format!("mqtt://127.0.0.1:{}/{TOPIC}", broker.port), &[]);
    let mut h = start(&e, &bus).expect("connects");
    // No waiting for acknowledgements: whatever is unacknowledged when the broker stops
    // must be sent again after the restart (QoS 1, at least once).
    push(&mut h, 0..300);
    broker.stop();
    broker.restart();
    wait_for("all 300 to be acknowledged", || delivered(&e) >= 300);
    assert_eq!(pts_of(&sub.take(300)), (0..300).collect::<Vec<_>>());
    assert_eq!(e.property::<u64>("messages-dropped"), 0);
    drop(h);
    e.set_state(gst::State::Null).expect("stops");
}

fn tls_broker() -> (Broker, Certs) {
    let mut certs = None;
    let broker = Broker::start_with(|dir| {
        let c = Certs::make(dir);
        certs = Some(c.clone());
        Some(c)
    });
    (broker, certs.expect("certificates"))
}

#[test]
fn tls_verified_against_the_ca_file_delivers() {
    let (broker, certs) = tls_broker();
    let sub = Subscriber::connect(broker.port, TOPIC);
    let port = broker.tls_port.expect("TLS listener");
    let (e, bus) = element(
        &format!("mqtts://127.0.0.1:{port}/{TOPIC}"),
        &[("ca-file", &certs.ca.display().to_string())],
    );
    let mut h = start(&e, &bus).expect("TLS connects");
    push(&mut h, 0..3);
    assert!(h.push_event(gst::event::Eos::new()));
    assert_eq!(pts_of(&sub.take(3)), vec![0, 1, 2]);
    drop(h);
    e.set_state(gst::State::Null).expect("stops");
}

#[test]
fn tls_with_the_wrong_ca_fails_the_start() {
    let (broker, certs) = tls_broker();
    let port = broker.tls_port.expect("TLS listener");
    let (e, bus) = element(
        &format!("mqtts://127.0.0.1:{port}/{TOPIC}"),
        &[("ca-file", &certs.other_ca.display().to_string())],
    );
    let err = start(&e, &bus)
        .map(|_| ())
        .expect_err("the certificate does not verify");
    let text = err.message().to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("TLS"),
        "{text}"
    );
    assert!(text.to_lowercase().contains("certificate"), "{text}");
}

#[test]
fn a_password_in_plain_text_to_another_host_is_warned_about() {
    init();
    // The warning comes before connecting; the address is reserved for documentation
    // (TEST-NET-1), so the connection itself fails.
    let (e, bus) = element(&format!("mqtt://192.0.2.1:1/{TOPIC}"), &[]);
    let _ = e.set_state(gst::State::Playing);
    let _ = e.set_state(gst::State::Null);
    let msg = bus
        .pop_filtered(&[gst::MessageType::Warning])
        .expect("a warning");
    let gst::MessageView::Warning(w) = msg.view() else {
        unreachable!()
    };
    assert!(
        w.error().message().contains("travels unencrypted"),
        "{}",
        w.error()
    );
}

/// Runs `f` on its own thread; its answer, or None if there is none within `patience`
/// (the thread is then left to itself: a hang becomes a failure, not a stuck test).
fn within<T: Send + 'static>(
    patience: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(patience).ok()
}

/// Every warning on `bus`, as text.
fn warnings(bus: &gst::Bus) -> Vec<String> {
    std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Warning]))
        .filter_map(|m| match m.view() {
            gst::MessageView::Warning(w) => Some(format!("{} {:?}", w.error(), w.debug())),
            _ => None,
        })
        .collect()
}

#[test]
fn null_during_an_eos_flush_ends_it_at_once_and_counts_the_rest_as_dropped() {
    let broker = SilentBroker::start();
    let (e, bus) = element(
        &format!("mqtt://127.0.0.1:{}/{TOPIC}", broker.port),
        &[("flush-timeout", &120u32)],
    );
    let mut h = start(&e, &bus).expect("connects: the fake broker answers CONNECT");
    push(&mut h, 0..10);
    wait_for("the ten messages to reach the broker", || {
        broker.publishes() == 10
    });
    let sink = e.static_pad("sink").expect("sink pad");
    let eos = std::thread::spawn(move || sink.send_event(gst::event::Eos::new()));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!eos.is_finished(), "EOS waits for the acknowledgements");

    let stopping = e.clone();
    let began = Instant::now();
    let stopped = within(Duration::from_secs(10), move || {
        stopping.set_state(gst::State::Null)
    });
    let took = began.elapsed();
    if stopped.is_none() {
        // Its teardown would wait for the same state change.
        std::mem::forget(h);
        panic!("NULL still waits for the flush after {took:?}");
    }
    stopped.expect("answered").expect("stops");
    assert!(took < Duration::from_secs(2), "NULL took {took:?}");
    wait_for("EOS to return", || eos.is_finished());
    assert_eq!(delivered(&e), 0);
    assert_eq!(e.property::<u64>("messages-dropped"), 10);
    drop(h);
    assert_eq!(warnings(&bus), Vec::<String>::new());
}

/// 400 000 floats: 4.8 MB of JSON, beyond the 4 MiB an MQTT message may have here.
const FLOATS_TOO_MANY: usize = 400_000;

#[test]
fn a_message_too_large_for_mqtt_is_dropped_with_one_warning_and_the_rest_arrive() {
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port, TOPIC);
    let (e, bus) = element(&format!("mqtt://127.0.0.1:{}/{TOPIC}", broker.port), &[]);
    let mut h = start(&e, &bus).expect("connects");
    let huge = line_of(3, &with_embedding(3, FLOATS_TOO_MANY)).len();
    for n in 0..10 {
        let buffer = match n {
            3 | 6 => frame_of(n, &with_embedding(n, FLOATS_TOO_MANY)),
            _ => frame(n),
        };
        h.push(buffer).expect("the element takes the buffer");
        h.pull().expect("the buffer passes through");
    }
    assert!(h.push_event(gst::event::Eos::new()));
    assert_eq!(pts_of(&sub.take(8)), [0, 1, 2, 4, 5, 7, 8, 9]);
    assert_eq!(delivered(&e), 8);
    assert_eq!(e.property::<u64>("messages-dropped"), 2);
    drop(h);
    e.set_state(gst::State::Null).expect("stops");
    let warnings = warnings(&bus);
    assert_eq!(
        warnings.len(),
        1,
        "one warning, not one per message: {warnings:?}"
    );
    assert!(
        warnings[0].contains(&format!("a JSON line of {huge} bytes is too large"))
            && warnings[0].contains("messages-dropped"),
        "{warnings:?}"
    );
}

#[test]
fn long_model_names_and_labels_are_cut_with_a_marker() {
    let broker = Broker::start();
    let sub = Subscriber::connect(broker.port, TOPIC);
    let (e, bus) = element(&format!("mqtt://127.0.0.1:{}/{TOPIC}", broker.port), &[]);
    let mut h = start(&e, &bus).expect("connects");
    let mut long = result(1);
    long.model = "m".repeat(2_500_000);
    // Two bytes a character: the cut must fall between characters.
    long.labels[0] = "ł".repeat(5000);
    push_one(&mut h, frame_of(1, &long));
    assert!(h.push_event(gst::event::Eos::new()));
    let got = sub.take(1);
    assert_eq!(got.len(), 1, "the message arrives");
    let v: Value = serde_json::from_slice(&got[0]).expect("JSON");
    let model = format!("{}…", "m".repeat(253));
    let label = format!("{}…", "ł".repeat(126));
    for entry in [&v, &v["classifications"][0]] {
        assert_eq!(entry["model"], model.as_str());
        assert_eq!(entry["labels"][0], label.as_str());
        assert_eq!(entry["labels"][1], "espresso");
    }
    drop(h);
    e.set_state(gst::State::Null).expect("stops");
}

fn push_one(h: &mut gst_check::Harness, buffer: gst::Buffer) {
    h.push(buffer).expect("the element takes the buffer");
    h.pull().expect("the buffer passes through");
}

#[test]
fn a_password_with_a_slash_in_the_location_is_refused_and_never_shown() {
    let log = LogCapture::start("s3cret");
    let broker = Broker::start();
    // As a URL reads it: host `cam`, port 8883, path `/s3cretTail@127.0.0.1:…`.
    let (e, bus) = element(
        &format!(
            "mqtt://cam:8883/s3cretTail@127.0.0.1:{}/{TOPIC}",
            broker.port
        ),
        &[],
    );
    let began = Instant::now();
    assert!(e.set_state(gst::State::Playing).is_err(), "refused");
    let took = began.elapsed();
    let _ = e.set_state(gst::State::Null);
    let msg = bus
        .pop_filtered(&[gst::MessageType::Error])
        .expect("an error message");
    let gst::MessageView::Error(err) = msg.view() else {
        unreachable!()
    };
    let text = format!("{} {:?}", err.error(), err.debug());
    assert!(err.error().matches(gst::ResourceError::Settings), "{text}");
    assert!(
        text.contains("username and password properties") && text.contains("%40"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    // Refused before any connection: `cam` is never looked up.
    assert!(took < Duration::from_secs(2), "{took:?}");
    let leaked = log.found();
    assert!(leaked.is_empty(), "the secret is in the log: {leaked:?}");
}

#[test]
fn qos_is_an_alias_of_mqtt_qos_that_warns_once() {
    init();
    let pipeline = gst::Pipeline::new();
    let e = gst::ElementFactory::make("classifyjson")
        .build()
        .expect("classifyjson");
    pipeline.add(&e).expect("added");
    let bus = pipeline.bus().expect("bus");
    assert_eq!(e.property::<u32>("mqtt-qos"), 1);
    e.set_property("mqtt-qos", 0u32);
    assert_eq!(e.property::<u32>("qos"), 0);
    assert_eq!(warnings(&bus), Vec::<String>::new());
    e.set_property("qos", 1u32);
    assert_eq!(e.property::<u32>("mqtt-qos"), 1);
    e.set_property("qos", 0u32);
    assert_eq!(e.property::<u32>("mqtt-qos"), 0);
    let got = warnings(&bus);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains("'qos' is deprecated") && got[0].contains("mqtt-qos"),
        "{got:?}"
    );
}
