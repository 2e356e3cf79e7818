//! The seam between the element and whatever runs the model. The element hands a
//! backend a batch of preprocessed tensors and gets raw score rows back; activation,
//! smoothing, top-k and labels happen afterwards, in `postprocess`, whatever the backend.
//! Nothing of GStreamer or of one runtime's types crosses this trait, so an in-process
//! runtime and a remote inference server fit behind it alike.

pub mod batching;
#[cfg(test)]
pub mod fake;
pub mod onnxruntime;
pub mod open;
pub mod remote;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::core::model::ModelSpec;

/// The element type of a model's input or output tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    Float32,
    /// Normalised values converted to half precision.
    Float16,
    /// Raw 0–255 pixels, no normalisation: the model normalises inside, as most
    /// TFLite-derived and tf2onnx exports do.
    Uint8,
    /// Outputs only.
    Float64,
}

impl ElementType {
    pub fn name(self) -> &'static str {
        match self {
            ElementType::Float32 => "float32",
            ElementType::Float16 => "float16",
            ElementType::Uint8 => "uint8",
            ElementType::Float64 => "float64",
        }
    }
}

/// What a backend's model takes and gives, read once when it is loaded.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// The model's own name (its metadata's), else the file's stem.
    pub name: String,
    /// Input size, layout, channel order and normalisation; the output's class count
    /// and whether the model says it outputs probabilities.
    pub spec: ModelSpec,
    pub input_type: ElementType,
    /// The labels the model carries, if any.
    pub labels: Option<Vec<String>>,
    /// Whether several images run in one call.
    pub batchable: bool,
    /// `imgclassify.quantization` of an int8 model; `None` for a float one.
    pub quantization: Option<String>,
    /// The width of the model's embedding output (pooled features), if it has one.
    pub embedding: Option<usize>,
    pub placement: Placement,
}

/// Where a model runs and how far to trust its timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// As results name it (`cpu`, `cuda:0`, the endpoints of a server).
    pub provider: String,
    /// How many batches may usefully run at once: 1 in process (the model uses the
    /// cores already); a remote backend's `max-in-flight`, so network and server time
    /// overlap. `mode=async` keeps this many outstanding.
    pub concurrency: usize,
    /// How long one frame may wait for its answer (`server-timeout`); None in process.
    pub time_limit: Option<Duration>,
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            provider: String::new(),
            concurrency: 1,
            time_limit: None,
        }
    }
}

/// Raw class scores for a batch: one row of `spec.classes` values per image.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub rows: Vec<f32>,
    /// Inference calls it took: 1 for a batch the model takes at once, one per image
    /// otherwise.
    pub calls: usize,
    /// Where this batch ran, when that differs from call to call (the endpoint of a
    /// remote server that answered); None = `info().placement.provider`.
    pub provider: Option<String>,
    /// One row of `info().embedding` values per image when asked for with
    /// `Batch::embed`; empty otherwise.
    pub embeddings: Vec<f32>,
}

/// Requests to inference servers since the backend was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// `ModelInfer` requests sent, the warm-up request at NULL→READY included.
    pub sent: u64,
    /// Requests answered with an error (refused, reset, server error) or with an
    /// answer that cannot be used (wrong size, missing output).
    pub failed: u64,
    /// Batches sent to another endpoint after a request for them failed.
    pub retried: u64,
    /// Requests not answered within `server-timeout`, and batches whose
    /// `server-timeout` ran out before a request could be sent (waiting for a
    /// `max-in-flight` slot, or after other endpoints failed).
    pub timed_out: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "inference failed: a batch of {images} needs {expected} values and a dynamic batch \
         dimension; got {got} values"
    )]
    BatchShape {
        images: usize,
        expected: usize,
        got: usize,
    },
    #[error(
        "inference failed: the model returned {got} scores for {images} images of {classes} classes"
    )]
    OutputSize {
        got: usize,
        images: usize,
        classes: usize,
    },
    /// No server answered in time: the frame flows on without a fresh result.
    #[error("{0}")]
    Unavailable(String),
    /// `Batch::cancel` was set while the batch waited: the element is stopping, and
    /// nobody waits for this answer any more.
    #[error("cancelled: the element is stopping")]
    Cancelled,
    #[error("this backend cannot return embeddings")]
    NoEmbedding,
    #[error("inference failed: {0}")]
    Runtime(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One batch for a backend: `images` tensors laid one after another in `tensors`, each
/// of `info().spec.tensor.len()` values.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub tensors: &'a [f32],
    pub images: usize,
    /// Also return each image's embedding (`Scores::embeddings`) from the same
    /// inference; only a model with an embedding output can.
    pub embed: bool,
    /// When the answer is no use any more (the frame's `server-timeout`); None = no limit.
    pub deadline: Option<Instant>,
    /// Set when the answer is no use any more before the deadline (the element leaves
    /// PAUSED): a backend that waits (for a server) stops waiting. None = never.
    pub cancel: Option<&'a AtomicBool>,
}

impl<'a> Batch<'a> {
    /// Scores only, no time limit.
    pub fn new(tensors: &'a [f32], images: usize) -> Batch<'a> {
        Batch {
            tensors,
            images,
            embed: false,
            deadline: None,
            cancel: None,
        }
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Acquire))
    }
}

/// What a backend reports while running, for `stats` and the bus.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Telemetry {
    /// Requests to inference servers; None in process.
    pub requests: Option<RequestCounts>,
    /// Warnings since the last report (an endpoint that came back serving another
    /// model), each reported once.
    pub warnings: Vec<String>,
    /// How ONNX Runtime's threads wait for work (`spinning`); None for a server.
    pub spinning: Option<SpinReport>,
}

/// The spinning mode in use (`off`, `on`, `short`) and why it is in use.
#[derive(Debug, Clone, PartialEq)]
pub struct SpinReport {
    pub mode: &'static str,
    pub why: String,
}

/// Runs a model. Implementations are shared between threads (the streaming thread and
/// the async worker), so `run` takes `&self`. Opened only by [`open::open`]; whoever
/// runs a batch goes through [`batching::run`], which splits it for a model that takes
/// one image per call.
pub trait Backend: Send + Sync {
    /// The model, and where and how it runs.
    fn info(&self) -> &ModelInfo;

    /// One batch, at most as many images as the model takes per call.
    fn run(&self, batch: &Batch<'_>) -> Result<Scores, BackendError>;

    /// Request counters and new warnings.
    fn telemetry(&self) -> Telemetry {
        Telemetry::default()
    }

    /// A backend of the same model that frames never run on, for the examples embedded
    /// while frames run (classes rebuilt or a model loaded while playing), so that no
    /// frame waits for an example's inference. None where an inference through `self`
    /// holds up no frame: a server's requests do not take the process's sessions.
    fn aside(&self) -> Option<Arc<dyn Backend>> {
        None
    }
}
