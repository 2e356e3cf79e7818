//! The process's memory, for the benchmarks that report it. Included by path
//! (`#[path]`), so it is no example of its own.

/// This process's resident set size in KiB.
pub fn rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
