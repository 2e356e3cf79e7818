//! GStreamer glue: properties, caps, state changes, and the per-frame path
//! frame → preprocess → engine → postprocess → metadata.

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use super::{ExecutionProvider, ResizeMode};
use crate::engine::{Engine, EngineError, EngineOptions, ProviderOptions, runtime};
use crate::meta::{Classification, STRUCTURE_NAME};
use crate::model::zoo;
use crate::postprocess::{softmax, top_k};
use crate::preprocess::{FrameView, PixelFormat, Preprocessor, YuvMatrix};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "imgclassify",
        gst::DebugColorFlags::empty(),
        Some("Image classification with ONNX Runtime"),
    )
});

const DEFAULT_MODEL: &str = "mobilenet";
const DEFAULT_TOP_K: u32 = 3;

#[derive(Debug, Clone)]
struct Settings {
    model: String,
    model_file: Option<String>,
    labels_file: Option<String>,
    top_k: u32,
    threshold: f64,
    threads: u32,
    resize_mode: ResizeMode,
    post_messages: bool,
    execution_provider: ExecutionProvider,
    fallback: bool,
    device_id: i32,
    fp16: bool,
    engine_cache_dir: Option<String>,
}

impl Settings {
    fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            threads: self.threads as usize,
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
            resize_mode: ResizeMode::default(),
            post_messages: false,
            execution_provider: ExecutionProvider::default(),
            fallback: true,
            device_id: 0,
            fp16: false,
            engine_cache_dir: None,
        }
    }
}

/// Everything that exists between NULL→READY and READY→NULL.
struct Loaded {
    engine: Engine,
    preprocessor: Preprocessor,
    resize_mode: ResizeMode,
    tensor: Vec<f32>,
    /// Set by caps; None until negotiated.
    video: Option<(gst_video::VideoInfo, PixelFormat, YuvMatrix)>,
    /// Warnings already posted this run, so a bad stream does not flood the bus.
    warned_frame: bool,
    warned_scores: bool,
}

#[derive(Default)]
pub struct ImgClassify {
    settings: Mutex<Settings>,
    state: Mutex<Option<Loaded>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not make every later frame panic too.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
        let options = settings.engine_options();
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
            "loaded model '{}' from {} on {} in {:?}: {}x{} {:?} {:?}, {} classes, {}",
            engine.name(),
            path.display(),
            engine.active(),
            started.elapsed(),
            spec.tensor.width,
            spec.tensor.height,
            spec.tensor.layout,
            spec.tensor.order,
            spec.classes,
            if engine.outputs_probabilities() {
                "probabilities"
            } else {
                "logits"
            }
        );
        Ok(Loaded {
            preprocessor: Preprocessor::new(
                spec.tensor.clone(),
                settings.resize_mode.into(),
                spec.crop_fraction,
            ),
            resize_mode: settings.resize_mode,
            tensor: vec![0.0; spec.tensor.len()],
            engine,
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

    /// Prepares the tensor from the mapped frame; the map is released before inference.
    fn preprocess(&self, loaded: &mut Loaded, buf: &gst::BufferRef) -> Result<(), String> {
        let Some((info, format, matrix)) = loaded.video.as_ref() else {
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
        loaded
            .preprocessor
            .run(&view, &mut loaded.tensor)
            .map_err(|e| e.to_string())
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
        let mut s = lock(&self.settings);
        let loaded = lock(&self.state).is_some();
        let name = pspec.name();
        match name {
            "model" => {
                s.model = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| DEFAULT_MODEL.to_string())
            }
            "model-file" => {
                s.model_file = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .filter(|p| !p.is_empty())
            }
            "labels-file" => {
                s.labels_file = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .filter(|p| !p.is_empty())
            }
            "top-k" => s.top_k = value.get().unwrap_or(DEFAULT_TOP_K),
            "threshold" => s.threshold = value.get().unwrap_or(0.0),
            "threads" => s.threads = value.get().unwrap_or(0),
            "resize-mode" => s.resize_mode = value.get().unwrap_or_default(),
            "post-messages" => s.post_messages = value.get().unwrap_or(false),
            "execution-provider" => s.execution_provider = value.get().unwrap_or_default(),
            "fallback" => s.fallback = value.get().unwrap_or(true),
            "device-id" => s.device_id = value.get().unwrap_or(0),
            "fp16" => s.fp16 = value.get().unwrap_or(false),
            "engine-cache-dir" => {
                s.engine_cache_dir = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .filter(|p| !p.is_empty())
            }
            _ => gst::warning!(CAT, imp = self, "unknown property '{}'", name),
        }
        let load_time_only = [
            "model",
            "model-file",
            "labels-file",
            "threads",
            "execution-provider",
            "fallback",
            "device-id",
            "fp16",
            "engine-cache-dir",
        ];
        if loaded && load_time_only.contains(&name) {
            gst::warning!(
                CAT,
                imp = self,
                "property '{}' changed while the model is loaded: it takes effect after the element goes back to NULL",
                name
            );
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        match pspec.name() {
            "model" => s.model.to_value(),
            "model-file" => s.model_file.to_value(),
            "labels-file" => s.labels_file.to_value(),
            "top-k" => s.top_k.to_value(),
            "threshold" => s.threshold.to_value(),
            "threads" => s.threads.to_value(),
            "resize-mode" => s.resize_mode.to_value(),
            "post-messages" => s.post_messages.to_value(),
            "execution-provider" => s.execution_provider.to_value(),
            "fallback" => s.fallback.to_value(),
            "device-id" => s.device_id.to_value(),
            "fp16" => s.fp16.to_value(),
            "engine-cache-dir" => s.engine_cache_dir.to_value(),
            "active-provider" => lock(&self.state)
                .as_ref()
                .map(|l| l.engine.active().to_string())
                .to_value(),
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
        Ok(())
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).clone();
        let mut state = lock(&self.state);
        let Some(loaded) = state.as_mut() else {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ["no model loaded"]);
            return Err(gst::FlowError::NotNegotiated);
        };
        if loaded.resize_mode != settings.resize_mode {
            let spec = loaded.engine.spec().clone();
            loaded.preprocessor =
                Preprocessor::new(spec.tensor, settings.resize_mode.into(), spec.crop_fraction);
            loaded.resize_mode = settings.resize_mode;
        }

        let preprocess_started = Instant::now();
        if let Err(why) = self.preprocess(loaded, buf) {
            // The frame still flows on, unlabelled: losing video is worse than losing one label.
            if !loaded.warned_frame {
                loaded.warned_frame = true;
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Format,
                    ("cannot read frame for classification: {}", why),
                    ["frames that cannot be read pass through without ImgClassifyMeta"]
                );
            }
            return Ok(gst::FlowSuccess::Ok);
        }

        let preprocess_time = preprocess_started.elapsed();
        let started = Instant::now();
        let raw = match loaded.engine.run(&loaded.tensor) {
            Ok(raw) => raw,
            Err(e) => {
                gst::element_imp_error!(self, gst::StreamError::Failed, ["{}", e]);
                return Err(gst::FlowError::Error);
            }
        };
        let inference_time_ns = started.elapsed().as_nanos() as u64;
        gst::log!(
            CAT,
            imp = self,
            "preprocess {:?}, inference {} µs",
            preprocess_time,
            inference_time_ns / 1000
        );

        if raw.iter().any(|v| !v.is_finite()) {
            if !loaded.warned_scores {
                loaded.warned_scores = true;
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Decode,
                    ("{}", EngineError::NonFinite),
                    ["model '{}'; check its weights", loaded.engine.name()]
                );
            }
            return Ok(gst::FlowSuccess::Ok);
        }
        let scores: Vec<f64> = if loaded.engine.outputs_probabilities() {
            raw.iter().map(|&v| v as f64).collect()
        } else {
            softmax(&raw)
        };
        let ranked = top_k(&scores, settings.top_k as usize, settings.threshold);
        let labels = loaded.engine.labels();
        let result = Classification {
            model: loaded.engine.name().to_string(),
            labels: ranked
                .iter()
                .map(|r| labels.get(r.class_id as usize).cloned().unwrap_or_default())
                .collect(),
            class_ids: ranked.iter().map(|r| r.class_id).collect(),
            scores: ranked.iter().map(|r| r.score).collect(),
            inference_time_ns,
            provider: loaded.engine.active().to_string(),
        };
        drop(state);
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
        if settings.post_messages {
            self.post_result(&result, buf);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
