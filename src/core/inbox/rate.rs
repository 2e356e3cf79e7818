//! `inbox-interval`: at most one crop per frame, zone or object in that time, so a
//! camera that stares at something unknown for an hour fills the inbox with one
//! image a minute, not 108,000.

use std::collections::HashMap;

/// The last time each key was let through, in nanoseconds of the clock the caller uses
/// (the buffers' PTS, so the rate follows the stream, not the machine).
#[derive(Debug, Default)]
pub struct RateLimit {
    last: HashMap<String, u64>,
}

/// Keys remembered at most: a detector's ids grow without end, and a forgotten key only
/// lets one more crop through.
const MAX_KEYS: usize = 4096;

impl RateLimit {
    /// Whether `key` may have a crop at `now_ns`: its first time, or `interval_ns` or
    /// more after the last one let through (which this then becomes). Time going
    /// backwards (a seek, a new segment) lets it through too.
    pub fn allow(&mut self, key: &str, now_ns: u64, interval_ns: u64) -> bool {
        let allowed = match self.last.get(key) {
            Some(&last) => now_ns < last || now_ns - last >= interval_ns,
            None => true,
        };
        if allowed {
            if self.last.len() >= MAX_KEYS && !self.last.contains_key(key) {
                self.last.clear();
            }
            self.last.insert(key.to_string(), now_ns);
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_crop_per_key_per_interval() {
        let mut rate = RateLimit::default();
        let second = 1_000_000_000;
        assert!(rate.allow("zone:gate", 0, second));
        assert!(!rate.allow("zone:gate", second / 2, second));
        assert!(rate.allow("zone:door", second / 2, second));
        assert!(!rate.allow("zone:gate", second - 1, second));
        assert!(rate.allow("zone:gate", second, second));
        // A seek back starts over.
        assert!(rate.allow("zone:gate", 0, second));
        // 0 = every time.
        assert!(rate.allow("frame", 5, 0));
        assert!(rate.allow("frame", 5, 0));
    }
}
