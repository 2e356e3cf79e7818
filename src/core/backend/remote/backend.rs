//! The [`Backend`] over KServe v2 gRPC: connecting and checking every endpoint at load
//! (concurrently), then one `ModelInfer` per batch on the client's runtime, failing over
//! between endpoints within the frame's deadline (`failover.rs`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use super::check::Wire;
use super::client::{ANSWER_LIMIT, bearer};
use super::endpoint::Endpoint;
use super::error::RemoteError;
use super::failover::{Counters, Part, Shared};
use super::pool::Pool;
use super::probe::{Credentials, Refusal, probe};
use super::proto::grpc_inference_service_client::GrpcInferenceServiceClient;
use super::task::{NoOutput, Runtime};
use super::tensor::{bytes_per_value, datatype};
use crate::core::backend::{
    Backend, BackendError, Batch, ElementType, ModelInfo, Placement, RequestCounts, Scores,
    Telemetry,
};

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
            crate::core::files::read_regular(path, 1 << 20).map_err(|e| RemoteError::TlsFile {
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

pub struct Remote {
    runtime: Runtime,
    shared: Arc<Shared>,
    timeout: Duration,
    /// Endpoints not ready at load, one line each, for a warning.
    pub unready: Vec<String>,
}

/// A refusal at load as the error that fails NULL→READY; None for an endpoint that is
/// only down (retried later).
fn load_error(refusal: Refusal, endpoint: &Endpoint, model: &str) -> Result<String, RemoteError> {
    match refusal {
        Refusal::Mismatch(problem) => Err(RemoteError::Mismatch {
            endpoint: endpoint.to_string(),
            model: model.to_string(),
            problem,
        }),
        Refusal::Refused(problem) => Err(RemoteError::Refused {
            endpoint: endpoint.to_string(),
            model: model.to_string(),
            problem,
        }),
        Refusal::Down(why) => Ok(why),
        Refusal::Late => Ok("no answer in time".to_string()),
    }
}

impl Remote {
    /// Connects to every endpoint and checks its model, all at once; one ready endpoint
    /// is enough. `local` is the model the element takes preprocessing and labels from;
    /// None: the first ready endpoint's metadata describes it.
    pub fn connect(
        options: &RemoteOptions,
        local: Option<ModelInfo>,
    ) -> Result<Remote, RemoteError> {
        if options.endpoints.is_empty() {
            return Err(RemoteError::NoEndpoint);
        }
        let tls = TlsFiles::read(options)?;
        let token = bearer(options.token_file.as_deref())?;
        let has_token = token.is_set();
        let has_identity = tls.identity.is_some();
        let runtime = Runtime::start()?;
        let load_timeout = options.timeout.max(MIN_LOAD_TIMEOUT);
        let mut clients = Vec::new();
        {
            // Channels need a runtime to start their connection task in; entering one
            // only sets the context, which is allowed inside another runtime.
            let _inside = runtime.handle().enter();
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
                    GrpcInferenceServiceClient::with_interceptor(channel, token.clone())
                        .max_decoding_message_size(ANSWER_LIMIT),
                ));
            }
        }
        let deadline = tokio::time::Instant::now() + load_timeout;
        let probes: Vec<_> = clients
            .iter()
            .map(|(endpoint, client)| {
                let (client, model, local) = (client.clone(), options.model.clone(), local.clone());
                let credentials = Credentials {
                    token: has_token,
                    tls_without_identity: endpoint.tls && !has_identity,
                    input_size: options.input_size,
                };
                async move { probe(&client, &model, local.as_ref(), deadline, credentials).await }
            })
            .collect();
        let probed = runtime
            .wait(async move {
                let handles: Vec<_> = probes.into_iter().map(tokio::spawn).collect();
                let mut probed = Vec::new();
                for handle in handles {
                    probed.push(handle.await.map_err(|e| e.to_string()));
                }
                probed
            })
            .unwrap_or_default();
        let pool = Pool::new(clients.len());
        let mut unready = Vec::new();
        let mut first: Option<(Wire, ModelInfo, usize)> = None;
        for (i, ((endpoint, _), probed)) in clients.iter().zip(probed).enumerate() {
            let probed = match probed {
                Ok(probed) => probed,
                Err(e) => Err(Refusal::Down(e)),
            };
            let (wire, served) = match probed {
                Ok(ok) => ok,
                Err(refusal) => {
                    pool.failed(i, Instant::now());
                    unready.push(format!(
                        "{endpoint}: {}",
                        load_error(refusal, endpoint, &options.model)?
                    ));
                    continue;
                }
            };
            let mismatch = |problem: String| RemoteError::Mismatch {
                endpoint: endpoint.to_string(),
                model: options.model.clone(),
                problem,
            };
            match &first {
                None => {
                    let info = match (&local, served) {
                        (Some(local), _) => local.clone(),
                        (None, Some(served)) => served,
                        (None, None) => continue,
                    };
                    first = Some((wire.clone(), info, i));
                }
                Some((seen, _, _)) if seen.input_type != wire.input_type => {
                    return Err(mismatch(format!(
                        "its input is {} where an earlier endpoint's is {}; all endpoints \
                         must serve the same model",
                        datatype(wire.input_type),
                        datatype(seen.input_type)
                    )));
                }
                Some((_, info, j)) if served.as_ref().is_some_and(|s| s.spec != info.spec) => {
                    return Err(mismatch(format!(
                        "it describes its model otherwise than {} does; all endpoints must \
                         serve the same model",
                        clients[*j].0
                    )));
                }
                Some(_) => {}
            }
            pool.checked(i, wire);
        }
        let Some((wire, mut info, _)) = first else {
            return Err(RemoteError::NoneReady {
                model: options.model.clone(),
                reasons: unready,
            });
        };
        info.input_type = wire.input_type;
        // A model that takes no batches on one endpoint gets one request per image
        // there (`failover.rs`); the element batches when the first ready one can.
        info.batchable &= wire.batchable;
        if wire.input_type == ElementType::Uint8 {
            // The served model normalises inside: it gets the pixels as they are.
            info.spec.tensor.scale = 1.0;
            info.spec.tensor.mean = [0.0; 3];
            info.spec.tensor.std = [1.0; 3];
        }
        let max_in_flight = options.max_in_flight.max(1);
        info.placement = Placement {
            provider: clients
                .iter()
                .map(|(e, _)| e.to_string())
                .collect::<Vec<_>>()
                .join(","),
            concurrency: max_in_flight,
            time_limit: Some(options.timeout),
        };
        Ok(Remote {
            runtime,
            shared: Arc::new(Shared {
                clients,
                pool,
                info,
                model: options.model.clone(),
                in_flight: Semaphore::new(max_in_flight),
                token: has_token,
                identity: has_identity,
                counters: Counters::default(),
                warnings: Default::default(),
            }),
            timeout: options.timeout,
            unready,
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
        self.shared.info.spec.tensor.len() * bytes_per_value(self.shared.info.input_type)
    }

    /// The batch in requests under the servers' message limit, all before `deadline`
    /// unless the batch is cancelled; `budget` is the whole time the frame was given.
    fn run_before(
        &self,
        batch: &Batch<'_>,
        deadline: Instant,
        budget: Duration,
    ) -> Result<Scores, BackendError> {
        let (tensors, images) = (batch.tensors, batch.images);
        let info = &self.shared.info;
        let len = info.spec.tensor.len();
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
        // A model without a batch dimension gets one image per call from `batching`.
        let per_request = ((MESSAGE_LIMIT - HEADROOM) / per_image).max(1);
        let shared = Arc::clone(&self.shared);
        let tensors = tensors.to_vec();
        let deadline = tokio::time::Instant::from_std(deadline);
        let ran = self.runtime.wait_unless(
            async move {
                let mut rows = Vec::with_capacity(images * shared.info.spec.classes);
                let mut calls = 0;
                let mut answered = 0;
                for part in tensors.chunks(per_request * len) {
                    let n = part.len() / len;
                    let (scores, endpoint) = shared
                        .infer(Part {
                            tensors: part,
                            images: n,
                            deadline,
                            budget,
                        })
                        .await?;
                    rows.extend(scores);
                    calls += 1;
                    answered = endpoint;
                }
                Ok::<_, BackendError>((rows, calls, answered))
            },
            batch.cancel,
        );
        let (rows, calls, answered) = match ran {
            Ok(ran) => ran?,
            Err(NoOutput::Cancelled) => return Err(BackendError::Cancelled),
            Err(NoOutput::Lost) => {
                return Err(BackendError::Unavailable("the client is shut down".into()));
            }
        };
        Ok(Scores {
            rows,
            calls,
            provider: Some(self.shared.clients[answered].0.to_string()),
            embeddings: Vec::new(),
        })
    }
}

impl Backend for Remote {
    fn info(&self) -> &ModelInfo {
        &self.shared.info
    }

    /// One request per batch, split where it would pass the servers' message limit;
    /// without a deadline, `server-timeout` from now.
    fn run(&self, batch: &Batch<'_>) -> Result<Scores, BackendError> {
        if batch.embed {
            return Err(BackendError::NoEmbedding);
        }
        let now = Instant::now();
        let deadline = batch.deadline.unwrap_or(now + self.timeout);
        // The first request at load is given longer than a frame; its budget is that.
        let budget = deadline.saturating_duration_since(now).max(self.timeout);
        self.run_before(batch, deadline, budget)
    }

    fn telemetry(&self) -> Telemetry {
        let c = &self.shared.counters;
        Telemetry {
            requests: Some(RequestCounts {
                sent: c.sent.load(Ordering::Relaxed),
                failed: c.failed.load(Ordering::Relaxed),
                retried: c.retried.load(Ordering::Relaxed),
                timed_out: c.timed_out.load(Ordering::Relaxed),
            }),
            warnings: std::mem::take(&mut *crate::core::lock::lock(&self.shared.warnings)),
            spinning: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A state change from a thread inside an application's tokio runtime: an error
    /// (nothing listens), not the panic of a runtime started within a runtime.
    #[test]
    fn connecting_from_inside_a_tokio_runtime_answers_instead_of_panicking() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let options = RemoteOptions {
            endpoints: super::super::parse_endpoints(&format!("grpc://127.0.0.1:{port}"))
                .expect("an endpoint"),
            model: "m".into(),
            timeout: Duration::from_millis(200),
            max_in_flight: 1,
            ca_file: None,
            cert_file: None,
            key_file: None,
            input_size: None,
            token_file: None,
        };
        let app = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let connected = app.block_on(async { Remote::connect(&options, None).map(|_| ()) });
        assert!(
            matches!(&connected, Err(RemoteError::NoneReady { reasons, .. }) if reasons[0].contains("refused")),
            "{connected:?}"
        );
    }
}
