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
    /// PyTorch's exporter writes the weights beside the graph by default; only the small
    /// graph file is often copied.
    #[error(
        "model file '{}' keeps its weights in a separate file, {data}, which is missing: \
         copy that file beside the model, or export one self-contained file \
         (torch.onnx.export(..., external_data=False); see docs/custom-models.md#pytorch)",
        path.display()
    )]
    ExternalData { path: PathBuf, data: String },
    /// The requested provider failed and fallback is off.
    #[error(
        "{} (set fallback=true to run on the next provider, or see the README's GPU section)",
        listed(failures)
    )]
    Provider { failures: Vec<Failure> },
}

impl EngineError {
    /// The error for a model file the CPU provider could not load.
    pub fn unloadable(path: &std::path::Path, source: LoadError) -> EngineError {
        match missing_external_data(&source.to_string()) {
            Some(data) => EngineError::ExternalData {
                path: path.to_path_buf(),
                data,
            },
            None => EngineError::NotOnnx {
                path: path.to_path_buf(),
                source,
            },
        }
    }
}

/// The weights file named in ONNX Runtime's "External data path does not exist: \"…\""
/// (quoted as ONNX Runtime wrote it), or a description when the message has no path.
fn missing_external_data(message: &str) -> Option<String> {
    const MARK: &str = "External data path does not exist: ";
    let at = message.find(MARK)? + MARK.len();
    let rest = message[at..].trim();
    Some(
        match rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
            Some(path) if !path.is_empty() => format!("'{path}'"),
            _ => "named inside the model".to_string(),
        },
    )
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

#[cfg(test)]
mod tests {
    use super::missing_external_data;

    #[test]
    fn the_missing_weights_file_is_read_from_onnx_runtimes_message() {
        let message = "Fail: External data path validation failed for initializer: conv_1.weight. \
            Error: tensorprotoutils.cc:461 ValidateExternalDataPathFromDir External data path \
            does not exist: \"/models/my_model.onnx.data\"";
        assert_eq!(
            missing_external_data(message).as_deref(),
            Some("'/models/my_model.onnx.data'")
        );
        assert_eq!(
            missing_external_data("External data path does not exist: ").as_deref(),
            Some("named inside the model")
        );
        assert_eq!(missing_external_data("Protobuf parsing failed."), None);
    }
}
