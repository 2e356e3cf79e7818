//! What NULL→READY is asked for, shared by the in-process (`loading`) and the remote
//! (`remote`) paths, and how a model file's load error is reported.

use std::path::PathBuf;

use crate::backend::onnxruntime::{EngineError, ProviderOptions};
use crate::model::normalisation::Overrides;
use crate::postprocess::RequestedActivation;

/// What the load-time properties ask for.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    /// The id results carry: `classifier-id`, else the element's name.
    pub classifier_id: String,
    pub model: String,
    pub model_file: Option<PathBuf>,
    pub labels_file: Option<PathBuf>,
    pub threads: u32,
    /// Sessions asked of the model's pool; 0 = automatic.
    pub sessions: u32,
    /// 0 = the model's own size.
    pub input_size: u32,
    pub provider: ProviderOptions,
    /// `output-name`: the output to read; None = the first that fits.
    pub output_name: Option<String>,
    /// `input-mean`, `input-std`, `color-order`.
    pub normalisation: Overrides,
    pub activation: RequestedActivation,
    pub server: ServerRequest,
    pub classes: ClassesRequest,
}

/// `classes-dir` and its companions.
#[derive(Debug, Clone)]
pub struct ClassesRequest {
    /// None: the model's own classes.
    pub dir: Option<PathBuf>,
    /// None: `classes::default_cache_dir()`.
    pub cache_dir: Option<PathBuf>,
    /// `attach-embedding`.
    pub attach_embedding: bool,
    /// The resize mode the examples are embedded with (the one set at NULL→READY).
    pub resize_mode: crate::preprocess::ResizeMode,
}

/// `inference-server` and its companions.
#[derive(Debug, Clone)]
pub struct ServerRequest {
    /// As set; empty = in-process ONNX Runtime.
    pub endpoints: String,
    /// None = the model's own name.
    pub model: Option<String>,
    pub timeout_ms: u32,
    pub max_in_flight: u32,
    pub ca_file: Option<PathBuf>,
    /// The client certificate and key (PEM files) for mutual TLS.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// A file holding the bearer token (never the token itself).
    pub token_file: Option<PathBuf>,
}

/// A model file's load error in the GStreamer error domain a user would look in.
pub fn engine_error(e: EngineError) -> gst::ErrorMessage {
    match e {
        EngineError::Runtime(_) => gst::error_msg!(gst::LibraryError::Init, ("{}", e)),
        EngineError::ModelFile { .. } => gst::error_msg!(gst::ResourceError::NotFound, ("{}", e)),
        _ => gst::error_msg!(gst::LibraryError::Settings, ("{}", e)),
    }
}
