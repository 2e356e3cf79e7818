//! How `spinning=auto` decides, from what it is told: the inferences as they end, and
//! the CPU counters of [`crate::core::cpu_load`]. No clock or `/proc` of its own, so
//! tests feed it made-up rates and loads.
//!
//! Spinning only pays where the element's sessions have the cores to themselves, and a
//! trial of it where it loses costs frames. So the chooser watches first, which costs
//! nothing: each window (a second and ten images) it reads who used the CPUs. Where
//! other processes, or this process's threads outside its inferences (a decoder in
//! front), use cores the spinning threads would need, it stays off without trying.
//! Where the cores are free for two windows in a row, it tries the other mode, a short
//! trial that ends after a few images when that mode is clearly slower, and keeps the
//! faster one. The next trial waits a minute, twice as long each time the decision
//! comes out the same, up to ten minutes; a change of load starts that over.

use std::time::{Duration, Instant};

use super::spin_mode::SpinMode;
use crate::core::cpu_load::{CpuSample, Load};

/// How `auto` measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// A window of watching lasts at least this long…
    pub window: Duration,
    /// …and counts at least this many images.
    pub min_images: u64,
    /// A pause this long between two inferences (a paused pipeline, a sparse
    /// `inference-interval`) starts the window or the trial again: its rate would say
    /// nothing of spinning.
    pub gap: Duration,
    /// How much faster short spinning must be to be kept: spinning costs CPU time, so
    /// a tie goes to off.
    pub margin: f64,
    /// A trial lasts at least this long and counts at least `trial_images`…
    pub trial: Duration,
    pub trial_images: u64,
    /// …unless after `abort_after` images it runs below `abort_below` of the rate
    /// before it: then it ends at once.
    pub abort_after: u64,
    pub abort_below: f64,
    /// Free windows in a row before a trial.
    pub settle: u32,
    /// The wait before the next trial, doubled while decisions repeat, up to
    /// `backoff_max`.
    pub backoff: Duration,
    pub backoff_max: Duration,
    /// After a change of load, trials are still at least this far apart.
    pub spacing: Duration,
    /// Cores left to others beyond those the spinning threads need (see
    /// [`Load::busy`]).
    pub slack: f64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            window: Duration::from_secs(1),
            min_images: 10,
            gap: Duration::from_millis(500),
            margin: 0.03,
            trial: Duration::from_millis(500),
            trial_images: 20,
            abort_after: 5,
            abort_below: 0.9,
            settle: 2,
            backoff: Duration::from_secs(60),
            backoff_max: Duration::from_secs(600),
            spacing: Duration::from_secs(10),
            slack: 0.3,
        }
    }
}

/// One inference, as the pool tells of it.
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    /// When it ended.
    pub at: Instant,
    pub images: u64,
    /// Its wall time.
    pub took: Duration,
    /// The intra-op threads of the session that ran it.
    pub threads: usize,
    /// The cores spinning would hold: the pool's threads together, at most the cores.
    pub need: usize,
}

/// What the CPU counters say; `None` where they cannot be read.
pub type Sampler<'a> = &'a mut dyn FnMut() -> Option<(CpuSample, usize)>;

/// What a window found.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Free,
    Busy(Load),
    /// The counters could not be read: trials go on as where the cores are free, so
    /// `auto` still finds a faster mode, each trial short and seldom.
    Unknown,
}

impl Verdict {
    fn class(self) -> u8 {
        match self {
            Verdict::Free => 0,
            Verdict::Busy(_) => 1,
            Verdict::Unknown => 2,
        }
    }
}

#[derive(Debug, Clone)]
struct Window {
    started: Instant,
    images: u64,
    /// The CPU time the inferences could have used: wall time times threads.
    inference: Duration,
    cpu: Option<(CpuSample, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Watching,
    Trial {
        /// The mode before the trial, and its rate in the window before it.
        from: SpinMode,
        baseline: f64,
        /// The end of the trial's first inference: the first one on new sessions is
        /// not counted.
        started: Option<Instant>,
        images: u64,
    },
}

/// A decision, with what it was made from, for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub mode: SpinMode,
    pub why: String,
}

/// `spinning=auto` for one model's pool: told of every inference, says when the pool
/// must be rebuilt with another mode, and only then.
#[derive(Debug, Clone)]
pub struct Chooser {
    tuning: Tuning,
    mode: SpinMode,
    phase: Phase,
    window: Option<Window>,
    last: Option<Instant>,
    verdict: Option<Verdict>,
    free_windows: u32,
    next_trial: Option<Instant>,
    last_trial: Option<Instant>,
    backoff: Duration,
    decided: Option<Decision>,
    trials: u32,
}

impl Chooser {
    pub fn new(tuning: Tuning) -> Chooser {
        Chooser {
            tuning,
            mode: SpinMode::Off,
            phase: Phase::Watching,
            window: None,
            last: None,
            verdict: None,
            free_windows: 0,
            next_trial: None,
            last_trial: None,
            backoff: tuning.backoff,
            decided: None,
            trials: 0,
        }
    }

    /// The mode the pool should run with now.
    pub fn mode(&self) -> SpinMode {
        self.mode
    }

    /// The last decision.
    pub fn decided(&self) -> Option<&Decision> {
        self.decided.as_ref()
    }

    /// Trials run so far (each one or two rebuilds).
    #[cfg(test)]
    pub fn trials(&self) -> u32 {
        self.trials
    }

    /// The sessions of the new mode are in place: counting starts from the next
    /// inference, not from the ones that ran while they were built.
    pub fn restart_step(&mut self) {
        self.window = None;
        if let Phase::Trial {
            started, images, ..
        } = &mut self.phase
        {
            *started = None;
            *images = 0;
        }
    }

    /// An inference ended. Returns the mode to rebuild the sessions with when it
    /// changes.
    pub fn ran(&mut self, ran: Ran, cpu: Sampler<'_>) -> Option<SpinMode> {
        let paused = self
            .last
            .is_some_and(|last| ran.at.saturating_duration_since(last) > self.tuning.gap);
        self.last = Some(ran.at);
        if paused {
            self.restart_step();
            return None;
        }
        let before = self.mode;
        match self.phase {
            Phase::Trial { .. } => self.trial(ran),
            Phase::Watching => self.watch(ran, cpu),
        }
        (self.mode != before).then_some(self.mode)
    }

    fn trial(&mut self, ran: Ran) {
        let Phase::Trial {
            from,
            baseline,
            started,
            images,
        } = &mut self.phase
        else {
            return;
        };
        let Some(start) = *started else {
            *started = Some(ran.at);
            *images = 0;
            return;
        };
        *images += ran.images;
        let took = ran.at.saturating_duration_since(start).as_secs_f64();
        let (from, baseline, images) = (*from, *baseline, *images);
        let rate = images as f64 / took.max(1e-9);
        let candidate = self.mode;
        if images >= self.tuning.abort_after && rate < baseline * self.tuning.abort_below {
            let why = format!(
                "trial of {} ended after {images} images: {rate:.1} images/s against {baseline:.1} with {}",
                spinning_name(candidate),
                spinning_name(from)
            );
            self.finish(ran.at, from, why);
            return;
        }
        if images < self.tuning.trial_images || took < self.tuning.trial.as_secs_f64() {
            return;
        }
        let (short, off) = match candidate {
            SpinMode::Off => (baseline, rate),
            _ => (rate, baseline),
        };
        let mode = if short > off * (1.0 + self.tuning.margin) {
            SpinMode::Short
        } else {
            SpinMode::Off
        };
        let why = format!("{short:.1} images/s with short spinning, {off:.1} with spinning off");
        self.finish(ran.at, mode, why);
    }

    /// A trial ended with `mode`: the next one waits, longer while decisions repeat.
    fn finish(&mut self, now: Instant, mode: SpinMode, why: String) {
        let repeated = self.decided.as_ref().is_some_and(|d| d.mode == mode);
        self.backoff = if repeated {
            (self.backoff * 2).min(self.tuning.backoff_max)
        } else {
            self.tuning.backoff
        };
        self.next_trial = Some(now + self.backoff);
        self.last_trial = Some(now);
        self.mode = mode;
        self.phase = Phase::Watching;
        self.window = None;
        self.free_windows = 0;
        self.decided = Some(Decision { mode, why });
    }

    fn watch(&mut self, ran: Ran, cpu: Sampler<'_>) {
        let Some(window) = self.window.as_mut() else {
            self.window = Some(Window {
                started: ran.at,
                images: 0,
                inference: Duration::ZERO,
                cpu: cpu(),
            });
            return;
        };
        window.images += ran.images;
        window.inference += ran.took * ran.threads.max(1) as u32;
        let elapsed = ran.at.saturating_duration_since(window.started);
        if elapsed < self.tuning.window || window.images < self.tuning.min_images {
            return;
        }
        let rate = window.images as f64 / elapsed.as_secs_f64();
        let end = cpu();
        let verdict = match (&window.cpu, &end) {
            (Some((a, cpus)), Some((b, _))) => match Load::between(a, b, elapsed, window.inference)
            {
                Some(load) if load.busy(*cpus, ran.need, self.tuning.slack) => Verdict::Busy(load),
                Some(_) => Verdict::Free,
                None => Verdict::Unknown,
            },
            _ => Verdict::Unknown,
        };
        self.window = Some(Window {
            started: ran.at,
            images: 0,
            inference: Duration::ZERO,
            cpu: end,
        });
        self.judged(ran.at, verdict, rate);
    }

    fn judged(&mut self, now: Instant, verdict: Verdict, rate: f64) {
        let changed = self
            .verdict
            .is_some_and(|before| before.class() != verdict.class());
        self.verdict = Some(verdict);
        if changed {
            // A new load: what was decided before says nothing of it.
            self.backoff = self.tuning.backoff;
            self.next_trial = self.last_trial.map(|t| t + self.tuning.spacing);
        }
        if let Verdict::Busy(load) = verdict {
            self.free_windows = 0;
            let why = format!(
                "cores busy: {:.2} used by other processes, {:.2} by this process outside its inferences",
                load.others, load.outside
            );
            let keep = self
                .decided
                .as_ref()
                .is_some_and(|d| d.mode == SpinMode::Off);
            if self.mode != SpinMode::Off || !keep || changed {
                self.mode = SpinMode::Off;
                self.decided = Some(Decision {
                    mode: SpinMode::Off,
                    why,
                });
            }
            return;
        }
        self.free_windows += 1;
        let due = self.next_trial.is_none_or(|t| now >= t);
        if self.free_windows >= self.tuning.settle && due {
            self.trials += 1;
            self.phase = Phase::Trial {
                from: self.mode,
                baseline: rate,
                started: None,
                images: 0,
            };
            self.mode = match self.mode {
                SpinMode::Off => SpinMode::Short,
                _ => SpinMode::Off,
            };
        }
    }
}

fn spinning_name(mode: SpinMode) -> &'static str {
    match mode {
        SpinMode::Off => "spinning off",
        SpinMode::On => "spinning on",
        SpinMode::Short => "short spinning",
    }
}

#[cfg(test)]
#[path = "chooser_tests.rs"]
mod tests;
