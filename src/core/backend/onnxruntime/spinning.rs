//! Whether ONNX Runtime's intra-op threads spin while they wait for work (`spinning`).
//!
//! Spinning makes one inference faster when the element's sessions have the cores to
//! themselves, and slower when something else needs them: a decoder in front of the
//! element, or other busy processes (docs/performance.md, "Spinning"). No fixed setting
//! wins everywhere, so `auto` measures: it runs the model's pool with spinning off,
//! then with short spinning, then short again, then off (each step long enough to count
//! at least ten images), and keeps the one that got through more images per second.
//! It measures again after a while, as the machine's load changes. This module only
//! decides; the pool rebuilds its sessions with what it decides (session.rs).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::core::backend::SpinReport;
use crate::core::lock::lock;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Spinning {
    /// Decided by measuring while running ([`Chooser`]); starts off.
    Auto,
    /// Always this.
    Fixed(SpinMode),
}

/// Off until `auto` is shown to come within 5 % of the better fixed setting in every
/// case docs/performance.md measures; it did not while measuring (see there).
impl Default for Spinning {
    fn default() -> Self {
        Spinning::Fixed(SpinMode::Off)
    }
}

impl Spinning {
    /// What the first sessions are built with.
    pub fn initial(self) -> SpinMode {
        match self {
            Spinning::Auto => SpinMode::Off,
            Spinning::Fixed(mode) => mode,
        }
    }
}

/// How a session's intra-op threads wait for work: what a session is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpinMode {
    /// They sleep at once (`session.intra_op.allow_spinning=0`).
    Off,
    /// ONNX Runtime's default: they spin for a while before they sleep.
    On,
    /// They spin for at most [`SHORT_SPIN_US`] µs (`session.intra_op.spin_duration_us`,
    /// ONNX Runtime 1.31 and newer; older releases ignore the key and spin as `On`).
    Short,
}

/// The spin window of [`SpinMode::Short`]: long enough to catch the next operator's
/// work within one inference, too short to hold a core between frames.
pub const SHORT_SPIN_US: u32 = 100;

impl SpinMode {
    /// As `stats` and the log name it.
    pub fn name(self) -> &'static str {
        match self {
            SpinMode::Off => "off",
            SpinMode::On => "on",
            SpinMode::Short => "short",
        }
    }

    /// The session config entries that select this mode.
    pub fn config_entries(self) -> Vec<(&'static str, String)> {
        const ALLOW: &str = "session.intra_op.allow_spinning";
        match self {
            SpinMode::Off => vec![(ALLOW, "0".into())],
            SpinMode::On => vec![(ALLOW, "1".into())],
            SpinMode::Short => vec![
                (ALLOW, "1".into()),
                (
                    "session.intra_op.spin_duration_us",
                    SHORT_SPIN_US.to_string(),
                ),
            ],
        }
    }
}

/// How `auto` measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// Each step lasts at least this long…
    pub step: Duration,
    /// …and counts at least this many images.
    pub min_images: u64,
    /// A pause this long between two inferences (a paused pipeline, a sparse
    /// `inference-interval`) starts the step again: its rate would say nothing of
    /// spinning.
    pub gap: Duration,
    /// How much faster short spinning must be to be chosen: spinning costs CPU time,
    /// so a tie goes to off.
    pub margin: f64,
    /// How long a choice is kept before measuring again.
    pub keep: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            step: Duration::from_secs(1),
            min_images: 10,
            gap: Duration::from_millis(500),
            margin: 0.03,
            keep: Duration::from_secs(60),
        }
    }
}

/// The candidates, in the order a measurement runs them: A B B A, so a load that
/// rises or falls steadily during the measurement weighs on both alike.
const STEPS: [SpinMode; 4] = [
    SpinMode::Off,
    SpinMode::Short,
    SpinMode::Short,
    SpinMode::Off,
];

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Measuring {
        step: usize,
        /// The end of the first inference of the step: the previous mode's last one,
        /// and a new session's first, are not counted.
        started: Option<Instant>,
        images: u64,
        /// Images per second of each finished step.
        rates: Vec<f64>,
    },
    Keeping {
        since: Instant,
    },
}

/// A decision, with the rates it was made from, for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub mode: SpinMode,
    pub why: String,
}

/// `spinning=auto` for one model's pool: told of every inference, says when the pool
/// must be rebuilt with another mode.
#[derive(Debug, Clone)]
pub struct Chooser {
    tuning: Tuning,
    phase: Phase,
    mode: SpinMode,
    last: Option<Instant>,
    decided: Option<Decision>,
}

impl Chooser {
    pub fn new(tuning: Tuning) -> Chooser {
        Chooser {
            tuning,
            phase: Phase::Measuring {
                step: 0,
                started: None,
                images: 0,
                rates: Vec::new(),
            },
            mode: STEPS[0],
            last: None,
            decided: None,
        }
    }

    /// The mode the pool should run with now.
    #[cfg(test)]
    pub fn mode(&self) -> SpinMode {
        self.mode
    }

    /// The last decision, once a measurement finished.
    pub fn decided(&self) -> Option<&Decision> {
        self.decided.as_ref()
    }

    /// The sessions of the new mode are in place: the step counts from the next
    /// inference, not from the ones that ran while they were built.
    pub fn restart_step(&mut self) {
        if let Phase::Measuring {
            started, images, ..
        } = &mut self.phase
        {
            *started = None;
            *images = 0;
        }
    }

    /// An inference of `images` images ended at `now`. Returns the mode to rebuild the
    /// sessions with when it changes.
    pub fn ran(&mut self, now: Instant, images: u64) -> Option<SpinMode> {
        let paused = self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) > self.tuning.gap);
        self.last = Some(now);
        let before = self.mode;
        match &mut self.phase {
            Phase::Keeping { since } => {
                if now.saturating_duration_since(*since) >= self.tuning.keep {
                    self.phase = Phase::Measuring {
                        step: 0,
                        started: None,
                        images: 0,
                        rates: Vec::new(),
                    };
                    self.mode = STEPS[0];
                }
            }
            Phase::Measuring {
                step,
                started,
                images: counted,
                rates,
            } => match started {
                Some(start) if !paused => {
                    *counted += images;
                    let took = now.saturating_duration_since(*start);
                    if took >= self.tuning.step && *counted >= self.tuning.min_images {
                        rates.push(*counted as f64 / took.as_secs_f64());
                        *step += 1;
                        *started = None;
                        *counted = 0;
                        if *step == STEPS.len() {
                            let decision = decide(rates, self.tuning.margin);
                            self.mode = decision.mode;
                            self.decided = Some(decision);
                            self.phase = Phase::Keeping { since: now };
                        } else {
                            self.mode = STEPS[*step];
                        }
                    }
                }
                _ => {
                    *started = Some(now);
                    *counted = 0;
                }
            },
        }
        (self.mode != before).then_some(self.mode)
    }
}

/// The spinning of one model's pool, shared by the threads that run it.
#[derive(Debug)]
pub struct Spinner {
    asked: Spinning,
    state: Mutex<SpinState>,
}

#[derive(Debug)]
struct SpinState {
    /// What the pool's sessions are built with.
    built: SpinMode,
    /// With `auto` on the CPU: the measurement; None once it gave up.
    chooser: Option<Chooser>,
    /// New sessions are being built, off the streaming thread: inferences until they
    /// are in place run on the old ones and are not counted.
    rebuilding: bool,
}

impl Spinner {
    /// `measure`: whether `auto` measures; not on a GPU, where the intra-op threads only
    /// run what the GPU provider leaves to the CPU.
    pub fn new(asked: Spinning, measure: bool) -> Spinner {
        let chooser = (asked == Spinning::Auto && measure).then(|| Chooser::new(Tuning::default()));
        Spinner {
            asked,
            state: Mutex::new(SpinState {
                built: asked.initial(),
                chooser,
                rebuilding: false,
            }),
        }
    }

    /// The mode the pool's sessions are built with now.
    pub fn mode(&self) -> SpinMode {
        lock(&self.state).built
    }

    /// An inference of `images` images ended at `now`. When `auto` switches: the mode
    /// the sessions have and the one to rebuild them with; call [`Spinner::rebuilt`] or
    /// [`Spinner::give_up`] once done.
    pub fn ran(&self, now: Instant, images: u64) -> Option<(SpinMode, SpinMode)> {
        let mut state = lock(&self.state);
        if state.rebuilding {
            return None;
        }
        let built = state.built;
        let switched = state.chooser.as_mut()?.ran(now, images)?;
        state.rebuilding = true;
        Some((built, switched))
    }

    /// The pool's sessions now run `mode`: the step measuring it starts.
    pub fn rebuilt(&self, mode: SpinMode) {
        let mut state = lock(&self.state);
        state.built = mode;
        state.rebuilding = false;
        if let Some(chooser) = state.chooser.as_mut() {
            chooser.restart_step();
        }
    }

    /// The pool could not be rebuilt and still runs `kept`: `auto` stops measuring.
    pub fn give_up(&self, kept: SpinMode) {
        let mut state = lock(&self.state);
        state.built = kept;
        state.chooser = None;
        state.rebuilding = false;
    }

    /// For `stats` and the log.
    pub fn report(&self) -> SpinReport {
        let state = lock(&self.state);
        let why = match (self.asked, &state.chooser) {
            (Spinning::Fixed(_), _) => "as set".to_string(),
            (Spinning::Auto, Some(chooser)) => match chooser.decided() {
                Some(decision) if decision.mode == state.built => {
                    format!("auto, measured: {}", decision.why)
                }
                Some(_) | None => "auto, measuring".to_string(),
            },
            (Spinning::Auto, None) => "auto, not measured".to_string(),
        };
        SpinReport {
            mode: state.built.name(),
            why,
        }
    }
}

/// The mode of the faster candidate, from the rates of the steps in [`STEPS`] order.
fn decide(rates: &[f64], margin: f64) -> Decision {
    let mean_of = |mode: SpinMode| {
        let of: Vec<f64> = STEPS
            .iter()
            .zip(rates)
            .filter(|(m, _)| **m == mode)
            .map(|(_, r)| *r)
            .collect();
        of.iter().sum::<f64>() / of.len().max(1) as f64
    };
    let (off, short) = (mean_of(SpinMode::Off), mean_of(SpinMode::Short));
    let mode = if short > off * (1.0 + margin) {
        SpinMode::Short
    } else {
        SpinMode::Off
    };
    Decision {
        mode,
        why: format!(
            "{:.1} images/s with short spinning, {:.1} with spinning off",
            short, off
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Runs inferences of one image every `period` until the chooser has passed
    /// `steps` switches or gives up; returns the modes it switched to.
    fn drive(
        chooser: &mut Chooser,
        clock: &mut Instant,
        period: impl Fn(SpinMode) -> Duration,
        inferences: usize,
    ) -> Vec<SpinMode> {
        let mut switched = Vec::new();
        for _ in 0..inferences {
            *clock += period(chooser.mode());
            if let Some(mode) = chooser.ran(*clock, 1) {
                switched.push(mode);
            }
        }
        switched
    }

    #[test]
    fn fixed_settings_are_kept_and_auto_starts_off() {
        assert_eq!(Spinning::Auto.initial(), SpinMode::Off);
        assert_eq!(Spinning::default(), Spinning::Fixed(SpinMode::Off));
        for mode in [SpinMode::Off, SpinMode::On, SpinMode::Short] {
            assert_eq!(Spinning::Fixed(mode).initial(), mode);
        }
        assert_eq!(Chooser::new(Tuning::default()).mode(), SpinMode::Off);
    }

    #[test]
    fn short_spinning_wins_where_it_is_faster() {
        let mut c = Chooser::new(Tuning::default());
        let mut clock = Instant::now();
        // Spinning off 5 ms an inference, short 4 ms: an idle machine, no decoder.
        let period = |m| if m == SpinMode::Short { ms(4) } else { ms(5) };
        let switched = drive(&mut c, &mut clock, period, 2000);
        assert_eq!(
            switched,
            [SpinMode::Short, SpinMode::Off, SpinMode::Short],
            "measures off, short, short, off, then keeps short"
        );
        assert_eq!(c.mode(), SpinMode::Short);
        assert_eq!(c.decided().map(|d| d.mode), Some(SpinMode::Short));
    }

    #[test]
    fn off_wins_where_spinning_takes_the_decoders_cores() {
        let mut c = Chooser::new(Tuning::default());
        let mut clock = Instant::now();
        let period = |m| if m == SpinMode::Short { ms(12) } else { ms(10) };
        let switched = drive(&mut c, &mut clock, period, 2000);
        assert_eq!(switched, [SpinMode::Short, SpinMode::Off]);
        assert_eq!(c.mode(), SpinMode::Off);
        let why = &c.decided().expect("decided").why;
        assert!(
            why.contains("83.3 images/s with short") && why.contains("100.0 with"),
            "{why}"
        );
    }

    #[test]
    fn a_tie_goes_to_off() {
        // A live source at 30 frames per second: spinning cannot make frames come faster.
        let mut c = Chooser::new(Tuning::default());
        let mut clock = Instant::now();
        drive(&mut c, &mut clock, |_| ms(33), 2000);
        assert_eq!(c.decided().map(|d| d.mode), Some(SpinMode::Off));
        // 2 % faster is within the margin.
        let mut c = Chooser::new(Tuning::default());
        let period = |m| if m == SpinMode::Short { ms(49) } else { ms(50) };
        drive(&mut c, &mut clock, period, 2000);
        assert_eq!(c.decided().map(|d| d.mode), Some(SpinMode::Off));
    }

    #[test]
    fn sparse_inferences_never_switch() {
        // One inference a second (`inference-interval`): each pause starts the step
        // again, so it never ends and the sessions stay as they are, off.
        let mut c = Chooser::new(Tuning::default());
        let mut clock = Instant::now();
        assert!(drive(&mut c, &mut clock, |_| ms(1000), 200).is_empty());
        assert_eq!(c.mode(), SpinMode::Off);
        assert_eq!(c.decided(), None);
    }

    #[test]
    fn a_pause_does_not_count_as_slowness() {
        let mut c = Chooser::new(Tuning::default());
        let mut clock = Instant::now();
        // Short spinning is faster, but a pause of 10 s falls into its first step.
        let mut switched = Vec::new();
        for i in 0..3000 {
            clock += if c.mode() == SpinMode::Short {
                ms(4)
            } else {
                ms(5)
            };
            if i == 300 {
                clock += Duration::from_secs(10);
            }
            switched.extend(c.ran(clock, 1));
        }
        assert_eq!(c.decided().map(|d| d.mode), Some(SpinMode::Short));
        assert_eq!(switched, [SpinMode::Short, SpinMode::Off, SpinMode::Short]);
    }

    #[test]
    fn it_measures_again_after_keeping_a_choice() {
        let tuning = Tuning::default();
        let mut c = Chooser::new(tuning);
        let mut clock = Instant::now();
        let faster_short = |m| if m == SpinMode::Short { ms(4) } else { ms(5) };
        drive(&mut c, &mut clock, faster_short, 2000);
        assert_eq!(c.mode(), SpinMode::Short);
        // The machine gets busy: now spinning loses. After `keep`, it measures again.
        let slower_short = |m| if m == SpinMode::Short { ms(9) } else { ms(6) };
        let inferences = (tuning.keep.as_millis() / 6 + 2000) as usize;
        let switched = drive(&mut c, &mut clock, slower_short, inferences);
        assert_eq!(switched, [SpinMode::Off, SpinMode::Short, SpinMode::Off]);
        assert_eq!(c.decided().map(|d| d.mode), Some(SpinMode::Off));
    }

    #[test]
    fn batches_count_their_images() {
        let mut c = Chooser::new(Tuning::default());
        let mut clock = Instant::now();
        // 8 images a call, 25 ms a call: after 40 calls the first step of 1 s ends.
        for _ in 0..45 {
            clock += ms(25);
            c.ran(clock, 8);
        }
        assert_eq!(c.mode(), SpinMode::Short, "the first step ended");
    }

    #[test]
    fn inferences_during_a_rebuild_are_not_counted() {
        let spinner = Spinner::new(Spinning::Auto, true);
        let mut clock = Instant::now();
        let mut switch = None;
        while switch.is_none() {
            clock += ms(5);
            switch = spinner.ran(clock, 1);
        }
        assert_eq!(switch, Some((SpinMode::Off, SpinMode::Short)));
        assert_eq!(spinner.mode(), SpinMode::Off, "still built off");
        // The old sessions go on for two seconds while the new ones are built.
        for _ in 0..400 {
            clock += ms(5);
            assert_eq!(spinner.ran(clock, 1), None);
        }
        spinner.rebuilt(SpinMode::Short);
        assert_eq!(spinner.mode(), SpinMode::Short);
        assert_eq!(spinner.report().mode, "short");
        assert_eq!(spinner.report().why, "auto, measuring");
        // The step counts from here: a second more before anything switches.
        for _ in 0..150 {
            clock += ms(5);
            assert_eq!(spinner.ran(clock, 1), None);
        }
        spinner.give_up(SpinMode::Short);
        assert_eq!(spinner.report().why, "auto, not measured");
        for _ in 0..1000 {
            clock += ms(5);
            assert_eq!(spinner.ran(clock, 1), None);
        }
    }

    #[test]
    fn fixed_settings_and_gpus_are_not_measured() {
        let mut clock = Instant::now();
        for spinner in [
            Spinner::new(Spinning::Fixed(SpinMode::On), true),
            Spinner::new(Spinning::Auto, false),
        ] {
            for _ in 0..2000 {
                clock += ms(5);
                assert_eq!(spinner.ran(clock, 1), None);
            }
        }
        let on = Spinner::new(Spinning::Fixed(SpinMode::On), true);
        assert_eq!(
            (on.report().mode, on.report().why.as_str()),
            ("on", "as set")
        );
    }

    #[test]
    fn each_mode_has_its_config_entries() {
        assert_eq!(
            SpinMode::Off.config_entries(),
            [("session.intra_op.allow_spinning", "0".to_string())]
        );
        assert_eq!(
            SpinMode::Short.config_entries(),
            [
                ("session.intra_op.allow_spinning", "1".to_string()),
                ("session.intra_op.spin_duration_us", "100".to_string())
            ]
        );
        assert_eq!(SpinMode::On.name(), "on");
    }
}
