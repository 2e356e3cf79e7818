//! Who keeps the CPUs busy: read cheaply from the kernel's counters, so `spinning=auto`
//! tries spinning only where the element's sessions have the cores to themselves.
//!
//! Two counters, read at the start and the end of an interval: the busy time of the
//! CPUs this process may run on, all processes together (`/proc/stat`), and this
//! process's own CPU time (`getrusage`). Their difference is what other processes used;
//! this process's time beyond its inferences is what its other threads used (a decoder
//! in front of the element). Reading them costs two small reads a second; where they
//! cannot be read (no `/proc`, a sandbox), the load is unknown, never a panic.

use std::time::Duration;

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuSample {
    /// Time the CPUs this process may run on spent busy, all processes together.
    pub busy: Duration,
    /// This process's CPU time, all its threads together.
    pub process: Duration,
}

/// The CPU used over an interval, in cores (CPU seconds per second).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// By other processes.
    pub others: f64,
    /// By this process outside its inferences.
    pub outside: f64,
}

impl Load {
    /// The load over `elapsed` between two samples, where the inferences took
    /// `inference` of CPU time at most (their wall time times their threads: an upper
    /// bound, so what is left over is surely someone else's). None for an interval too
    /// short to say anything or counters that went backwards (a wrapped or reset
    /// counter).
    pub fn between(
        start: &CpuSample,
        end: &CpuSample,
        elapsed: Duration,
        inference: Duration,
    ) -> Option<Load> {
        let seconds = elapsed.as_secs_f64();
        if seconds < 0.1 {
            return None;
        }
        let busy = end.busy.checked_sub(start.busy)?.as_secs_f64();
        let process = end.process.checked_sub(start.process)?.as_secs_f64();
        Some(Load {
            // The two counters tick at different granularities: never below zero.
            others: (busy - process).max(0.0) / seconds,
            outside: (process - inference.as_secs_f64()).max(0.0) / seconds,
        })
    }

    /// Whether the cores are taken: what others use does not fit beside `need` cores
    /// (the element's spinning threads) on `cpus` cores, with `slack` cores to spare
    /// for the crumbs every machine has (a clock, a log writer, the element's own
    /// preprocessing between inferences).
    pub fn busy(&self, cpus: usize, need: usize, slack: f64) -> bool {
        let free = cpus.saturating_sub(need.min(cpus)) as f64;
        self.others + self.outside > free + slack
    }
}

/// The busy time of the CPUs in `allowed` from the text of `/proc/stat`, in clock
/// ticks, and how many of them were found. Busy is everything but `idle` and `iowait`;
/// `guest` time is already inside `user`. None where no allowed CPU's line parses.
pub fn parse_proc_stat(text: &str, allowed: impl Fn(usize) -> bool) -> Option<(u64, usize)> {
    let mut busy = 0u64;
    let mut cpus = 0usize;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(name) = fields.next() else { continue };
        let Some(index) = name
            .strip_prefix("cpu")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if !allowed(index) {
            continue;
        }
        // user nice system idle iowait irq softirq steal [guest guest_nice]
        let values: Vec<u64> = fields.take(8).map_while(|f| f.parse().ok()).collect();
        if values.len() < 4 {
            continue;
        }
        let idle = values[3] + values.get(4).copied().unwrap_or(0);
        busy += values.iter().sum::<u64>() - idle;
        cpus += 1;
    }
    (cpus > 0).then_some((busy, cpus))
}

/// The CPUs this process may run on, None where the kernel does not say.
fn affinity() -> Option<Vec<bool>> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set, filled by the kernel.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: the size passed is the size of the set passed.
        let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
        if r != 0 {
            return None;
        }
        let max = 8 * std::mem::size_of_val(&set);
        // SAFETY: CPU_ISSET reads within the set for indices below its size in bits.
        Some(
            (0..max)
                .map(|i| unsafe { libc::CPU_ISSET(i, &set) })
                .collect(),
        )
    }
    #[cfg(not(target_os = "linux"))]
    None
}

fn clock_ticks() -> Option<u64> {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0)
}

fn process_time() -> Option<Duration> {
    // SAFETY: a zeroed rusage is valid and getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let of = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).ok()?)
            .checked_add(Duration::from_micros(u64::try_from(t.tv_usec).ok()?))
    };
    of(usage.ru_utime)?.checked_add(of(usage.ru_stime)?)
}

/// The counters now, and how many CPUs they cover; None where they cannot be read.
pub fn sample() -> Option<(CpuSample, usize)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let allowed = affinity();
    let (ticks, cpus) = parse_proc_stat(&text, |i| {
        allowed
            .as_ref()
            .is_none_or(|set| set.get(i).copied().unwrap_or(false))
    })?;
    let hz = clock_ticks()?;
    let busy =
        Duration::from_secs(ticks / hz) + Duration::from_secs_f64((ticks % hz) as f64 / hz as f64);
    Some((
        CpuSample {
            busy,
            process: process_time()?,
        },
        cpus,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "\
cpu  1000 10 500 9000 40 0 20 0 0 0
cpu0 600 5 300 4000 20 0 10 0 0 0
cpu1 400 5 200 5000 20 0 10 0 0 0
intr 12345 0 0
ctxt 999
";

    #[test]
    fn busy_time_is_all_but_idle_and_iowait_of_the_allowed_cpus() {
        assert_eq!(parse_proc_stat(STAT, |_| true), Some((915 + 615, 2)));
        assert_eq!(parse_proc_stat(STAT, |i| i == 1), Some((615, 1)));
        assert_eq!(parse_proc_stat(STAT, |i| i == 7), None);
    }

    #[test]
    fn unreadable_text_is_unknown_not_a_panic() {
        for text in [
            "",
            "cpu0",
            "cpu0 a b c d",
            "cpux 1 2 3 4",
            "\n\n",
            "cpu0 1 2",
        ] {
            assert_eq!(parse_proc_stat(text, |_| true), None, "{text:?}");
        }
        // An old kernel's four fields are enough.
        assert_eq!(parse_proc_stat("cpu0 1 2 3 4", |_| true), Some((6, 1)));
    }

    #[test]
    fn this_machine_can_be_sampled() {
        // Linux has /proc: the counters read and only go forward.
        if let (Some((a, cpus)), Some((b, _))) = (sample(), sample()) {
            assert!(cpus >= 1);
            assert!(b.busy >= a.busy && b.process >= a.process);
        }
    }

    fn at(busy_s: f64, process_s: f64) -> CpuSample {
        CpuSample {
            busy: Duration::from_secs_f64(busy_s),
            process: Duration::from_secs_f64(process_s),
        }
    }

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    #[test]
    fn other_processes_and_other_threads_are_told_apart() {
        // Idle machine: over 1 s this process used 1.7 cores, its inferences 0.9 s of
        // wall time on 2 threads (1.8 at most); nothing else ran.
        let idle = Load::between(&at(10.0, 5.0), &at(11.7, 6.7), s(1.0), s(1.8)).expect("load");
        assert!(
            idle.others.abs() < 1e-9 && idle.outside.abs() < 1e-9,
            "{idle:?}"
        );
        assert!(!idle.busy(2, 2, 0.3));
        // A decoder in front: the process used 1.9 cores, its inferences 0.45 s × 2.
        let decoder = Load::between(&at(0.0, 0.0), &at(1.9, 1.9), s(1.0), s(0.9)).expect("load");
        assert!((decoder.outside - 1.0).abs() < 1e-9, "{decoder:?}");
        assert!(decoder.busy(2, 2, 0.3));
        // Two busy processes: the CPUs were busy 2 s, this process 0.8 of them.
        let loaded = Load::between(&at(0.0, 0.0), &at(2.0, 0.8), s(1.0), s(1.0)).expect("load");
        assert!((loaded.others - 1.2).abs() < 1e-9, "{loaded:?}");
        assert!(loaded.busy(2, 2, 0.3));
        // The same processes on a 16-core machine leave the element's 2 cores free.
        assert!(!loaded.busy(16, 2, 0.3));
    }

    #[test]
    fn short_or_backward_intervals_say_nothing() {
        assert_eq!(
            Load::between(&at(0.0, 0.0), &at(1.0, 1.0), s(0.05), s(0.0)),
            None
        );
        assert_eq!(
            Load::between(&at(5.0, 0.0), &at(4.0, 1.0), s(1.0), s(0.0)),
            None
        );
        assert_eq!(
            Load::between(&at(0.0, 5.0), &at(1.0, 4.0), s(1.0), s(0.0)),
            None
        );
    }
}
