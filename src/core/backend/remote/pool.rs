//! Which endpoints are in rotation: round robin over those that answer; one that fails is
//! taken out and retried after a backoff that doubles up to a ceiling.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::check::Wire;
use crate::core::lock::lock;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
struct Health {
    /// What its model takes, once its metadata was checked.
    wire: Option<Wire>,
    retry_at: Option<Instant>,
    backoff: Duration,
    /// Which warnings about it were given, by [`Topic`].
    warned: [bool; 2],
}

/// What a warning about an endpoint is about; each is given once per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Its configuration: the wrong model, credentials it refuses.
    Configuration = 0,
    /// Its answers are larger than the client accepts.
    AnswerSize = 1,
}

pub struct Pool {
    health: Mutex<Vec<Health>>,
    next: AtomicUsize,
}

impl Pool {
    pub fn new(count: usize) -> Pool {
        Pool {
            health: Mutex::new(vec![Health::default(); count]),
            next: AtomicUsize::new(0),
        }
    }

    /// The next endpoint in rotation not in `tried`, with its checked model if any;
    /// None when every endpoint is tried or waiting out its backoff.
    pub fn pick(&self, now: Instant, tried: &[usize]) -> Option<(usize, Option<Wire>)> {
        let health = lock(&self.health);
        let count = health.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|k| (start + k) % count)
            .find(|i| !tried.contains(i) && health[*i].retry_at.is_none_or(|t| t <= now))
            .map(|i| (i, health[i].wire.clone()))
    }

    pub fn checked(&self, i: usize, wire: Wire) {
        if let Some(h) = lock(&self.health).get_mut(i) {
            h.wire = Some(wire);
        }
    }

    /// Out of rotation until its backoff has passed. Requests in flight when an
    /// endpoint goes down all fail together: only the first of them (the endpoint was
    /// still in rotation) extends the backoff, so one outage waits 0.5, 1, 2, 4 s
    /// between tries whatever `max-in-flight` is.
    pub fn failed(&self, i: usize, now: Instant) {
        if let Some(h) = lock(&self.health).get_mut(i) {
            if h.retry_at.is_some_and(|t| t > now) {
                return;
            }
            h.backoff = (h.backoff * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF);
            h.retry_at = Some(now + h.backoff);
        }
    }

    pub fn answered(&self, i: usize) {
        if let Some(h) = lock(&self.health).get_mut(i) {
            h.retry_at = None;
            h.backoff = Duration::ZERO;
        }
    }

    /// True the first time only: whether to warn about this endpoint on `topic`.
    pub fn first_warning(&self, i: usize, topic: Topic) -> bool {
        lock(&self.health)
            .get_mut(i)
            .is_some_and(|h| !std::mem::replace(&mut h.warned[topic as usize], true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_endpoints_wait_out_a_growing_backoff() {
        let pool = Pool::new(2);
        let now = Instant::now();
        let first = pool.pick(now, &[]).expect("one").0;
        let second = pool.pick(now, &[first]).expect("the other").0;
        assert_ne!(first, second);
        assert_eq!(pool.pick(now, &[0, 1]), None);
        pool.failed(0, now);
        for _ in 0..4 {
            assert_eq!(pool.pick(now, &[]).expect("1 is up").0, 1);
        }
        assert_eq!(
            pool.pick(now + FIRST_BACKOFF, &[1]).expect("0 retried").0,
            0
        );
        pool.failed(0, now + FIRST_BACKOFF);
        assert_eq!(pool.pick(now + FIRST_BACKOFF * 2, &[1]), None);
        pool.answered(0);
        assert_eq!(pool.pick(now, &[1]).expect("back").0, 0);
    }

    /// Four requests in flight fail at once: the backoff is the first one's, and the
    /// next failure (after the backoff, the endpoint tried again) doubles it once.
    #[test]
    fn concurrent_failures_of_one_outage_extend_the_backoff_once() {
        let pool = Pool::new(1);
        let now = Instant::now();
        for k in 0..4 {
            pool.failed(0, now + Duration::from_millis(k));
        }
        assert_eq!(pool.pick(now + FIRST_BACKOFF, &[]).map(|p| p.0), Some(0));
        let retried = now + FIRST_BACKOFF;
        for k in 0..4 {
            pool.failed(0, retried + Duration::from_millis(k));
        }
        let doubled = retried + FIRST_BACKOFF * 2;
        assert_eq!(pool.pick(doubled - Duration::from_millis(1), &[]), None);
        assert_eq!(pool.pick(doubled, &[]).map(|p| p.0), Some(0));
    }

    #[test]
    fn a_warning_is_given_once_per_endpoint_and_topic() {
        let pool = Pool::new(2);
        let configuration = Topic::Configuration;
        assert!(pool.first_warning(1, configuration));
        assert!(!pool.first_warning(1, configuration));
        assert!(pool.first_warning(0, configuration));
        assert!(!pool.first_warning(7, configuration));
        // Another topic is another warning, once too.
        assert!(pool.first_warning(1, Topic::AnswerSize));
        assert!(!pool.first_warning(1, Topic::AnswerSize));
    }
}
