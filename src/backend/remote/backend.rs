//! The [`Backend`] over KServe v2 gRPC: connecting and checking each endpoint at load,
//! then one `ModelInfer` per batch, failing over between endpoints within the timeout.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use super::check::{Wire, check, describe_served};
use super::endpoint::Endpoint;
use super::error::RemoteError;
use super::pool::Pool;
use super::proto::grpc_inference_service_client::GrpcInferenceServiceClient;
use super::proto::model_infer_request::{InferInputTensor, InferRequestedOutputTensor};
use super::proto::{
    ModelInferRequest, ModelInferResponse, ModelMetadataRequest, ModelReadyRequest,
};
use super::tensor::{bytes_per_value, datatype, decode_contents, decode_raw, encode};
use crate::backend::{Backend, BackendError, ElementType, ModelInfo, RequestCounts, Scores};
use crate::model::{Layout, TensorSpec};

type Client = GrpcInferenceServiceClient<InterceptedService<Channel, Bearer>>;

/// Adds `authorization: Bearer TOKEN` to every call when a token is set; the value is
/// marked sensitive so tonic and hyper never print it.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// The token file's first line, as a header value.
fn bearer(path: Option<&std::path::Path>) -> Result<Bearer, RemoteError> {
    let Some(path) = path else {
        return Ok(Bearer(None));
    };
    let problem = |problem: String| RemoteError::TokenFile {
        path: path.display().to_string(),
        problem,
    };
    let bytes = crate::files::read_regular(path, 64 << 10).map_err(|e| problem(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| problem("not UTF-8 text".into()))?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err(problem("it is empty".into()));
    }
    // Never echo the value: only say what is wrong with it.
    let mut value = MetadataValue::try_from(format!("Bearer {token}"))
        .map_err(|_| problem("the token holds characters a header cannot carry".into()))?;
    value.set_sensitive(true);
    Ok(Bearer(Some(value)))
}

/// The servers' usual message limit (MLServer's and most clients' default); a batch
/// over it is split into several requests.
const MESSAGE_LIMIT: usize = 4 << 20;
/// Room for the request's other fields.
const HEADROOM: usize = 64 << 10;
/// Connecting and reading the model's metadata at NULL→READY may take longer than one
/// frame's `server-timeout`.
const MIN_LOAD_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct RemoteOptions {
    pub endpoints: Vec<Endpoint>,
    /// The model's name on the servers.
    pub model: String,
    /// Per frame, retries on other endpoints included.
    pub timeout: Duration,
    /// Requests outstanding at once for this element.
    pub max_in_flight: usize,
    /// CA certificates (PEM) that `grpcs://` servers are verified against; None = the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and its key, for servers that require mutual TLS.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// `input-size`, for a model with no local file whose served input size is dynamic.
    pub input_size: Option<usize>,
    /// A file whose first line is a bearer token sent as `authorization`.
    pub token_file: Option<PathBuf>,
}

/// Request counters, for `stats`.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub timed_out: AtomicU64,
}

pub struct Remote {
    /// Taken in `drop` to shut it down without waiting for its thread.
    runtime: Option<tokio::runtime::Runtime>,
    clients: Vec<(Endpoint, Client)>,
    pool: Pool,
    info: ModelInfo,
    model: String,
    timeout: Duration,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    /// Whether a bearer token and a client certificate are sent (for what a refusal
    /// means).
    token: bool,
    identity: bool,
    /// Endpoints not ready at load, one line each, for a warning.
    pub unready: Vec<String>,
    pub counters: Counters,
}

/// Why one endpoint cannot be used.
enum Refusal {
    /// Not reachable or not ready: retried later.
    Down(String),
    /// Its model takes or gives something else: a configuration error.
    Mismatch(String),
    /// It refused the client: the token, or a client certificate it requires.
    Refused(String),
}

/// What the client shows a server, for what a refusal means, and the input size asked
/// for (`input-size`), for a model the server describes.
#[derive(Debug, Clone, Copy)]
struct Credentials {
    token: bool,
    /// TLS without a client certificate.
    tls_without_identity: bool,
    input_size: Option<usize>,
}

/// A status that says the server (or a gateway before it) will not take this client,
/// whatever the moment: a missing or wrong token. None for other errors.
fn refusal(status: &tonic::Status, credentials: Credentials) -> Option<String> {
    let text = status_text(status);
    match status.code() {
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied if credentials.token => Some(
            format!("the server rejected the bearer token of server-token-file ({text})"),
        ),
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => Some(format!(
            "the server requires credentials: set server-token-file to a file holding its \
             bearer token ({text})"
        )),
        _ => None,
    }
}

/// Why the endpoint could not be used, with a hint where the error hides its cause.
fn down_text(status: &tonic::Status, credentials: Credentials) -> String {
    let text = status_text(status);
    // A server that requires a client certificate ends the TLS connection of a client
    // without one. gRPC servers close it without an alert (TLS 1.3 ones may send
    // CertificateRequired), so the client sees only a closed connection.
    let closed = [
        "close_notify",
        "broken pipe",
        "connection reset",
        "CertificateRequired",
    ];
    if credentials.tls_without_identity && closed.iter().any(|c| text.contains(c)) {
        format!(
            "the server closed the TLS connection after the handshake, as servers that \
             require a client certificate (mutual TLS) do with clients without one: set \
             server-cert-file and server-key-file ({text})"
        )
    } else {
        text
    }
}

fn status_text(status: &tonic::Status) -> String {
    use std::error::Error;
    let mut text = format!("{:?}: {}", status.code(), status.message());
    // Transport errors put the cause (refused, reset, TLS) in the source chain.
    let mut source = status.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Each layer tends to repeat the one below's words.
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

fn tls_config(endpoint: &Endpoint, tls: &TlsFiles) -> ClientTlsConfig {
    let config = ClientTlsConfig::new().domain_name(endpoint.host.clone());
    let config = match &tls.ca {
        Some(pem) => config.ca_certificate(Certificate::from_pem(pem)),
        None => config.with_native_roots(),
    };
    match &tls.identity {
        Some((cert, key)) => config.identity(Identity::from_pem(cert, key)),
        None => config,
    }
}

/// What `grpcs://` endpoints are verified against and what the client shows them.
#[derive(Default)]
struct TlsFiles {
    ca: Option<Vec<u8>>,
    /// Client certificate and key, for servers that require mutual TLS.
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl TlsFiles {
    fn read(options: &RemoteOptions) -> Result<TlsFiles, RemoteError> {
        let read = |path: &std::path::Path, what: &'static str| {
            crate::files::read_regular(path, 1 << 20).map_err(|e| RemoteError::TlsFile {
                property: what,
                path: path.display().to_string(),
                problem: e.to_string(),
            })
        };
        let ca = match &options.ca_file {
            Some(path) => Some(read(path, "server-ca-file")?),
            None => None,
        };
        let identity = match (&options.cert_file, &options.key_file) {
            (Some(cert), Some(key)) => {
                let cert = read(cert, "server-cert-file")?;
                let key = read(key, "server-key-file")?;
                // Checked here, where the error can name the file; tonic would only
                // fail the handshake later.
                pem_holds(
                    &cert,
                    "CERTIFICATE",
                    "server-cert-file",
                    options.cert_file.as_deref(),
                )?;
                pem_holds(
                    &key,
                    "PRIVATE KEY",
                    "server-key-file",
                    options.key_file.as_deref(),
                )?;
                Some((cert, key))
            }
            (None, None) => None,
            _ => return Err(RemoteError::HalfIdentity),
        };
        Ok(TlsFiles { ca, identity })
    }
}

/// The PEM text has a block whose label ends with `label` (`PRIVATE KEY` covers the
/// PKCS#8, RSA and EC forms).
fn pem_holds(
    pem: &[u8],
    label: &str,
    property: &'static str,
    path: Option<&std::path::Path>,
) -> Result<(), RemoteError> {
    let text = String::from_utf8_lossy(pem);
    let found = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("-----BEGIN "))
        .any(|l| l.trim_end_matches('-').ends_with(label));
    if found {
        Ok(())
    } else {
        Err(RemoteError::TlsFile {
            property,
            path: path.map(|p| p.display().to_string()).unwrap_or_default(),
            problem: format!("no PEM '{label}' block in it"),
        })
    }
}

fn channel(endpoint: &Endpoint, tls: &TlsFiles, timeout: Duration) -> Result<Channel, RemoteError> {
    let bad = |problem: String| RemoteError::NoneReady {
        model: String::new(),
        reasons: vec![format!("{endpoint}: {problem}")],
    };
    let mut builder = tonic::transport::Endpoint::from_shared(endpoint.uri())
        .map_err(|e| bad(e.to_string()))?
        .connect_timeout(timeout)
        .tcp_nodelay(true);
    if endpoint.tls {
        builder = builder
            .tls_config(tls_config(endpoint, tls))
            .map_err(|e| bad(e.to_string()))?;
    }
    // Lazily: a server that is down at load connects by itself when it comes back.
    Ok(builder.connect_lazy())
}

/// ModelReady, then ModelMetadata checked against the local model; with none, the model
/// as the metadata describes it (`describe_served`) is returned, to check other
/// endpoints against.
async fn probe(
    client: &Client,
    model: &str,
    local: Option<&ModelInfo>,
    deadline: tokio::time::Instant,
    credentials: Credentials,
) -> Result<(Wire, Option<ModelInfo>), Refusal> {
    let late = |_| Refusal::Down("no answer in time".to_string());
    let down = |s: tonic::Status| match refusal(&s, credentials) {
        Some(why) => Refusal::Refused(why),
        None => Refusal::Down(down_text(&s, credentials)),
    };
    let ready = tokio::time::timeout_at(
        deadline,
        client.clone().model_ready(ModelReadyRequest {
            name: model.to_string(),
            version: String::new(),
        }),
    )
    .await
    .map_err(late)?
    .map_err(down)?;
    if !ready.into_inner().ready {
        return Err(Refusal::Down(
            "the server does not have this model ready (wrong server-model, or still loading)"
                .to_string(),
        ));
    }
    let meta = tokio::time::timeout_at(
        deadline,
        client.clone().model_metadata(ModelMetadataRequest {
            name: model.to_string(),
            version: String::new(),
        }),
    )
    .await
    .map_err(late)?
    .map_err(down)?;
    let meta = meta.into_inner();
    match local {
        Some(local) => Ok((check(&meta, local).map_err(Refusal::Mismatch)?, None)),
        None => {
            let served =
                describe_served(&meta, credentials.input_size).map_err(Refusal::Mismatch)?;
            Ok((
                check(&meta, &served).map_err(Refusal::Mismatch)?,
                Some(served),
            ))
        }
    }
}

/// One `ModelInfer` request: the batch as raw contents of the wire's element type.
fn infer_request(
    model: &str,
    wire: &Wire,
    t: &TensorSpec,
    tensors: &[f32],
    images: usize,
) -> ModelInferRequest {
    let dims = match t.layout {
        Layout::Nchw => [images, t.channels, t.height, t.width],
        Layout::Nhwc => [images, t.height, t.width, t.channels],
    };
    ModelInferRequest {
        model_name: model.to_string(),
        inputs: vec![InferInputTensor {
            name: wire.input.clone(),
            datatype: datatype(wire.input_type).to_string(),
            shape: dims.iter().map(|&d| d as i64).collect(),
            ..Default::default()
        }],
        outputs: vec![InferRequestedOutputTensor {
            name: wire.output.clone(),
            ..Default::default()
        }],
        raw_input_contents: vec![encode(wire.input_type, tensors)],
        ..Default::default()
    }
}

impl Remote {
    /// Connects to every endpoint and checks its model; one ready endpoint is enough.
    /// `local` is the model the element takes preprocessing and labels from; None: the
    /// first ready endpoint's metadata describes it.
    pub fn connect(
        options: &RemoteOptions,
        mut local: Option<ModelInfo>,
    ) -> Result<Remote, RemoteError> {
        if options.endpoints.is_empty() {
            return Err(RemoteError::NoEndpoint);
        }
        let tls = TlsFiles::read(options)?;
        let token = bearer(options.token_file.as_deref())?;
        let has_token = token.0.is_some();
        let has_identity = tls.identity.is_some();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("imgclassify-grpc")
            .enable_all()
            .build()
            .map_err(RemoteError::Runtime)?;
        let load_timeout = options.timeout.max(MIN_LOAD_TIMEOUT);
        let mut clients = Vec::new();
        {
            let _inside = runtime.enter();
            for endpoint in &options.endpoints {
                let channel = channel(endpoint, &tls, load_timeout).map_err(|e| match e {
                    RemoteError::NoneReady { reasons, .. } => RemoteError::NoneReady {
                        model: options.model.clone(),
                        reasons,
                    },
                    e => e,
                })?;
                clients.push((
                    endpoint.clone(),
                    GrpcInferenceServiceClient::with_interceptor(channel, token.clone()),
                ));
            }
        }
        let pool = Pool::new(clients.len());
        let mut unready = Vec::new();
        let mut first: Option<Wire> = None;
        for (i, (endpoint, client)) in clients.iter().enumerate() {
            let deadline = tokio::time::Instant::now() + load_timeout;
            let credentials = Credentials {
                token: has_token,
                tls_without_identity: endpoint.tls && !has_identity,
                input_size: options.input_size,
            };
            let probed = probe(
                client,
                &options.model,
                local.as_ref(),
                deadline,
                credentials,
            );
            match runtime.block_on(probed) {
                Ok((wire, served)) => {
                    if local.is_none() {
                        local = served;
                    }
                    if let Some(seen) = &first
                        && seen.input_type != wire.input_type
                    {
                        return Err(RemoteError::Mismatch {
                            endpoint: endpoint.to_string(),
                            model: options.model.clone(),
                            problem: format!(
                                "its input is {} where an earlier endpoint's is {}; all \
                                 endpoints must serve the same model",
                                datatype(wire.input_type),
                                datatype(seen.input_type)
                            ),
                        });
                    }
                    first.get_or_insert(wire.clone());
                    pool.checked(i, wire);
                }
                Err(Refusal::Mismatch(problem)) => {
                    return Err(RemoteError::Mismatch {
                        endpoint: endpoint.to_string(),
                        model: options.model.clone(),
                        problem,
                    });
                }
                Err(Refusal::Refused(problem)) => {
                    return Err(RemoteError::Refused {
                        endpoint: endpoint.to_string(),
                        model: options.model.clone(),
                        problem,
                    });
                }
                Err(Refusal::Down(why)) => {
                    pool.failed(i, Instant::now());
                    unready.push(format!("{endpoint}: {why}"));
                }
            }
        }
        let (Some(wire), Some(mut info)) = (first, local) else {
            return Err(RemoteError::NoneReady {
                model: options.model.clone(),
                reasons: unready,
            });
        };
        info.input_type = wire.input_type;
        info.batchable &= wire.batchable;
        if wire.input_type == ElementType::Uint8 {
            // The served model normalises inside: it gets the pixels as they are.
            info.spec.tensor.scale = 1.0;
            info.spec.tensor.mean = [0.0; 3];
            info.spec.tensor.std = [1.0; 3];
        }
        Ok(Remote {
            runtime: Some(runtime),
            clients,
            pool,
            info,
            model: options.model.clone(),
            timeout: options.timeout,
            in_flight: Arc::new(Semaphore::new(options.max_in_flight.max(1))),
            max_in_flight: options.max_in_flight.max(1),
            token: has_token,
            identity: has_identity,
            unready,
            counters: Counters::default(),
        })
    }

    /// How long connecting and the first request may take: at least `MIN_LOAD_TIMEOUT`,
    /// so a server slower than `server-timeout` still loads (its frames then pass
    /// without fresh results).
    pub fn load_timeout(&self) -> Duration {
        self.timeout.max(MIN_LOAD_TIMEOUT)
    }

    /// Bytes of one image's tensor on the wire.
    pub fn bytes_per_image(&self) -> usize {
        self.info.spec.tensor.len() * bytes_per_value(self.info.input_type)
    }

    fn request(&self, wire: &Wire, tensors: &[f32], images: usize) -> ModelInferRequest {
        infer_request(&self.model, wire, &self.info.spec.tensor, tensors, images)
    }

    fn scores(
        &self,
        wire: &Wire,
        response: ModelInferResponse,
        images: usize,
        endpoint: &Endpoint,
    ) -> Result<Vec<f32>, BackendError> {
        let bad = |problem: String| {
            BackendError::Runtime(format!("model '{}' on {endpoint}: {problem}", self.model).into())
        };
        let Some(index) = response.outputs.iter().position(|o| o.name == wire.output) else {
            return Err(bad(format!("the answer has no output '{}'", wire.output)));
        };
        let output = &response.outputs[index];
        let rows = match response.raw_output_contents.get(index) {
            Some(raw) => decode_raw(&output.datatype, raw),
            None => match &output.contents {
                Some(contents) => decode_contents(&output.datatype, contents),
                None => Err(format!("output '{}' came without contents", wire.output)),
            },
        }
        .map_err(bad)?;
        if rows.len() != images * self.info.spec.classes {
            return Err(bad(format!(
                "the server returned {} scores for {images} images of {} classes",
                rows.len(),
                self.info.spec.classes
            )));
        }
        Ok(rows)
    }

    /// One batch on the first endpoint that answers before `deadline`.
    async fn infer(
        &self,
        tensors: &[f32],
        images: usize,
        deadline: tokio::time::Instant,
    ) -> Result<(Vec<f32>, usize), BackendError> {
        let _permit = tokio::time::timeout_at(deadline, self.in_flight.acquire())
            .await
            .map_err(|_| {
                BackendError::Unavailable(format!(
                    "model '{}': max-in-flight requests still outstanding after server-timeout",
                    self.model
                ))
            })?
            .map_err(|e| BackendError::Runtime(Box::new(e)))?;
        let mut tried = Vec::new();
        let mut reasons = Vec::new();
        while let Some((i, wire)) = self.pool.pick(Instant::now(), &tried) {
            if !tried.is_empty() {
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
            }
            tried.push(i);
            let (endpoint, client) = &self.clients[i];
            let wire = match wire {
                Some(wire) => wire,
                // Down at load: its model is checked before it gets frames.
                None => match probe(
                    client,
                    &self.model,
                    Some(&self.info),
                    deadline,
                    Credentials {
                        token: self.token,
                        tls_without_identity: endpoint.tls && !self.identity,
                        input_size: None,
                    },
                )
                .await
                {
                    Ok((wire, _)) if wire.input_type == self.info.input_type => {
                        self.pool.checked(i, wire.clone());
                        wire
                    }
                    Ok(_) | Err(Refusal::Mismatch(_)) => {
                        self.pool.failed(i, Instant::now());
                        reasons.push(format!("{endpoint}: serves a different model"));
                        continue;
                    }
                    Err(Refusal::Down(why) | Refusal::Refused(why)) => {
                        self.pool.failed(i, Instant::now());
                        reasons.push(format!("{endpoint}: {why}"));
                        continue;
                    }
                },
            };
            let mut request = tonic::Request::new(self.request(&wire, tensors, images));
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            request.set_timeout(left);
            self.counters.sent.fetch_add(1, Ordering::Relaxed);
            match tokio::time::timeout_at(deadline, client.clone().model_infer(request)).await {
                Ok(Ok(response)) => {
                    self.pool.answered(i);
                    let rows = self.scores(&wire, response.into_inner(), images, endpoint)?;
                    return Ok((rows, i));
                }
                // tonic enforces the request's timeout itself and answers `Cancelled`
                // when it expires: that is a timeout too.
                Ok(Err(_)) if tokio::time::Instant::now() >= deadline => {
                    self.counters.timed_out.fetch_add(1, Ordering::Relaxed);
                    self.pool.failed(i, Instant::now());
                    reasons.push(format!("{endpoint}: no answer within server-timeout"));
                    break;
                }
                Ok(Err(status)) => {
                    if status.code() == tonic::Code::DeadlineExceeded {
                        self.counters.timed_out.fetch_add(1, Ordering::Relaxed);
                    } else {
                        self.counters.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    self.pool.failed(i, Instant::now());
                    reasons.push(format!("{endpoint}: {}", status_text(&status)));
                }
                Err(_) => {
                    self.counters.timed_out.fetch_add(1, Ordering::Relaxed);
                    self.pool.failed(i, Instant::now());
                    reasons.push(format!("{endpoint}: no answer within server-timeout"));
                    break;
                }
            }
        }
        if reasons.is_empty() {
            reasons.push("every endpoint is out of rotation, retried with backoff".into());
        }
        Err(BackendError::Unavailable(format!(
            "no inference server answered for model '{}': {}",
            self.model,
            reasons.join("; ")
        )))
    }

    /// `run` with another time limit than `server-timeout` (the first request at load).
    pub fn run_within(
        &self,
        tensors: &[f32],
        images: usize,
        timeout: Duration,
    ) -> Result<Scores, BackendError> {
        let len = self.info.spec.tensor.len();
        if images == 0 || tensors.len() != images * len {
            return Err(BackendError::BatchShape {
                images,
                expected: images * len,
                got: tensors.len(),
            });
        }
        let per_image = self.bytes_per_image();
        if per_image > MESSAGE_LIMIT - HEADROOM {
            return Err(BackendError::Runtime(
                format!(
                    "one image's tensor is {per_image} bytes, over the 4 MiB message limit of \
                     inference servers; use a smaller input-size"
                )
                .into(),
            ));
        }
        let per_request = if self.info.batchable {
            ((MESSAGE_LIMIT - HEADROOM) / per_image).max(1)
        } else {
            1
        };
        let Some(runtime) = &self.runtime else {
            return Err(BackendError::Unavailable("the client is shut down".into()));
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rows = Vec::with_capacity(images * self.info.spec.classes);
        let mut calls = 0;
        let mut answered = 0;
        for part in tensors.chunks(per_request * len) {
            let n = part.len() / len;
            let (scores, endpoint) = runtime.block_on(self.infer(part, n, deadline))?;
            rows.extend(scores);
            calls += 1;
            answered = endpoint;
        }
        Ok(Scores {
            rows,
            calls,
            provider: Some(self.clients[answered].0.to_string()),
            embeddings: Vec::new(),
        })
    }
}

impl Backend for Remote {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Every endpoint; each result names the one that answered it.
    fn provider(&self) -> String {
        self.clients
            .iter()
            .map(|(e, _)| e.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One request per batch, split where it would pass the servers' message limit.
    fn run(&self, tensors: &[f32], images: usize) -> Result<Scores, BackendError> {
        self.run_within(tensors, images, self.timeout)
    }

    fn concurrency(&self) -> usize {
        self.max_in_flight
    }

    fn requests(&self) -> Option<RequestCounts> {
        let c = &self.counters;
        Some(RequestCounts {
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            timed_out: c.timed_out.load(Ordering::Relaxed),
        })
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // The element may be stopped from a thread the runtime must not block.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// Bytes on the wire per request of one 224x224 RGB image (docs/remote-inference.md).
    #[test]
    fn request_bytes_per_element_type() {
        let t = TensorSpec::imagenet(224);
        let size = |ty| {
            let wire = Wire {
                input: "input".into(),
                input_type: ty,
                output: "logits".into(),
                batchable: true,
            };
            infer_request("mobilenet", &wire, &t, &vec![0.5; t.len()], 1).encoded_len()
        };
        let sizes = [
            size(ElementType::Float32),
            size(ElementType::Float16),
            size(ElementType::Uint8),
        ];
        // The tensor (3 x 224 x 224 values) plus about 50 bytes of names and shape.
        assert_eq!(sizes, [602_160, 301_104, 150_577]);
    }

    #[test]
    fn the_token_file_gives_a_sensitive_header_and_errors_never_show_the_token() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret-tok\nignored\n").expect("token file");
        let Bearer(Some(value)) = bearer(Some(&file)).expect("a token") else {
            panic!("no header");
        };
        assert_eq!(value.to_str().expect("ascii"), "Bearer s3cret-tok");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("s3cret"));
        std::fs::write(&file, "bad\u{7f}token-s3cret\n").expect("token file");
        let e = bearer(Some(&file)).err().expect("refused").to_string();
        assert!(e.contains("characters") && !e.contains("s3cret"), "{e}");
        std::fs::write(&file, "\n").expect("token file");
        assert!(bearer(Some(&file)).is_err());
        assert!(bearer(None).expect("no token").0.is_none());
    }

    #[test]
    fn client_identity_files_are_checked_and_half_an_identity_is_refused() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(
            &cert,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .expect("cert");
        std::fs::write(
            &key,
            "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n",
        )
        .expect("key");
        let options = |cert_file: Option<&std::path::Path>, key_file: Option<&std::path::Path>| {
            RemoteOptions {
                endpoints: Vec::new(),
                model: "m".into(),
                timeout: Duration::from_secs(1),
                max_in_flight: 1,
                ca_file: None,
                cert_file: cert_file.map(Into::into),
                key_file: key_file.map(Into::into),
                input_size: None,
                token_file: None,
            }
        };
        let tls = TlsFiles::read(&options(Some(&cert), Some(&key))).expect("an identity");
        assert!(tls.identity.is_some());
        assert!(matches!(
            TlsFiles::read(&options(Some(&cert), None)),
            Err(RemoteError::HalfIdentity)
        ));
        // Certificate and key swapped: the error names the property and the file.
        let e = TlsFiles::read(&options(Some(&key), Some(&cert)))
            .err()
            .expect("refused")
            .to_string();
        assert!(
            e.starts_with("server-cert-file '") && e.contains("CERTIFICATE"),
            "{e}"
        );
    }
}
