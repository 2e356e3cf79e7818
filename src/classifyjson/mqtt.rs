//! `classifyjson location=mqtt://…`: publishes each JSON line as one MQTT message with
//! rumqttc: the client's options, connecting at start, queueing, waiting at EOS. The
//! streaming thread only queues (`publish` never blocks on the network); the thread in
//! `mqtt_worker` runs the client. No text made here contains the password: brokers are
//! named by their `Broker` display (host, port, topic) and rumqttc's options are never
//! formatted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gst::glib;
use rumqttc::{AsyncClient, LastWill, MqttOptions, QoS, TlsConfiguration, Transport};
use tokio::sync::Notify;

use super::home_assistant::OFFLINE;
use super::mqtt_location::Broker;
use super::mqtt_queue::{Bounds, Outbox};
use super::mqtt_tls;
use super::mqtt_worker::{CONNECT_TIMEOUT_S, Failure, Inner, Link, Shared, WINDOW, Worker};
use crate::core::lock::lock;

/// How long `connect` waits for the first answer: connecting plus the thread's start.
const START_WAIT: Duration = Duration::from_secs(CONNECT_TIMEOUT_S + 5);
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The largest MQTT packet sent or taken: a line with many regions or embeddings can be
/// long (rumqttc's default limit is 10 KiB), and brokers take this much by default
/// (mosquitto: up to the protocol's 256 MiB). A larger message is dropped, not sent: the
/// client would fail on it, reconnect and fail again, forever.
pub const MAX_PACKET: usize = 4 << 20;

/// The largest payload whose PUBLISH to `topic` fits in `MAX_PACKET`: the fixed header
/// (at most 5 bytes), the topic with its 2-byte length and the 2-byte packet id.
pub fn max_payload(topic: &str) -> usize {
    MAX_PACKET.saturating_sub(5 + 2 + topic.len() + 2)
}

/// A client id no other `classifyjson` uses: process id, time and a counter, hashed
/// into the 23 characters MQTT 3.1.1 brokers must accept.
pub fn unique_client_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("imgclassify-{:011x}", h.finish() & 0xfff_ffff_ffff)
}

pub struct Config {
    pub broker: Broker,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub qos: QoS,
    pub client_id: String,
    pub retain: bool,
    pub queue: Bounds,
    /// Home Assistant's availability topic, which gets the last will "offline".
    pub availability: Option<String>,
}

/// A line `publish` dropped because no MQTT message may be that large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub bytes: usize,
    /// The largest payload this topic takes.
    pub limit: usize,
    /// The first since start: the one to warn about.
    pub first: bool,
}

/// What `drain` left undelivered, and whether `interrupt` ended it.
#[derive(Debug, Clone, Copy)]
pub struct Drained {
    pub left: usize,
    pub interrupted: bool,
}

/// Counters for the element's read-only properties.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub delivered: u64,
    pub dropped: u64,
}

pub struct MqttSink {
    pub name: String,
    max_payload: usize,
    /// A line was too large: warned about once, then only counted.
    too_large_seen: AtomicBool,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl MqttSink {
    /// Connects to the broker and waits for its answer, so that refused credentials, a
    /// certificate that does not verify or a broker that is not there fail the start.
    /// `element` receives the warnings about later outages.
    pub fn connect(cfg: Config, element: glib::WeakRef<gst::Element>) -> Result<MqttSink, Failure> {
        let name = cfg.broker.to_string();
        let options = options(&cfg)?;
        let (client, mut eventloop) = AsyncClient::new(options, WINDOW);
        eventloop
            .network_options
            .set_connection_timeout(CONNECT_TIMEOUT_S);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                outbox: Outbox::new(cfg.queue),
                link: Link::Connecting,
                started: None,
                stopping: false,
                interrupted: false,
                dropped_before_outage: 0,
                retained: Default::default(),
            }),
            changed: Condvar::new(),
            wake: Notify::new(),
            stop: Notify::new(),
        });
        let worker = Worker {
            shared: shared.clone(),
            client,
            topic: cfg.broker.topic.clone(),
            qos: cfg.qos,
            retain: cfg.retain,
            queue: cfg.queue,
            tls: cfg.broker.tls,
            name: name.clone(),
            element,
            availability: cfg.availability.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("classifyjson-mqtt".into())
            .spawn(move || worker.run(&mut eventloop))
            .map_err(|e| Failure {
                refused_credentials: false,
                text: format!("cannot start the MQTT thread: {e}"),
                hint: "the system is out of threads or memory".into(),
            })?;
        let sink = MqttSink {
            name,
            max_payload: max_payload(&cfg.broker.topic),
            too_large_seen: AtomicBool::new(false),
            shared,
            thread: Mutex::new(Some(thread)),
        };
        let answer = {
            let inner = lock(&sink.shared.inner);
            let (mut inner, _) = sink
                .shared
                .changed
                .wait_timeout_while(inner, START_WAIT, |i| i.started.is_none())
                .unwrap_or_else(|e| e.into_inner());
            inner.started.take()
        };
        match answer {
            Some(Ok(())) => Ok(sink),
            Some(Err(failure)) => {
                sink.close();
                Err(failure)
            }
            None => {
                let name = sink.name.clone();
                sink.close();
                Err(Failure {
                    refused_credentials: false,
                    text: format!(
                        "no answer from MQTT broker {name} within {} s",
                        START_WAIT.as_secs()
                    ),
                    hint: "check that the broker runs and that location names its host and port"
                        .into(),
                })
            }
        }
    }

    /// Queues one message; never blocks on the network. One too large for MQTT is
    /// dropped and counted instead.
    pub fn publish(&self, line: &str) -> Result<(), TooLarge> {
        if line.len() > self.max_payload {
            lock(&self.shared.inner).outbox.dropped += 1;
            return Err(TooLarge {
                bytes: line.len(),
                limit: self.max_payload,
                first: !self.too_large_seen.swap(true, Ordering::Relaxed),
            });
        }
        lock(&self.shared.inner).outbox.push(Arc::from(line));
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Queues one retained message for `topic` (Home Assistant's), and keeps it to send
    /// again after a reconnect; never blocks.
    pub fn publish_retained(&self, topic: &str, payload: &str) {
        let (topic, payload): (Arc<str>, Arc<str>) = (Arc::from(topic), Arc::from(payload));
        let mut inner = lock(&self.shared.inner);
        inner.retained.insert(topic.clone(), payload.clone());
        inner.outbox.push_to(Some(topic), payload);
        drop(inner);
        self.shared.wake.notify_one();
    }

    /// Waits at most `timeout` until every queued message is delivered, or until
    /// `interrupt`; says how many are still undelivered.
    pub fn drain(&self, timeout: Duration) -> Drained {
        let inner = lock(&self.shared.inner);
        let (inner, _) = self
            .shared
            .changed
            .wait_timeout_while(inner, timeout, |i| !i.outbox.is_empty() && !i.interrupted)
            .unwrap_or_else(|e| e.into_inner());
        Drained {
            left: inner.outbox.waiting() + inner.outbox.in_flight(),
            interrupted: inner.interrupted,
        }
    }

    /// Ends a `drain` at once, and every later one. Called on the way to NULL: a
    /// waiting EOS holds the stream lock that deactivating the pads must take, so the
    /// state change would otherwise wait out `flush-timeout`.
    pub fn interrupt(&self) {
        lock(&self.shared.inner).interrupted = true;
        self.shared.changed.notify_all();
    }

    pub fn stats(&self) -> Stats {
        let inner = lock(&self.shared.inner);
        Stats {
            delivered: inner.outbox.delivered,
            dropped: inner.outbox.dropped,
        }
    }

    /// Disconnects and ends the thread; what is still queued or unacknowledged is
    /// discarded and counted as dropped.
    pub fn close(&self) {
        {
            let mut inner = lock(&self.shared.inner);
            inner.stopping = true;
            inner.interrupted = true;
        }
        self.shared.stop.notify_one();
        self.shared.changed.notify_all();
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        lock(&self.shared.inner).outbox.give_up();
    }
}

impl Drop for MqttSink {
    fn drop(&mut self) {
        self.close();
    }
}

fn options(cfg: &Config) -> Result<MqttOptions, Failure> {
    if cfg.client_id.is_empty() || cfg.client_id.starts_with(' ') {
        return Err(Failure {
            refused_credentials: false,
            text: "client-id must not be empty or start with a space".into(),
            hint: "leave client-id unset for a unique one".into(),
        });
    }
    let mut o = MqttOptions::new(
        cfg.client_id.clone(),
        cfg.broker.host.clone(),
        cfg.broker.port,
    );
    o.set_keep_alive(KEEP_ALIVE)
        .set_clean_session(true)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET)
        .set_inflight(100);
    if let Some(topic) = &cfg.availability {
        o.set_last_will(LastWill::new(topic, OFFLINE, QoS::AtLeastOnce, true));
    }
    if cfg.username.is_some() || cfg.password.is_some() {
        o.set_credentials(
            cfg.username.clone().unwrap_or_default(),
            cfg.password.clone().unwrap_or_default(),
        );
    }
    if cfg.broker.tls {
        let config = mqtt_tls::client_config(cfg.ca_file.as_deref()).map_err(|text| Failure {
            refused_credentials: false,
            text,
            hint: "ca-file must be a PEM file with the CA certificate(s) that signed the broker's"
                .into(),
        })?;
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(config),
        )));
    }
    Ok(o)
}
