//! The one place a backend is opened: ONNX Runtime in process, or the model on
//! inference servers. Whoever loads a model asks here and gets a running backend, its
//! warm-up answer and what to tell the user; nothing else knows which backend runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::onnxruntime::{
    EngineError, EngineOptions, Int8Kernels, OnnxRuntime, ProviderOptions, Spinning,
    THREADS_PER_CORE,
};
use super::remote::{Endpoint, MAX_TIMEOUT_MS, Remote, RemoteError, RemoteOptions, unencrypted};
use super::{Backend, Batch, batching};
use crate::core::report::{Kind, LoadError, Note};

/// `threads`, `sessions` and the execution provider, for a model run in process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineRequest {
    pub threads: u32,
    /// Sessions asked of the model's pool; 0 = automatic.
    pub sessions: u32,
    pub provider: ProviderOptions,
    /// Whether ONNX Runtime's intra-op threads spin (`spinning`).
    pub spinning: Spinning,
}

/// `inference-server` and its companions; no endpoint = in process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerRequest {
    /// Parsed when the property was set.
    pub endpoints: Vec<Endpoint>,
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

impl ServerRequest {
    pub fn is_remote(&self) -> bool {
        !self.endpoints.is_empty()
    }
}

/// What to open: a model file (None only for a server's model with `server-model` and
/// `labels-file` set), at which input size, reading which output, on what.
#[derive(Debug, Clone, Copy)]
pub struct OpenRequest<'a> {
    pub path: Option<&'a Path>,
    pub input_size: Option<usize>,
    pub output_name: Option<&'a str>,
    pub engine: &'a EngineRequest,
    pub server: &'a ServerRequest,
}

/// A backend ready to run, and its warm-up inference.
pub struct Opened {
    pub backend: Arc<dyn Backend>,
    /// The scores of the warm-up's first image, for deciding the activation.
    pub warm_row: Vec<f32>,
    pub per_image: Duration,
}

/// Opens what `request` asks for; `notes` gets what to tell the user, also when opening
/// fails (a warning about the settings can be the clue to the error).
pub fn open(request: &OpenRequest<'_>, notes: &mut Vec<Note>) -> Result<Opened, LoadError> {
    let mut options = EngineOptions {
        threads: request.engine.threads as usize,
        input_size: request.input_size,
        provider: request.engine.provider.clone(),
        output_name: request.output_name.map(str::to_string),
        spinning: request.engine.spinning,
    };
    if request.server.is_remote() {
        return connect(request, &options, notes);
    }
    let Some(path) = request.path else {
        return Err(LoadError::new(
            Kind::Settings,
            "no model file: set model or model-file",
        ));
    };
    let (threads, sessions) = cap_threads(request.engine, notes);
    options.threads = threads as usize;
    let backend = OnnxRuntime::load(path, &options, sessions as usize).map_err(engine_error)?;
    notes.push(Note::Info(format!(
        "{} session(s) of {} in this process's pool",
        backend.pool_size(),
        path.display()
    )));
    notes.extend(fallback_note(&backend, &options));
    notes.extend(int8_note(&backend));
    let warm_up = backend.warm_up();
    if let Some(why) = &warm_up.batch_refused {
        notes.push(Note::Info(format!(
            "the model declares a batch axis but refused a batch of two ({why}); regions \
             are classified one at a time"
        )));
    }
    notes.push(Note::Debug(format!(
        "scores from output '{}'",
        backend.output_name()
    )));
    if let Some(spin) = backend.telemetry().spinning {
        notes.push(Note::Debug(format!(
            "ONNX Runtime threads spinning: {} ({})",
            spin.mode, spin.why
        )));
    }
    Ok(Opened {
        warm_row: warm_up.row.clone(),
        per_image: warm_up.per_image,
        backend: Arc::new(backend),
    })
}

/// `threads` and `sessions` held to [`THREADS_PER_CORE`] threads per core of this
/// machine for the model's sessions together, with a warning where they are lowered.
fn cap_threads(engine: &EngineRequest, notes: &mut Vec<Note>) -> (u32, u32) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (threads, sessions) = (engine.threads, engine.sessions);
    let capped = super::onnxruntime::capped_threads(threads, sessions, cores);
    if capped != (threads, sessions) {
        notes.push(Note::Warning {
            kind: Kind::Settings,
            text: format!(
                "threads={threads} x sessions={sessions} asks for {} ONNX Runtime threads, \
                 more than {THREADS_PER_CORE} per core ({} on {cores} cores): using \
                 threads={} sessions={}",
                u64::from(threads.max(1)) * u64::from(sessions.max(1)),
                THREADS_PER_CORE * cores,
                capped.0,
                capped.1
            ),
            hint: Some("lower threads or sessions; threads=0 divides the cores among the sessions"),
        });
    }
    capped
}

/// A model file's load error, in the kind a user would look for.
pub fn engine_error(e: EngineError) -> LoadError {
    let kind = match e {
        EngineError::Runtime(_) => Kind::Init,
        EngineError::ModelFile { .. } | EngineError::ExternalData { .. } => Kind::NotFound,
        _ => Kind::Settings,
    };
    LoadError::new(kind, e)
}

/// Which providers failed before the one in use: a warning when the user asked for a
/// specific provider, a log line for `auto`.
fn fallback_note(backend: &OnnxRuntime, options: &EngineOptions) -> Option<Note> {
    if backend.failures().is_empty() {
        return None;
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
    Some(if options.provider.warns_on_fallback() {
        Note::Warning {
            kind: Kind::Fallback,
            text,
            hint: Some("set fallback=false to fail instead of falling back"),
        }
    } else {
        Note::Info(format!("execution-provider=auto: {text}"))
    })
}

/// Whether an int8 model gets ONNX Runtime's fast int8 kernels: it runs either way, but
/// without them it gains less over fp32 (docs/performance.md, "Int8 models").
fn int8_note(backend: &OnnxRuntime) -> Option<Note> {
    let info = backend.info();
    let quantization = info.quantization.as_ref()?;
    if !backend.on_cpu() {
        return None;
    }
    Some(match super::onnxruntime::int8_kernels() {
        Int8Kernels::Fast(feature) => Note::Info(format!(
            "model '{}' is {}: this CPU has {}, ONNX Runtime's fast int8 path",
            info.name, quantization, feature
        )),
        Int8Kernels::Slow => Note::LogWarning(format!(
            "model '{}' is {}, but this CPU has no VNNI (avx512vnni, avxvnni) or Arm \
             dot-product instructions: ONNX Runtime takes its slow int8 path, which gains \
             less over fp32 (and a custom model with full-range 8-bit weights may lose \
             accuracy to saturated 16-bit sums); the fp32 model may be the better choice here",
            info.name, quantization
        )),
    })
}

/// The model on inference servers: the local file's metadata (when there is one) for
/// preprocessing and labels, the servers for the model.
fn connect(
    request: &OpenRequest<'_>,
    options: &EngineOptions,
    notes: &mut Vec<Note>,
) -> Result<Opened, LoadError> {
    let server = request.server;
    let local = match request.path {
        Some(path) => Some(super::onnxruntime::describe(path, options).map_err(engine_error)?),
        None => None,
    };
    let Some(model) = server
        .model
        .clone()
        .or_else(|| local.as_ref().map(|l| l.name.clone()))
    else {
        return Err(LoadError::new(
            Kind::Settings,
            "server-model: set it to the model's name on the server",
        ));
    };
    let plain = unencrypted(&server.endpoints);
    if !plain.is_empty() {
        let listed: Vec<String> = plain.iter().map(ToString::to_string).collect();
        notes.push(Note::warning(
            Kind::Settings,
            format!(
                "frames travel unencrypted to {}: use grpcs:// for servers on other machines",
                listed.join(", ")
            ),
        ));
    }
    // TLS files with no grpcs:// endpoint are a sign of a typo in the scheme.
    let unused: Vec<&str> = [
        ("server-ca-file", &server.ca_file),
        ("server-cert-file", &server.cert_file),
        ("server-key-file", &server.key_file),
    ]
    .iter()
    .filter(|(_, file)| file.is_some())
    .map(|(name, _)| *name)
    .collect();
    if !unused.is_empty() && !server.endpoints.iter().any(|e| e.tls) {
        notes.push(Note::warning(
            Kind::Settings,
            format!(
                "{} set, but no endpoint is grpcs://: TLS is not used; write grpcs://HOST:PORT",
                unused.join(", ")
            ),
        ));
    }
    let remote_options = RemoteOptions {
        endpoints: server.endpoints.clone(),
        model: model.clone(),
        timeout: Duration::from_millis(server.timeout_ms.clamp(1, MAX_TIMEOUT_MS).into()),
        max_in_flight: server.max_in_flight.max(1) as usize,
        ca_file: server.ca_file.clone(),
        cert_file: server.cert_file.clone(),
        key_file: server.key_file.clone(),
        input_size: options.input_size,
        token_file: server.token_file.clone(),
    };
    let remote = Remote::connect(&remote_options, local).map_err(|e| {
        let kind = match e {
            RemoteError::NoneReady { .. } => Kind::Unreachable,
            RemoteError::TlsFile { .. } | RemoteError::TokenFile { .. } => Kind::OpenRead,
            RemoteError::Refused { .. } => Kind::NotAuthorized,
            RemoteError::Runtime(_) => Kind::Init,
            _ => Kind::Settings,
        };
        LoadError::new(kind, e)
    })?;
    if !remote.unready.is_empty() {
        notes.push(Note::warning(
            Kind::Unreachable,
            format!(
                "model '{}' is not ready on every inference server; they are retried: {}",
                model,
                remote.unready.join("; ")
            ),
        ));
    }
    // A first request, so the first frame is not slow and the scores' form is known; a
    // batch of two where the server takes batches, as the in-process warm-up does.
    let images = if remote.info().batchable { 2 } else { 1 };
    let zeros = vec![0.0f32; images * remote.info().spec.tensor.len()];
    let started = Instant::now();
    let scores = batching::run(
        &remote,
        &Batch {
            deadline: Some(started + remote.load_timeout()),
            ..Batch::new(&zeros, images)
        },
    )
    // The error names the model and the endpoint.
    .map_err(|e| LoadError::new(Kind::Read, e))?;
    let per_image = started.elapsed() / images as u32;
    notes.push(Note::Info(format!(
        "model '{}' on {}: {} bytes per image on the wire, first answer from {} in {:?}",
        model,
        remote.info().placement.provider,
        remote.bytes_per_image(),
        scores.provider.as_deref().unwrap_or("?"),
        per_image
    )));
    let classes = remote.info().spec.classes;
    Ok(Opened {
        warm_row: scores.rows[..classes.min(scores.rows.len())].to_vec(),
        per_image,
        backend: Arc::new(remote),
    })
}
