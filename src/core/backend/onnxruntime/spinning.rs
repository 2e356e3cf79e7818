//! Whether ONNX Runtime's intra-op threads spin while they wait for work (`spinning`).
//!
//! Spinning makes one inference faster when the element's sessions have the cores to
//! themselves, and slower when something else needs them: a decoder in front of the
//! element, or other busy processes (docs/performance.md, "Spinning"). No fixed setting
//! wins everywhere, so `auto` watches who uses the cores and tries short spinning only
//! where they are free ([`Chooser`]). This module holds the pool's mode; the pool
//! rebuilds its sessions with what the chooser decides (session.rs).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::chooser::{Chooser, Ran, Tuning};
use super::spin_mode::{SpinMode, Spinning};
use crate::core::backend::SpinReport;
use crate::core::cpu_load::{self, CpuSample};
use crate::core::lock::lock;

/// Measuring and testing only: `0` makes `auto` act as where the CPU counters cannot
/// be read (no `/proc`): it tries short spinning whatever the load.
pub const CPU_LOAD_ENV: &str = "IMGCLASSIFY_CPU_LOAD";

/// The spinning of one model's pool, shared by the threads that run it.
#[derive(Debug)]
pub struct Spinner {
    asked: Spinning,
    /// Whether the CPU counters are read (see [`CPU_LOAD_ENV`]).
    read_load: bool,
    state: Mutex<SpinState>,
}

#[derive(Debug)]
struct SpinState {
    /// What the pool's sessions are built with.
    built: SpinMode,
    /// The intra-op threads of each session, and the sessions of the pool.
    threads: usize,
    sessions: usize,
    /// With `auto` on the CPU: the chooser; None once it gave up.
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
            read_load: std::env::var(CPU_LOAD_ENV).map_or(true, |v| v.trim() != "0"),
            state: Mutex::new(SpinState {
                built: asked.initial(),
                threads: 1,
                sessions: 1,
                chooser,
                rebuilding: false,
            }),
        }
    }

    /// The mode the pool's sessions are built with now.
    pub fn mode(&self) -> SpinMode {
        lock(&self.state).built
    }

    /// The pool now holds `sessions` sessions of `threads` intra-op threads each.
    pub fn shaped(&self, threads: usize, sessions: usize) {
        let mut state = lock(&self.state);
        state.threads = threads.max(1);
        state.sessions = sessions.max(1);
    }

    /// An inference of `images` images ended at `now` after `took`. When `auto`
    /// switches: the mode the sessions have and the one to rebuild them with; call
    /// [`Spinner::rebuilt`] or [`Spinner::give_up`] once done.
    pub fn ran(&self, now: Instant, images: u64, took: Duration) -> Option<(SpinMode, SpinMode)> {
        let mut state = lock(&self.state);
        if state.rebuilding {
            return None;
        }
        let (built, threads) = (state.built, state.threads);
        let ran = Ran {
            at: now,
            images,
            took,
            threads,
            need: threads * state.sessions,
        };
        let read_load = self.read_load;
        let mut sampler = move || -> Option<(CpuSample, usize)> {
            if read_load { cpu_load::sample() } else { None }
        };
        let switched = state.chooser.as_mut()?.ran(ran, &mut sampler)?;
        if switched == built {
            return None;
        }
        state.rebuilding = true;
        Some((built, switched))
    }

    /// The pool's sessions now run `mode`: counting starts again.
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
                Some(decision) if decision.mode == state.built && chooser.mode() == state.built => {
                    format!("auto: {}", decision.why)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A spinner whose `auto` does not read this machine's counters, whose load a test
    /// cannot know: it tries short spinning whatever the load.
    fn blind(asked: Spinning) -> Spinner {
        let spinner = Spinner::new(asked, true);
        Spinner {
            read_load: false,
            ..spinner
        }
    }

    #[test]
    fn auto_is_the_default_and_starts_off() {
        assert_eq!(Spinning::default(), Spinning::Auto);
        assert_eq!(Spinning::Auto.initial(), SpinMode::Off);
        for mode in [SpinMode::Off, SpinMode::On, SpinMode::Short] {
            assert_eq!(Spinning::Fixed(mode).initial(), mode);
        }
    }

    #[test]
    fn inferences_during_a_rebuild_are_not_counted() {
        let spinner = blind(Spinning::Auto);
        spinner.shaped(2, 1);
        let mut clock = Instant::now();
        let mut switch = None;
        while switch.is_none() {
            clock += ms(5);
            switch = spinner.ran(clock, 1, ms(5));
        }
        assert_eq!(switch, Some((SpinMode::Off, SpinMode::Short)));
        assert_eq!(spinner.mode(), SpinMode::Off, "still built off");
        assert_eq!(spinner.report().why, "auto, measuring");
        // The old sessions go on, far slower, for a second while the new ones are
        // built: not counted, or the trial would end at once.
        for _ in 0..25 {
            clock += ms(40);
            assert_eq!(spinner.ran(clock, 1, ms(40)), None);
        }
        spinner.rebuilt(SpinMode::Short);
        assert_eq!(spinner.mode(), SpinMode::Short);
        assert_eq!(spinner.report().mode, "short");
        // Short spinning is faster: kept, and no rebuild back.
        for _ in 0..1000 {
            clock += ms(4);
            assert_eq!(spinner.ran(clock, 1, ms(4)), None);
        }
        let why = spinner.report().why;
        assert!(why.starts_with("auto: 250.0 images/s with short"), "{why}");
        spinner.give_up(SpinMode::Short);
        assert_eq!(spinner.report().why, "auto, not measured");
        for _ in 0..100_000 {
            clock += ms(5);
            assert_eq!(spinner.ran(clock, 1, ms(5)), None);
        }
    }

    #[test]
    fn a_switch_to_the_mode_built_is_no_rebuild() {
        let spinner = blind(Spinning::Auto);
        let mut clock = Instant::now();
        let mut switches = Vec::new();
        // Short spinning slower: one trial, one rebuild there and one back.
        for _ in 0..5000 {
            let took = if spinner.mode() == SpinMode::Short {
                ms(10)
            } else {
                ms(5)
            };
            clock += took;
            if let Some((from, to)) = spinner.ran(clock, 1, took) {
                switches.push((from, to));
                spinner.rebuilt(to);
            }
        }
        assert_eq!(
            switches,
            [
                (SpinMode::Off, SpinMode::Short),
                (SpinMode::Short, SpinMode::Off)
            ]
        );
    }

    #[test]
    fn fixed_settings_and_gpus_are_not_measured() {
        let mut clock = Instant::now();
        for spinner in [
            blind(Spinning::Fixed(SpinMode::On)),
            Spinner::new(Spinning::Auto, false),
        ] {
            for _ in 0..2000 {
                clock += ms(5);
                assert_eq!(spinner.ran(clock, 1, ms(5)), None);
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
