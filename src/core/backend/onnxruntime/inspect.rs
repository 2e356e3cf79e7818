//! What a committed session takes and gives: input and output names, element types,
//! shapes and the model's metadata, checked against what an image classifier must be.

use std::path::Path;

use ort::session::Session;

use super::error::LoadError;
use super::io;
use super::props;
use crate::core::backend::{ElementType, ModelInfo, Placement};
use crate::core::model::metadata::LABELS_KEY;
use crate::core::model::{ModelMetadata, ModelSpec, ShapeError, model_spec};

/// What `inspect` reads of a committed session.
pub(super) struct Inspected {
    pub(super) input: String,
    pub(super) input_type: ElementType,
    pub(super) output: String,
    pub(super) output_type: ElementType,
    pub(super) spec: ModelSpec,
    pub(super) meta: ModelMetadata,
    pub(super) batchable: bool,
    /// The embedding output, its type and width, if the model has one.
    pub(super) embedding: Option<(String, ElementType, usize)>,
}

impl Inspected {
    /// What the element is told of the model at `path`; its name is the metadata's, else
    /// the file's stem.
    pub(super) fn info(&self, path: &Path) -> ModelInfo {
        ModelInfo {
            name: self.meta.name.clone().unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
            spec: self.spec.clone(),
            input_type: self.input_type,
            labels: self.meta.labels.clone(),
            batchable: self.batchable,
            quantization: self.meta.quantization.clone(),
            embedding: self.embedding.as_ref().map(|e| e.2),
            placement: Placement::default(),
        }
    }
}

/// Reads names, types, shapes and metadata of a committed session of the model at
/// `path`, at `input_size` and with `output_name` (the session's options).
pub(super) fn inspect(
    session: &Session,
    path: &Path,
    (input_size, output_name): (Option<usize>, Option<&str>),
) -> Result<Inspected, LoadError> {
    let meta = read_metadata(session, path)?;
    if session.inputs().len() != 1 {
        return Err(ShapeError::InputCount(session.inputs().len()).into());
    }
    if session.outputs().is_empty() {
        return Err(ShapeError::OutputCount(0).into());
    }
    let input = &session.inputs()[0];
    let (input_type, input_shape) = io::input_type(input.dtype())?;
    let batchable = input_shape.first().is_some_and(|&n| n < 0);
    let embedding_name = meta.embedding.as_deref().unwrap_or("embedding");
    let (output, output_type, output_shape) = choose_output(session, output_name, embedding_name)?;
    let mut spec = model_spec(&input_shape, &output_shape, &meta, input_size)?;
    let embedding = find_embedding(session, &meta, &output);
    if input_type == ElementType::Uint8 {
        // The model normalises inside: it gets the pixels as they are.
        spec.tensor.scale = 1.0;
        spec.tensor.mean = [0.0; 3];
        spec.tensor.std = [1.0; 3];
    }
    Ok(Inspected {
        input: input.name().to_string(),
        input_type,
        output,
        output_type,
        spec,
        meta,
        batchable,
        embedding,
    })
}

/// The output named by `imgclassify.embedding`, else one named `embedding`: per image,
/// a fixed number of floats (`[N, D]`, or `[N, D, 1, 1]` as some exports pool). One of
/// another shape is not taken for an embedding, and the model loads as before.
fn find_embedding(
    session: &Session,
    meta: &ModelMetadata,
    scores: &str,
) -> Option<(String, ElementType, usize)> {
    let wanted = meta.embedding.as_deref().unwrap_or("embedding");
    let output = session
        .outputs()
        .iter()
        .find(|o| o.name() == wanted && o.name() != scores)?;
    let (ty, shape) = io::output_type(output.dtype()).ok()?;
    // Saturating: a declared shape can multiply past usize, and the width is checked
    // against MAX_EMBEDDING_WIDTH where it is used.
    let width = shape.iter().skip(1).try_fold(1usize, |w, &d| {
        (d > 0).then(|| w.saturating_mul(d as usize))
    });
    width
        .filter(|&w| shape.len() >= 2 && w > 0)
        .map(|width| (wanted.to_string(), ty, width))
}

/// The output named `name`, else the first whose type and shape are class scores,
/// passing over the embedding output (`[N, D]` too, but features, not scores).
fn choose_output(
    session: &Session,
    name: Option<&str>,
    embedding: &str,
) -> Result<(String, ElementType, Vec<i64>), LoadError> {
    let outputs = session.outputs();
    if let Some(name) = name {
        let Some(output) = outputs.iter().find(|o| o.name() == name) else {
            return Err(LoadError::NoSuchOutput {
                name: name.to_string(),
                outputs: outputs
                    .iter()
                    .map(|o| format!("'{}'", o.name()))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let (ty, shape) = io::output_type(output.dtype())?;
        return Ok((name.to_string(), ty, shape));
    }
    let mut first_error = None;
    for output in outputs.iter().filter(|o| o.name() != embedding) {
        match io::output_type(output.dtype()) {
            Ok((ty, shape)) if crate::core::model::classes_of(&shape).is_some() => {
                return Ok((output.name().to_string(), ty, shape));
            }
            Ok((_, shape)) => {
                first_error.get_or_insert(LoadError::Shape(ShapeError::Output(shape)));
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(ShapeError::OutputCount(0).into()))
}

fn read_metadata(session: &Session, path: &Path) -> Result<ModelMetadata, LoadError> {
    let metadata = session.metadata()?;
    let keys = metadata.custom_keys()?;
    let mut entries: Vec<(String, String)> = keys
        .into_iter()
        .filter_map(|k| metadata.custom(&k).map(|v| (k, v)))
        .collect();
    // ONNX Runtime cuts values at a NUL byte (props.rs); the labels are taken whole from
    // the file, so that a NUL in them is refused (labels::choose) instead of cut off.
    if let Some((_, labels)) = entries.iter_mut().find(|(k, _)| k == LABELS_KEY)
        && let Some(whole) = props::metadata_value(path, LABELS_KEY)
        && whole.contains(&0)
    {
        *labels = String::from_utf8_lossy(&whole).into_owned();
    }
    Ok(ModelMetadata::parse(
        entries.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )?)
}
