//! The MQTT messages `classifyjson` still owes the broker: waiting ones in a bounded
//! queue (the oldest dropped and counted when it overflows), and those handed to the
//! client until the broker acknowledges them. rumqttc forgets unacknowledged messages
//! when it reconnects with a clean session, so they are kept here and go back to the
//! front of the queue on every disconnect: QoS 1 is then at least once.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A message and its place in the stream, so that requeued ones keep their order.
#[derive(Debug, Clone)]
struct Message {
    seq: u64,
    payload: Arc<str>,
}

#[derive(Debug)]
pub struct Outbox {
    capacity: usize,
    waiting: VecDeque<Message>,
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
    /// `capacity` messages may wait (at least one).
    pub fn new(capacity: usize) -> Outbox {
        Outbox {
            capacity: capacity.max(1),
            waiting: VecDeque::new(),
            handed: VecDeque::new(),
            unacked: BTreeMap::new(),
            next_seq: 0,
            dropped: 0,
            delivered: 0,
        }
    }

    /// Queues `payload`; returns how many old messages were dropped to make room.
    pub fn push(&mut self, payload: Arc<str>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.waiting.push_back(Message { seq, payload });
        self.trim()
    }

    fn trim(&mut self) -> u64 {
        let mut n = 0;
        while self.waiting.len() > self.capacity {
            self.waiting.pop_front();
            n += 1;
        }
        self.dropped += n;
        n
    }

    /// The next message to hand to the client, while fewer than `window` are in flight.
    pub fn take(&mut self, window: usize) -> Option<Arc<str>> {
        if self.in_flight() >= window {
            return None;
        }
        let m = self.waiting.pop_front()?;
        let payload = m.payload.clone();
        self.handed.push_back(m);
        Some(payload)
    }

    /// The client could not take the last message from `take`: it waits again.
    pub fn untake(&mut self) {
        if let Some(m) = self.handed.pop_back() {
            self.waiting.push_front(m);
        }
    }

    /// The client sent the oldest handed message with packet id `pkid` (0: QoS 0, done).
    pub fn sent(&mut self, pkid: u16) {
        let Some(m) = self.handed.pop_front() else {
            return;
        };
        if pkid == 0 {
            self.delivered += 1;
        } else {
            self.unacked.entry(pkid).or_default().push_back(m);
        }
    }

    /// The broker acknowledged packet id `pkid`.
    pub fn acked(&mut self, pkid: u16) {
        if let Some(q) = self.unacked.get_mut(&pkid) {
            if q.pop_front().is_some() {
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

    #[test]
    fn overflow_drops_the_oldest_and_counts_them() {
        let mut o = Outbox::new(3);
        let dropped: u64 = (0..5).map(|i| o.push(msg(i))).sum();
        assert_eq!((dropped, o.dropped, o.waiting()), (2, 2, 3));
        assert_eq!(o.take(10).as_deref(), Some("2"));
    }

    #[test]
    fn acked_messages_are_delivered_and_the_window_limits_flight() {
        let mut o = Outbox::new(10);
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
        let mut o = Outbox::new(10);
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
        let mut o = Outbox::new(2);
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
        let mut o = Outbox::new(10);
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
        let mut o = Outbox::new(2);
        o.push(msg(0));
        o.take(10);
        o.sent(0);
        assert!(o.is_empty());
        assert_eq!(o.delivered, 1);
    }
}
