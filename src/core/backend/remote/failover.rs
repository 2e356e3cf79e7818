//! One batch to the servers before its deadline: round robin over the endpoints in
//! rotation, the next one tried when one fails, and what each failure means for the
//! endpoint (out of rotation, or not its fault) and for the request counters.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::time::Instant as Deadline;

use super::check::Wire;
use super::client::ANSWER_LIMIT;
use super::client::Client;
use super::endpoint::Endpoint;
use super::pool::{Pool, Topic};
use super::probe::{Credentials, Refusal, probe, status_text};
use super::proto::ModelInferRequest;
use super::proto::ModelInferResponse;
use super::proto::model_infer_request::{InferInputTensor, InferRequestedOutputTensor};
use super::tensor::{datatype, decode_contents, decode_raw, encode};
use crate::core::backend::{BackendError, ModelInfo};
use crate::core::lock::lock;
use crate::core::model::{Layout, TensorSpec};

/// With less than this left, no request is worth sending.
const MIN_ATTEMPT: Duration = Duration::from_millis(5);

/// Request counters, for `stats` (docs/remote-inference.md defines each).
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub timed_out: AtomicU64,
}

fn add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What the requests need, shared with the runtime's tasks.
pub struct Shared {
    pub clients: Vec<(Endpoint, Client)>,
    pub pool: Pool,
    pub info: ModelInfo,
    pub model: String,
    pub in_flight: Semaphore,
    /// Whether a bearer token and a client certificate are sent (for what a refusal
    /// means).
    pub token: bool,
    pub identity: bool,
    pub counters: Counters,
    /// For the element's bus: endpoints that came back serving something else, or
    /// refusing the client; one each.
    pub warnings: Mutex<Vec<String>>,
}

/// Whether an endpoint that did not answer within `given` is to blame: it had at least
/// half of the `budget` (a frame's `server-timeout`). Less, and the time was spent
/// before it (waiting for a `max-in-flight` slot, on other endpoints, on earlier
/// chunks of the frame's regions).
pub fn had_fair_share(given: Duration, budget: Duration) -> bool {
    given >= budget / 2
}

/// Whose fault a failed request is.
#[derive(Debug, PartialEq)]
enum Failure {
    /// The endpoint's (down, reset, a malformed answer): out of rotation.
    Endpoint(String),
    /// No answer before the deadline.
    Late,
    /// Its answer of this many bytes was over the client's [`ANSWER_LIMIT`]: the
    /// endpoint's (a misconfigured server or proxy), out of rotation like `Endpoint`,
    /// and warned about once.
    TooLarge(usize),
    /// The request's (a batch over the server's `max_batch_size`, a tensor it does not
    /// take): the endpoint stays in rotation. `passing`: the server is out of something
    /// for now (`ResourceExhausted`: a rate limit, a full queue), so one image refused
    /// costs its frame's labels, not the stream.
    Request { why: String, passing: bool },
}

/// An error status's meaning. Codes that say the request itself is wrong leave the
/// endpoint in rotation; any other one takes it out.
fn failure(status: &tonic::Status) -> Failure {
    use tonic::Code;
    if let Some(found) = answer_too_large(status) {
        return Failure::TooLarge(found);
    }
    match status.code() {
        Code::InvalidArgument
        | Code::ResourceExhausted
        | Code::Unimplemented
        | Code::FailedPrecondition
        | Code::OutOfRange => Failure::Request {
            why: status_text(status),
            passing: status.code() == Code::ResourceExhausted,
        },
        Code::DeadlineExceeded => Failure::Late,
        _ => Failure::Endpoint(status_text(status)),
    }
}

/// The size of an answer tonic refused to decode for being over [`ANSWER_LIMIT`]. Its
/// status is `OutOfRange`, as a server's refusal of a request may be; what tells them
/// apart is the limit it names: ours, which no request reaches, so the message that was
/// too large is the answer.
fn answer_too_large(status: &tonic::Status) -> Option<usize> {
    if status.code() != tonic::Code::OutOfRange {
        return None;
    }
    let sizes = status
        .message()
        .strip_prefix("Error, decoded message length too large: found ")?;
    let (found, limit) = sizes.split_once(" bytes, the limit is: ")?;
    let limit: usize = limit.strip_suffix(" bytes")?.parse().ok()?;
    (limit == ANSWER_LIMIT)
        .then(|| found.parse().ok())
        .flatten()
}

/// What an answer over the client's limit is, for warnings and the outage's reasons.
fn too_large(found: usize) -> String {
    format!(
        "the answer was larger than the client accepts: {found} bytes, the limit is \
         {ANSWER_LIMIT} bytes"
    )
}

type Answer = Result<(Vec<f32>, usize), BackendError>;

/// One `ModelInfer` request: the batch as raw contents of the wire's element type.
pub fn infer_request(
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
/// Images on their way to the servers: their tensors, one after another, the frame's
/// `deadline`, and `budget`, the whole time the frame was given (`server-timeout`).
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub tensors: &'a [f32],
    pub images: usize,
    pub deadline: Deadline,
    pub budget: Duration,
}

impl<'a> Part<'a> {
    /// Some of the images, under the same deadline.
    fn with(self, tensors: &'a [f32], images: usize) -> Part<'a> {
        Part {
            tensors,
            images,
            ..self
        }
    }
}

impl Shared {
    fn endpoint(&self, i: usize) -> &Endpoint {
        &self.clients[i].0
    }

    /// One batch: its rows and the endpoint that answered.
    pub async fn infer(&self, part: Part<'_>) -> Answer {
        let deadline = part.deadline;
        let _permit = match tokio::time::timeout_at(deadline, self.in_flight.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(e)) => return Err(BackendError::Runtime(Box::new(e))),
            Err(_) => {
                add(&self.counters.timed_out);
                return Err(BackendError::Unavailable(format!(
                    "model '{}': max-in-flight requests still outstanding after server-timeout",
                    self.model
                )));
            }
        };
        self.failover(part).await
    }

    /// Endpoint after endpoint until one answers, time runs out or none is left.
    /// Boxed: a batch the server refuses is split in halves, each failed over alike.
    fn failover<'a>(&'a self, part: Part<'a>) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>> {
        let (deadline, budget) = (part.deadline, part.budget);
        Box::pin(async move {
            let mut tried = Vec::new();
            let mut reasons = Vec::new();
            // A request for this batch failed: the next one sent is a retry.
            let mut failed_before = false;
            loop {
                let left = deadline.saturating_duration_since(Deadline::now());
                if left < MIN_ATTEMPT {
                    add(&self.counters.timed_out);
                    reasons.push("server-timeout ran out before the next try".to_string());
                    break;
                }
                let Some((i, wire)) = self.pool.pick(Instant::now(), &tried) else {
                    break;
                };
                tried.push(i);
                let endpoint = self.endpoint(i);
                let wire = match wire {
                    Some(wire) => wire,
                    None => match self.check_late(i, deadline).await {
                        Ok(wire) => wire,
                        Err(Some(why)) => {
                            reasons.push(format!("{endpoint}: {why}"));
                            continue;
                        }
                        Err(None) => {
                            reasons.push(self.timed_out(i, left, budget));
                            break;
                        }
                    },
                };
                if failed_before {
                    add(&self.counters.retried);
                }
                match self.attempt(i, &wire, part).await {
                    Ok(rows) => {
                        self.pool.answered(i);
                        return Ok((rows, i));
                    }
                    Err(Failure::Endpoint(why)) => {
                        add(&self.counters.failed);
                        self.pool.failed(i, Instant::now());
                        reasons.push(format!("{endpoint}: {why}"));
                        failed_before = true;
                    }
                    Err(Failure::TooLarge(found)) => {
                        add(&self.counters.failed);
                        self.pool.failed(i, Instant::now());
                        self.warn_once(i, Topic::AnswerSize, || {
                            format!(
                                "{}; it is retried with backoff, its frames go to the other \
                                 endpoints",
                                too_large(found)
                            )
                        });
                        reasons.push(format!("{endpoint}: {}", too_large(found)));
                        failed_before = true;
                    }
                    Err(Failure::Late) => {
                        reasons.push(self.timed_out(i, left, budget));
                        break;
                    }
                    Err(Failure::Request { why, passing }) => {
                        add(&self.counters.failed);
                        return self.refused(i, &why, passing, part).await;
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
        })
    }

    /// A request the server refused as a request: a batch is split in halves (it may be
    /// over the server's `max_batch_size`); one image is an error, or with `passing` a
    /// frame without an answer.
    async fn refused(&self, i: usize, why: &str, passing: bool, part: Part<'_>) -> Answer {
        let images = part.images;
        if images < 2 {
            let what = format!(
                "model '{}' on {} refused the request for one image: {why}",
                self.model,
                self.endpoint(i)
            );
            return Err(if passing {
                BackendError::Unavailable(what)
            } else {
                BackendError::Runtime(what.into())
            });
        }
        let half = images / 2;
        let (first, second) = part.tensors.split_at(part.tensors.len() / images * half);
        let (mut rows, _) = self.failover(part.with(first, half)).await?;
        let (more, last) = self.failover(part.with(second, images - half)).await?;
        rows.extend(more);
        Ok((rows, last))
    }

    /// The batch on endpoint `i`: one request, or one per image where its model takes
    /// no batches.
    async fn attempt(&self, i: usize, wire: &Wire, part: Part<'_>) -> Result<Vec<f32>, Failure> {
        if part.images < 2 || wire.batchable {
            return self.send(i, wire, part).await;
        }
        let mut rows = Vec::with_capacity(part.images * self.info.spec.classes);
        for one in part.tensors.chunks(part.tensors.len() / part.images) {
            rows.extend(self.send(i, wire, part.with(one, 1)).await?);
        }
        Ok(rows)
    }

    async fn send(&self, i: usize, wire: &Wire, part: Part<'_>) -> Result<Vec<f32>, Failure> {
        let Part {
            tensors,
            images,
            deadline,
            ..
        } = part;
        let client = &self.clients[i].1;
        let request = infer_request(&self.model, wire, &self.info.spec.tensor, tensors, images);
        let mut request = tonic::Request::new(request);
        request.set_timeout(deadline.saturating_duration_since(Deadline::now()));
        add(&self.counters.sent);
        match tokio::time::timeout_at(deadline, client.clone().model_infer(request)).await {
            Ok(Ok(response)) => self
                .scores(wire, response.into_inner(), images)
                .map_err(Failure::Endpoint),
            // tonic enforces the request's timeout itself and answers `Cancelled`
            // when it expires: that is a timeout too.
            Ok(Err(_)) if Deadline::now() >= deadline => Err(Failure::Late),
            Ok(Err(status)) => Err(failure(&status)),
            Err(_) => Err(Failure::Late),
        }
    }

    /// Endpoint `i` gave no answer in the `left` of the frame's `budget`: counted, and out
    /// of rotation only when that was its fair share of the time. What to report.
    fn timed_out(&self, i: usize, left: Duration, budget: Duration) -> String {
        add(&self.counters.timed_out);
        if had_fair_share(left, budget) {
            self.pool.failed(i, Instant::now());
        }
        format!("{}: no answer within server-timeout", self.endpoint(i))
    }

    /// An endpoint down at load: its model is checked before it gets frames. Err(None):
    /// no answer in time; Err(Some): why it is out of rotation.
    async fn check_late(&self, i: usize, deadline: Deadline) -> Result<Wire, Option<String>> {
        let (endpoint, client) = &self.clients[i];
        let credentials = Credentials {
            token: self.token,
            tls_without_identity: endpoint.tls && !self.identity,
            input_size: None,
        };
        let problem =
            match probe(client, &self.model, Some(&self.info), deadline, credentials).await {
                Ok((wire, _)) if wire.input_type == self.info.input_type => {
                    self.pool.checked(i, wire.clone());
                    return Ok(wire);
                }
                Ok((wire, _)) => format!(
                    "its input is {} where the other endpoints' is {}; all endpoints must serve \
                 the same model",
                    datatype(wire.input_type),
                    datatype(self.info.input_type)
                ),
                Err(Refusal::Mismatch(problem) | Refusal::Refused(problem)) => problem,
                Err(Refusal::Down(why)) => {
                    self.pool.failed(i, Instant::now());
                    return Err(Some(why));
                }
                Err(Refusal::Late) => return Err(None),
            };
        // Checked again after each backoff: it comes back once it is fixed.
        self.pool.failed(i, Instant::now());
        self.warn_once(i, Topic::Configuration, || {
            format!("{problem}; this endpoint gets no frames until that is fixed")
        });
        Err(Some(problem))
    }

    /// A warning for the bus naming the model and endpoint `i`, the first time only.
    fn warn_once(&self, i: usize, topic: Topic, what: impl FnOnce() -> String) {
        if self.pool.first_warning(i, topic) {
            lock(&self.warnings).push(format!(
                "model '{}' on {}: {}",
                self.model,
                self.endpoint(i),
                what()
            ));
        }
    }

    /// The batch's score rows, or what is wrong with the answer.
    fn scores(
        &self,
        wire: &Wire,
        response: ModelInferResponse,
        images: usize,
    ) -> Result<Vec<f32>, String> {
        let Some(index) = response.outputs.iter().position(|o| o.name == wire.output) else {
            return Err(format!("the answer has no output '{}'", wire.output));
        };
        let output = &response.outputs[index];
        let rows = match response.raw_output_contents.get(index) {
            Some(raw) => decode_raw(&output.datatype, raw),
            None => match &output.contents {
                Some(contents) => decode_contents(&output.datatype, contents),
                None => Err(format!("output '{}' came without contents", wire.output)),
            },
        }?;
        if rows.len() != images * self.info.spec.classes {
            return Err(format!(
                "the server returned {} scores for {images} images of {} classes",
                rows.len(),
                self.info.spec.classes
            ));
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backend::ElementType;
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

    /// A timeout is the endpoint's fault only when it had half the frame's time: one
    /// tried after a slow one, or after a long wait for a `max-in-flight` slot, is not.
    #[test]
    fn only_an_endpoint_given_half_the_time_is_blamed_for_a_timeout() {
        let budget = Duration::from_millis(300);
        assert!(had_fair_share(budget, budget));
        assert!(had_fair_share(Duration::from_millis(150), budget));
        assert!(!had_fair_share(Duration::from_millis(149), budget));
        assert!(!had_fair_share(Duration::ZERO, budget));
    }

    #[test]
    fn request_errors_spare_the_endpoint_and_others_take_it_out() {
        use tonic::{Code, Status};
        for code in [
            Code::InvalidArgument,
            Code::ResourceExhausted,
            Code::Unimplemented,
            Code::FailedPrecondition,
            Code::OutOfRange,
        ] {
            let f = failure(&Status::new(code, "batch-size must be <= 8"));
            assert!(
                matches!(&f, Failure::Request { why, passing }
                    if why.contains("batch-size must be <= 8")
                        && *passing == (code == Code::ResourceExhausted)),
                "{code:?}: {f:?}"
            );
        }
        assert_eq!(failure(&Status::deadline_exceeded("slow")), Failure::Late);
        // tonic's refusal to decode an answer over the client's limit: the endpoint's.
        let decoding = |found: usize, limit: usize| {
            failure(&Status::out_of_range(format!(
                "Error, decoded message length too large: found {found} bytes, the limit is: \
                 {limit} bytes"
            )))
        };
        assert_eq!(
            decoding(5_000_000, ANSWER_LIMIT),
            Failure::TooLarge(5_000_000)
        );
        // Another limit is a server's, refusing the request.
        assert!(matches!(
            decoding(900_000, 800_000),
            Failure::Request { .. }
        ));
        assert_eq!(
            too_large(5_000_000),
            "the answer was larger than the client accepts: 5000000 bytes, the limit is \
             4194304 bytes"
        );
        for code in [
            Code::Unavailable,
            Code::Internal,
            Code::Unknown,
            Code::Aborted,
        ] {
            assert!(matches!(
                failure(&Status::new(code, "x")),
                Failure::Endpoint(_)
            ));
        }
    }
}
