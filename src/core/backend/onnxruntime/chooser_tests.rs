//! The chooser fed made-up inference times and CPU loads.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A made-up machine: 2 cores, one pool of one session with 2 threads, inferences
/// one after another; `others` and `outside` are the cores other processes and this
/// process's other threads use.
struct Sim {
    clock: Instant,
    busy: Duration,
    process: Duration,
    others: f64,
    outside: f64,
    readable: bool,
    switched: Vec<(f64, SpinMode)>,
    start: Instant,
}

impl Sim {
    fn new() -> Sim {
        let now = Instant::now();
        Sim {
            clock: now,
            busy: Duration::from_secs(1000),
            process: Duration::from_secs(10),
            others: 0.0,
            outside: 0.0,
            readable: true,
            switched: Vec::new(),
            start: now,
        }
    }

    fn seconds(&self) -> f64 {
        (self.clock - self.start).as_secs_f64()
    }

    /// One inference of `images` taking `took`, after `pre` of work between inferences.
    fn infer(&mut self, c: &mut Chooser, images: u64, took: Duration, pre: Duration) {
        let period = took + pre;
        self.clock += period;
        // The inference keeps its 2 threads busy, the preprocessing one core.
        let mine = took.mul_f64(2.0) + pre + period.mul_f64(self.outside);
        self.process += mine;
        self.busy += mine + period.mul_f64(self.others);
        let (busy, process, readable) = (self.busy, self.process, self.readable);
        let mut sampler = move || readable.then_some((CpuSample { busy, process }, 2));
        let ran = Ran {
            at: self.clock,
            images,
            took,
            threads: 2,
            need: 2,
        };
        if let Some(mode) = c.ran(ran, &mut sampler) {
            self.switched.push((self.seconds(), mode));
        }
    }

    /// Runs for `seconds`, an inference taking `off` or `short` by the mode.
    fn run(&mut self, c: &mut Chooser, seconds: f64, off: Duration, short: Duration) {
        let until = self.seconds() + seconds;
        while self.seconds() < until {
            let took = if c.mode() == SpinMode::Short {
                short
            } else {
                off
            };
            self.infer(c, 1, took, ms(0));
        }
    }

    fn modes(&self) -> Vec<SpinMode> {
        self.switched.iter().map(|(_, m)| *m).collect()
    }
}

#[test]
fn an_idle_machine_tries_short_spinning_once_and_keeps_it_where_faster() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    sim.run(&mut c, 30.0, ms(5), ms(4));
    assert_eq!(sim.modes(), [SpinMode::Short], "one rebuild, none back");
    assert_eq!(c.trials(), 1);
    let (at, _) = sim.switched[0];
    assert!((2.0..2.1).contains(&at), "after two free windows: {at}");
    let why = &c.decided().expect("decided").why;
    assert!(
        why.contains("250.0 images/s with short") && why.contains("200.0 with spinning off"),
        "{why}"
    );
}

#[test]
fn a_decoder_in_front_is_seen_and_spinning_never_tried() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    // Half of each frame's time is spent decoding on another thread of the process.
    sim.outside = 0.9;
    sim.run(&mut c, 120.0, ms(10), ms(12));
    assert!(sim.switched.is_empty(), "{:?}", sim.switched);
    assert_eq!(c.trials(), 0);
    assert_eq!(c.mode(), SpinMode::Off);
    let why = &c.decided().expect("decided").why;
    assert!(why.contains("0.90 by this process outside"), "{why}");
}

#[test]
fn busy_processes_are_seen_and_spinning_never_tried() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    sim.others = 1.2;
    sim.run(&mut c, 120.0, ms(10), ms(20));
    assert!(sim.switched.is_empty(), "{:?}", sim.switched);
    let why = &c.decided().expect("decided").why;
    assert!(why.contains("1.20 used by other processes"), "{why}");
}

#[test]
fn a_losing_trial_ends_after_a_handful_of_images() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    // The cores look free, but short spinning is twice as slow.
    sim.run(&mut c, 10.0, ms(5), ms(10));
    assert_eq!(sim.modes(), [SpinMode::Short, SpinMode::Off]);
    let trial = sim.switched[1].0 - sim.switched[0].0;
    // The first inference on new sessions, then 5 counted: 60 ms.
    assert!(trial < 0.07, "the trial lasted {trial} s");
    let why = &c.decided().expect("decided").why;
    assert!(why.contains("ended after 5 images"), "{why}");
}

#[test]
fn a_close_trial_runs_its_length_and_a_tie_goes_to_off() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    // 2 % faster: within the margin, and not slow enough to end the trial early.
    sim.run(&mut c, 10.0, ms(50), ms(49));
    assert_eq!(sim.modes(), [SpinMode::Short, SpinMode::Off]);
    let trial = sim.switched[1].0 - sim.switched[0].0;
    assert!(trial >= 1.0, "20 images of 49 ms: {trial} s");
}

#[test]
fn trials_back_off_while_decisions_repeat() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    sim.run(&mut c, 1800.0, ms(5), ms(10));
    // Trials near 2 s, then 60, 120, 240, 480 and 600 s after the one before.
    let starts: Vec<f64> = sim
        .switched
        .iter()
        .filter(|(_, m)| *m == SpinMode::Short)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(starts.len(), 6, "{starts:?}");
    let waits: Vec<f64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    for (wait, backoff) in waits.iter().zip([60.0, 120.0, 240.0, 480.0, 600.0]) {
        // The back-off, then the two free windows a trial waits for.
        assert!(
            (backoff..backoff + 3.0).contains(wait),
            "{backoff} s: {starts:?}"
        );
    }
}

#[test]
fn a_change_of_load_restarts_the_back_off() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    sim.run(&mut c, 200.0, ms(5), ms(10));
    assert_eq!(c.trials(), 3, "2, 64 and 186 s");
    // Busy for 20 s, then free again: tried within seconds, not at 428 s.
    sim.others = 1.5;
    sim.run(&mut c, 20.0, ms(5), ms(10));
    assert_eq!(c.trials(), 3, "never tried while busy");
    sim.others = 0.0;
    sim.run(&mut c, 5.0, ms(5), ms(10));
    assert_eq!(c.trials(), 4, "tried once free again");
}

#[test]
fn spinning_stops_without_a_trial_once_the_cores_get_busy() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    sim.run(&mut c, 10.0, ms(5), ms(4));
    assert_eq!(c.mode(), SpinMode::Short);
    sim.others = 1.5;
    sim.run(&mut c, 30.0, ms(9), ms(12));
    assert_eq!(sim.modes(), [SpinMode::Short, SpinMode::Off]);
    assert_eq!(c.trials(), 1);
    let (at, _) = sim.switched[1];
    assert!((10.0..11.1).contains(&at), "within a window: {at}");
}

#[test]
fn short_spinning_is_measured_again_against_off_after_the_back_off() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    sim.run(&mut c, 70.0, ms(5), ms(4));
    // The second trial runs off and finds it slower: back to short, two rebuilds.
    assert_eq!(
        sim.modes(),
        [SpinMode::Short, SpinMode::Off, SpinMode::Short]
    );
    assert_eq!(c.mode(), SpinMode::Short);
    assert_eq!(c.trials(), 2);
}

#[test]
fn unreadable_counters_fall_back_to_trials() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    sim.readable = false;
    sim.others = 1.5;
    sim.run(&mut c, 10.0, ms(5), ms(4));
    assert_eq!(sim.modes(), [SpinMode::Short]);
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    sim.readable = false;
    sim.run(&mut c, 10.0, ms(5), ms(10));
    assert_eq!(sim.modes(), [SpinMode::Short, SpinMode::Off]);
}

#[test]
fn sparse_inferences_never_switch() {
    // One inference a second (`inference-interval`): each pause starts the window
    // again, so it never ends and the sessions stay off.
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    sim.run(&mut c, 300.0, ms(1000), ms(1000));
    assert!(sim.switched.is_empty());
    assert_eq!(c.decided(), None);
}

#[test]
fn a_pause_does_not_count_as_slowness() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    sim.run(&mut c, 2.01, ms(5), ms(4));
    assert_eq!(sim.modes(), [SpinMode::Short], "trial started");
    // A pause of 10 s falls into the trial: it starts again, and short still wins.
    sim.clock += Duration::from_secs(10);
    sim.run(&mut c, 5.0, ms(5), ms(4));
    assert_eq!(sim.modes(), [SpinMode::Short]);
    assert_eq!(c.decided().map(|d| d.mode), Some(SpinMode::Short));
}

#[test]
fn batches_count_their_images() {
    let mut c = Chooser::new(Tuning::default());
    let mut sim = Sim::new();
    // 8 images a call, 25 ms a call: two windows of 1 s, then the trial.
    for _ in 0..90 {
        sim.infer(&mut c, 8, ms(25), ms(0));
    }
    assert_eq!(sim.modes(), [SpinMode::Short]);
}
