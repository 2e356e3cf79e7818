//! GStreamer glue: properties, caps, state changes, and the per-frame path
//! frame → preprocess → engine → postprocess → metadata.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use super::inference::{Classifier, Job, Outcome, Params};
use super::{ExecutionProvider, Mode, ResizeMode, Target};
use crate::engine::{Engine, EngineError, EngineOptions, ProviderOptions, runtime};
use crate::lock::lock;
use crate::meta::{Classification, STRUCTURE_NAME};
use crate::model::{self, zoo};
use crate::preprocess::{FrameView, PixelFormat, Preprocessor, YuvMatrix};
use crate::regions::{Candidate, RegionInput, Selection, parse_size, parse_types};
use crate::worker::Worker;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "imgclassify",
        gst::DebugColorFlags::empty(),
        Some("Image classification with ONNX Runtime"),
    )
});

const DEFAULT_MODEL: &str = "mobilenet";
const DEFAULT_TOP_K: u32 = 3;

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    model: String,
    model_file: Option<String>,
    labels_file: Option<String>,
    top_k: u32,
    threshold: f64,
    threads: u32,
    /// 0 = the model's own size; checked at NULL→READY.
    input_size: u32,
    resize_mode: ResizeMode,
    post_messages: bool,
    execution_provider: ExecutionProvider,
    fallback: bool,
    device_id: i32,
    fp16: bool,
    engine_cache_dir: Option<String>,
    inference_interval: u32,
    mode: Mode,
    smoothing: f64,
    target: Target,
    region_types: String,
    min_region_size: String,
    max_regions: u32,
}

impl Settings {
    fn selection(&self) -> Selection {
        Selection {
            types: parse_types(&self.region_types),
            min_size: parse_size(&self.min_region_size).unwrap_or((0, 0)),
            max_regions: self.max_regions,
        }
    }

    fn params(&self) -> Params {
        Params {
            top_k: self.top_k as usize,
            threshold: self.threshold,
            smoothing: self.smoothing,
        }
    }

    fn engine_options(&self, input_size: Option<usize>) -> EngineOptions {
        EngineOptions {
            threads: self.threads as usize,
            input_size,
            provider: ProviderOptions {
                requested: self.execution_provider.into(),
                fallback: self.fallback,
                device_id: self.device_id,
                fp16: self.fp16,
                engine_cache_dir: self.engine_cache_dir.as_ref().map(PathBuf::from),
            },
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: DEFAULT_MODEL.to_string(),
            model_file: None,
            labels_file: None,
            top_k: DEFAULT_TOP_K,
            threshold: 0.0,
            threads: 0,
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
        }
    }
}

/// Everything that exists between NULL→READY and READY→NULL.
struct Loaded {
    classifier: Arc<Classifier>,
    /// Only in `async` mode, between READY→PAUSED and PAUSED→READY.
    worker: Option<Worker<Job, Outcome>>,
    /// The mode in use between READY→PAUSED and PAUSED→READY.
    streaming_mode: Option<Mode>,
    /// Added to upstream latency in `sync` mode: twice one warm inference.
    latency: gst::ClockTime,
    /// Index of the next frame since start, flush or caps change.
    frame_index: u64,
    /// The newest result and the index of the frame it was computed on.
    latest: Option<(u64, Classification)>,
    /// Frame index of the last result posted as a message.
    posted: Option<u64>,
    preprocessor: Preprocessor,
    resize_mode: ResizeMode,
    tensor: Vec<f32>,
    /// The regions of one frame, one tensor after another.
    batch: Vec<f32>,
    /// Set by caps; None until negotiated.
    video: Option<(gst_video::VideoInfo, PixelFormat, YuvMatrix)>,
    /// Warnings already posted this run, so a bad stream does not flood the bus.
    warned_frame: bool,
    warned_scores: bool,
}

/// A bus message decided while the state lock is held and posted once it is released:
/// an application's bus sync handler runs on the posting thread and may read this
/// element's properties, which take the same locks.
enum Notice {
    UnreadableFrame(String),
    NonFinite { model: String },
    Failed(String),
    NotLoaded,
}

/// The result a buffer carries: the frame it was computed on, and whether this is the
/// first buffer to carry it.
struct Labelled {
    source_frame: u64,
    frame: u64,
    result: Classification,
    first_sight: bool,
}

#[derive(Default)]
pub struct ImgClassify {
    settings: Mutex<Settings>,
    state: Mutex<Option<Loaded>>,
    /// Running time before which frames are late, from downstream QoS events.
    qos_earliest: Mutex<Option<gst::ClockTime>>,
}

/// A string property's new value; None for NULL.
fn text(value: &glib::Value) -> Option<String> {
    value.get::<Option<String>>().ok().flatten()
}

fn yuv_matrix(info: &gst_video::VideoInfo) -> YuvMatrix {
    let c = info.colorimetry();
    let base = match c.matrix() {
        gst_video::VideoColorMatrix::Bt709 => YuvMatrix::BT709,
        gst_video::VideoColorMatrix::Bt2020 => YuvMatrix::BT2020,
        _ => YuvMatrix::BT601,
    };
    YuvMatrix {
        limited: c.range() != gst_video::VideoColorRange::Range0_255,
        ..base
    }
}

impl ImgClassify {
    fn load(&self) -> Result<Loaded, gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        runtime::set_log_sink(std::sync::Arc::new(|level, line| {
            use ort::logging::LogLevel;
            let level = match level {
                LogLevel::Verbose => gst::DebugLevel::Log,
                LogLevel::Info => gst::DebugLevel::Info,
                LogLevel::Warning => gst::DebugLevel::Warning,
                LogLevel::Error | LogLevel::Fatal => gst::DebugLevel::Error,
            };
            gst::log_with_level!(CAT, level, "onnxruntime: {}", line);
        }));
        let path = match &settings.model_file {
            Some(file) => PathBuf::from(file),
            None => zoo::resolve(&settings.model).map_err(|e| {
                let kind = match e {
                    zoo::ZooError::Unknown { .. } => gst::LibraryError::Settings,
                    zoo::ZooError::NotInstalled { .. } => gst::LibraryError::Init,
                };
                gst::error_msg!(kind, ("{}", e))
            })?,
        };
        let input_size = model::requested_input_size(settings.input_size.into())
            .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("{}", e)))?;
        let options = settings.engine_options(input_size);
        let labels = settings.labels_file.as_ref().map(PathBuf::from);
        let started = Instant::now();
        let engine = Engine::load(&path, labels.as_deref(), &options).map_err(|e| {
            let text = e.to_string();
            match e {
                EngineError::Runtime(_) => gst::error_msg!(gst::LibraryError::Init, ("{}", text)),
                EngineError::ModelFile { .. } => {
                    gst::error_msg!(gst::ResourceError::NotFound, ("{}", text))
                }
                EngineError::Labels(_) => {
                    gst::error_msg!(gst::ResourceError::OpenRead, ("{}", text))
                }
                _ => gst::error_msg!(gst::LibraryError::Settings, ("{}", text)),
            }
        })?;
        self.report_fallback(&engine, &options);
        let spec = engine.spec().clone();
        gst::info!(
            CAT,
            imp = self,
            "loaded model '{}' from {} on {} in {:?}: {}x{} ({}) {:?} {:?}, {} classes, {}",
            engine.name(),
            path.display(),
            engine.active(),
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
            if engine.outputs_probabilities() {
                "probabilities"
            } else {
                "logits"
            }
        );
        let timing = Instant::now();
        engine
            .run(&vec![0.0; spec.tensor.len()])
            .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("{}", e)))?;
        let latency = gst::ClockTime::from_nseconds(2 * timing.elapsed().as_nanos() as u64);
        Ok(Loaded {
            classifier: Arc::new(Classifier::new(engine)),
            worker: None,
            streaming_mode: None,
            latency,
            frame_index: 0,
            latest: None,
            posted: None,
            preprocessor: Preprocessor::new(
                spec.tensor.clone(),
                settings.resize_mode.into(),
                spec.crop_fraction,
            ),
            resize_mode: settings.resize_mode,
            tensor: vec![0.0; spec.tensor.len()],
            batch: Vec::new(),
            video: None,
            warned_frame: false,
            warned_scores: false,
        })
    }

    /// Says which providers failed before the one in use: a bus warning when the user
    /// asked for a specific provider, a log line for `auto`.
    fn report_fallback(&self, engine: &Engine, options: &EngineOptions) {
        if engine.failures().is_empty() {
            return;
        }
        let reasons: Vec<String> = engine
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
            engine.active()
        );
        if options.provider.warns_on_fallback() {
            gst::element_imp_warning!(
                self,
                gst::LibraryError::Init,
                ("{}", text),
                ["set fallback=false to fail instead of falling back"]
            );
        } else {
            gst::info!(CAT, imp = self, "execution-provider=auto: {}", text);
        }
    }

    fn stats(&self) -> gst::Structure {
        let stats = lock(&self.state)
            .as_ref()
            .map(|l| lock(&l.classifier.stats).clone())
            .unwrap_or_default();
        gst::Structure::builder("imgclassify-stats")
            .field("frames-seen", stats.frames_seen)
            .field("frames-classified", stats.frames_classified)
            .field(
                "mean-inference-time",
                stats.mean_inference().as_nanos() as u64,
            )
            .field("max-inference-time", stats.max_inference.as_nanos() as u64)
            .field("results-dropped", stats.results_dropped)
            .field("qos-skipped", stats.qos_skipped)
            .field("inference-calls", stats.inference_calls)
            .field("regions-classified", stats.regions_classified)
            .build()
    }

    /// Starts the stream afresh: after a flush, a caps change or a restart.
    fn reset_stream(loaded: &mut Loaded) {
        loaded.frame_index = 0;
        loaded.latest = None;
        loaded.posted = None;
        loaded.classifier.reset();
        if let Some(worker) = &loaded.worker {
            worker.reset();
        }
    }

    /// Whether downstream's last QoS event says this frame is already late.
    fn is_late(&self, buf: &gst::BufferRef) -> bool {
        let Some(earliest) = *lock(&self.qos_earliest) else {
            return false;
        };
        let segment = self.obj().segment();
        let running = segment
            .downcast_ref::<gst::ClockTime>()
            .and_then(|seg| buf.pts().and_then(|pts| seg.to_running_time(pts)));
        running.is_some_and(|rt| rt < earliest)
    }

    /// The frame still flows on, unlabelled: losing video is worse than losing one label.
    fn warn_frame(loaded: &mut Loaded, why: &str, notices: &mut Vec<Notice>) {
        if !loaded.warned_frame {
            loaded.warned_frame = true;
            notices.push(Notice::UnreadableFrame(why.to_string()));
        }
    }

    /// Makes an inference outcome the current result, or says why there is none.
    fn take(
        loaded: &mut Loaded,
        outcome: Outcome,
        notices: &mut Vec<Notice>,
    ) -> Result<(), gst::FlowError> {
        match outcome {
            Outcome::Done { frame, result } => {
                if loaded.latest.as_ref().map(|l| l.0) != Some(frame) {
                    loaded.latest = Some((frame, result));
                }
                Ok(())
            }
            Outcome::NonFinite => {
                loaded.latest = None;
                if !loaded.warned_scores {
                    loaded.warned_scores = true;
                    notices.push(Notice::NonFinite {
                        model: loaded.classifier.engine.name().to_string(),
                    });
                }
                Ok(())
            }
            Outcome::Failed(e) => {
                notices.push(Notice::Failed(e));
                Err(gst::FlowError::Error)
            }
        }
    }

    /// Posts what `transform_ip` decided under the state lock, now that no lock is held.
    fn post(&self, notice: Notice) {
        match notice {
            Notice::UnreadableFrame(why) => gst::element_imp_warning!(
                self,
                gst::StreamError::Format,
                ("cannot read frame for classification: {}", why),
                ["frames that cannot be read pass through without ImgClassifyMeta"]
            ),
            Notice::NonFinite { model } => gst::element_imp_warning!(
                self,
                gst::StreamError::Decode,
                ("{}", EngineError::NonFinite),
                ["model '{}'; check its weights", model]
            ),
            Notice::Failed(e) => {
                gst::element_imp_error!(self, gst::StreamError::Failed, ("{}", e))
            }
            Notice::NotLoaded => {
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ["no model loaded"])
            }
        }
    }

    /// Runs (or skips) inference for one frame under the state lock and returns the
    /// result the buffer carries; messages to post go to `notices`.
    fn classify(
        &self,
        loaded: &mut Loaded,
        buf: &gst::BufferRef,
        settings: &Settings,
        late: bool,
        notices: &mut Vec<Notice>,
    ) -> Result<Option<Labelled>, gst::FlowError> {
        if loaded.resize_mode != settings.resize_mode {
            let spec = loaded.classifier.engine.spec().clone();
            loaded.preprocessor =
                Preprocessor::new(spec.tensor, settings.resize_mode.into(), spec.crop_fraction);
            loaded.resize_mode = settings.resize_mode;
        }
        let frame = loaded.frame_index;
        loaded.frame_index += 1;
        let stats = Arc::clone(&loaded.classifier.stats);
        lock(&stats).frames_seen += 1;

        let due = frame.is_multiple_of(u64::from(settings.inference_interval.max(1)));
        // Late frames keep their place in the stream; only their inference is skipped.
        let skip = due && late && loaded.worker.is_none();
        if skip {
            lock(&stats).qos_skipped += 1;
        }
        if due && !skip && settings.target == Target::Regions {
            let regions = Self::regions_of(loaded, buf, &settings.selection());
            match self.preprocess_regions(loaded, buf, &regions) {
                Err(why) => Self::warn_frame(loaded, &why, notices),
                Ok(()) => {
                    let outcome = loaded.classifier.run_regions(
                        &loaded.batch,
                        &regions,
                        frame,
                        buf.pts(),
                        settings.params(),
                    );
                    Self::take(loaded, outcome, notices)?;
                }
            }
        } else if due && !skip {
            let preprocess_started = Instant::now();
            match self.preprocess(loaded, buf) {
                Err(why) => Self::warn_frame(loaded, &why, notices),
                Ok(()) => {
                    gst::log!(
                        CAT,
                        imp = self,
                        "preprocess {:?}",
                        preprocess_started.elapsed()
                    );
                    let params = settings.params();
                    match &loaded.worker {
                        None => {
                            let outcome =
                                loaded
                                    .classifier
                                    .run(&loaded.tensor, frame, buf.pts(), params);
                            Self::take(loaded, outcome, notices)?;
                        }
                        Some(worker) => {
                            let job = Job {
                                tensor: loaded.tensor.clone(),
                                frame,
                                pts: buf.pts(),
                                params,
                            };
                            if worker.submit(job) {
                                lock(&stats).results_dropped += 1;
                            }
                        }
                    }
                }
            }
        }
        let from_worker = settings.target == Target::Frame;
        if let Some(outcome) = loaded
            .worker
            .as_ref()
            .filter(|_| from_worker)
            .and_then(Worker::latest)
        {
            Self::take(loaded, outcome, notices)?;
        }
        let Some((source_frame, result)) = loaded.latest.clone() else {
            return Ok(None);
        };
        let first_sight = loaded.posted != Some(source_frame);
        loaded.posted = Some(source_frame);
        Ok(Some(Labelled {
            source_frame,
            frame,
            result,
            first_sight,
        }))
    }

    /// Maps the frame read-only and hands it to `body`; the map is released before
    /// inference.
    fn with_frame<R>(
        video: Option<&(gst_video::VideoInfo, PixelFormat, YuvMatrix)>,
        buf: &gst::BufferRef,
        body: impl FnOnce(&FrameView<'_>) -> Result<R, String>,
    ) -> Result<R, String> {
        let Some((info, format, matrix)) = video else {
            return Err("no caps were negotiated".into());
        };
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, info)
            .map_err(|_| "the buffer could not be mapped as a video frame".to_string())?;
        let n = frame.n_planes() as usize;
        let mut planes: Vec<&[u8]> = Vec::with_capacity(n);
        for i in 0..n {
            planes.push(frame.plane_data(i as u32).map_err(|e| e.to_string())?);
        }
        let strides: Vec<usize> = frame.plane_stride()[..n]
            .iter()
            .map(|&s| {
                usize::try_from(s).map_err(|_| format!("negative stride {s} is not supported"))
            })
            .collect::<Result<_, _>>()?;
        let view = FrameView::new(
            *format,
            info.width() as usize,
            info.height() as usize,
            &planes,
            &strides,
            *matrix,
        )
        .map_err(|e| e.to_string())?;
        body(&view)
    }

    /// Prepares the whole-frame tensor.
    fn preprocess(&self, loaded: &mut Loaded, buf: &gst::BufferRef) -> Result<(), String> {
        let (pre, tensor) = (&mut loaded.preprocessor, &mut loaded.tensor);
        Self::with_frame(loaded.video.as_ref(), buf, |view| {
            pre.run(view, tensor).map_err(|e| e.to_string())
        })
    }

    /// The regions of interest on the buffer that the settings select.
    fn regions_of(
        loaded: &Loaded,
        buf: &gst::BufferRef,
        selection: &Selection,
    ) -> Vec<RegionInput> {
        let Some((info, _, _)) = loaded.video.as_ref() else {
            return Vec::new();
        };
        let candidates: Vec<Candidate> = buf
            .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
            .map(|roi| {
                let (x, y, w, h) = roi.rect();
                Candidate {
                    roi_id: roi.id(),
                    roi_type: roi.roi_type().to_string(),
                    rect: (x.into(), y.into(), w.into(), h.into()),
                }
            })
            .collect();
        selection.select(&candidates, info.width() as usize, info.height() as usize)
    }

    /// Prepares one tensor per region, one after another in `loaded.batch`.
    fn preprocess_regions(
        &self,
        loaded: &mut Loaded,
        buf: &gst::BufferRef,
        regions: &[RegionInput],
    ) -> Result<(), String> {
        let len = loaded.preprocessor.spec().len();
        loaded.batch.resize(regions.len() * len, 0.0);
        let (pre, batch) = (&mut loaded.preprocessor, &mut loaded.batch);
        Self::with_frame(loaded.video.as_ref(), buf, |view| {
            for (region, out) in regions.iter().zip(batch.chunks_mut(len)) {
                pre.run_region(view, Some(region.region), out)
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        })
    }

    /// Adds the result of each region to its ROI meta as an `imgclassify` param.
    fn attach_to_rois(result: &Classification, buf: &mut gst::BufferRef) {
        for mut roi in buf.iter_meta_mut::<gst_video::VideoRegionOfInterestMeta>() {
            let id = roi.id();
            if let Some(r) = result.regions.iter().find(|r| r.roi_id == id) {
                let mut param = result.to_structure();
                param.remove_field("regions");
                param.set("labels", gst::Array::new(&r.labels));
                param.set("class-ids", gst::Array::new(&r.class_ids));
                param.set("scores", gst::Array::new(&r.scores));
                roi.add_param(param);
            }
        }
    }

    fn post_result(&self, result: &Classification, buf: &gst::BufferRef) {
        let mut s = result.to_structure();
        let pts = buf.pts();
        s.set("timestamp", pts);
        let segment = self
            .obj()
            .sink_pad()
            .sticky_event::<gst::event::Segment>(0)
            .and_then(|e| e.segment().clone().downcast::<gst::ClockTime>().ok());
        let (running, stream) = match (&segment, pts) {
            (Some(seg), Some(pts)) => (seg.to_running_time(pts), seg.to_stream_time(pts)),
            _ => (None, None),
        };
        s.set("running-time", running);
        s.set("stream-time", stream);
        let msg = gst::message::Element::builder(s).src(&*self.obj()).build();
        let _ = self.obj().post_message(msg);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for ImgClassify {
    const NAME: &'static str = "GstImgClassify";
    type Type = super::ImgClassify;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for ImgClassify {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("model")
                    .nick("Model")
                    .blurb(&format!(
                        "Built-in model: {} (ignored when model-file is set; applied at NULL->READY)",
                        zoo::names()
                    ))
                    .default_value(Some(DEFAULT_MODEL))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("model-file")
                    .nick("Model file")
                    .blurb("Path of an ONNX image classifier with input [N,3,H,W] or [N,H,W,3]; overrides model (applied at NULL->READY)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("labels-file")
                    .nick("Labels file")
                    .blurb("UTF-8 text file with one label per line, line N = class N; overrides the model's labels (applied at NULL->READY)")
                    .mutable_ready()
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
                    .blurb("ONNX Runtime intra-op threads (0 = ONNX Runtime's default: one per core; applied at NULL->READY)")
                    .maximum(256)
                    .default_value(0)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("input-size")
                    .nick("Input size")
                    .blurb(&format!(
                        "Run a model whose height and width are dynamic at this square size instead of its own, \
                         e.g. MobileNet at 128, 160 or 192 (faster, less accurate); 0 = the model's own size, \
                         else {} to {}. A model with a fixed size accepts only that size (applied at NULL->READY)",
                        model::INPUT_SIZE_RANGE.start(),
                        model::INPUT_SIZE_RANGE.end()
                    ))
                    .default_value(0)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("resize-mode", ResizeMode::default())
                    .nick("Resize mode")
                    .blurb("How the frame is fitted to the model's input size")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("execution-provider", ExecutionProvider::default())
                    .nick("Execution provider")
                    .blurb("Where the model runs; see fallback for what happens when it cannot (applied at NULL->READY)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("fallback")
                    .nick("Fallback")
                    .blurb("When the requested provider cannot be used, fall back to the next (TensorRT, CUDA, CPU) with a warning; if false, fail with an error")
                    .default_value(true)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecInt::builder("device-id")
                    .nick("Device ID")
                    .blurb("GPU index for CUDA and TensorRT")
                    .minimum(0)
                    .maximum(255)
                    .default_value(0)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("fp16")
                    .nick("FP16")
                    .blurb("TensorRT half precision")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("engine-cache-dir")
                    .nick("Engine cache folder")
                    .blurb("TensorRT engine and timing cache; engines are kept per model content, GPU, precision and input size (default: $XDG_CACHE_HOME/imgclassify/tensorrt)")
                    .mutable_ready()
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
                    .blurb("frame: classify the whole frame; regions: classify each GstVideoRegionOfInterestMeta (one batched inference per frame) and add an 'imgclassify' param to it")
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
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("frames-seen, frames-classified, mean-inference-time and max-inference-time (ns), results-dropped (async frames superseded before inference), qos-skipped")
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
        let (loaded_model, streaming_mode) = match lock(&self.state).as_ref() {
            Some(l) => (
                Some(l.classifier.engine.name().to_string()),
                l.streaming_mode,
            ),
            None => (None, None),
        };
        let name = pspec.name();
        let mut refused = None;
        let changed = {
            let mut s = lock(&self.settings);
            let before = s.clone();
            match name {
                "model" => s.model = text(value).unwrap_or_else(|| DEFAULT_MODEL.to_string()),
                "model-file" => s.model_file = text(value).filter(|p| !p.is_empty()),
                "labels-file" => s.labels_file = text(value).filter(|p| !p.is_empty()),
                "top-k" => s.top_k = value.get().unwrap_or(DEFAULT_TOP_K),
                "threshold" => s.threshold = value.get().unwrap_or(0.0),
                "threads" => s.threads = value.get().unwrap_or(0),
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
                "region-types" => s.region_types = text(value).unwrap_or_default(),
                "min-region-size" => {
                    let text = text(value).unwrap_or_default();
                    if parse_size(&text).is_some() {
                        s.min_region_size = text;
                    } else {
                        refused = Some(format!(
                            "min-region-size '{}' is not WxH (e.g. 32x32); keeping '{}'",
                            text, s.min_region_size
                        ));
                    }
                }
                "max-regions" => s.max_regions = value.get().unwrap_or(0),
                "fallback" => s.fallback = value.get().unwrap_or(true),
                "device-id" => s.device_id = value.get().unwrap_or(0),
                "fp16" => s.fp16 = value.get().unwrap_or(false),
                "engine-cache-dir" => s.engine_cache_dir = text(value).filter(|p| !p.is_empty()),
                _ => gst::warning!(CAT, imp = self, "unknown property '{}'", name),
            }
            *s != before
        };
        // Posted with no lock held: a bus sync handler runs on this thread and may read
        // this element's properties.
        if let Some(text) = refused {
            gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", text));
        }
        if !changed {
            return;
        }
        let load_time_only = [
            "model",
            "model-file",
            "labels-file",
            "threads",
            "input-size",
            "execution-provider",
            "fallback",
            "device-id",
            "fp16",
            "engine-cache-dir",
        ];
        if let Some(model) = loaded_model.filter(|_| load_time_only.contains(&name)) {
            gst::element_imp_warning!(
                self,
                gst::LibraryError::Settings,
                (
                    "property '{}' changed while model '{}' is loaded: the new value takes effect \
                     the next time the element goes from NULL to READY",
                    name,
                    model
                ),
                ["set it in the NULL state, or set the element to NULL and back to apply it"]
            );
        }
        if let Some(mode) = streaming_mode.filter(|_| name == "mode") {
            gst::element_imp_warning!(
                self,
                gst::LibraryError::Settings,
                (
                    "property 'mode' changed while streaming in {} mode: the new value takes \
                     effect the next time the element goes from READY to PAUSED",
                    match mode {
                        Mode::Sync => "sync",
                        Mode::Async => "async",
                    }
                ),
                ["set it in the NULL or READY state"]
            );
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        // These wait for the state lock, which a frame holds through inference; the
        // settings lock is not held meanwhile so setters are not held up too.
        match pspec.name() {
            "stats" => return self.stats().to_value(),
            "active-provider" => {
                return lock(&self.state)
                    .as_ref()
                    .map(|l| l.classifier.engine.active().to_string())
                    .to_value();
            }
            _ => {}
        }
        let s = lock(&self.settings);
        match pspec.name() {
            "model" => s.model.to_value(),
            "model-file" => s.model_file.to_value(),
            "labels-file" => s.labels_file.to_value(),
            "top-k" => s.top_k.to_value(),
            "threshold" => s.threshold.to_value(),
            "threads" => s.threads.to_value(),
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
            "fallback" => s.fallback.to_value(),
            "device-id" => s.device_id.to_value(),
            "fp16" => s.fp16.to_value(),
            "engine-cache-dir" => s.engine_cache_dir.to_value(),
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
            match self.load() {
                Ok(loaded) => {
                    *lock(&self.state) = Some(loaded);
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
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "caps {} are not raw video", incaps))?;
        let format = PixelFormat::from_name(info.format().to_str()).ok_or_else(|| {
            gst::loggable_error!(CAT, "format {} is not supported", info.format())
        })?;
        let matrix = yuv_matrix(&info);
        gst::debug!(
            CAT,
            imp = self,
            "negotiated {} {}x{} {:?}",
            format,
            info.width(),
            info.height(),
            matrix
        );
        let mut state = lock(&self.state);
        let loaded = state
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "caps set before the model was loaded"))?;
        loaded.video = Some((info, format, matrix));
        loaded.warned_frame = false;
        Self::reset_stream(loaded);
        Ok(())
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).clone();
        let late = self.is_late(buf);
        let mut notices = Vec::new();
        let labelled = match lock(&self.state).as_mut() {
            Some(loaded) => self.classify(loaded, buf, &settings, late, &mut notices),
            None => {
                notices.push(Notice::NotLoaded);
                Err(gst::FlowError::NotNegotiated)
            }
        };
        for notice in notices {
            self.post(notice);
        }
        let Some(Labelled {
            source_frame,
            frame,
            mut result,
            first_sight,
        }) = labelled?
        else {
            return Ok(gst::FlowSuccess::Ok);
        };

        result.fresh = source_frame == frame;
        gst::trace!(CAT, imp = self, "{:?}", result);
        if let Err(e) = result.attach(buf) {
            gst::warning!(
                CAT,
                imp = self,
                "could not attach {}: {}",
                STRUCTURE_NAME,
                e
            );
        }
        Self::attach_to_rois(&result, buf);
        if settings.post_messages && first_sight {
            self.post_result(&result, buf);
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let mode = lock(&self.settings).mode;
        let mut state = lock(&self.state);
        let loaded = state
            .as_mut()
            .ok_or_else(|| gst::error_msg!(gst::CoreError::StateChange, ("no model loaded")))?;
        Self::reset_stream(loaded);
        if mode == Mode::Async {
            let classifier = Arc::clone(&loaded.classifier);
            let worker = Worker::start("imgclassify-infer", move |job: Job| {
                classifier.run(&job.tensor, job.frame, job.pts, job.params)
            })
            .map_err(|e| {
                gst::error_msg!(
                    gst::CoreError::Thread,
                    ("cannot start the inference thread: {}", e)
                )
            })?;
            loaded.worker = Some(worker);
        }
        loaded.streaming_mode = Some(mode);
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        // Take the worker out first: joining it must not happen under the state lock.
        let worker = lock(&self.state).as_mut().and_then(|l| {
            l.streaming_mode = None;
            l.worker.take()
        });
        drop(worker);
        *lock(&self.qos_earliest) = None;
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) = event.view() {
            if let Some(loaded) = lock(&self.state).as_mut() {
                Self::reset_stream(loaded);
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
        }
        self.parent_src_event(event)
    }

    fn query(&self, direction: gst::PadDirection, query: &mut gst::QueryRef) -> bool {
        let answered = BaseTransformImplExt::parent_query(self, direction, query);
        if !answered || direction != gst::PadDirection::Src {
            return answered;
        }
        if let gst::QueryViewMut::Latency(q) = query.view_mut() {
            let ours = match lock(&self.state).as_ref() {
                Some(loaded) if loaded.worker.is_none() => loaded.latency,
                _ => gst::ClockTime::ZERO,
            };
            let (live, min, max) = q.result();
            gst::debug!(CAT, imp = self, "adding {} of inference latency", ours);
            q.set(live, min + ours, max.map(|m| m + ours));
        }
        answered
    }
}
