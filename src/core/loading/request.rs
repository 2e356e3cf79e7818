//! What NULL→READY is asked for: a plain value the element's settings hold as it is, so
//! asking for a load is a clone.

use std::path::PathBuf;

use crate::core::backend::open::{EngineRequest, ServerRequest};
use crate::core::model::normalisation::Overrides;
use crate::core::postprocess::RequestedActivation;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadRequest {
    /// `classifier-id`; None = the element's name.
    pub classifier_id: Option<String>,
    pub model: ModelRequest,
    pub engine: EngineRequest,
    pub server: ServerRequest,
    pub classes: ClassesRequest,
}

/// Which model, and how its input and output are read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelRequest {
    /// A built-in model's name; `file` overrides it.
    pub name: String,
    pub file: Option<PathBuf>,
    pub labels_file: Option<PathBuf>,
    /// 0 = the model's own size.
    pub input_size: u32,
    /// `output-name`: the output to read; None = the first that fits.
    pub output_name: Option<String>,
    /// `input-mean`, `input-std`, `color-order`.
    pub normalisation: Overrides,
    pub activation: RequestedActivation,
}

/// `classes-dir` and its companions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassesRequest {
    /// None: the model's own classes.
    pub dir: Option<PathBuf>,
    /// None: `classes::default_cache_dir()`.
    pub cache_dir: Option<PathBuf>,
    /// `attach-embedding`.
    pub attach_embedding: bool,
}
