//! `classifyjson home-assistant=true` against a real broker (`mosquitto`, see
//! `mqtt/broker.rs`), with the pipeline in its own `gst-launch-1.0` process: the
//! discovery configs, the states and the availability are retained; a pipeline killed
//! with SIGKILL leaves "offline" (the last will), one started again says "online" and
//! publishes its states again; a clean stop says "offline" itself.

use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use gst::prelude::*;
use gstimgclassify::gst;

use crate::common;
use crate::mqtt::broker::{Broker, PASSWORD, PATIENCE, USER};

const BASE: &str = "cams/kitchen";
const CUP_STATE: &str = "cams/kitchen/state/counter/cup";
const CORNER_STATE: &str = "cams/kitchen/state/counter/corner";
const AVAILABILITY: &str = "cams/kitchen/availability";

/// One message as a subscriber got it.
#[derive(Debug, Clone, PartialEq)]
struct Got {
    topic: String,
    payload: String,
    /// Delivered as a retained message: sent to a subscriber when it subscribed.
    retained: bool,
}

/// A subscriber to `cams/kitchen/#` and `homeassistant/#` that sees topics and the
/// retain flag, which `broker::Subscriber` does not.
struct Watcher {
    messages: mpsc::Receiver<Got>,
    client: rumqttc::Client,
}

impl Watcher {
    fn connect(port: u16, name: &str) -> Watcher {
        let mut options = rumqttc::MqttOptions::new(format!("ha-{name}-{port}"), "127.0.0.1", port);
        options.set_credentials(USER, PASSWORD);
        let (client, mut connection) = rumqttc::Client::new(options, 64);
        let (tx, messages) = mpsc::channel();
        let (subscribed_tx, subscribed) = mpsc::channel();
        let sub = client.clone();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        for topic in [format!("{BASE}/#"), "homeassistant/#".into()] {
                            let _ = sub.try_subscribe(topic, rumqttc::QoS::AtLeastOnce);
                        }
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                        let _ = subscribed_tx.send(());
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        let got = Got {
                            topic: p.topic.clone(),
                            payload: String::from_utf8_lossy(&p.payload).into_owned(),
                            retained: p.retain,
                        };
                        if tx.send(got).is_err() {
                            break;
                        }
                    }
                    Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        });
        for _ in 0..2 {
            subscribed
                .recv_timeout(PATIENCE)
                .expect("the watcher is subscribed");
        }
        Watcher { messages, client }
    }

    /// The first message for which `want` holds, from those still to come; panics
    /// with `what` after `PATIENCE`.
    fn until(&self, what: &str, mut want: impl FnMut(&Got) -> bool) -> Got {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(got) if want(&got) => return got,
                Ok(_) => {}
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    /// The retained message of each of `topics`, as a new subscriber gets them (in any
    /// order).
    fn retained(&self, topics: &[&str]) -> Vec<Got> {
        self.each_of(topics, true)
    }

    /// The next message of each of `topics` (in any order), retained ones only or all.
    fn each_of(&self, topics: &[&str], retained_only: bool) -> Vec<Got> {
        let mut got: Vec<Option<Got>> = vec![None; topics.len()];
        while got.iter().any(Option::is_none) {
            let missing: Vec<&str> = topics
                .iter()
                .zip(&got)
                .filter(|(_, g)| g.is_none())
                .map(|(t, _)| *t)
                .collect();
            let what = if retained_only { "retained" } else { "any of" };
            let next = self.until(&format!("{what} {missing:?}"), |g| {
                (g.retained || !retained_only) && missing.contains(&g.topic.as_str())
            });
            if let Some(i) = topics.iter().position(|t| *t == next.topic) {
                got[i] = Some(next);
            }
        }
        got.into_iter().flatten().collect()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.client.try_disconnect();
    }
}

/// The pipeline in its own process, killed (SIGKILL) when dropped.
struct Pipeline(Child);

impl Pipeline {
    /// The coffee photo at 5 frames a second, two zones over it, `classifyjson` with
    /// Home Assistant on; `extra` goes to `imagefreeze` (num-buffers=N ends it).
    fn start(port: u16, extra: &str) -> Pipeline {
        let coffee = common::data("coffee.png").display().to_string();
        let line = format!(
            "filesrc location={coffee} ! pngdec ! imagefreeze is-live=true {extra} \
             ! video/x-raw,framerate=5/1 ! videoconvert \
             ! imgclassify name=counter target=zones zones=\"cup:0,0,600,400;corner:0,0,120,120\" \
             ! classifyjson location=mqtt://127.0.0.1:{port}/{BASE} home-assistant=true \
               home-assistant-device=\"Kitchen cam\" username={USER} password={PASSWORD} \
             ! fakesink"
        );
        let child = common::programs::command("gst-launch-1.0")
            .args(line.split(' ').filter(|a| !a.is_empty()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gst-launch-1.0 runs (install gstreamer1.0-tools)");
        Pipeline(child)
    }

    /// SIGKILL: no goodbye to the broker, as when the machine loses power.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.kill();
    }
}

fn config(zone: &str) -> Value {
    let state = format!("{BASE}/state/counter/{zone}");
    json!({
        "name": zone,
        "unique_id": format!("kitchen_cam_counter_{zone}"),
        "state_topic": state,
        "json_attributes_topic": format!("{state}/attributes"),
        "availability_topic": AVAILABILITY,
        "payload_available": "online",
        "payload_not_available": "offline",
        "icon": "mdi:eye",
        "device": {
            "identifiers": ["imgclassify_kitchen_cam"],
            "name": "Kitchen cam",
            "model": "imgclassify",
            "manufacturer": "imgclassify",
            "sw_version": env!("CARGO_PKG_VERSION"),
        },
    })
}

fn config_topic(zone: &str) -> String {
    format!("homeassistant/sensor/kitchen_cam/kitchen_cam_counter_{zone}/config")
}

/// The label of `zone` in a JSON line the pipeline published to `BASE`.
fn label_in_line(line: &str, zone: &str) -> Option<String> {
    let v: Value = serde_json::from_str(line).ok()?;
    let region = v["regions"]
        .as_array()?
        .iter()
        .find(|r| r["roi-type"] == zone)?;
    Some(region["labels"][0].as_str()?.to_string())
}

#[test]
fn sensors_are_discovered_retained_and_unavailable_after_a_kill_until_a_restart() {
    let broker = Broker::start();
    let live = Watcher::connect(broker.port, "live");
    let mut pipeline = Pipeline::start(broker.port, "");
    // The labels the pipeline itself gives, from its JSON lines. A buffer's states go
    // out before its line, in order, so the broker holds them once the line arrives.
    let line = live.until("a JSON line", |g| g.topic == BASE).payload;
    let cup = label_in_line(&line, "cup").expect("the cup zone's label");
    let corner = label_in_line(&line, "corner").expect("the corner zone's label");
    assert_eq!(cup, "espresso");

    // A newcomer (Home Assistant starting) gets everything from the retained messages.
    let newcomer = Watcher::connect(broker.port, "newcomer");
    let cup_config = config_topic("cup");
    let corner_config = config_topic("corner");
    let cup_attributes = format!("{CUP_STATE}/attributes");
    let got = newcomer.retained(&[
        &cup_config,
        &corner_config,
        CUP_STATE,
        CORNER_STATE,
        AVAILABILITY,
        &cup_attributes,
    ]);
    let parsed = |g: &Got| serde_json::from_str::<Value>(&g.payload).expect("JSON config");
    assert_eq!(parsed(&got[0]), config("cup"));
    assert_eq!(parsed(&got[1]), config("corner"));
    assert_eq!(got[2].payload, cup);
    assert_eq!(got[3].payload, corner);
    assert_eq!(got[4].payload, "online");
    let attributes: Value = serde_json::from_str(&got[5].payload).expect("JSON");
    assert_eq!(attributes["new-label"], "espresso");
    assert_eq!(attributes["zone"], "cup");
    drop(newcomer);

    // Killed: the broker publishes the last will.
    pipeline.kill();
    let offline = live.until("the last will", |g| g.topic == AVAILABILITY);
    assert_eq!(offline.payload, "offline");
    let after_kill = Watcher::connect(broker.port, "after-kill");
    assert_eq!(after_kill.retained(&[AVAILABILITY])[0].payload, "offline");
    drop(after_kill);

    // Started again: online, and the states published anew (live, not retained).
    let _again = Pipeline::start(broker.port, "");
    let online = live.until("online again", |g| g.topic == AVAILABILITY);
    assert_eq!(online.payload, "online");
    let state = live.until("the cup's state again", |g| g.topic == CUP_STATE);
    assert_eq!(
        (state.payload.as_str(), state.retained),
        ("espresso", false)
    );
    let later = Watcher::connect(broker.port, "later");
    let got = later.retained(&[CUP_STATE, AVAILABILITY]);
    assert_eq!(
        (got[0].payload.as_str(), got[1].payload.as_str()),
        ("espresso", "online")
    );
}

#[test]
fn a_clean_stop_says_offline_itself() {
    let broker = Broker::start();
    let live = Watcher::connect(broker.port, "live");
    let mut pipeline = Pipeline::start(broker.port, "num-buffers=5");
    live.until("the cup's state", |g| g.topic == CUP_STATE);
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = pipeline.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the pipeline did not end");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    // A clean DISCONNECT discards the last will: this "offline" is the element's own.
    let offline = live.until("offline", |g| {
        g.topic == AVAILABILITY && g.payload != "online"
    });
    assert_eq!(offline.payload, "offline");
}

#[test]
fn home_assistant_without_a_broker_fails_the_start_saying_why() {
    common::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let e = gst::ElementFactory::make("classifyjson")
        .property(
            "location",
            dir.path().join("out.jsonl").display().to_string(),
        )
        .property("home-assistant", true)
        .build()
        .expect("classifyjson");
    let bus = gst::Bus::new();
    e.set_bus(Some(&bus));
    assert!(e.set_state(gst::State::Playing).is_err());
    let msg = bus
        .pop_filtered(&[gst::MessageType::Error])
        .expect("an error message");
    let gst::MessageView::Error(err) = msg.view() else {
        unreachable!()
    };
    assert_eq!(
        err.error().to_string(),
        "home-assistant=true needs an MQTT location"
    );
    let _ = e.set_state(gst::State::Null);
}

#[test]
fn a_broker_restarted_without_its_retained_messages_gets_them_again() {
    let mut broker = Broker::start_forgetful();
    let pipeline = Pipeline::start(broker.port, "");
    {
        // Connected before or after the pipeline published: its messages come either way.
        let first = Watcher::connect(broker.port, "first");
        first.each_of(&[CUP_STATE, AVAILABILITY], false);
    }
    // The broker forgets everything; the element reconnects and says it all again.
    broker.restart();
    let cup_config = config_topic("cup");
    // Subscribed before or after the element reconnected: its messages come either way.
    let live = Watcher::connect(broker.port, "live");
    live.each_of(&[&cup_config, CUP_STATE, AVAILABILITY], false);
    let newcomer = Watcher::connect(broker.port, "after-restart");
    let got = newcomer.retained(&[&cup_config, CUP_STATE, AVAILABILITY]);
    assert_eq!(
        serde_json::from_str::<Value>(&got[0].payload).expect("JSON"),
        config("cup")
    );
    assert_eq!(got[1].payload, "espresso");
    assert_eq!(got[2].payload, "online");
    drop(pipeline);
}
