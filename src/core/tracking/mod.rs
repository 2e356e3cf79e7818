//! Object identity for `target=regions`: which box of a frame is which object, so each
//! object is classified once and now and then instead of on every frame, and shows a
//! label that holds.
//!
//! Identity comes from the detector's ROI id where it is on one box of the frame and
//! not GStreamer's default 0; otherwise from a small SORT-style tracker: each object's
//! next box is predicted from its last one and its recent motion, and a frame's boxes
//! are assigned to the objects by the largest total overlap (IoU), with the Hungarian
//! method of the `pathfinding` crate. Boxes left over are new objects; objects not
//! seen for `object-timeout` are forgotten.
//!
//! Why not the `similari` crate (0.26.2, the Savant project's SORT), measured: it
//! builds from crates.io (97 crates, among them nalgebra, geo, rayon, ultraviolet,
//! env_logger, and pyo3 with `extension-module`, always on, so a Python 3 interpreter
//! at build time), and its `Sort` with `PositionalMetricType::IoU` does IoU-only SORT.
//! But it runs its own worker threads per shard, counts idleness in epochs rather than
//! time, numbers tracks itself (the detector's ids cannot take precedence, so identity
//! would have to be kept twice), and carries a Kalman filter and re-identification the
//! plugin does not use. The part worth a crate is the assignment: `pathfinding`
//! (Kuhn-Munkres, small, no threads) does it, and the rest is a few lines tested here.

pub mod iou;
pub mod objects;
pub mod vote;

pub use objects::{Config, Moment, Objects};

/// The properties that turn tracking on for `target=regions`, as set.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reclassify {
    /// Frames between two results of one object; 0 = every box of every frame.
    pub interval: u32,
    /// Area growth factor that makes an object due at once; 0 = off.
    pub growth: f64,
    /// Milliseconds an object is kept while not seen.
    pub timeout_ms: u32,
}

impl Reclassify {
    pub fn config(&self, max_regions: u32) -> Config {
        Config {
            interval: self.interval.max(1),
            growth: self.growth,
            timeout_ns: u64::from(self.timeout_ms) * 1_000_000,
            max_objects: max_regions as usize,
        }
    }
}
