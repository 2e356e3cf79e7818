//! GStreamer glue for `imgclassify`: properties, caps, state changes and the per-frame
//! hand-off to the stream. The work happens in the sibling files: `loading` (NULL→READY),
//! `stream` and `schedule` (each frame), `classifier` (inference and postprocessing),
//! `frame` (reading buffers) and `output` (meta, messages, warnings).

use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::frame::VideoInput;
use super::loading::{self, Model};
use super::output::{self, Notice};
use super::request::{ClassesRequest, LoadRequest, ServerRequest};
use super::stream::{FrameSettings, Stream};
use super::{CAT, ColorOrder, ExecutionProvider, Mode, OutputActivation, ResizeMode, Target};
use crate::backend::onnxruntime::ProviderOptions;
use crate::backend::remote::parse_endpoints;
use crate::lock::lock;
use crate::model::normalisation::{self, Overrides};
use crate::model::{self, zoo};
use crate::postprocess::Params;
use crate::preprocess::PixelFormat;
use crate::property;
use crate::regions::{Selection, parse_size, parse_types};
use crate::stats::Stats;
use crate::zones::Zones;

const DEFAULT_MODEL: &str = "mobilenet";
const DEFAULT_TOP_K: u32 = 3;
/// A MobileNet-sized model needs about 10 MB per image in one run: 8 keeps a frame full
/// of detections under 100 MB and still amortises the call.
const DEFAULT_MAX_BATCH: u32 = 8;
/// A frame at 30 fps is due every 33 ms; a second covers a loaded server's queue.
const DEFAULT_SERVER_TIMEOUT_MS: u32 = 1000;
const DEFAULT_MAX_IN_FLIGHT: u32 = 4;
/// 0: every frame gets its nearest class; docs/custom-classes.md says how to pick one.
const DEFAULT_MIN_SIMILARITY: f64 = 0.0;

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    /// None: the element's name.
    classifier_id: Option<String>,
    model: String,
    model_file: Option<PathBuf>,
    labels_file: Option<PathBuf>,
    top_k: u32,
    threshold: f64,
    threads: u32,
    /// 0 = automatic.
    sessions: u32,
    /// 0 = the model's own size; checked at NULL→READY.
    input_size: u32,
    resize_mode: ResizeMode,
    post_messages: bool,
    execution_provider: ExecutionProvider,
    fallback: bool,
    device_id: i32,
    fp16: bool,
    engine_cache_dir: Option<PathBuf>,
    inference_interval: u32,
    mode: Mode,
    smoothing: f64,
    target: Target,
    /// As set, for the getter; parsed into `selection` when set.
    region_types: String,
    min_region_size: String,
    max_regions: u32,
    max_batch: u32,
    output_name: Option<String>,
    /// `input-mean` and `input-std` as set, for the getters; parsed when set.
    input_mean: String,
    input_std: String,
    color_order: ColorOrder,
    output_activation: OutputActivation,
    normalisation: Overrides,
    /// The ROI filter, parsed once from the three properties above.
    selection: Arc<Selection>,
    /// `zones` as set, for the getter, and parsed; a new `Arc` tells the stream they
    /// changed.
    zones_text: String,
    zones: Arc<Zones>,
    post_changes: bool,
    /// `inference-server` as set (checked when set); empty = in-process ONNX Runtime.
    inference_server: String,
    /// None: the model's own name.
    server_model: Option<String>,
    server_timeout_ms: u32,
    max_in_flight: u32,
    server_ca_file: Option<PathBuf>,
    server_cert_file: Option<PathBuf>,
    server_key_file: Option<PathBuf>,
    server_token_file: Option<PathBuf>,
    classes_dir: Option<PathBuf>,
    classes_cache_dir: Option<PathBuf>,
    min_similarity: f64,
    attach_embedding: bool,
}

impl Settings {
    fn frame(&self) -> FrameSettings {
        FrameSettings {
            params: Params {
                top_k: self.top_k as usize,
                threshold: self.threshold,
                smoothing: self.smoothing,
                min_similarity: self.min_similarity,
            },
            interval: self.inference_interval,
            target: self.target,
            resize_mode: self.resize_mode,
            post_messages: self.post_messages,
            max_batch: self.max_batch as usize,
            post_changes: self.post_changes,
        }
    }

    fn reparse_selection(&mut self) {
        self.selection = Arc::new(Selection {
            types: parse_types(&self.region_types),
            min_size: parse_size(&self.min_region_size).unwrap_or((0, 0)),
            max_regions: self.max_regions,
        });
    }

    fn load_request(&self, element_name: &str) -> LoadRequest {
        LoadRequest {
            classifier_id: self
                .classifier_id
                .clone()
                .unwrap_or_else(|| element_name.to_string()),
            model: self.model.clone(),
            model_file: self.model_file.clone(),
            labels_file: self.labels_file.clone(),
            threads: self.threads,
            sessions: self.sessions,
            input_size: self.input_size,
            provider: ProviderOptions {
                requested: self.execution_provider.into(),
                fallback: self.fallback,
                device_id: self.device_id,
                fp16: self.fp16,
                engine_cache_dir: self.engine_cache_dir.clone(),
            },
            output_name: self.output_name.clone(),
            normalisation: Overrides {
                order: self.color_order.into(),
                ..self.normalisation
            },
            activation: self.output_activation.into(),
            server: ServerRequest {
                endpoints: self.inference_server.clone(),
                model: self.server_model.clone(),
                timeout_ms: self.server_timeout_ms,
                max_in_flight: self.max_in_flight,
                ca_file: self.server_ca_file.clone(),
                cert_file: self.server_cert_file.clone(),
                key_file: self.server_key_file.clone(),
                token_file: self.server_token_file.clone(),
            },
            classes: ClassesRequest {
                dir: self.classes_dir.clone(),
                cache_dir: self.classes_cache_dir.clone(),
                attach_embedding: self.attach_embedding,
                resize_mode: self.resize_mode.into(),
            },
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            classifier_id: None,
            model: DEFAULT_MODEL.to_string(),
            model_file: None,
            labels_file: None,
            top_k: DEFAULT_TOP_K,
            threshold: 0.0,
            threads: 0,
            sessions: 0,
            input_size: 0,
            resize_mode: ResizeMode::default(),
            post_messages: false,
            execution_provider: ExecutionProvider::default(),
            fallback: true,
            device_id: 0,
            fp16: false,
            engine_cache_dir: None,
            inference_interval: 1,
            mode: Mode::default(),
            smoothing: 0.0,
            target: Target::default(),
            region_types: String::new(),
            min_region_size: "0x0".to_string(),
            max_regions: 0,
            max_batch: DEFAULT_MAX_BATCH,
            output_name: None,
            input_mean: String::new(),
            input_std: String::new(),
            color_order: ColorOrder::Auto,
            output_activation: OutputActivation::Auto,
            normalisation: Overrides::default(),
            selection: Arc::new(Selection::default()),
            zones_text: String::new(),
            zones: Arc::new(Zones::default()),
            post_changes: false,
            inference_server: String::new(),
            server_model: None,
            server_timeout_ms: DEFAULT_SERVER_TIMEOUT_MS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            server_ca_file: None,
            server_cert_file: None,
            server_key_file: None,
            server_token_file: None,
            classes_dir: None,
            classes_cache_dir: None,
            min_similarity: DEFAULT_MIN_SIMILARITY,
            attach_embedding: false,
        }
    }
}

/// Everything that exists between NULL→READY and READY→NULL: the model, and the stream
/// it serves between READY→PAUSED and PAUSED→READY.
struct State {
    model: Model,
    stream: Stream,
}

/// What getters, setters and queries need of the loaded model. Kept apart from `state`,
/// which a frame holds through its inference: none of them may wait for an inference,
/// however slow the model.
struct Loaded {
    model_name: String,
    /// `active-provider`.
    active: String,
    latency: gst::ClockTime,
    stats: Arc<Mutex<Stats>>,
    /// The mode in use between READY→PAUSED and PAUSED→READY.
    mode: Option<Mode>,
}

#[derive(Default)]
pub struct ImgClassify {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    loaded: Mutex<Option<Loaded>>,
    /// Running time before which frames are late, from downstream QoS events.
    qos_earliest: Mutex<Option<gst::ClockTime>>,
}

impl ImgClassify {
    fn stats(&self) -> gst::Structure {
        let stats = lock(&self.loaded).as_ref().map(|l| Arc::clone(&l.stats));
        stats
            .map(|s| lock(&s).clone())
            .unwrap_or_default()
            .to_structure()
    }

    /// Whether downstream's last QoS event says this frame is already late; never with
    /// `qos=false`.
    fn is_late(&self, buf: &gst::BufferRef) -> bool {
        if !self.obj().is_qos() {
            return false;
        }
        let Some(earliest) = *lock(&self.qos_earliest) else {
            return false;
        };
        let segment = self.obj().segment();
        let running = segment
            .downcast_ref::<gst::ClockTime>()
            .and_then(|seg| buf.pts().and_then(|pts| seg.to_running_time(pts)));
        running.is_some_and(|rt| rt < earliest)
    }
}

#[glib::object_subclass]
impl ObjectSubclass for ImgClassify {
    const NAME: &'static str = "GstImgClassify";
    type Type = super::ImgClassify;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for ImgClassify {
    fn constructed(&self) {
        self.parent_constructed();
        // As GstVideoFilter does, QoS is on by default: late frames skip inference (the
        // frames themselves are never dropped, see `src_event`), unless qos=false.
        self.obj().set_qos(true);
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("classifier-id")
                    .nick("Classifier ID")
                    .blurb("Names this classifier in every result (meta, messages, JSON), so several imgclassify elements on one stream can be told apart; unset = the element's name (changeable only in NULL, read at NULL->READY)")
                    .build(),
                glib::ParamSpecString::builder("model")
                    .nick("Model")
                    .blurb(&format!(
                        "Built-in model: {} (ignored when model-file is set; changeable only in NULL, read at NULL->READY)",
                        zoo::names()
                    ))
                    .default_value(Some(DEFAULT_MODEL))
                    .build(),
                glib::ParamSpecString::builder("model-file")
                    .nick("Model file")
                    .blurb("Path of an ONNX image classifier with input [N,3,H,W] or [N,H,W,3] (or [N,1,H,W] or [N,H,W,1], greyscale); overrides model (changeable only in NULL; read at NULL->READY)")
                    .build(),
                glib::ParamSpecString::builder("labels-file")
                    .nick("Labels file")
                    .blurb("UTF-8 text file with one label per line, line N = class N; overrides the model's labels (changeable only in NULL; read at NULL->READY)")
                    .build(),
                glib::ParamSpecUInt::builder("top-k")
                    .nick("Top K")
                    .blurb("Number of best classes reported per frame")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(DEFAULT_TOP_K)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("threshold")
                    .nick("Threshold")
                    .blurb("Classes with a probability below this are not reported")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(0.0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("threads")
                    .nick("Threads")
                    .blurb("ONNX Runtime intra-op threads per session (0 = one per physical core, divided among the sessions when elements share the model; changeable only in NULL, read at NULL->READY)")
                    .maximum(256)
                    .default_value(0)
                    .build(),
                glib::ParamSpecUInt::builder("sessions")
                    .nick("Sessions")
                    .blurb("ONNX Runtime sessions of this model that elements in the process share, so as many inferences run at once \
                            (0 = automatic: one per element holding the model, up to cores / threads; N = at least N, \
                            the largest ask of the elements sharing the model wins; the environment variable IMGCLASSIFY_SESSIONS \
                            caps it for the whole process; GPU providers keep one; changeable only in NULL, read at NULL->READY)")
                    .maximum(256)
                    .default_value(0)
                    .build(),
                glib::ParamSpecUInt::builder("input-size")
                    .nick("Input size")
                    .blurb(&format!(
                        "Run a model whose height and width are dynamic at this square size instead of its own, \
                         e.g. MobileNet at 128, 160 or 192 (faster, less accurate); 0 = the model's own size, \
                         else {} to {}. A model with a fixed size accepts only that size (changeable only in NULL; read at NULL->READY)",
                        model::INPUT_SIZE_RANGE.start(),
                        model::INPUT_SIZE_RANGE.end()
                    ))
                    .default_value(0)
                    .build(),
                glib::ParamSpecEnum::builder_with_default("resize-mode", ResizeMode::default())
                    .nick("Resize mode")
                    .blurb("How the frame is fitted to the model's input size")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("execution-provider", ExecutionProvider::default())
                    .nick("Execution provider")
                    .blurb("Where the model runs; see fallback for what happens when it cannot (changeable only in NULL; read at NULL->READY)")
                    .build(),
                glib::ParamSpecBoolean::builder("fallback")
                    .nick("Fallback")
                    .blurb("When the requested provider cannot be used, fall back to the next (TensorRT, CUDA, CPU) with a warning; if false, fail with an error")
                    .default_value(true)
                    .build(),
                glib::ParamSpecInt::builder("device-id")
                    .nick("Device ID")
                    .blurb("GPU index for CUDA and TensorRT")
                    .minimum(0)
                    .maximum(255)
                    .default_value(0)
                    .build(),
                glib::ParamSpecBoolean::builder("fp16")
                    .nick("FP16")
                    .blurb("TensorRT half precision")
                    .default_value(false)
                    .build(),
                glib::ParamSpecString::builder("engine-cache-dir")
                    .nick("Engine cache folder")
                    .blurb("TensorRT engine and timing cache; engines are kept per model content, GPU, precision and input size (default: $XDG_CACHE_HOME/imgclassify/tensorrt)")
                    .build(),
                glib::ParamSpecString::builder("active-provider")
                    .nick("Active provider")
                    .blurb("The execution provider really in use once READY: cpu, cuda:N or tensorrt:N")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt::builder("inference-interval")
                    .nick("Inference interval")
                    .blurb("Classify every Nth frame; the frames between carry the most recent result (fresh=false)")
                    .minimum(1)
                    .default_value(1)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("mode", Mode::default())
                    .nick("Mode")
                    .blurb("sync: a classified frame waits for its result (latency reported upstream); async: frames never wait, a worker classifies the newest frame (applied at READY->PAUSED)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("smoothing")
                    .nick("Smoothing")
                    .blurb("Exponential moving average of the probabilities over classified frames (0 = off, 0.9 = heavy); the top-1 label changes only when another class leads by more than 0.05")
                    .minimum(0.0)
                    .maximum(0.99)
                    .default_value(0.0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("target", Target::default())
                    .nick("Target")
                    .blurb("frame: classify the whole frame; regions: classify each GstVideoRegionOfInterestMeta (one batched inference per frame) and add an 'imgclassify' param to it; zones: classify each rectangle of the zones property (batched), no detector needed")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("region-types")
                    .nick("Region types")
                    .blurb("Comma-separated ROI types to classify with target=regions (empty = all)")
                    .default_value(Some(""))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("min-region-size")
                    .nick("Minimum region size")
                    .blurb("Skip regions smaller than WxH pixels (after clipping to the frame), e.g. 32x32")
                    .default_value(Some("0x0"))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("max-regions")
                    .nick("Maximum regions")
                    .blurb("Classify at most this many regions per frame, the largest first (0 = all)")
                    .default_value(0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("output-name")
                    .nick("Output name")
                    .blurb("The model output to read class scores from; empty: the first output whose shape is [N,C], [N,C,1,1], [N,1,C] or [C]. Read at NULL→READY")
                    .build(),
                glib::ParamSpecString::builder("input-mean")
                    .nick("Input mean")
                    .blurb("For models without imgclassify metadata: value = (pixel − mean) / std with pixels 0–255; one number, or three comma-separated (per channel), e.g. 123.675,116.28,103.53 (ImageNet) or 127 (EfficientNet-Lite). Empty: the model's metadata, else ImageNet. Read at NULL→READY")
                    .build(),
                glib::ParamSpecString::builder("input-std")
                    .nick("Input standard deviation")
                    .blurb("See input-mean; positive, one or three numbers, e.g. 58.395,57.12,57.375 (ImageNet), 128 (EfficientNet-Lite), 255 (0–1 scaling), 1 (raw pixels). Read at NULL→READY")
                    .build(),
                glib::ParamSpecEnum::builder_with_default("color-order", ColorOrder::Auto)
                    .nick("Colour order")
                    .blurb("Channel order the model wants: auto (its metadata, else RGB), rgb or bgr. Read at NULL→READY")
                    .build(),
                glib::ParamSpecEnum::builder_with_default("output-activation", OutputActivation::Auto)
                    .nick("Output activation")
                    .blurb("What turns the model's output into scores: auto, softmax, sigmoid (multi-label logits: threshold applies to each label, top-k caps how many) or none (already scores). Read at NULL→READY")
                    .build(),
                glib::ParamSpecUInt::builder("max-batch")
                    .nick("Maximum batch")
                    .blurb("Regions classified in one inference at most; more regions take several, so memory stays bounded however many detections arrive")
                    .minimum(1)
                    .maximum(256)
                    .default_value(DEFAULT_MAX_BATCH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("zones")
                    .nick("Zones")
                    .blurb("Named rectangles in frame pixels classified with target=zones: NAME:X,Y,W,H;NAME:X,Y,W,H. Each result is in the meta's regions with roi-type = the name; zones partly outside the frame are clipped, wholly outside skipped")
                    .default_value(Some(""))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("post-changes")
                    .nick("Post changes")
                    .blurb("Post an element message named 'imgclassify-change' when the top-1 label (after smoothing) of a zone, or of the whole frame, changes; the first result counts as a change from none")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("inference-server")
                    .nick("Inference server")
                    .blurb("Empty: run the model in process with ONNX Runtime. Else comma-separated grpc://HOST:PORT or grpcs://HOST:PORT endpoints of KServe v2 / Open Inference Protocol servers (Triton, KServe, MLServer, OpenVINO Model Server) that run it; requests are spread over them and fail over. Labels and preprocessing still come from model or model-file. Read at NULL→READY")
                    .build(),
                glib::ParamSpecString::builder("server-model")
                    .nick("Server model")
                    .blurb("The model's name on the inference server; empty: the model's own name (e.g. mobilenet). Read at NULL→READY")
                    .build(),
                glib::ParamSpecUInt::builder("server-timeout")
                    .nick("Server timeout")
                    .blurb("Milliseconds a frame waits for the inference servers, retries on other endpoints included; the frame then flows on without a fresh result. Read at NULL→READY")
                    .minimum(1)
                    .default_value(DEFAULT_SERVER_TIMEOUT_MS)
                    .build(),
                glib::ParamSpecUInt::builder("max-in-flight")
                    .nick("Maximum requests in flight")
                    .blurb("Requests to the inference servers outstanding at once for this element. Read at NULL→READY")
                    .minimum(1)
                    .maximum(1024)
                    .default_value(DEFAULT_MAX_IN_FLIGHT)
                    .build(),
                glib::ParamSpecString::builder("server-ca-file")
                    .nick("Server CA file")
                    .blurb("PEM CA certificates grpcs:// servers are verified against; empty: the system's roots. Read at NULL→READY")
                    .build(),
                glib::ParamSpecString::builder("server-cert-file")
                    .nick("Server client certificate file")
                    .blurb("PEM certificate (chain) this element presents to grpcs:// servers that require client certificates (mutual TLS); goes with server-key-file. Empty: none. Read at NULL→READY")
                    .build(),
                glib::ParamSpecString::builder("server-key-file")
                    .nick("Server client key file")
                    .blurb("PEM private key of server-cert-file (mutual TLS); never logged. Empty: none. Read at NULL→READY")
                    .build(),
                glib::ParamSpecString::builder("server-token-file")
                    .nick("Server token file")
                    .blurb("A file whose first line is a bearer token, sent to the inference servers as the authorization header (for servers behind an API gateway); the token never appears in logs or messages. Empty: none. Read at NULL→READY")
                    .build(),
                glib::ParamSpecString::builder("classes-dir")
                    .nick("Classes folder")
                    .blurb("Custom classes from example photos: each sub-folder is a class named after it, its JPEG/PNG files the examples. Frames (or regions, zones) get these classes instead of the model's, by cosine similarity of the model's embedding to each class's examples (nearest class centroid); scores are a softmax over the similarities, in [0,1]. Needs a model with an embedding output (the built-in ones have one). Empty: the model's own classes. Read at NULL→READY")
                    .build(),
                glib::ParamSpecString::builder("classes-cache-dir")
                    .nick("Classes cache folder")
                    .blurb("Where the examples' embeddings are cached, keyed by model content, preprocessing and each file's content, so a restart embeds only new or changed files (default: $XDG_CACHE_HOME/imgclassify/classes). Read at NULL→READY")
                    .build(),
                glib::ParamSpecDouble::builder("min-similarity")
                    .nick("Minimum similarity")
                    .blurb("With classes-dir: a frame or region whose best class's cosine similarity is below this gets the single label 'unknown' (class id = number of classes) with the best class's score; 0 = always the nearest class. Where to start: about 0.63 for mobilenet, 0.4 for the EfficientNets (docs/custom-classes.md)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_MIN_SIMILARITY)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("attach-embedding")
                    .nick("Attach embedding")
                    .blurb("Add the frame's (or each region's) unit-length embedding, the model's pooled features, to the result as the float array 'embedding' (meta, messages, classifyjson), for search, clustering or re-identification. Needs a model with an embedding output. Read at NULL→READY")
                    .default_value(false)
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("frames-seen, frames-classified, mean-inference-time and max-inference-time (ns), results-dropped (async frames superseded before inference), qos-skipped, inference-calls (one per frame or per batch of regions), regions-classified; with inference-server, from READY on, also frames-unanswered, requests-sent (ModelInfer requests, the warm-up at READY included), requests-failed (error or unusable answer), requests-retried (batches sent to another endpoint after a request for them failed), requests-timed-out (no answer within server-timeout, or time ran out before a request could be sent) (see docs/remote-inference.md); with classes-dir also examples-embedded and examples-cached (at the last NULL->READY)")
                    .read_only()
                    .build(),
                glib::ParamSpecBoolean::builder("post-messages")
                    .nick("Post messages")
                    .blurb("Also post an element message named 'imgclassify' with the result of every classified frame")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let name = pspec.name();
        let mut refused = None;
        let changed = {
            let mut s = lock(&self.settings);
            let before = s.clone();
            // Text properties keep their value when the new one is not UTF-8.
            let mut text = |value: &glib::Value| match property::text(value) {
                Ok(text) => Some(text),
                Err(e) => {
                    refused = Some(e.message(name, false));
                    None
                }
            };
            match name {
                "classifier-id" => {
                    if let Some(id) = text(value) {
                        s.classifier_id = id.filter(|id| !id.is_empty());
                    }
                }
                "model" => {
                    if let Some(model) = text(value) {
                        s.model = model.unwrap_or_else(|| DEFAULT_MODEL.to_string());
                    }
                }
                "model-file" => s.model_file = property::path(value),
                "labels-file" => s.labels_file = property::path(value),
                "top-k" => s.top_k = value.get().unwrap_or(DEFAULT_TOP_K),
                "threshold" => s.threshold = value.get().unwrap_or(0.0),
                "threads" => s.threads = value.get().unwrap_or(0),
                "sessions" => s.sessions = value.get().unwrap_or(0),
                "input-size" => s.input_size = value.get().unwrap_or(0),
                "resize-mode" => s.resize_mode = value.get().unwrap_or_default(),
                "post-messages" => s.post_messages = value.get().unwrap_or(false),
                "execution-provider" => s.execution_provider = value.get().unwrap_or_default(),
                "inference-interval" => {
                    s.inference_interval = value.get::<u32>().unwrap_or(1).max(1)
                }
                "mode" => s.mode = value.get().unwrap_or_default(),
                "smoothing" => s.smoothing = value.get().unwrap_or(0.0),
                "target" => s.target = value.get().unwrap_or_default(),
                "region-types" => {
                    if let Some(types) = text(value) {
                        s.region_types = types.unwrap_or_default();
                        s.reparse_selection();
                    }
                }
                "min-region-size" => {
                    if let Some(size) = text(value) {
                        let size = size.unwrap_or_default();
                        if parse_size(&size).is_some() {
                            s.min_region_size = size;
                            s.reparse_selection();
                        } else {
                            refused = Some(format!(
                                "min-region-size '{}' is not WxH (e.g. 32x32); keeping '{}'",
                                size, s.min_region_size
                            ));
                        }
                    }
                }
                "max-regions" => {
                    s.max_regions = value.get().unwrap_or(0);
                    s.reparse_selection();
                }
                "max-batch" => s.max_batch = value.get().unwrap_or(DEFAULT_MAX_BATCH),
                "output-name" => {
                    if let Some(output) = text(value) {
                        s.output_name = output.filter(|o| !o.is_empty());
                    }
                }
                "input-mean" | "input-std" => {
                    if let Some(given) = text(value) {
                        let given = given.unwrap_or_default();
                        let is_std = name == "input-std";
                        let parsed = if given.trim().is_empty() {
                            Ok(None)
                        } else {
                            normalisation::parse_values(&given, is_std).map(Some)
                        };
                        match parsed {
                            Ok(values) if is_std => {
                                (s.input_std, s.normalisation.std) = (given, values)
                            }
                            Ok(values) => (s.input_mean, s.normalisation.mean) = (given, values),
                            Err(why) => {
                                refused = Some(format!(
                                    "{name} '{given}': {why}; keeping '{}'",
                                    if is_std { &s.input_std } else { &s.input_mean }
                                ))
                            }
                        }
                    }
                }
                "zones" => {
                    if let Some(text) = text(value) {
                        let text = text.unwrap_or_default();
                        match Zones::parse(&text) {
                            Ok(zones) => {
                                // An equal value is no change: the zones keep their results.
                                if zones != *s.zones {
                                    s.zones = Arc::new(zones);
                                }
                                s.zones_text = text;
                            }
                            Err(e) => {
                                refused = Some(format!(
                                    "zones '{}' refused: {}; keeping '{}'",
                                    text, e, s.zones_text
                                ))
                            }
                        }
                    }
                }
                "color-order" => s.color_order = value.get().unwrap_or_default(),
                "output-activation" => s.output_activation = value.get().unwrap_or_default(),
                "post-changes" => s.post_changes = value.get().unwrap_or(false),
                "fallback" => s.fallback = value.get().unwrap_or(true),
                "device-id" => s.device_id = value.get().unwrap_or(0),
                "fp16" => s.fp16 = value.get().unwrap_or(false),
                "engine-cache-dir" => s.engine_cache_dir = property::path(value),
                "inference-server" => {
                    if let Some(given) = text(value) {
                        let given = given.unwrap_or_default();
                        match parse_endpoints(&given) {
                            Ok(_) => s.inference_server = given.trim().to_string(),
                            Err(e) => {
                                refused = Some(format!("{e}; keeping '{}'", s.inference_server))
                            }
                        }
                    }
                }
                "server-model" => {
                    if let Some(model) = text(value) {
                        s.server_model = model.filter(|m| !m.is_empty());
                    }
                }
                "server-timeout" => {
                    s.server_timeout_ms = value.get().unwrap_or(DEFAULT_SERVER_TIMEOUT_MS)
                }
                "max-in-flight" => s.max_in_flight = value.get().unwrap_or(DEFAULT_MAX_IN_FLIGHT),
                "server-ca-file" => s.server_ca_file = property::path(value),
                "server-cert-file" => s.server_cert_file = property::path(value),
                "server-key-file" => s.server_key_file = property::path(value),
                "server-token-file" => s.server_token_file = property::path(value),
                "classes-dir" => s.classes_dir = property::path(value),
                "classes-cache-dir" => s.classes_cache_dir = property::path(value),
                "min-similarity" => {
                    s.min_similarity = value.get().unwrap_or(DEFAULT_MIN_SIMILARITY)
                }
                "attach-embedding" => s.attach_embedding = value.get().unwrap_or(false),
                _ => gst::warning!(CAT, imp = self, "unknown property '{}'", name),
            }
            *s != before
        };
        // Posted with no lock held: a bus sync handler runs on this thread and may read
        // this element's properties.
        if let Some(text) = refused {
            property::refuse(self.obj().upcast_ref(), *CAT, &text);
        }
        if changed {
            let (loaded_model, mode) = match lock(&self.loaded).as_ref() {
                Some(l) => (Some(l.model_name.clone()), l.mode),
                None => (None, None),
            };
            output::warn_if_deferred(&self.obj(), pspec, loaded_model.as_deref(), mode);
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "stats" => return self.stats().to_value(),
            "active-provider" => {
                return lock(&self.loaded)
                    .as_ref()
                    .map(|l| l.active.clone())
                    .to_value();
            }
            _ => {}
        }
        let s = lock(&self.settings);
        match pspec.name() {
            "classifier-id" => s.classifier_id.to_value(),
            "model" => s.model.to_value(),
            "model-file" => s.model_file.to_value(),
            "labels-file" => s.labels_file.to_value(),
            "top-k" => s.top_k.to_value(),
            "threshold" => s.threshold.to_value(),
            "threads" => s.threads.to_value(),
            "sessions" => s.sessions.to_value(),
            "input-size" => s.input_size.to_value(),
            "resize-mode" => s.resize_mode.to_value(),
            "post-messages" => s.post_messages.to_value(),
            "execution-provider" => s.execution_provider.to_value(),
            "inference-interval" => s.inference_interval.to_value(),
            "mode" => s.mode.to_value(),
            "smoothing" => s.smoothing.to_value(),
            "target" => s.target.to_value(),
            "region-types" => s.region_types.to_value(),
            "min-region-size" => s.min_region_size.to_value(),
            "max-regions" => s.max_regions.to_value(),
            "max-batch" => s.max_batch.to_value(),
            "inference-server" => s.inference_server.to_value(),
            "server-model" => s.server_model.to_value(),
            "server-timeout" => s.server_timeout_ms.to_value(),
            "max-in-flight" => s.max_in_flight.to_value(),
            "server-ca-file" => s.server_ca_file.to_value(),
            "server-cert-file" => s.server_cert_file.to_value(),
            "server-key-file" => s.server_key_file.to_value(),
            "server-token-file" => s.server_token_file.to_value(),
            "output-name" => s.output_name.to_value(),
            "input-mean" => s.input_mean.to_value(),
            "input-std" => s.input_std.to_value(),
            "color-order" => s.color_order.to_value(),
            "output-activation" => s.output_activation.to_value(),
            "zones" => s.zones_text.to_value(),
            "post-changes" => s.post_changes.to_value(),
            "fallback" => s.fallback.to_value(),
            "device-id" => s.device_id.to_value(),
            "fp16" => s.fp16.to_value(),
            "engine-cache-dir" => s.engine_cache_dir.to_value(),
            "classes-dir" => s.classes_dir.to_value(),
            "classes-cache-dir" => s.classes_cache_dir.to_value(),
            "min-similarity" => s.min_similarity.to_value(),
            "attach-embedding" => s.attach_embedding.to_value(),
            _ => pspec.default_value().clone(),
        }
    }
}

impl GstObjectImpl for ImgClassify {}

impl ElementImpl for ImgClassify {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Image classifier",
                "Filter/Analyzer/Video",
                "Classifies every frame with MobileNet / EfficientNet (or any ONNX classifier) on ONNX Runtime \
                 and attaches the top-k labels as ImgClassifyMeta; pixels pass through untouched",
                "imgclassify developers",
            )
        });
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let formats = PixelFormat::ALL.map(|f| f.name());
            let caps = gst::Caps::builder("video/x-raw")
                .field("format", gst::List::new(formats))
                .field("width", gst::IntRange::new(1, i32::MAX))
                .field("height", gst::IntRange::new(1, i32::MAX))
                .field(
                    "framerate",
                    gst::FractionRange::new(
                        gst::Fraction::new(0, 1),
                        gst::Fraction::new(i32::MAX, 1),
                    ),
                )
                .build();
            [gst::PadDirection::Src, gst::PadDirection::Sink]
                .into_iter()
                .filter_map(|dir| {
                    let name = if dir == gst::PadDirection::Src {
                        "src"
                    } else {
                        "sink"
                    };
                    gst::PadTemplate::new(name, dir, gst::PadPresence::Always, &caps).ok()
                })
                .collect()
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady {
            let (request, resize_mode) = {
                let s = lock(&self.settings);
                (s.load_request(&self.obj().name()), s.resize_mode)
            };
            match loading::load(&self.obj(), &request) {
                Ok(model) => {
                    let stream = Stream::new(&model.spec, resize_mode);
                    *lock(&self.loaded) = Some(Loaded {
                        model_name: model.classifier.model_name().to_string(),
                        active: model.active.clone(),
                        latency: model.latency,
                        stats: Arc::clone(&model.classifier.stats),
                        mode: None,
                    });
                    *lock(&self.state) = Some(State { model, stream });
                    self.obj().notify("active-provider");
                }
                Err(msg) => {
                    self.post_error_message(msg);
                    return Err(gst::StateChangeError);
                }
            }
        }
        let result = self.parent_change_state(transition);
        if transition == gst::StateChange::ReadyToNull
            || result.is_err() && transition == gst::StateChange::NullToReady
        {
            *lock(&self.state) = None;
            *lock(&self.loaded) = None;
        }
        result
    }
}

impl BaseTransformImpl for ImgClassify {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let video =
            VideoInput::from_caps(incaps).map_err(|e| gst::loggable_error!(CAT, "{}", e))?;
        gst::debug!(
            CAT,
            imp = self,
            "negotiated {} {}x{} {:?}",
            video.format,
            video.info.width(),
            video.info.height(),
            video.matrix
        );
        let mut state = lock(&self.state);
        let state = state
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "caps set before the model was loaded"))?;
        state.stream.set_video(video, &state.model.classifier);
        Ok(())
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (settings, selection, zones) = {
            let s = lock(&self.settings);
            (s.frame(), Arc::clone(&s.selection), Arc::clone(&s.zones))
        };
        let late = self.is_late(buf);
        let mut notices = Vec::new();
        let carried = match lock(&self.state).as_mut() {
            Some(state) => state.stream.process(
                &state.model.classifier,
                buf,
                settings,
                &selection,
                &zones,
                late,
                &mut notices,
            ),
            None => {
                notices.push(Notice::NotLoaded);
                Err(gst::FlowError::NotNegotiated)
            }
        };
        for notice in notices {
            output::post(&self.obj(), notice);
        }
        let Some(carried) = carried? else {
            return Ok(gst::FlowSuccess::Ok);
        };
        let fresh = carried.is_fresh();
        let mut result = carried.result;
        result.fresh = fresh;
        output::attach(&self.obj(), &result, buf);
        if settings.post_messages && carried.first_sight {
            output::post_result(&self.obj(), &result, buf);
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let mode = lock(&self.settings).mode;
        let mut state = lock(&self.state);
        let state = state
            .as_mut()
            .ok_or_else(|| gst::error_msg!(gst::CoreError::StateChange, ("no model loaded")))?;
        state
            .stream
            .start(mode, &state.model.classifier)
            .map_err(|e| {
                gst::error_msg!(
                    gst::CoreError::Thread,
                    ("cannot start the inference thread: {}", e)
                )
            })?;
        if let Some(loaded) = lock(&self.loaded).as_mut() {
            loaded.mode = Some(mode);
        }
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        // Take the worker out first: joining it must not happen under the state lock.
        let worker = lock(&self.state).as_mut().and_then(|s| s.stream.stop());
        drop(worker);
        if let Some(loaded) = lock(&self.loaded).as_mut() {
            loaded.mode = None;
        }
        *lock(&self.qos_earliest) = None;
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) = event.view() {
            if let Some(state) = lock(&self.state).as_mut() {
                state.stream.restart(&state.model.classifier);
            }
            *lock(&self.qos_earliest) = None;
        }
        self.parent_sink_event(event)
    }

    fn src_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Qos(qos) = event.view() {
            let (_, _, diff, timestamp) = qos.get();
            // As GstBaseTransform does: a frame due before timestamp + 2 * lateness is late.
            *lock(&self.qos_earliest) = match (timestamp, diff) {
                (Some(ts), diff) if diff > 0 => {
                    Some(ts + gst::ClockTime::from_nseconds(2 * diff as u64))
                }
                _ => None,
            };
            // Upstream still hears of it, but GstBaseTransform must not: with `qos`
            // on it would drop late frames, and this element never drops a frame.
            return self.obj().sink_pad().push_event(event);
        }
        self.parent_src_event(event)
    }

    fn query(&self, direction: gst::PadDirection, query: &mut gst::QueryRef) -> bool {
        let answered = BaseTransformImplExt::parent_query(self, direction, query);
        if !answered || direction != gst::PadDirection::Src {
            return answered;
        }
        if let gst::QueryViewMut::Latency(q) = query.view_mut() {
            let ours = match lock(&self.loaded).as_ref() {
                Some(l) if l.mode != Some(Mode::Async) => l.latency,
                _ => gst::ClockTime::ZERO,
            };
            let (live, min, max) = q.result();
            gst::debug!(CAT, imp = self, "adding {} of inference latency", ours);
            q.set(live, min + ours, max.map(|m| m + ours));
        }
        answered
    }
}
