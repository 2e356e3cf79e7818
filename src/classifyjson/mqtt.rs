//! `classifyjson location=mqtt://…`: publishes each JSON line as one MQTT message with
//! rumqttc. The streaming thread only queues (`publish` never blocks on the network); a
//! thread of our own runs the client, hands queued messages over while connected,
//! follows acknowledgements, reconnects with back-off and posts a warning once per
//! outage. No text made here contains the password: brokers are named by their
//! `Broker` display (host, port, topic) and rumqttc's options are never formatted.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gst::glib;
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Outgoing,
    Packet, QoS, TlsConfiguration, Transport,
};
use tokio::sync::Notify;

use super::mqtt_location::Broker;
use super::mqtt_queue::Outbox;
use super::mqtt_tls;
use crate::lock::lock;

/// Messages handed to the client and not yet acknowledged, at most. Below rumqttc's
/// in-flight limit (100), so its packet ids never collide.
const WINDOW: usize = 64;
/// Seconds connecting (TCP, TLS, CONNACK) may take.
const CONNECT_TIMEOUT_S: u64 = 5;
/// How long `connect` waits for the first answer: connecting plus the thread's start.
const START_WAIT: Duration = Duration::from_secs(CONNECT_TIMEOUT_S + 5);
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Reconnect back-off: from the first to the last, doubling.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// A line with many regions can be long; rumqttc's default limit is 10 KiB.
const MAX_PACKET: usize = 4 << 20;
/// How long a stopping client may take to say goodbye to the broker.
const DISCONNECT_WAIT: Duration = Duration::from_secs(1);

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
    pub queue_size: usize,
}

/// What `connect` reports when the broker cannot be used.
#[derive(Debug)]
pub struct Failure {
    pub refused_credentials: bool,
    pub text: String,
    pub hint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Connecting,
    Up,
    Down,
}

struct Inner {
    outbox: Outbox,
    link: Link,
    /// The answer to the first connection attempt.
    started: Option<Result<(), Failure>>,
    stopping: bool,
    /// `outbox.dropped` when the current outage began.
    dropped_before_outage: u64,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Signalled when `started` is set and when messages are delivered.
    changed: Condvar,
    /// New messages to hand over.
    wake: Notify,
    stop: Notify,
}

/// Counters for the element's read-only properties.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub delivered: u64,
    pub dropped: u64,
}

pub struct MqttSink {
    pub name: String,
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
                outbox: Outbox::new(cfg.queue_size),
                link: Link::Connecting,
                started: None,
                stopping: false,
                dropped_before_outage: 0,
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
            queue_size: cfg.queue_size,
            tls: cfg.broker.tls,
            name: name.clone(),
            element,
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

    /// Queues one message; never blocks on the network.
    pub fn publish(&self, line: &str) {
        lock(&self.shared.inner).outbox.push(Arc::from(line));
        self.shared.wake.notify_one();
    }

    /// Waits at most `timeout` until every queued message is delivered; returns how many
    /// are still undelivered.
    pub fn drain(&self, timeout: Duration) -> usize {
        let inner = lock(&self.shared.inner);
        let (inner, _) = self
            .shared
            .changed
            .wait_timeout_while(inner, timeout, |i| !i.outbox.is_empty())
            .unwrap_or_else(|e| e.into_inner());
        inner.outbox.waiting() + inner.outbox.in_flight()
    }

    pub fn stats(&self) -> Stats {
        let inner = lock(&self.shared.inner);
        Stats {
            delivered: inner.outbox.delivered,
            dropped: inner.outbox.dropped,
        }
    }

    /// Disconnects and ends the thread; what is still queued is discarded.
    pub fn close(&self) {
        lock(&self.shared.inner).stopping = true;
        self.shared.stop.notify_one();
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
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

/// Why the first connection failed, as the start error says it.
fn failure(e: &ConnectionError, name: &str, tls: bool) -> Failure {
    match e {
        ConnectionError::ConnectionRefused(
            code @ (ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized),
        ) => Failure {
            refused_credentials: true,
            text: format!("MQTT broker {name} refused the credentials ({code:?})"),
            hint: "check the username and password properties".into(),
        },
        ConnectionError::ConnectionRefused(code) => Failure {
            refused_credentials: false,
            text: format!("MQTT broker {name} refused the connection ({code:?})"),
            hint: "check client-id (it must be unique on the broker) and the broker's configuration".into(),
        },
        ConnectionError::NetworkTimeout => Failure {
            refused_credentials: false,
            text: format!("no answer from MQTT broker {name} within {CONNECT_TIMEOUT_S} s"),
            hint: "check that the broker runs and that location names its host and port".into(),
        },
        e if tls => Failure {
            refused_credentials: false,
            text: format!("cannot connect to MQTT broker {name} over TLS: {e}"),
            hint: "the broker's certificate must verify against ca-file (or the system's CAs when it is unset) \
                   and name the host in location; check also that the broker runs and speaks TLS on that port"
                .into(),
        },
        e => Failure {
            refused_credentials: false,
            text: format!("cannot connect to MQTT broker {name}: {e}"),
            hint: "check that the broker runs and that location names its host and port".into(),
        },
    }
}

struct Worker {
    shared: Arc<Shared>,
    client: AsyncClient,
    topic: String,
    qos: QoS,
    retain: bool,
    queue_size: usize,
    tls: bool,
    name: String,
    element: glib::WeakRef<gst::Element>,
}

impl Worker {
    fn run(self, eventloop: &mut EventLoop) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(rt) => rt.block_on(self.drive(eventloop)),
            Err(e) => self.answer(Err(Failure {
                refused_credentials: false,
                text: format!("cannot start the MQTT client's runtime: {e}"),
                hint: "the system is out of resources".into(),
            })),
        }
    }

    fn answer(&self, result: Result<(), Failure>) {
        lock(&self.shared.inner).started = Some(result);
        self.shared.changed.notify_all();
    }

    /// The next event of `eventloop`, handing over new messages meanwhile; None on stop.
    /// The poll is never cancelled half-way (rumqttc's poll is not cancel-safe).
    async fn next(&self, eventloop: &mut EventLoop) -> Option<Result<Event, ConnectionError>> {
        let poll = eventloop.poll();
        tokio::pin!(poll);
        loop {
            tokio::select! {
                ev = &mut poll => return Some(ev),
                _ = self.shared.wake.notified() => self.feed(),
                _ = self.shared.stop.notified() => return None,
            }
        }
    }

    async fn drive(&self, eventloop: &mut EventLoop) {
        let mut backoff = BACKOFF_FIRST;
        let mut first = true;
        loop {
            if lock(&self.shared.inner).stopping {
                break;
            }
            let Some(event) = self.next(eventloop).await else {
                break;
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = BACKOFF_FIRST;
                    self.up(first);
                    first = false;
                }
                Ok(Event::Incoming(Packet::PubAck(ack))) => {
                    lock(&self.shared.inner).outbox.acked(ack.pkid);
                    self.shared.changed.notify_all();
                }
                Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                    lock(&self.shared.inner).outbox.sent(pkid);
                    self.shared.changed.notify_all();
                }
                Ok(_) => {}
                Err(e) if first => {
                    self.answer(Err(failure(&e, &self.name, self.tls)));
                    return;
                }
                Err(e) => {
                    // Events of the dead connection (a publish written just before it
                    // broke, acknowledgements read with it) would otherwise come out
                    // after the reconnect and be taken for the new connection's. What
                    // they were about is requeued by `down` and sent again.
                    eventloop.state.events.clear();
                    self.down(&e);
                    let stopped = tokio::select! {
                        _ = tokio::time::sleep(backoff) => false,
                        _ = self.shared.stop.notified() => true,
                    };
                    if stopped {
                        break;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
            self.feed();
        }
        self.goodbye(eventloop).await;
    }

    /// Hands waiting messages to the client while connected and the window has room.
    /// The lock is not held while handing over: on two busy cores this thread can be
    /// preempted, and the streaming thread must never wait for it.
    fn feed(&self) {
        let batch: Vec<Arc<str>> = {
            let mut inner = lock(&self.shared.inner);
            if inner.link != Link::Up {
                return;
            }
            std::iter::from_fn(|| inner.outbox.take(WINDOW)).collect()
        };
        // Only this thread changes what was handed, so a failure can give back the rest.
        for (i, payload) in batch.iter().enumerate() {
            let sent = self.client.try_publish(
                self.topic.as_str(),
                self.qos,
                self.retain,
                payload.as_bytes().to_vec(),
            );
            if sent.is_err() {
                let mut inner = lock(&self.shared.inner);
                for _ in i..batch.len() {
                    inner.outbox.untake();
                }
                break;
            }
        }
    }

    fn up(&self, first: bool) {
        let dropped = {
            let mut inner = lock(&self.shared.inner);
            let was_down = inner.link == Link::Down;
            inner.link = Link::Up;
            was_down.then(|| inner.outbox.dropped - inner.dropped_before_outage)
        };
        if first {
            self.answer(Ok(()));
        }
        if let (Some(dropped), Some(element)) = (dropped, self.element.upgrade()) {
            gst::element_info!(
                element,
                gst::ResourceError::Write,
                (
                    "reconnected to MQTT broker {}; {} messages were dropped during the outage",
                    self.name,
                    dropped
                )
            );
        }
    }

    /// The connection broke: unacknowledged messages wait again; the first failure of
    /// an outage is a warning, the retries that follow are not.
    fn down(&self, e: &ConnectionError) {
        let began = {
            let mut inner = lock(&self.shared.inner);
            let began = inner.link == Link::Up;
            if began {
                inner.dropped_before_outage = inner.outbox.dropped;
            }
            inner.link = Link::Down;
            inner.outbox.requeue();
            began
        };
        self.shared.changed.notify_all();
        if let (true, Some(element)) = (began, self.element.upgrade()) {
            gst::element_warning!(
                element,
                gst::ResourceError::Write,
                ("lost the connection to MQTT broker {}: {}", self.name, e),
                [
                    "reconnecting; up to {} messages wait (queue-size) and are sent after reconnecting, \
                     older ones are dropped and counted in messages-dropped",
                    self.queue_size
                ]
            );
        }
    }

    /// Says DISCONNECT to the broker, waiting briefly for it to go out.
    async fn goodbye(&self, eventloop: &mut EventLoop) {
        if lock(&self.shared.inner).link != Link::Up || self.client.try_disconnect().is_err() {
            return;
        }
        let _ = tokio::time::timeout(DISCONNECT_WAIT, async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}
