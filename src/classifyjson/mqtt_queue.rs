//! The MQTT messages `classifyjson` still owes the broker: waiting ones in a queue
//! bounded in messages and in bytes (the oldest dropped and counted when it overflows),
//! and those handed to the client until the broker acknowledges them. rumqttc forgets unacknowledged messages
//! when it reconnects with a clean session, so they are kept here and go back to the
//! front of the queue on every disconnect: QoS 1 is then at least once.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A message and its place in the stream, so that requeued ones keep their order.
#[derive(Debug, Clone)]
struct Message {
    seq: u64,
    payload: Arc<str>,
    /// A topic of its own, published retained (Home Assistant's); None for the
    /// element's topic and `retain` setting.
    topic: Option<Arc<str>>,
}

/// A message to hand to the client: its own topic (retained), or None for the element's.
pub type Handed = (Option<Arc<str>>, Arc<str>);

/// How much the queue holds at most (`queue-size`, `queue-bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Messages waiting.
    pub messages: usize,
    /// Bytes of the messages waiting and of those not yet acknowledged: the counted
    /// bound on memory that messages of any size need (a count alone let 90 lines of
    /// 4 MiB take 800 MB).
    pub bytes: usize,
}

#[derive(Debug)]
pub struct Outbox {
    bounds: Bounds,
    waiting: VecDeque<Message>,
    /// Payload bytes of `waiting`, and of `handed` plus `unacked`. Subtracted saturating:
    /// `push` runs on the streaming thread, which must never panic.
    waiting_bytes: usize,
    flight_bytes: usize,
    /// Given to the client, in order, before it assigned a packet id.
    handed: VecDeque<Message>,
    /// Sent with QoS 1, by packet id, until the PUBACK.
    unacked: BTreeMap<u16, VecDeque<Message>>,
    next_seq: u64,
    /// Dropped since start: the queue was full, or the element stopped before the
    /// broker acknowledged them.
    pub dropped: u64,
    /// Acknowledged by the broker (QoS 1) or written to it (QoS 0), since start.
    pub delivered: u64,
}

impl Outbox {
    /// Holds at most `bounds`, but always the newest message.
    pub fn new(bounds: Bounds) -> Outbox {
        Outbox {
            bounds: Bounds {
                messages: bounds.messages.max(1),
                bytes: bounds.bytes,
            },
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            flight_bytes: 0,
            handed: VecDeque::new(),
            unacked: BTreeMap::new(),
            next_seq: 0,
            dropped: 0,
            delivered: 0,
        }
    }

    /// Queues `payload`; returns how many old messages were dropped to make room.
    pub fn push(&mut self, payload: Arc<str>) -> u64 {
        self.push_to(None, payload)
    }

    /// Queues `payload` for `topic` (retained), or for the element's topic if None.
    pub fn push_to(&mut self, topic: Option<Arc<str>>, payload: Arc<str>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.waiting_bytes += payload.len();
        self.waiting.push_back(Message {
            seq,
            payload,
            topic,
        });
        self.trim()
    }

    /// Drops the oldest waiting messages while over a bound, keeping at least the newest:
    /// messages in flight count towards the bytes, but only the broker or a disconnect
    /// takes them out.
    fn trim(&mut self) -> u64 {
        let mut n = 0;
        while self.waiting.len() > self.bounds.messages
            || (self.waiting.len() > 1
                && self.waiting_bytes + self.flight_bytes > self.bounds.bytes)
        {
            if let Some(m) = self.waiting.pop_front() {
                self.waiting_bytes = self.waiting_bytes.saturating_sub(m.payload.len());
            }
            n += 1;
        }
        self.dropped += n;
        n
    }

    /// The next message to hand to the client, while fewer than `window` are in flight.
    #[cfg(test)]
    pub fn take(&mut self, window: usize) -> Option<Arc<str>> {
        self.take_to(window).map(|(_, payload)| payload)
    }

    /// The next message and its own topic, if it has one; see `take`.
    pub fn take_to(&mut self, window: usize) -> Option<Handed> {
        if self.in_flight() >= window {
            return None;
        }
        let m = self.waiting.pop_front()?;
        let handed = (m.topic.clone(), m.payload.clone());
        self.waiting_bytes = self.waiting_bytes.saturating_sub(m.payload.len());
        self.flight_bytes += m.payload.len();
        self.handed.push_back(m);
        Some(handed)
    }

    /// The client could not take the last message from `take`: it waits again.
    pub fn untake(&mut self) {
        if let Some(m) = self.handed.pop_back() {
            self.flight_bytes = self.flight_bytes.saturating_sub(m.payload.len());
            self.waiting_bytes += m.payload.len();
            self.waiting.push_front(m);
        }
    }

    /// The client sent the oldest handed message with packet id `pkid` (0: QoS 0, done).
    pub fn sent(&mut self, pkid: u16) {
        let Some(m) = self.handed.pop_front() else {
            return;
        };
        if pkid == 0 {
            self.flight_bytes = self.flight_bytes.saturating_sub(m.payload.len());
            self.delivered += 1;
        } else {
            self.unacked.entry(pkid).or_default().push_back(m);
        }
    }

    /// The broker acknowledged packet id `pkid`.
    pub fn acked(&mut self, pkid: u16) {
        if let Some(q) = self.unacked.get_mut(&pkid) {
            if let Some(m) = q.pop_front() {
                self.flight_bytes = self.flight_bytes.saturating_sub(m.payload.len());
                self.delivered += 1;
            }
            if q.is_empty() {
                self.unacked.remove(&pkid);
            }
        }
    }

    /// The connection is gone: whatever was not acknowledged waits again, in stream order,
    /// ahead of newer messages. Returns how many were dropped if that overflows the queue.
    pub fn requeue(&mut self) -> u64 {
        let mut back: Vec<Message> = self.handed.drain(..).collect();
        back.extend(std::mem::take(&mut self.unacked).into_values().flatten());
        back.sort_by_key(|m| m.seq);
        self.waiting_bytes += std::mem::take(&mut self.flight_bytes);
        for m in back.into_iter().rev() {
            self.waiting.push_front(m);
        }
        self.trim()
    }

    pub fn in_flight(&self) -> usize {
        self.handed.len() + self.unacked.values().map(VecDeque::len).sum::<usize>()
    }

    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Nothing waits and nothing is unacknowledged.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.in_flight() == 0
    }

    /// The element stops: whatever waits or is not acknowledged will never be, and is
    /// counted as dropped, so that delivered plus dropped is every message queued.
    /// Returns how many that was.
    pub fn give_up(&mut self) -> u64 {
        let n = (self.waiting() + self.in_flight()) as u64;
        self.waiting.clear();
        self.handed.clear();
        self.unacked.clear();
        self.waiting_bytes = 0;
        self.flight_bytes = 0;
        self.dropped += n;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(i: u32) -> Arc<str> {
        i.to_string().into()
    }

    /// Bounded in messages only.
    fn count(messages: usize) -> Bounds {
        Bounds {
            messages,
            bytes: usize::MAX,
        }
    }

    /// A message of `len` bytes, all `tag`.
    fn sized(tag: char, len: usize) -> Arc<str> {
        tag.to_string().repeat(len).into()
    }

    #[test]
    fn beyond_the_bytes_the_oldest_are_dropped_and_the_newest_always_kept() {
        let mut o = Outbox::new(Bounds {
            messages: 100,
            bytes: 10,
        });
        assert_eq!(o.push(sized('a', 4)) + o.push(sized('b', 4)), 0);
        assert_eq!(o.push(sized('c', 4)), 1, "12 bytes > 10: 'a' goes");
        assert_eq!(
            o.push(sized('d', 30)),
            2,
            "alone over the bound, but the newest"
        );
        assert_eq!((o.waiting(), o.dropped), (1, 3));
        assert_eq!(o.take(10).as_deref(), Some(&*sized('d', 30)));
    }

    #[test]
    fn messages_in_flight_count_towards_the_bytes_until_acknowledged() {
        let mut o = Outbox::new(Bounds {
            messages: 100,
            bytes: 10,
        });
        o.push(sized('a', 6));
        o.take(10);
        o.sent(1);
        o.push(sized('b', 3));
        assert_eq!(
            o.push(sized('c', 3)),
            1,
            "6 in flight + 6 waiting > 10: 'b' goes"
        );
        o.acked(1);
        assert_eq!(o.push(sized('d', 3)) + o.push(sized('e', 3)), 0);
        o.take(10);
        o.sent(2);
        // Back to waiting, in order: the bytes held do not change, so nothing goes.
        assert_eq!(o.requeue(), 0);
        let order: Vec<String> =
            std::iter::from_fn(|| o.take(100).map(|p| p.to_string())).collect();
        assert_eq!(order, ["ccc", "ddd", "eee"]);
        assert_eq!(o.dropped, 1);
        o.untake();
        assert_eq!(o.give_up(), 3);
        assert_eq!((o.waiting_bytes, o.flight_bytes), (0, 0));
    }

    #[test]
    fn overflow_drops_the_oldest_and_counts_them() {
        let mut o = Outbox::new(count(3));
        let dropped: u64 = (0..5).map(|i| o.push(msg(i))).sum();
        assert_eq!((dropped, o.dropped, o.waiting()), (2, 2, 3));
        assert_eq!(o.take(10).as_deref(), Some("2"));
    }

    #[test]
    fn acked_messages_are_delivered_and_the_window_limits_flight() {
        let mut o = Outbox::new(count(10));
        for i in 0..3 {
            o.push(msg(i));
        }
        assert!(o.take(2).is_some() && o.take(2).is_some());
        assert!(o.take(2).is_none(), "window of two is full");
        o.sent(1);
        o.sent(2);
        o.acked(1);
        assert_eq!((o.delivered, o.in_flight()), (1, 1));
        o.acked(7); // unknown id: ignored
        o.acked(2);
        assert_eq!(o.take(2).as_deref(), Some("2"));
        o.untake();
        assert_eq!((o.waiting(), o.in_flight()), (1, 0));
    }

    #[test]
    fn a_disconnect_requeues_unacked_in_stream_order_ahead_of_new_ones() {
        let mut o = Outbox::new(count(10));
        for i in 0..4 {
            o.push(msg(i));
        }
        for _ in 0..3 {
            o.take(10);
        }
        o.sent(5); // "0" → pkid 5
        o.sent(1); // "1" → pkid 1 (ids wrap, order must not come from them)
        // "2" handed, no id yet
        o.push(msg(4));
        assert_eq!(o.requeue(), 0);
        let order: Vec<String> =
            std::iter::from_fn(|| o.take(100).map(|p| p.to_string())).collect();
        assert_eq!(order, ["0", "1", "2", "3", "4"]);
    }

    #[test]
    fn requeue_beyond_the_bound_drops_the_oldest() {
        let mut o = Outbox::new(count(2));
        o.push(msg(0));
        o.take(10);
        o.sent(1);
        o.push(msg(1));
        o.push(msg(2));
        assert_eq!(o.requeue(), 1);
        assert_eq!(o.take(10).as_deref(), Some("1"));
    }

    #[test]
    fn giving_up_counts_the_waiting_and_the_unacknowledged_as_dropped() {
        let mut o = Outbox::new(count(10));
        for i in 0..4 {
            o.push(msg(i));
        }
        o.take(10);
        o.take(10);
        o.sent(1);
        o.acked(1);
        o.sent(2);
        assert_eq!(o.give_up(), 3);
        assert_eq!((o.delivered, o.dropped), (1, 3));
        assert!(o.is_empty());
        assert_eq!(o.give_up(), 0);
    }

    #[test]
    fn qos0_is_delivered_when_written() {
        let mut o = Outbox::new(count(2));
        o.push(msg(0));
        o.take(10);
        o.sent(0);
        assert!(o.is_empty());
        assert_eq!(o.delivered, 1);
    }

    #[test]
    fn a_message_for_its_own_topic_keeps_it_through_a_reconnect() {
        let mut o = Outbox::new(count(10));
        o.push(msg(1));
        o.push_to(Some("ha/state".into()), msg(2));
        assert_eq!(o.take_to(10), Some((None, msg(1))));
        assert_eq!(o.take_to(10), Some((Some("ha/state".into()), msg(2))));
        o.requeue();
        assert_eq!(o.take_to(10), Some((None, msg(1))));
        assert_eq!(o.take_to(10), Some((Some("ha/state".into()), msg(2))));
    }
}
