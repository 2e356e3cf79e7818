//! What one frame asks of the classifier: the frame's number and time, the parameters
//! in force, and whether it is the whole frame or a list of regions (detections or
//! zones). The stream makes jobs; the classifier (directly, or on the async worker)
//! turns them into outcomes; nothing flows back up.

use crate::core::postprocess::Params;
use crate::core::regions::RegionInput;
use crate::result::{Classification, Target};

#[derive(Debug, Clone)]
pub struct Job {
    /// The stream's index of the frame.
    pub frame: u64,
    pub pts: Option<gst::ClockTime>,
    pub params: Params,
    pub what: What,
}

#[derive(Debug, Clone)]
pub enum What {
    Frame,
    /// Regions or zones (`target` says which), run at most `max_batch` per inference.
    Regions {
        target: Target,
        inputs: Vec<RegionInput>,
        max_batch: usize,
        /// The names of the frame's other zones, not classified because their input
        /// did not change (`unchanged-threshold`): they keep their smoothing history.
        unchanged: Vec<String>,
    },
}

impl Job {
    /// Images the job has tensors for.
    pub fn images(&self) -> usize {
        match &self.what {
            What::Frame => 1,
            What::Regions { inputs, .. } => inputs.len(),
        }
    }

    /// Images run in one inference.
    pub fn batch_size(&self) -> usize {
        match &self.what {
            What::Frame => 1,
            What::Regions { max_batch, .. } => (*max_batch).max(1),
        }
    }
}

/// A job with all its tensors prepared, one after another: what the async worker gets,
/// so the streaming thread never waits for the backend. `max-regions` bounds its size.
pub struct Prepared {
    pub job: Job,
    pub tensors: Vec<f32>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// `frame` is the index of the frame the result was computed on; `calls` the
    /// inference calls it took.
    Done {
        frame: u64,
        result: Box<Classification>,
        calls: u64,
    },
    NonFinite,
    /// The frame could not be read; it flows on unlabelled.
    Unreadable(String),
    /// No inference server answered: the frame flows on without a fresh result.
    Unavailable(String),
    /// The element left PAUSED while the job ran: no result, and nothing to say.
    Cancelled,
    Failed(String),
}
