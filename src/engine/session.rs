//! One ONNX Runtime session for a classification model: loading with clear errors,
//! a warm-up run, and inference on a prepared tensor.

use std::fmt;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::runtime::{RuntimeError, runtime};
use crate::model::{ModelMetadata, ModelSpec, labels, model_spec};
use crate::postprocess::is_probability_vector;

/// Session settings chosen by the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EngineOptions {
    /// Intra-op threads; 0 leaves ONNX Runtime's default.
    pub threads: usize,
}

/// A loaded model ready to run.
pub struct Engine {
    session: Session,
    input_name: String,
    spec: ModelSpec,
    labels: Vec<String>,
    outputs_probabilities: bool,
    name: String,
}

#[derive(Debug)]
pub enum EngineError {
    Runtime(RuntimeError),
    ModelFile {
        path: PathBuf,
        problem: String,
    },
    NotOnnx {
        path: PathBuf,
        reason: String,
    },
    Model {
        path: PathBuf,
        problem: String,
    },
    Labels(String),
    LabelCount {
        source: String,
        labels: usize,
        classes: usize,
    },
    Inference(String),
    NonFinite,
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Runtime(e) => e.fmt(f),
            EngineError::ModelFile { path, problem } => {
                write!(f, "model file '{}' {problem}", path.display())
            }
            EngineError::NotOnnx { path, reason } => write!(
                f,
                "model file '{}' is not an ONNX model ONNX Runtime can load: {reason}",
                path.display()
            ),
            EngineError::Model { path, problem } => {
                write!(f, "model '{}' cannot be used: {problem}", path.display())
            }
            EngineError::Labels(e) => f.write_str(e),
            EngineError::LabelCount {
                source,
                labels,
                classes,
            } => write!(
                f,
                "{source} has {labels} labels but the model outputs {classes} classes; \
                 give a labels file with one line per class"
            ),
            EngineError::Inference(e) => write!(f, "inference failed: {e}"),
            EngineError::NonFinite => {
                f.write_str("the model produced NaN or infinite scores; no labels for this frame")
            }
        }
    }
}

impl std::error::Error for EngineError {}

fn check_file(path: &Path) -> Result<(), EngineError> {
    let problem = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_string(),
        Err(e) => format!("cannot be read: {e}"),
        Ok(m) if m.is_dir() => "is a directory; give the path of an .onnx file".to_string(),
        Ok(m) if m.len() == 0 => "is empty".to_string(),
        Ok(_) => return Ok(()),
    };
    Err(EngineError::ModelFile {
        path: path.to_path_buf(),
        problem,
    })
}

fn tensor_shape(ty: &ValueType, what: &'static str, path: &Path) -> Result<Vec<i64>, EngineError> {
    match ty {
        ValueType::Tensor {
            ty: TensorElementType::Float32,
            shape,
            ..
        } => Ok(shape.iter().copied().collect()),
        other => Err(EngineError::Model {
            path: path.to_path_buf(),
            problem: format!("the {what} is {other}; imgclassify needs a float32 tensor"),
        }),
    }
}

impl Engine {
    /// Loads the model, checks it is an image classifier, picks its labels and runs it
    /// once so the first real frame is not slow.
    pub fn load(
        path: &Path,
        labels_file: Option<&Path>,
        options: &EngineOptions,
    ) -> Result<Engine, EngineError> {
        let rt = runtime().map_err(EngineError::Runtime)?;
        check_file(path)?;
        let model_err = |problem: String| EngineError::Model {
            path: path.to_path_buf(),
            problem,
        };
        let mut builder = Session::builder(&rt.environment)
            .and_then(|b| b.with_intra_op_spinning(false).map_err(Into::into))
            .map_err(|e| model_err(e.to_string()))?;
        if options.threads > 0 {
            builder = builder
                .with_intra_threads(options.threads)
                .map_err(|e| model_err(e.to_string()))?;
        }
        let session = builder
            .commit_from_file(path)
            .map_err(|e| EngineError::NotOnnx {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;

        let meta = read_metadata(&session).map_err(|e| model_err(e.to_string()))?;
        if session.inputs().len() != 1 {
            return Err(model_err(
                crate::model::ShapeError::InputCount(session.inputs().len()).to_string(),
            ));
        }
        let Some(output) = session.outputs().first() else {
            return Err(model_err(
                crate::model::ShapeError::OutputCount(0).to_string(),
            ));
        };
        let input = &session.inputs()[0];
        let input_shape = tensor_shape(input.dtype(), "input", path)?;
        let output_shape = tensor_shape(output.dtype(), "output", path)?;
        let spec =
            model_spec(&input_shape, &output_shape, &meta).map_err(|e| model_err(e.to_string()))?;

        let (labels, source) = match labels_file {
            Some(file) => (
                labels::read_file(file).map_err(|e| EngineError::Labels(e.to_string()))?,
                format!("labels file '{}'", file.display()),
            ),
            None => match meta.labels.clone() {
                Some(l) => (l, "the model's metadata".to_string()),
                None => (
                    (0..spec.classes).map(|i| format!("class {i}")).collect(),
                    String::new(),
                ),
            },
        };
        if labels.len() != spec.classes {
            return Err(EngineError::LabelCount {
                source,
                labels: labels.len(),
                classes: spec.classes,
            });
        }

        let name = meta.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let mut engine = Engine {
            input_name: input.name().to_string(),
            session,
            spec,
            labels,
            outputs_probabilities: false,
            name,
        };
        let warm_up = vec![0.0f32; engine.spec.tensor.len()];
        let probe = engine.run(&warm_up).map_err(|e| model_err(e.to_string()))?;
        // Without metadata, a model whose output already sums to one ends in a softmax.
        engine.outputs_probabilities = engine
            .spec
            .outputs_probabilities
            .unwrap_or_else(|| is_probability_vector(&probe));
        Ok(engine)
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `run` returns probabilities (else logits that need a softmax).
    pub fn outputs_probabilities(&self) -> bool {
        self.outputs_probabilities
    }

    /// Runs the model on one prepared tensor and returns the class scores.
    pub fn run(&mut self, tensor: &[f32]) -> Result<Vec<f32>, EngineError> {
        let t = &self.spec.tensor;
        let shape = match self.spec.tensor.layout {
            crate::preprocess::Layout::Nchw => [1usize, 3, t.height, t.width],
            crate::preprocess::Layout::Nhwc => [1usize, t.height, t.width, 3],
        };
        let input = TensorRef::from_array_view((shape, tensor))
            .map_err(|e| EngineError::Inference(e.to_string()))?;
        let outputs = self
            .session
            .run(ort::inputs![self.input_name.as_str() => input])
            .map_err(|e| EngineError::Inference(e.to_string()))?;
        let (_, scores) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| EngineError::Inference(e.to_string()))?;
        Ok(scores.to_vec())
    }
}

fn read_metadata(session: &Session) -> Result<ModelMetadata, Box<dyn std::error::Error>> {
    let metadata = session.metadata()?;
    let keys = metadata.custom_keys()?;
    let entries: Vec<(String, String)> = keys
        .into_iter()
        .filter_map(|k| metadata.custom(&k).map(|v| (k, v)))
        .collect();
    Ok(ModelMetadata::parse(
        entries.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )?)
}
