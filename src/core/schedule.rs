//! Which frames get an inference, and which result each buffer carries: the interval,
//! the QoS skip, and the latest result carried over to the frames between. Plain logic,
//! so the decisions are tested without a pipeline.

/// What happens to one frame's inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Classify this frame (in `async` mode: hand it to the worker).
    Classify,
    /// Due, but downstream said it is late: the frame flows on, its inference is skipped.
    SkipLate,
    /// Between two due frames: the frame carries the latest result.
    CarryOver,
}

/// The result a buffer carries: the frame it was computed on, and whether this is the
/// first buffer to carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct Carried<R> {
    pub source_frame: u64,
    pub frame: u64,
    pub result: R,
    pub first_sight: bool,
}

impl<R> Carried<R> {
    /// Computed on the very frame that carries it.
    pub fn is_fresh(&self) -> bool {
        self.source_frame == self.frame
    }
}

/// Per-stream scheduling state; starts afresh at start, flush and caps change.
#[derive(Debug, Clone)]
pub struct Scheduler<R> {
    /// Index of the next frame.
    next: u64,
    /// The newest result and the index of the frame it was computed on.
    latest: Option<(u64, R)>,
    /// Frame index of the last result handed out for the first time.
    shown: Option<u64>,
    /// The next frame is classified whatever the interval (new zones).
    forced: bool,
}

impl<R> Default for Scheduler<R> {
    fn default() -> Self {
        Scheduler {
            next: 0,
            latest: None,
            shown: None,
            forced: false,
        }
    }
}

impl<R: Clone> Scheduler<R> {
    pub fn reset(&mut self) {
        *self = Scheduler::default();
    }

    /// Drops the result and makes the next frame due whatever the interval: what was
    /// classified is no longer what the frames carry (the zones changed). Answers still
    /// in flight are the worker's to drop (`Worker::reset`).
    pub fn start_over(&mut self) {
        self.latest = None;
        self.forced = true;
    }

    /// Numbers the next frame and decides its inference. `interval` 0 counts as 1. Late
    /// frames are skipped only in sync mode: in async mode the streaming thread never
    /// waits for inference, so lateness is no reason to skip.
    pub fn next_frame(&mut self, interval: u32, late: bool, asynchronous: bool) -> (u64, Decision) {
        let frame = self.next;
        self.next += 1;
        let due =
            std::mem::take(&mut self.forced) || frame.is_multiple_of(u64::from(interval.max(1)));
        let decision = if !due {
            Decision::CarryOver
        } else if late && !asynchronous {
            Decision::SkipLate
        } else {
            Decision::Classify
        };
        (frame, decision)
    }

    /// Whether a result for `frame` would be taken by `finished`.
    pub fn takes(&self, frame: u64) -> bool {
        self.latest.as_ref().is_none_or(|l| frame > l.0)
    }

    /// A finished result for `frame`; one already held for that frame or a later one is
    /// kept (in async mode answers may arrive out of order). Returns whether it was taken.
    pub fn finished(&mut self, frame: u64, result: R) -> bool {
        let newer = self.takes(frame);
        if newer {
            self.latest = Some((frame, result));
        }
        newer
    }

    /// Drops the latest result: the model's last output could not be used.
    pub fn forget(&mut self) {
        self.latest = None;
    }

    /// The result frame `frame` carries, if any.
    pub fn carried(&mut self, frame: u64) -> Option<Carried<R>> {
        let (source_frame, result) = self.latest.clone()?;
        let first_sight = self.shown != Some(source_frame);
        self.shown = Some(source_frame);
        Some(Carried {
            source_frame,
            frame,
            result,
            first_sight,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decisions(interval: u32, late: bool, asynchronous: bool, n: usize) -> Vec<Decision> {
        let mut s = Scheduler::<u32>::default();
        (0..n)
            .map(|_| s.next_frame(interval, late, asynchronous).1)
            .collect()
    }

    #[test]
    fn every_frame_is_classified_by_default() {
        assert_eq!(decisions(1, false, false, 3), vec![Decision::Classify; 3]);
        assert_eq!(decisions(0, false, false, 2), vec![Decision::Classify; 2]);
    }

    #[test]
    fn interval_five_classifies_frames_0_5_10_15() {
        let classified: Vec<usize> = decisions(5, false, false, 20)
            .iter()
            .enumerate()
            .filter(|(_, d)| **d == Decision::Classify)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(classified, vec![0, 5, 10, 15]);
    }

    #[test]
    fn late_frames_skip_in_sync_mode_only() {
        assert_eq!(decisions(1, true, false, 2), vec![Decision::SkipLate; 2]);
        assert_eq!(decisions(1, true, true, 2), vec![Decision::Classify; 2]);
        // A frame that is not due is carried over whether late or not.
        assert_eq!(
            decisions(2, true, false, 2),
            vec![Decision::SkipLate, Decision::CarryOver]
        );
    }

    #[test]
    fn a_result_is_carried_until_the_next_and_shown_first_once() {
        let mut s = Scheduler::default();
        let (f0, _) = s.next_frame(3, false, false);
        assert_eq!(s.carried(f0), None, "nothing before the first result");
        s.finished(f0, "espresso");
        let first = s.carried(f0).expect("result");
        assert!(first.is_fresh() && first.first_sight);
        let (f1, d) = s.next_frame(3, false, false);
        assert_eq!(d, Decision::CarryOver);
        let carried = s.carried(f1).expect("carried");
        assert_eq!((carried.source_frame, carried.result), (0, "espresso"));
        assert!(!carried.is_fresh() && !carried.first_sight);
    }

    #[test]
    fn async_results_arrive_later_and_are_shown_first_once() {
        let mut s = Scheduler::default();
        let (f0, _) = s.next_frame(1, false, true);
        assert_eq!(s.carried(f0), None, "the worker has not answered yet");
        let (f1, _) = s.next_frame(1, false, true);
        // The worker's answer for frame 0 arrives while frame 1 passes.
        s.finished(f0, "cat");
        let c = s.carried(f1).expect("result");
        assert!(!c.is_fresh() && c.first_sight);
        let (f2, _) = s.next_frame(1, false, true);
        s.finished(f0, "cat (again)");
        let c = s.carried(f2).expect("result");
        assert_eq!(c.result, "cat", "the same frame's result is kept");
        assert!(!c.first_sight);
    }

    #[test]
    fn an_older_frames_result_arriving_late_never_replaces_a_newer_one() {
        let mut s = Scheduler::default();
        let frames: Vec<u64> = (0..3).map(|_| s.next_frame(1, false, true).0).collect();
        s.finished(frames[2], "newest");
        assert!(!s.takes(frames[1]) && s.takes(frames[2] + 1));
        s.finished(frames[1], "older, answered later");
        let (f3, _) = s.next_frame(1, false, true);
        let c = s.carried(f3).expect("result");
        assert_eq!((c.source_frame, c.result), (frames[2], "newest"));
    }

    #[test]
    fn starting_over_drops_the_result_and_classifies_the_next_frame() {
        let mut s = Scheduler::default();
        let (f0, _) = s.next_frame(5, false, false);
        s.finished(f0, "old zones");
        assert_eq!(s.next_frame(5, false, false).1, Decision::CarryOver);
        s.start_over();
        let (f2, d) = s.next_frame(5, false, false);
        assert_eq!((d, s.carried(f2)), (Decision::Classify, None));
        s.finished(f2, "new zones");
        // The interval goes on counting from frame 0.
        let after: Vec<Decision> = (0..2).map(|_| s.next_frame(5, false, false).1).collect();
        assert_eq!(after, vec![Decision::CarryOver; 2]);
        assert_eq!(s.next_frame(5, false, false).1, Decision::Classify);
    }

    #[test]
    fn forget_and_reset_drop_the_result() {
        let mut s = Scheduler::default();
        let (f0, _) = s.next_frame(1, false, false);
        s.finished(f0, 1);
        s.forget();
        assert_eq!(s.carried(f0), None);
        s.finished(f0, 2);
        s.reset();
        let (f, _) = s.next_frame(1, false, false);
        assert_eq!((f, s.carried(f)), (0, None));
    }
}
