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
}
