//! Per-element counters behind the read-only `stats` property.

use std::time::Duration;

use crate::core::backend::RequestCounts;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub frames_seen: u64,
    pub frames_classified: u64,
    /// Async jobs replaced by a newer frame before they ran.
    pub results_dropped: u64,
    /// Inferences skipped because downstream reported lateness (QoS).
    pub qos_skipped: u64,
    /// Due frames not classified because their input had not changed
    /// (`unchanged-threshold`): they carry the last result.
    pub frames_unchanged: u64,
    /// Zones not classified on a due frame because their input had not changed.
    pub zones_unchanged: u64,
    /// With `reclassify-interval`: objects seen and objects that got a result since the
    /// stream started, and boxes that carried their object's labels instead of being
    /// classified (the inferences saved against classifying every box of every frame).
    pub objects_tracked: u64,
    pub objects_classified: u64,
    pub regions_carried: u64,
    /// ONNX Runtime calls: one per classified frame, or per batch of regions.
    pub inference_calls: u64,
    pub regions_classified: u64,
    total_inference: Duration,
    pub max_inference: Duration,
    /// Frames no inference server answered in time (they flow on without a fresh result).
    pub frames_unanswered: u64,
    /// With `inference-server`: the requests to the servers.
    pub requests: Option<RequestCounts>,
    /// With `classes-dir`: examples embedded at NULL→READY, and taken from the cache.
    pub examples: Option<(u64, u64)>,
    /// With `inbox-dir`: crops queued for the writer, and crops dropped because it was
    /// behind.
    pub inbox: Option<(u64, u64)>,
    /// In process: how ONNX Runtime's threads wait for work now (`off`, `on`, `short`).
    pub spinning: Option<&'static str>,
}

impl Stats {
    /// One classified frame that took `calls` inference calls for `regions` regions
    /// (0 regions: the whole frame).
    pub fn record_inference(&mut self, took: Duration, calls: u64, regions: u64) {
        self.frames_classified += 1;
        self.inference_calls += calls;
        self.regions_classified += regions;
        self.total_inference += took;
        self.max_inference = self.max_inference.max(took);
    }

    pub fn mean_inference(&self) -> Duration {
        // 128-bit nanoseconds: `frames as u32` would wrap to 0 after 2^32 frames.
        match self
            .total_inference
            .as_nanos()
            .checked_div(self.frames_classified.into())
        {
            Some(mean) => Duration::from_nanos(u64::try_from(mean).unwrap_or(u64::MAX)),
            None => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_max() {
        let mut s = Stats::default();
        assert_eq!(s.mean_inference(), Duration::ZERO);
        s.record_inference(Duration::from_millis(10), 1, 0);
        s.record_inference(Duration::from_millis(30), 1, 4);
        assert_eq!(s.frames_classified, 2);
        assert_eq!((s.inference_calls, s.regions_classified), (2, 4));
        assert_eq!(s.mean_inference(), Duration::from_millis(20));
        assert_eq!(s.max_inference, Duration::from_millis(30));
    }

    #[test]
    fn the_mean_survives_more_than_four_billion_frames() {
        let s = Stats {
            frames_classified: 1 << 32,
            total_inference: Duration::from_millis(5) * (1 << 20) * 4096,
            ..Stats::default()
        };
        assert_eq!(s.mean_inference(), Duration::from_millis(5));
    }
}
