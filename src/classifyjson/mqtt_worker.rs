//! The thread behind `classifyjson location=mqtt://…`: runs rumqttc's event loop, hands
//! queued messages to the client while connected, follows packet ids and
//! acknowledgements, reconnects with back-off, and posts one warning per outage (and an
//! INFO with the number dropped when it is over). Also what it shares with `mqtt`.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use gst::glib;
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, Outgoing, Packet, QoS,
};
use tokio::sync::Notify;

use super::home_assistant::{OFFLINE, ONLINE};
use super::mqtt_queue::{Bounds, Handed, Outbox};
use crate::core::lock::lock;
use crate::core::sigpipe;

/// Messages handed to the client and not yet acknowledged, at most. Below rumqttc's
/// in-flight limit (100), so its packet ids never collide.
pub(super) const WINDOW: usize = 64;
/// Seconds connecting (TCP, TLS, CONNACK) may take.
pub(super) const CONNECT_TIMEOUT_S: u64 = 5;
/// Reconnect back-off: from the first to the last, doubling.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How long a stopping client may take to say goodbye to the broker.
const DISCONNECT_WAIT: Duration = Duration::from_secs(1);

/// What `connect` reports when the broker cannot be used.
#[derive(Debug)]
pub struct Failure {
    pub refused_credentials: bool,
    pub text: String,
    pub hint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    Connecting,
    Up,
    Down,
}

pub(super) struct Inner {
    pub(super) outbox: Outbox,
    pub(super) link: Link,
    /// The answer to the first connection attempt.
    pub(super) started: Option<Result<(), Failure>>,
    pub(super) stopping: bool,
    /// The element is going down: EOS stops waiting for acknowledgements.
    pub(super) interrupted: bool,
    /// `outbox.dropped` when the current outage began.
    pub(super) dropped_before_outage: u64,
    /// The last retained message of each topic of its own (Home Assistant's), sent
    /// again after a reconnect: a broker restarted without persistence forgot them.
    pub(super) retained: BTreeMap<Arc<str>, Arc<str>>,
}

pub(super) struct Shared {
    pub(super) inner: Mutex<Inner>,
    /// Signalled when `started` is set, when messages are delivered and on `interrupted`.
    pub(super) changed: Condvar,
    /// New messages to hand over.
    pub(super) wake: Notify,
    pub(super) stop: Notify,
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

pub(super) struct Worker {
    pub(super) shared: Arc<Shared>,
    pub(super) client: AsyncClient,
    pub(super) topic: String,
    pub(super) qos: QoS,
    pub(super) retain: bool,
    pub(super) queue: Bounds,
    pub(super) tls: bool,
    pub(super) name: String,
    pub(super) element: glib::WeakRef<gst::Element>,
    /// Home Assistant's availability topic: "online" on every connect, "offline" on a
    /// clean stop (and as the last will, set in the options).
    pub(super) availability: Option<String>,
}

impl Worker {
    pub(super) fn run(self, eventloop: &mut EventLoop) {
        // A broker that goes away while a write is flushed must give this thread an
        // error to reconnect on, not end a C host program (gst-launch-1.0) with SIGPIPE.
        if let (Err(e), Some(element)) = (sigpipe::block_in_this_thread(), self.element.upgrade()) {
            gst::element_warning!(
                element,
                gst::ResourceError::Write,
                ("cannot block SIGPIPE in the MQTT thread: {}", e),
                [
                    "if the connection to {} breaks while writing, the program may end",
                    self.name
                ]
            );
        }
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
        let batch: Vec<Handed> = {
            let mut inner = lock(&self.shared.inner);
            if inner.link != Link::Up {
                return;
            }
            std::iter::from_fn(|| inner.outbox.take_to(WINDOW)).collect()
        };
        // Only this thread changes what was handed, so a failure can give back the rest.
        for (i, (topic, payload)) in batch.iter().enumerate() {
            let (topic, retain) = match topic {
                Some(own) => (own.as_ref(), true),
                None => (self.topic.as_str(), self.retain),
            };
            let sent =
                self.client
                    .try_publish(topic, self.qos, retain, payload.as_bytes().to_vec());
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
            // After the last will may have said "offline": every connect says "online".
            if let Some(topic) = &self.availability {
                inner
                    .outbox
                    .push_to(Some(Arc::from(topic.as_str())), Arc::from(ONLINE));
            }
            if was_down {
                let again: Vec<_> = inner.retained.clone().into_iter().collect();
                for (topic, payload) in again {
                    inner.outbox.push_to(Some(topic), payload);
                }
            }
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
                    "reconnecting; up to {} messages of at most {} bytes in all wait (queue-size, \
                     queue-bytes) and are sent after reconnecting, older ones are dropped and \
                     counted in messages-dropped",
                    self.queue.messages,
                    self.queue.bytes
                ]
            );
        }
    }

    /// Says DISCONNECT to the broker, waiting briefly for it to go out.
    async fn goodbye(&self, eventloop: &mut EventLoop) {
        if lock(&self.shared.inner).link != Link::Up {
            return;
        }
        // Before DISCONNECT, which makes the broker drop the last will: a clean stop
        // says "offline" itself.
        if let Some(topic) = &self.availability {
            let _ = self
                .client
                .try_publish(topic.as_str(), QoS::AtLeastOnce, true, OFFLINE);
        }
        if self.client.try_disconnect().is_err() {
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
