//! Which endpoints are in rotation: round robin over those that answer; one that fails is
//! taken out and retried after a backoff that doubles up to a ceiling.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::check::Wire;
use crate::lock::lock;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
struct Health {
    /// What its model takes, once its metadata was checked.
    wire: Option<Wire>,
    retry_at: Option<Instant>,
    backoff: Duration,
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

    /// Out of rotation until its backoff has passed.
    pub fn failed(&self, i: usize, now: Instant) {
        if let Some(h) = lock(&self.health).get_mut(i) {
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
        pool.failed(0, now);
        assert_eq!(pool.pick(now + FIRST_BACKOFF, &[1]), None);
        pool.answered(0);
        assert_eq!(pool.pick(now, &[1]).expect("back").0, 0);
    }
}
