//! Temporal smoothing of class probabilities, so labels do not flicker between frames.
//!
//! The rule: the probability vector is an exponential moving average over classified
//! frames, `avg = s * avg + (1 - s) * new` for smoothing `s` in [0, 1). The reported
//! top-1 only changes when another class's averaged probability exceeds the current
//! top-1's by more than `HYSTERESIS`; until then the current class stays first.

use super::topk::{Ranked, top_k};

/// Lead (in averaged probability) a class needs to take over the top-1 place.
pub const HYSTERESIS: f64 = 0.05;

#[derive(Debug, Clone, Default)]
pub struct Smoother {
    average: Option<Vec<f64>>,
    top: Option<u32>,
}

impl Smoother {
    pub fn new() -> Smoother {
        Smoother::default()
    }

    /// Forgets the history (after a flush, seek or format change).
    pub fn reset(&mut self) {
        *self = Smoother::default();
    }

    /// Folds in one frame's probabilities and returns the ranking to report.
    /// `smoothing` 0 reports the frame as it is.
    pub fn update(
        &mut self,
        probabilities: &[f64],
        smoothing: f64,
        k: usize,
        threshold: f64,
    ) -> Vec<Ranked> {
        let s = smoothing.clamp(0.0, 0.999);
        if s <= 0.0 {
            self.reset();
            return top_k(probabilities, k, threshold);
        }
        let average = match self.average.take() {
            Some(mut avg) if avg.len() == probabilities.len() => {
                for (a, p) in avg.iter_mut().zip(probabilities) {
                    *a = s * *a + (1.0 - s) * p;
                }
                avg
            }
            _ => probabilities.to_vec(),
        };
        let mut ranked = top_k(&average, k.max(1), 0.0);
        if let (Some(current), Some(best)) = (self.top, ranked.first().cloned()) {
            let held = average.get(current as usize).copied().unwrap_or(0.0);
            if best.class_id != current && best.score - held <= HYSTERESIS {
                // The current class keeps its place; the challenger follows it.
                ranked.retain(|r| r.class_id != current);
                ranked.insert(
                    0,
                    Ranked {
                        class_id: current,
                        score: held,
                    },
                );
                ranked.truncate(k.max(1));
            }
        }
        self.top = ranked.first().map(|r| r.class_id);
        self.average = Some(average);
        ranked.retain(|r| r.score >= threshold);
        ranked.truncate(k);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(r: &[Ranked]) -> Vec<u32> {
        r.iter().map(|r| r.class_id).collect()
    }

    #[test]
    fn zero_smoothing_is_plain_top_k() {
        let mut s = Smoother::new();
        assert_eq!(ids(&s.update(&[0.1, 0.9], 0.0, 2, 0.0)), vec![1, 0]);
        assert_eq!(ids(&s.update(&[0.9, 0.1], 0.0, 2, 0.0)), vec![0, 1]);
    }

    #[test]
    fn averages_exponentially() {
        let mut s = Smoother::new();
        s.update(&[1.0, 0.0], 0.5, 2, 0.0);
        let r = s.update(&[0.0, 1.0], 0.5, 2, 0.0);
        // 0.5 / 0.5: a tie, and the incumbent keeps first place.
        assert_eq!(r[0].class_id, 0);
        assert!((r[0].score - 0.5).abs() < 1e-12 && (r[1].score - 0.5).abs() < 1e-12);
    }

    #[test]
    fn alternating_frames_do_not_flip_the_label() {
        let (a, b) = ([0.7, 0.3], [0.35, 0.65]);
        let mut smooth = Smoother::new();
        let mut raw = Smoother::new();
        let (mut smooth_changes, mut raw_changes) = (0, 0);
        let (mut last_smooth, mut last_raw) = (None, None);
        for i in 0..100 {
            let p = if i % 2 == 0 { &a } else { &b };
            let s = smooth.update(p, 0.8, 1, 0.0)[0].class_id;
            let r = raw.update(p, 0.0, 1, 0.0)[0].class_id;
            smooth_changes += usize::from(last_smooth.is_some_and(|l| l != s));
            raw_changes += usize::from(last_raw.is_some_and(|l| l != r));
            (last_smooth, last_raw) = (Some(s), Some(r));
        }
        assert_eq!(raw_changes, 99);
        assert_eq!(smooth_changes, 0);
    }

    #[test]
    fn a_clear_change_wins_after_a_few_frames() {
        let mut s = Smoother::new();
        for _ in 0..10 {
            s.update(&[0.9, 0.1], 0.5, 1, 0.0);
        }
        let switched = (1..=10)
            .find(|_| s.update(&[0.1, 0.9], 0.5, 1, 0.0)[0].class_id == 1)
            .expect("switches");
        assert!(switched <= 3, "took {switched} frames");
    }

    #[test]
    fn threshold_applies_to_the_averaged_scores() {
        let mut s = Smoother::new();
        assert_eq!(ids(&s.update(&[0.6, 0.4], 0.5, 2, 0.5)), vec![0]);
    }

    #[test]
    fn a_different_class_count_restarts_the_average() {
        let mut s = Smoother::new();
        s.update(&[0.6, 0.4], 0.5, 2, 0.0);
        assert_eq!(ids(&s.update(&[0.1, 0.2, 0.7], 0.5, 1, 0.0)), vec![2]);
    }
}
