//! NULL→READY without GStreamer: the model file, the backend (opened in one place,
//! `backend::open`), the labels, the activation, the normalisation and the custom
//! classes, ending in a ready [`Classifier`]. Errors and warnings come back as values
//! (`report`), which the element posts.

pub mod classes;
pub mod live;
pub mod request;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::core::backend::ElementType;
use crate::core::backend::open::{self, OpenRequest};
use crate::core::classifier::Classifier;
use crate::core::model::labels::{self, LabelsError};
use crate::core::model::{self, ModelSpec, zoo};
use crate::core::postprocess::{Activation, Postprocessor};
use crate::core::preprocess::ResizeMode;
use crate::core::report::{Kind, LoadError, Note};
use classes::EmbedOn;
use request::LoadRequest;

/// A model ready to classify, from NULL→READY to READY→NULL; shared (`Arc`) by the
/// streaming thread, the async worker and the property getters, and swapped whole.
pub struct Loaded {
    pub classifier: Arc<Classifier>,
    /// What frames are preprocessed into.
    pub spec: ModelSpec,
    /// Added to upstream latency in `sync` mode: twice the warm-up inference.
    pub latency: Duration,
    /// With `classes-dir`: examples embedded, and taken from the cache.
    pub examples: Option<(u64, u64)>,
    /// The model file (or the server's model name), which keys the classes cache.
    pub path: PathBuf,
    /// Why this replaced the model in use while running; None for a load at NULL→READY.
    pub swapped: Option<live::Swapped>,
}

/// Loads what `request` asks for; `id` names the results, `resize_mode` is the one the
/// custom classes' examples are embedded with. `notes` gets what to tell the user, also
/// when loading fails.
pub fn load(
    request: &LoadRequest,
    id: String,
    resize_mode: ResizeMode,
    notes: &mut Vec<Note>,
) -> Result<Loaded, LoadError> {
    let never = AtomicBool::new(false);
    load_on(request, id, resize_mode, (&never, EmbedOn::Model), notes)
}

/// [`load`] while frames flow (a model loaded in the background): the custom classes'
/// examples are embedded on a session apart from the frames' (where the backend has
/// one, [`EmbedOn::Aside`]), and given up once `cancel` is set (the element stops).
pub fn load_until(
    request: &LoadRequest,
    id: String,
    resize_mode: ResizeMode,
    cancel: &AtomicBool,
    notes: &mut Vec<Note>,
) -> Result<Loaded, LoadError> {
    load_on(request, id, resize_mode, (cancel, EmbedOn::Aside), notes)
}

fn load_on(
    request: &LoadRequest,
    id: String,
    resize_mode: ResizeMode,
    (cancel, embed_on): (&AtomicBool, EmbedOn),
    notes: &mut Vec<Note>,
) -> Result<Loaded, LoadError> {
    let asked = &request.model;
    let remote = request.server.is_remote();
    // None: no local file; the server's metadata describes the model and labels-file
    // names its classes (docs/remote-inference.md).
    let path = match &asked.file {
        Some(file) => Some(file.clone()),
        None if remote && request.server.model.is_some() && asked.labels_file.is_some() => None,
        None => Some(zoo::resolve(&asked.name).map_err(|e| {
            let kind = match e {
                zoo::ZooError::Unknown { .. } => Kind::Settings,
                zoo::ZooError::NotInstalled { .. } => Kind::Init,
            };
            LoadError::new(kind, e)
        })?),
    };
    let input_size = model::requested_input_size(asked.input_size.into())
        .map_err(|e| LoadError::new(Kind::Settings, e))?;
    if remote {
        classes::refuse_remote(&request.classes)?;
    }
    let started = Instant::now();
    let request_backend = OpenRequest {
        path: path.as_deref(),
        input_size,
        output_name: asked.output_name.as_deref(),
        engine: &request.engine,
        server: &request.server,
    };
    let opened = open::open(&request_backend, notes)?;
    let backend = opened.backend;
    let info = backend.info().clone();
    // Messages name the server's model where there is no file.
    let path = path.unwrap_or_else(|| PathBuf::from(&info.name));
    let mut labels = labels::choose(
        asked.labels_file.as_deref(),
        info.labels.as_deref(),
        &path,
        info.spec.classes,
    )
    .map_err(|e| match e {
        LabelsError::Count { .. } => LoadError::new(Kind::Settings, e),
        _ => LoadError::new(Kind::OpenRead, e),
    })?;
    let mut activation = Activation::decide(asked.activation, info.spec.output, &opened.warm_row)
        .map_err(|e| {
        LoadError::new(Kind::Settings, format!("model '{}': {}", path.display(), e))
    })?;
    let spec = normalised_spec(request, &info, &path, notes);
    notes.push(Note::Info(format!(
        "loaded model '{}' from {} on {} in {:?}: {}x{} ({}) {:?} {:?}, {} classes, {}",
        info.name,
        path.display(),
        info.placement.provider,
        started.elapsed(),
        spec.tensor.width,
        spec.tensor.height,
        match input_size {
            Some(size) => format!("input-size={size}"),
            None => "the model's own size".to_string(),
        },
        spec.tensor.layout,
        spec.tensor.order,
        spec.classes,
        activation.describe()
    )));
    let embedding = classes::load(
        &request.classes,
        &path,
        (&backend, embed_on),
        (&spec, resize_mode),
        (cancel, notes),
    )?;
    if let Some(custom) = &embedding.classes {
        // Class scores are similarities in [0, 1] already.
        labels = custom.labels.clone();
        activation = Activation::None;
    }
    let classifier = Classifier::new(id, backend, Postprocessor::new(activation, labels))
        .with_embedding(embedding.classes, request.classes.attach_embedding);
    Ok(Loaded {
        classifier: Arc::new(classifier),
        spec,
        latency: 2 * opened.per_image,
        examples: embedding.examples,
        path,
        swapped: None,
    })
}

/// The model's preprocessing with the element's `input-mean`, `input-std` and
/// `color-order` applied; a uint8 model takes pixels as they are, in the order it wants.
fn normalised_spec(
    request: &LoadRequest,
    info: &crate::core::backend::ModelInfo,
    path: &Path,
    notes: &mut Vec<Note>,
) -> ModelSpec {
    let given = request.model.normalisation;
    let mut spec = info.spec.clone();
    if info.input_type == ElementType::Uint8 {
        if let Some(order) = given.order {
            spec.tensor.order = order;
        }
        if given.mean.is_some() || given.std.is_some() {
            notes.push(Note::Warning {
                kind: Kind::Settings,
                text: format!(
                    "model '{}' takes uint8 pixels as they are: input-mean and input-std \
                     are ignored",
                    path.display()
                ),
                hint: Some(
                    "unset them; such a model normalises inside (color-order still applies)",
                ),
            });
        }
    } else {
        given.apply(&mut spec.tensor);
    }
    notes.push(Note::Debug(format!(
        "input {} {:?}, {} classes, normalisation scale {} mean {:?} std {:?} {:?}",
        info.input_type.name(),
        spec.tensor.layout,
        spec.classes,
        spec.tensor.scale,
        spec.tensor.mean,
        spec.tensor.std,
        spec.tensor.order
    )));
    spec
}
