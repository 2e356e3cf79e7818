//! One ONNX Runtime session for a classification model: provider selection with
//! explicit fallback, model checks, a warm-up run, and inference.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ort::ep::{CUDA, TensorRT};
use ort::session::Session;
use ort::session::builder::SessionBuilder;
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::provider::{Active, Failure, Kind, ProviderOptions, engine_dir};
use super::runtime::{RuntimeError, runtime};
use crate::lock::lock;
use crate::model::{ModelMetadata, ModelSpec, ShapeError, model_spec};
use crate::postprocess::is_probability_vector;
use crate::preprocess::{Layout, TensorSpec};

/// Session settings chosen by the user; equal options share a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EngineOptions {
    /// Intra-op threads; 0 leaves ONNX Runtime's default.
    pub threads: usize,
    pub provider: ProviderOptions,
    /// Square size to run a model with dynamic height and width at (`input-size`);
    /// None = the model's own. Sessions at different sizes are never shared, since the
    /// spec, and a TensorRT engine, belong to one size.
    pub input_size: Option<usize>,
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
    /// The requested provider failed and fallback is off.
    Provider {
        failures: Vec<Failure>,
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
            EngineError::Provider { failures } => {
                for (i, failure) in failures.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(
                        f,
                        "execution provider '{}' cannot be used: {}",
                        failure.kind, failure.reason
                    )?;
                }
                f.write_str(
                    " (set fallback=true to run on the next provider, or see the README's GPU section)",
                )
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

/// What the model file says about itself, read once per session.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub name: String,
    pub input_name: String,
    pub spec: ModelSpec,
    pub labels: Option<Vec<String>>,
    /// Whether the output is already a probability vector (else logits).
    pub outputs_probabilities: bool,
    /// Whether the batch dimension is dynamic, so several images run in one call.
    pub batchable: bool,
}

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Sessions alive in this process (for leak checks).
pub fn live_sessions() -> usize {
    LIVE.load(Ordering::SeqCst)
}

/// A loaded model on one provider; shared by every element with the same options.
pub struct SharedModel {
    session: Mutex<Session>,
    pub info: ModelInfo,
    pub active: Active,
    /// Providers tried before `active`, with ONNX Runtime's reasons.
    pub failures: Vec<Failure>,
}

impl Drop for SharedModel {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

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

fn tensor_shape(ty: &ValueType, what: &str) -> Result<Vec<i64>, String> {
    match ty {
        ValueType::Tensor {
            ty: TensorElementType::Float32,
            shape,
            ..
        } => Ok(shape.iter().copied().collect()),
        other => Err(format!(
            "the {what} is {other}; imgclassify needs a float32 tensor"
        )),
    }
}

fn base_builder(options: &EngineOptions) -> Result<SessionBuilder, String> {
    let rt = runtime().map_err(|e| e.to_string())?;
    let mut builder = Session::builder(&rt.environment)
        .map_err(|e| e.to_string())?
        .with_intra_op_spinning(false)
        .map_err(|e| e.to_string())?;
    if options.threads > 0 {
        builder = builder
            .with_intra_threads(options.threads)
            .map_err(|e| e.to_string())?;
    }
    Ok(builder)
}

/// Reads names, shapes and metadata of a committed session; `input_size` as in
/// [`EngineOptions`].
fn inspect(
    session: &Session,
    input_size: Option<usize>,
) -> Result<(String, ModelSpec, ModelMetadata, bool), String> {
    let meta = read_metadata(session)?;
    if session.inputs().len() != 1 {
        return Err(ShapeError::InputCount(session.inputs().len()).to_string());
    }
    let Some(output) = session.outputs().first() else {
        return Err(ShapeError::OutputCount(0).to_string());
    };
    let input = &session.inputs()[0];
    let input_shape = tensor_shape(input.dtype(), "input")?;
    let batchable = input_shape.first().is_some_and(|&n| n < 0);
    let spec = model_spec(
        &input_shape,
        &tensor_shape(output.dtype(), "output")?,
        &meta,
        input_size,
    )
    .map_err(|e| e.to_string())?;
    Ok((input.name().to_string(), spec, meta, batchable))
}

fn read_metadata(session: &Session) -> Result<ModelMetadata, String> {
    let metadata = session.metadata().map_err(|e| e.to_string())?;
    let keys = metadata.custom_keys().map_err(|e| e.to_string())?;
    let entries: Vec<(String, String)> = keys
        .into_iter()
        .filter_map(|k| metadata.custom(&k).map(|v| (k, v)))
        .collect();
    ModelMetadata::parse(entries.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| e.to_string())
}

fn sha256_of(path: &Path) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// TensorRT's optimisation profile for one image of the size the element feeds, so the
/// engine is built for that size (with `input-size`, not the model's own).
fn profile_shape(input: &str, t: &TensorSpec) -> String {
    match t.layout {
        Layout::Nchw => format!("{input}:1x3x{}x{}", t.height, t.width),
        Layout::Nhwc => format!("{input}:1x{}x{}x3", t.height, t.width),
    }
}

/// Builds a session on `kind`, or says why ONNX Runtime refused.
fn commit_on(kind: Kind, path: &Path, options: &EngineOptions) -> Result<Session, String> {
    let p = &options.provider;
    let builder = base_builder(options)?;
    let builder = match kind {
        Kind::Cpu => builder,
        Kind::Cuda => builder
            .with_execution_providers([CUDA::default()
                .with_device_id(p.device_id)
                .build()
                .error_on_failure()])
            .map_err(|e| e.to_string())?,
        Kind::TensorRt => {
            // Registration fails fast where the library lacks TensorRT; only then is
            // it worth reading the model's shape for the engine's profile.
            base_builder(options)?
                .with_execution_providers([TensorRT::default()
                    .with_device_id(p.device_id)
                    .build()
                    .error_on_failure()])
                .map_err(|e| e.to_string())?;
            let probe = base_builder(options)?
                .commit_from_file(path)
                .map_err(|e| e.to_string())?;
            let (input, spec, _, _) = inspect(&probe, options.input_size)?;
            drop(probe);
            let t = &spec.tensor;
            let shape = profile_shape(&input, t);
            let root = p.engine_cache_root();
            let dir = engine_dir(
                &root,
                &sha256_of(path)?,
                p.device_id,
                p.fp16,
                t.width,
                t.height,
            );
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create engine cache '{}': {e}", dir.display()))?;
            let dir = dir.display().to_string();
            builder
                .with_execution_providers([TensorRT::default()
                    .with_device_id(p.device_id)
                    .with_fp16(p.fp16)
                    .with_engine_cache(true)
                    .with_engine_cache_path(&dir)
                    .with_timing_cache(true)
                    .with_timing_cache_path(&dir)
                    .with_profile_min_shapes(&shape)
                    .with_profile_opt_shapes(&shape)
                    .with_profile_max_shapes(&shape)
                    .build()
                    .error_on_failure()])
                .map_err(|e| e.to_string())?
        }
    };
    let mut builder = builder;
    builder.commit_from_file(path).map_err(|e| e.to_string())
}

impl SharedModel {
    /// Loads the model on the first provider of the chain that works, checks it is an
    /// image classifier and runs it once so the first real frame is not slow.
    pub fn load(path: &Path, options: &EngineOptions) -> Result<SharedModel, EngineError> {
        runtime().map_err(EngineError::Runtime)?;
        check_file(path)?;
        let model_err = |problem: String| EngineError::Model {
            path: path.to_path_buf(),
            problem,
        };
        let mut failures = Vec::new();
        let mut chosen = None;
        for kind in options.provider.chain() {
            match commit_on(kind, path, options) {
                Ok(session) => {
                    chosen = Some((kind, session));
                    break;
                }
                // On CPU nothing is left to fall back to: the model itself is at fault.
                Err(reason) if kind == Kind::Cpu => {
                    return Err(EngineError::NotOnnx {
                        path: path.to_path_buf(),
                        reason,
                    });
                }
                Err(reason) => failures.push(Failure { kind, reason }),
            }
        }
        let Some((kind, session)) = chosen else {
            return Err(EngineError::Provider { failures });
        };
        let (input_name, spec, meta, batchable) =
            inspect(&session, options.input_size).map_err(model_err)?;
        let name = meta.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        LIVE.fetch_add(1, Ordering::SeqCst);
        let mut model = SharedModel {
            session: Mutex::new(session),
            info: ModelInfo {
                name,
                input_name,
                spec,
                labels: meta.labels.clone(),
                outputs_probabilities: false,
                batchable,
            },
            active: Active {
                kind,
                device_id: options.provider.device_id,
            },
            failures,
        };
        let warm_up = vec![0.0f32; model.info.spec.tensor.len()];
        let probe = model.run(&warm_up).map_err(|e| model_err(e.to_string()))?;
        // Without metadata, a model whose output already sums to one ends in a softmax.
        model.info.outputs_probabilities = model
            .info
            .spec
            .outputs_probabilities
            .unwrap_or_else(|| is_probability_vector(&probe));
        Ok(model)
    }

    /// Runs the model on one prepared tensor and returns the raw class scores.
    pub fn run(&self, tensor: &[f32]) -> Result<Vec<f32>, EngineError> {
        self.run_batch(tensor, 1)
    }

    /// Runs `n` tensors laid one after another in one call (the model must be
    /// `batchable` for n > 1); returns `n` rows of class scores.
    pub fn run_batch(&self, tensors: &[f32], n: usize) -> Result<Vec<f32>, EngineError> {
        let t = &self.info.spec.tensor;
        if n == 0 || tensors.len() != n * t.len() || (n > 1 && !self.info.batchable) {
            return Err(EngineError::Inference(format!(
                "a batch of {n} needs {} values and a dynamic batch dimension; got {} values",
                n * t.len(),
                tensors.len()
            )));
        }
        let tensor = tensors;
        let shape = match t.layout {
            Layout::Nchw => [n, 3, t.height, t.width],
            Layout::Nhwc => [n, t.height, t.width, 3],
        };
        let input = TensorRef::from_array_view((shape, tensor))
            .map_err(|e| EngineError::Inference(e.to_string()))?;
        // A panic in another thread mid-run leaves the session usable.
        let mut session = lock(&self.session);
        let outputs = session
            .run(ort::inputs![self.info.input_name.as_str() => input])
            .map_err(|e| EngineError::Inference(e.to_string()))?;
        let (_, scores) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| EngineError::Inference(e.to_string()))?;
        if scores.len() != n * self.info.spec.classes {
            return Err(EngineError::Inference(format!(
                "the model returned {} scores for {n} images of {} classes",
                scores.len(),
                self.info.spec.classes
            )));
        }
        Ok(scores.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensorrt_profile_follows_the_input_size() {
        let meta = ModelMetadata {
            input_size: Some(224),
            ..Default::default()
        };
        let own = model_spec(&[-1, 3, -1, -1], &[-1, 1000], &meta, None).expect("valid");
        assert_eq!(profile_shape("input", &own.tensor), "input:1x3x224x224");
        let small = model_spec(&[-1, 3, -1, -1], &[-1, 1000], &meta, Some(160)).expect("valid");
        assert_eq!(profile_shape("input", &small.tensor), "input:1x3x160x160");
        let nhwc = model_spec(&[-1, -1, -1, 3], &[-1, 1000], &meta, Some(300)).expect("valid");
        assert_eq!(profile_shape("x", &nhwc.tensor), "x:1x300x300x3");
    }

    #[test]
    fn input_size_is_part_of_the_session_key() {
        use std::hash::{BuildHasher, RandomState};
        let own = EngineOptions::default();
        let small = EngineOptions {
            input_size: Some(160),
            ..Default::default()
        };
        assert_ne!(own, small);
        let hasher = RandomState::new();
        assert_ne!(hasher.hash_one(&own), hasher.hash_one(&small));
    }
}
