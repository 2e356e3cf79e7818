//! Why a model could not be loaded on ONNX Runtime, with ONNX Runtime's own error kept
//! as the source.

use std::path::PathBuf;
use std::sync::Arc;

use super::provider::Kind;
use super::runtime::RuntimeError;
use crate::core::backend::BackendError;
use crate::core::model::{MetadataError, ShapeError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("model file '{}' {problem}", path.display())]
    ModelFile { path: PathBuf, problem: String },
    #[error("model file '{}' is not an ONNX model ONNX Runtime can load: {source}", path.display())]
    NotOnnx { path: PathBuf, source: LoadError },
    #[error("model '{}' cannot be used: {source}", path.display())]
    Model { path: PathBuf, source: LoadError },
    /// The requested provider failed and fallback is off.
    #[error(
        "{} (set fallback=true to run on the next provider, or see the README's GPU section)",
        listed(failures)
    )]
    Provider { failures: Vec<Failure> },
}

fn listed(failures: &[Failure]) -> String {
    failures
        .iter()
        .map(|f| {
            format!(
                "execution provider '{}' cannot be used: {}",
                f.kind, f.reason
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One step of loading that failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Ort(#[from] ort::Error),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Shape(#[from] ShapeError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error("the model's {what} is {ty}; imgclassify takes an {what} of {supported}")]
    ElementType {
        what: &'static str,
        ty: String,
        supported: &'static str,
    },
    #[error(
        "the model has no output named '{name}'; its outputs are {outputs}: set output-name to one of them"
    )]
    NoSuchOutput { name: String, outputs: String },
    #[error("cannot create engine cache '{}': {source}", path.display())]
    EngineCache {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    WarmUp(#[from] BackendError),
}

/// Session builder steps hand the builder back in their error; only the error is kept.
impl From<ort::Error<ort::session::builder::SessionBuilder>> for LoadError {
    fn from(e: ort::Error<ort::session::builder::SessionBuilder>) -> LoadError {
        LoadError::Ort(e.into())
    }
}

/// A provider that could not be used, with ONNX Runtime's reason.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: Kind,
    pub reason: Arc<LoadError>,
}
