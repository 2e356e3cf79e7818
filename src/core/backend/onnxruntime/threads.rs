//! How many intra-op threads a session gets. `threads=0` means a thread per core, but
//! is not passed on to ONNX Runtime as 0: left to itself, ONNX Runtime pins each
//! session's extra threads to cores 1, 2, … (core 0 is left to the calling thread), so
//! every session in the process, and in every other process, puts its helpers on the
//! same cores. Two pooled sessions on two cores then had both helpers on core 1 and the
//! streams' rates drifted apart (the slowest at 0.31 of the mean, docs/streams.md).
//! Asking for the same count explicitly leaves the threads unpinned.

/// Measuring only: `1` passes `threads=0` on to ONNX Runtime as 0 (its own count, with
/// its pinning), the behaviour before this fix, so a benchmark can set both side by side.
pub const PINNED_THREADS_ENV: &str = "IMGCLASSIFY_PINNED_THREADS";

/// The intra-op thread count to ask ONNX Runtime for, or None to leave it its default.
pub fn intra_threads(requested: usize) -> Option<usize> {
    if requested > 0 {
        return Some(requested);
    }
    if !divides_cores() {
        return None;
    }
    Some(default_threads())
}

/// Whether `threads=0` is ours to resolve (not left to ONNX Runtime by the measuring
/// switch).
pub fn divides_cores() -> bool {
    !std::env::var(PINNED_THREADS_ENV).is_ok_and(|v| v.trim() == "1")
}

/// ONNX Runtime's own default: one thread per physical core (not per SMT sibling),
/// within the CPUs this process may run on.
pub fn default_threads() -> usize {
    let allowed = std::thread::available_parallelism().map_or(1, |n| n.get());
    num_cpus::get_physical().clamp(1, allowed)
}

/// The most intra-op threads one model's sessions may have together, per core. More
/// only queue for the cores; `threads` and `sessions` at their maxima (256 each) asked
/// for 65 536.
pub const THREADS_PER_CORE: usize = 4;

/// `threads` and `sessions` as asked where `threads` × `sessions` (each 0 counted as 1:
/// `threads=0` divides the cores, `sessions=0` grows by the cores) stays within
/// [`THREADS_PER_CORE`] × `cores`; else lowered to fit, `sessions` first kept and
/// `threads` divided among them.
pub fn capped(threads: u32, sessions: u32, cores: usize) -> (u32, u32) {
    let limit = u32::try_from(THREADS_PER_CORE * cores.max(1)).unwrap_or(u32::MAX);
    if u64::from(threads.max(1)) * u64::from(sessions.max(1)) <= u64::from(limit) {
        return (threads, sessions);
    }
    let sessions = sessions.min(limit);
    let threads = match threads {
        0 => 0,
        _ => (limit / sessions.max(1)).max(1),
    };
    (threads, sessions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_count_is_kept_and_zero_becomes_the_cores() {
        assert_eq!(intra_threads(3), Some(3));
        let cores = default_threads();
        assert!(cores >= 1);
        assert!(cores <= std::thread::available_parallelism().map_or(1, |n| n.get()));
        if std::env::var(PINNED_THREADS_ENV).is_err() {
            assert_eq!(intra_threads(0), Some(cores));
        }
    }

    #[test]
    fn threads_times_sessions_is_held_to_four_per_core() {
        assert_eq!(capped(256, 256, 2), (1, 8));
        assert_eq!(capped(256, 2, 2), (4, 2));
        assert_eq!(capped(256, 0, 2), (8, 0));
        assert_eq!(capped(0, 256, 2), (0, 8));
        assert_eq!(capped(3, 3, 2), (2, 3));
        // Within the limit: as asked.
        assert_eq!(capped(4, 2, 2), (4, 2));
        assert_eq!(capped(0, 0, 1), (0, 0));
        assert_eq!(capped(256, 256, 16384), (256, 256));
    }
}
