//! NULL→READY: the model file, the backend, the labels and the activation, each failure
//! mapped to the GStreamer error domain a user would look in.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::CAT;
use super::classifier::Classifier;
use super::request::{LoadRequest, engine_error};
use crate::backend::Backend;
use crate::backend::ElementType;
use crate::backend::onnxruntime::{
    EngineOptions, Int8Kernels, OnnxRuntime, int8_kernels, set_log_sink,
};
use crate::model::labels::{self, LabelsError};
use crate::model::{self, ModelSpec, zoo};
use crate::postprocess::{Activation, Postprocessor};

/// What lives from NULL→READY to READY→NULL.
pub struct Model {
    pub classifier: Arc<Classifier>,
    pub spec: ModelSpec,
    /// Where inferences run (`active-provider`).
    pub active: String,
    /// Added to upstream latency in `sync` mode: twice the warm-up inference.
    pub latency: gst::ClockTime,
}

pub fn load(
    element: &super::ImgClassify,
    request: &LoadRequest,
) -> Result<Model, gst::ErrorMessage> {
    set_log_sink(Arc::new(|level, line| {
        use ort::logging::LogLevel;
        let level = match level {
            LogLevel::Verbose => gst::DebugLevel::Log,
            LogLevel::Info => gst::DebugLevel::Info,
            LogLevel::Warning => gst::DebugLevel::Warning,
            LogLevel::Error | LogLevel::Fatal => gst::DebugLevel::Error,
        };
        gst::log_with_level!(CAT, level, "onnxruntime: {}", line);
    }));
    let remote = !request.server.endpoints.is_empty();
    // None: no local file; the server's metadata describes the model and labels-file
    // names its classes (docs/remote-inference.md).
    let path = match &request.model_file {
        Some(file) => Some(file.clone()),
        None if remote && request.server.model.is_some() && request.labels_file.is_some() => None,
        None => Some(zoo::resolve(&request.model).map_err(|e| {
            let kind = match e {
                zoo::ZooError::Unknown { .. } => gst::LibraryError::Settings,
                zoo::ZooError::NotInstalled { .. } => gst::LibraryError::Init,
            };
            gst::error_msg!(kind, ("{}", e))
        })?),
    };
    let input_size = model::requested_input_size(request.input_size.into())
        .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("{}", e)))?;
    let options = EngineOptions {
        threads: request.threads as usize,
        input_size,
        provider: request.provider.clone(),
        output_name: request.output_name.clone(),
    };
    let started = Instant::now();
    if remote {
        super::classes::refuse_remote(request)?;
        let remote = super::remote::connect(element, request, path.as_deref(), &options)?;
        // Messages name the server's model where there is no file.
        let path = path.unwrap_or_else(|| PathBuf::from(remote.backend.info().name.clone()));
        let loaded = Loaded {
            warm_row: remote.warm_row,
            per_image: remote.per_image,
            output_name: "of the server's model".to_string(),
            active: remote.backend.provider(),
            backend: remote.backend,
        };
        return finish(element, request, &path, input_size, started, loaded);
    }
    // Only a remote model goes without a file.
    let Some(path) = path else {
        return Err(gst::error_msg!(
            gst::LibraryError::Settings,
            ("no model file: set model or model-file")
        ));
    };
    let backend =
        OnnxRuntime::load(&path, &options, request.sessions as usize).map_err(engine_error)?;
    gst::info!(
        CAT,
        obj = element,
        "{} session(s) of {} in this process's pool",
        backend.pool_size(),
        path.display()
    );
    report_fallback(element, &backend, &options);
    report_int8_path(element, &backend);
    let warm_up = backend.warm_up();
    if let Some(why) = &warm_up.batch_refused {
        gst::info!(
            CAT,
            obj = element,
            "the model declares a batch axis but refused a batch of two ({}); regions are \
             classified one at a time",
            why
        );
    }
    let loaded = Loaded {
        warm_row: warm_up.row.clone(),
        per_image: warm_up.per_image,
        output_name: format!("'{}'", backend.output_name()),
        active: backend.active().to_string(),
        backend: Arc::new(backend),
    };
    finish(element, request, &path, input_size, started, loaded)
}

/// A backend ready to run, and its warm-up inference.
struct Loaded {
    backend: Arc<dyn Backend>,
    /// The scores of the warm-up's first image.
    warm_row: Vec<f32>,
    per_image: std::time::Duration,
    /// The output scores are read from, for the debug log.
    output_name: String,
    /// Where inferences run (`active-provider`).
    active: String,
}

/// Labels, activation and normalisation, whatever the backend.
fn finish(
    element: &super::ImgClassify,
    request: &LoadRequest,
    path: &std::path::Path,
    input_size: Option<usize>,
    started: Instant,
    loaded: Loaded,
) -> Result<Model, gst::ErrorMessage> {
    let backend = &loaded.backend;
    let info = backend.info().clone();
    let labels = labels::choose(
        request.labels_file.as_deref(),
        info.labels.as_deref(),
        path,
        info.spec.classes,
    )
    .map_err(|e| match e {
        LabelsError::Count { .. } => gst::error_msg!(gst::LibraryError::Settings, ("{}", e)),
        _ => gst::error_msg!(gst::ResourceError::OpenRead, ("{}", e)),
    })?;
    let latency = gst::ClockTime::from_nseconds(2 * loaded.per_image.as_nanos() as u64);
    let mut activation = Activation::decide(request.activation, info.spec.output, &loaded.warm_row)
        .map_err(|e| {
            gst::error_msg!(
                gst::LibraryError::Settings,
                ("model '{}': {}", path.display(), e)
            )
        })?;
    let mut spec = info.spec.clone();
    if info.input_type == ElementType::Uint8 {
        // The pixels go as they are (such a model normalises inside), but in the channel
        // order it wants.
        let given = request.normalisation;
        if let Some(order) = given.order {
            spec.tensor.order = order;
        }
        if given.mean.is_some() || given.std.is_some() {
            gst::element_warning!(
                element,
                gst::LibraryError::Settings,
                (
                    "model '{}' takes uint8 pixels as they are: input-mean and input-std \
                     are ignored",
                    path.display()
                ),
                ["unset them; such a model normalises inside (color-order still applies)"]
            );
        }
    } else {
        request.normalisation.apply(&mut spec.tensor);
    }
    gst::debug!(
        CAT,
        obj = element,
        "input {} {:?}, scores from output {} ({} classes), normalisation scale {} mean {:?} std {:?} {:?}",
        info.input_type.name(),
        spec.tensor.layout,
        loaded.output_name,
        spec.classes,
        spec.tensor.scale,
        spec.tensor.mean,
        spec.tensor.std,
        spec.tensor.order
    );
    gst::info!(
        CAT,
        obj = element,
        "loaded model '{}' from {} on {} in {:?}: {}x{} ({}) {:?} {:?}, {} classes, {}",
        info.name,
        path.display(),
        loaded.active,
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
        match activation {
            Activation::Sigmoid => "multi-label logits (sigmoid per class)",
            Activation::None => "scores as they are",
            Activation::Guessed =>
                "probabilities, as the warm-up output looked; softmax from the first output that is not",
            Activation::Softmax => "logits",
        }
    );
    let embedding = super::classes::load(element, request, path, backend, &spec)?;
    let mut labels = labels;
    if let Some(custom) = &embedding.classes {
        // Class scores are similarities in [0, 1] already.
        labels = custom.labels.clone();
        activation = Activation::None;
    }
    let classifier = Classifier::new(
        request.classifier_id.clone(),
        Arc::clone(&loaded.backend),
        Postprocessor::new(activation, labels),
    )
    .with_embedding(embedding.classes, request.classes.attach_embedding);
    crate::lock::lock(&classifier.stats).examples = embedding.examples;
    Ok(Model {
        classifier: Arc::new(classifier),
        spec,
        active: loaded.active,
        latency,
    })
}

/// Says in the debug log whether an int8 model gets ONNX Runtime's fast int8 kernels:
/// it runs either way, but without them it gains less over fp32 (docs/performance.md,
/// "Int8 models").
fn report_int8_path(element: &super::ImgClassify, backend: &OnnxRuntime) {
    let info = backend.info();
    let Some(quantization) = &info.quantization else {
        return;
    };
    if !backend.on_cpu() {
        return;
    }
    match int8_kernels() {
        Int8Kernels::Fast(feature) => gst::info!(
            CAT,
            obj = element,
            "model '{}' is {}: this CPU has {}, ONNX Runtime's fast int8 path",
            info.name,
            quantization,
            feature
        ),
        Int8Kernels::Slow => gst::warning!(
            CAT,
            obj = element,
            "model '{}' is {}, but this CPU has no VNNI (avx512vnni, avxvnni) or Arm \
             dot-product instructions: ONNX Runtime takes its slow int8 path, which gains \
             less over fp32 (and a custom model with full-range 8-bit weights may lose \
             accuracy to saturated 16-bit sums); the fp32 model may be the better choice here",
            info.name,
            quantization
        ),
    }
}

/// Says which providers failed before the one in use: a bus warning when the user
/// asked for a specific provider, a log line for `auto`.
fn report_fallback(element: &super::ImgClassify, backend: &OnnxRuntime, options: &EngineOptions) {
    if backend.failures().is_empty() {
        return;
    }
    let reasons: Vec<String> = backend
        .failures()
        .iter()
        .map(|f| {
            format!(
                "execution provider '{}' could not be used: {}",
                f.kind, f.reason
            )
        })
        .collect();
    let text = format!(
        "{}; running on '{}' instead",
        reasons.join("; "),
        backend.active()
    );
    if options.provider.warns_on_fallback() {
        gst::element_warning!(
            element,
            gst::LibraryError::Init,
            ("{}", text),
            ["set fallback=false to fail instead of falling back"]
        );
    } else {
        gst::info!(CAT, obj = element, "execution-provider=auto: {}", text);
    }
}
