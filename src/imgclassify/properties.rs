//! Every property of `imgclassify` in one table: its spec, where its value lives in the
//! settings and how it is parsed. A new property is one entry here, one field and one
//! use. The long explanations are in docs/properties.md.

use std::sync::{Arc, LazyLock};

use gst::glib;
use gst::prelude::*;

use super::settings::Settings;
use super::{ColorOrder, ExecutionProvider, Mode, OutputActivation, ResizeMode, Target};
use crate::core::backend::onnxruntime::Requested;
use crate::core::backend::remote::{MAX_TIMEOUT_MS, parse_endpoints};
use crate::core::model::{self, normalisation, zoo};
use crate::core::postprocess::RequestedActivation;
use crate::core::regions::{Selection, parse_size, parse_types};
use crate::core::zones::{MAX_ZONES, Zones};
use crate::property::{self, excerpt};

type Get = fn(&Settings) -> glib::Value;
/// Err: why the value was refused, naming the property and the value; the old value
/// stays.
type Set = fn(&mut Settings, &glib::Value) -> Result<(), String>;

pub enum Access {
    Settings {
        get: Get,
        set: Set,
    },
    /// Read-only, from the loaded model.
    Stats,
    ActiveProvider,
}

pub struct Property {
    pub spec: glib::ParamSpec,
    pub access: Access,
}

fn prop(spec: glib::ParamSpec, get: Get, set: Set) -> Property {
    Property {
        spec,
        access: Access::Settings { get, set },
    }
}

fn put<T>(field: &mut T, value: T) -> Result<(), String> {
    *field = value;
    Ok(())
}

fn get<T: for<'a> glib::value::FromValue<'a> + 'static>(v: &glib::Value) -> Result<T, String> {
    v.get::<T>().map_err(|e| e.to_string())
}

/// A text value: None for NULL; not UTF-8 is refused.
fn text(name: &str, v: &glib::Value) -> Result<Option<String>, String> {
    property::text(v).map_err(|e| e.message(name, false))
}

/// Text where empty means unset.
fn optional(name: &str, v: &glib::Value) -> Result<Option<String>, String> {
    Ok(text(name, v)?.filter(|t| !t.is_empty()))
}

fn read_at_ready(blurb: &str) -> String {
    format!("{blurb}. Read at NULL→READY")
}

fn requested_provider(r: Requested) -> ExecutionProvider {
    match r {
        Requested::Auto => ExecutionProvider::Auto,
        Requested::TensorRt => ExecutionProvider::TensorRt,
        Requested::Cuda => ExecutionProvider::Cuda,
        Requested::Cpu => ExecutionProvider::Cpu,
    }
}

fn requested_activation(a: RequestedActivation) -> OutputActivation {
    match a {
        RequestedActivation::Auto => OutputActivation::Auto,
        RequestedActivation::Softmax => OutputActivation::Softmax,
        RequestedActivation::Sigmoid => OutputActivation::Sigmoid,
        RequestedActivation::None => OutputActivation::None,
    }
}

fn color_order(order: Option<model::ChannelOrder>) -> ColorOrder {
    match order {
        None => ColorOrder::Auto,
        Some(model::ChannelOrder::Rgb) => ColorOrder::Rgb,
        Some(model::ChannelOrder::Bgr) => ColorOrder::Bgr,
    }
}

fn reselect(s: &mut Settings, max_regions: Option<u32>) {
    let r = &mut s.regions;
    r.selection = Arc::new(Selection {
        types: parse_types(&r.types),
        min_size: parse_size(&r.min_size).unwrap_or((0, 0)),
        max_regions: max_regions.unwrap_or(r.selection.max_regions),
    });
}

/// `input-mean` or `input-std`: one number, or three.
fn set_normalisation(s: &mut Settings, v: &glib::Value, is_std: bool) -> Result<(), String> {
    let name = if is_std { "input-std" } else { "input-mean" };
    let given = text(name, v)?.unwrap_or_default();
    let parsed = if given.trim().is_empty() {
        None
    } else {
        let kept = if is_std {
            &s.written.input_std
        } else {
            &s.written.input_mean
        };
        Some(
            normalisation::parse_values(&given, is_std)
                .map_err(|why| format!("{name} '{given}': {why}; keeping '{kept}'"))?,
        )
    };
    let n = &mut s.load.model.normalisation;
    if is_std {
        (s.written.input_std, n.std) = (given, parsed);
    } else {
        (s.written.input_mean, n.mean) = (given, parsed);
    }
    Ok(())
}

pub fn all() -> &'static [Property] {
    static PROPERTIES: LazyLock<Vec<Property>> = LazyLock::new(table);
    PROPERTIES.as_ref()
}

pub fn find(name: &str) -> Option<&'static Property> {
    all().iter().find(|p| p.spec.name() == name)
}

/// The settings every property's default gives.
pub fn defaults() -> Settings {
    let mut s = Settings::default();
    for p in all() {
        if let Access::Settings { set, .. } = p.access {
            // A spec's own default is always valid.
            let _ = set(&mut s, p.spec.default_value());
        }
    }
    s
}

fn table() -> Vec<Property> {
    use glib::{
        ParamSpecBoolean as Bool, ParamSpecDouble as Double, ParamSpecEnum as Enum,
        ParamSpecInt as Int, ParamSpecString as Str, ParamSpecUInt as UInt,
    };
    vec![
        prop(
            Str::builder("classifier-id")
                .nick("Classifier ID")
                .blurb(&read_at_ready("Names this classifier in every result; unset = the element's name"))
                .build(),
            |s| s.load.classifier_id.to_value(),
            |s, v| put(&mut s.load.classifier_id, optional("classifier-id", v)?),
        ),
        prop(
            Str::builder("model")
                .nick("Model")
                .blurb(&read_at_ready(&format!("Built-in model: {} (model-file overrides it)", zoo::names())))
                .default_value(Some("mobilenet"))
                .build(),
            |s| s.load.model.name.to_value(),
            |s, v| put(&mut s.load.model.name, optional("model", v)?.unwrap_or_else(|| "mobilenet".into())),
        ),
        prop(
            Str::builder("model-file")
                .nick("Model file")
                .blurb(&read_at_ready("An ONNX image classifier, input [N,3,H,W], [N,H,W,3] or greyscale; overrides model"))
                .build(),
            |s| s.load.model.file.to_value(),
            |s, v| put(&mut s.load.model.file, property::path(v)),
        ),
        prop(
            Str::builder("labels-file")
                .nick("Labels file")
                .blurb(&read_at_ready("UTF-8 text, line N = the label of class N; overrides the model's labels"))
                .build(),
            |s| s.load.model.labels_file.to_value(),
            |s, v| put(&mut s.load.model.labels_file, property::path(v)),
        ),
        prop(
            UInt::builder("top-k")
                .nick("Top K")
                .blurb("Best classes reported per frame, region or zone")
                .minimum(1)
                .maximum(1000)
                .default_value(3)
                .mutable_playing()
                .build(),
            |s| (s.frame.params.top_k as u32).to_value(),
            |s, v| put(&mut s.frame.params.top_k, get::<u32>(v)? as usize),
        ),
        prop(
            Double::builder("threshold")
                .nick("Threshold")
                .blurb("Classes scoring below this are not reported")
                .minimum(0.0)
                .maximum(1.0)
                .default_value(0.0)
                .mutable_playing()
                .build(),
            |s| s.frame.params.threshold.to_value(),
            |s, v| put(&mut s.frame.params.threshold, get(v)?),
        ),
        prop(
            UInt::builder("threads")
                .nick("Threads")
                .blurb(&read_at_ready("ONNX Runtime intra-op threads per session; 0 = one per physical core, shared among the sessions"))
                .maximum(256)
                .build(),
            |s| s.load.engine.threads.to_value(),
            |s, v| put(&mut s.load.engine.threads, get(v)?),
        ),
        prop(
            UInt::builder("sessions")
                .nick("Sessions")
                .blurb(&read_at_ready("ONNX Runtime sessions of this model shared by the process's elements; 0 = automatic"))
                .maximum(256)
                .build(),
            |s| s.load.engine.sessions.to_value(),
            |s, v| put(&mut s.load.engine.sessions, get(v)?),
        ),
        prop(
            UInt::builder("input-size")
                .nick("Input size")
                .blurb(&read_at_ready(&format!(
                    "Square size to run a model with dynamic height and width at; 0 = its own size, else {} to {}",
                    model::INPUT_SIZE_RANGE.start(),
                    model::INPUT_SIZE_RANGE.end()
                )))
                .maximum(*model::INPUT_SIZE_RANGE.end() as u32)
                .build(),
            |s| s.load.model.input_size.to_value(),
            |s, v| put(&mut s.load.model.input_size, get(v)?),
        ),
        prop(
            Enum::builder_with_default("resize-mode", ResizeMode::default())
                .nick("Resize mode")
                .blurb("How the frame is fitted to the model's input size")
                .mutable_playing()
                .build(),
            |s| s.frame.resize_mode.to_value(),
            |s, v| put(&mut s.frame.resize_mode, get(v)?),
        ),
        prop(
            Enum::builder_with_default("execution-provider", ExecutionProvider::default())
                .nick("Execution provider")
                .blurb(&read_at_ready("Where the model runs; see fallback"))
                .build(),
            |s| requested_provider(s.load.engine.provider.requested).to_value(),
            |s, v| put(&mut s.load.engine.provider.requested, get::<ExecutionProvider>(v)?.into()),
        ),
        prop(
            Bool::builder("fallback")
                .nick("Fallback")
                .blurb(&read_at_ready("When the provider cannot be used, fall back (TensorRT, CUDA, CPU) with a warning; false = fail"))
                .default_value(true)
                .build(),
            |s| s.load.engine.provider.fallback.to_value(),
            |s, v| put(&mut s.load.engine.provider.fallback, get(v)?),
        ),
        prop(
            Int::builder("device-id")
                .nick("Device ID")
                .blurb(&read_at_ready("GPU index for CUDA and TensorRT"))
                .minimum(0)
                .maximum(255)
                .build(),
            |s| s.load.engine.provider.device_id.to_value(),
            |s, v| put(&mut s.load.engine.provider.device_id, get(v)?),
        ),
        prop(
            Bool::builder("fp16")
                .nick("FP16")
                .blurb(&read_at_ready("TensorRT half precision"))
                .build(),
            |s| s.load.engine.provider.fp16.to_value(),
            |s, v| put(&mut s.load.engine.provider.fp16, get(v)?),
        ),
        prop(
            Str::builder("engine-cache-dir")
                .nick("Engine cache folder")
                .blurb(&read_at_ready("TensorRT engine and timing cache; unset = $XDG_CACHE_HOME/imgclassify/tensorrt"))
                .build(),
            |s| s.load.engine.provider.engine_cache_dir.to_value(),
            |s, v| put(&mut s.load.engine.provider.engine_cache_dir, property::path(v)),
        ),
        Property {
            spec: Str::builder("active-provider")
                .nick("Active provider")
                .blurb("Where inferences run once READY: cpu, cuda:N, tensorrt:N, or the inference server endpoints")
                .read_only()
                .build(),
            access: Access::ActiveProvider,
        },
        prop(
            UInt::builder("inference-interval")
                .nick("Inference interval")
                .blurb("Classify every Nth frame; the frames between carry the latest result (fresh=false)")
                .minimum(1)
                .default_value(1)
                .mutable_playing()
                .build(),
            |s| s.frame.interval.to_value(),
            |s, v| put(&mut s.frame.interval, get::<u32>(v)?.max(1)),
        ),
        prop(
            Double::builder("unchanged-threshold")
                .nick("Unchanged threshold")
                .blurb("A frame or zone whose input differs from its last classified one's by less than this (mean absolute RGB difference, 0–1) carries that result (fresh=false); 0 = off")
                .minimum(0.0)
                .maximum(1.0)
                .default_value(0.0)
                .mutable_playing()
                .build(),
            |s| s.frame.unchanged_threshold.to_value(),
            |s, v| put(&mut s.frame.unchanged_threshold, get(v)?),
        ),
        prop(
            Enum::builder_with_default("mode", Mode::default())
                .nick("Mode")
                .blurb("sync: a classified frame waits for its result; async: frames never wait. Read at READY→PAUSED")
                .mutable_ready()
                .build(),
            |s| s.mode.to_value(),
            |s, v| put(&mut s.mode, get(v)?),
        ),
        prop(
            Double::builder("smoothing")
                .nick("Smoothing")
                .blurb("Moving average of the scores over classified frames (0 = off, 0.9 = heavy), with hysteresis")
                .minimum(0.0)
                .maximum(0.99)
                .default_value(0.0)
                .mutable_playing()
                .build(),
            |s| s.frame.params.smoothing.to_value(),
            |s, v| put(&mut s.frame.params.smoothing, get(v)?),
        ),
        prop(
            Enum::builder_with_default("target", Target::default())
                .nick("Target")
                .blurb("What is classified: the whole frame, each region of interest, or each zone")
                .mutable_playing()
                .build(),
            |s| s.frame.target.to_value(),
            |s, v| put(&mut s.frame.target, get(v)?),
        ),
        prop(
            Str::builder("region-types")
                .nick("Region types")
                .blurb("Comma-separated ROI types classified with target=regions; empty = all")
                .default_value(Some(""))
                .mutable_playing()
                .build(),
            |s| s.regions.types.to_value(),
            |s, v| {
                s.regions.types = text("region-types", v)?.unwrap_or_default();
                reselect(s, None);
                Ok(())
            },
        ),
        prop(
            Str::builder("min-region-size")
                .nick("Minimum region size")
                .blurb("Skip regions smaller than WxH pixels, e.g. 32x32")
                .default_value(Some("0x0"))
                .mutable_playing()
                .build(),
            |s| s.regions.min_size.to_value(),
            |s, v| {
                let size = text("min-region-size", v)?.unwrap_or_default();
                if parse_size(&size).is_none() {
                    return Err(format!(
                        "min-region-size '{size}' is not WxH (e.g. 32x32); keeping '{}'",
                        s.regions.min_size
                    ));
                }
                s.regions.min_size = size;
                reselect(s, None);
                Ok(())
            },
        ),
        prop(
            UInt::builder("max-regions")
                .nick("Maximum regions")
                .blurb("Classify at most this many regions per frame, the largest first, or zones, the first in the frame in the order given; 0 = all")
                .mutable_playing()
                .build(),
            |s| s.regions.selection.max_regions.to_value(),
            |s, v| {
                reselect(s, Some(get(v)?));
                Ok(())
            },
        ),
        prop(
            Str::builder("output-name")
                .nick("Output name")
                .blurb(&read_at_ready("The model output holding class scores; empty = the first that fits"))
                .build(),
            |s| s.load.model.output_name.to_value(),
            |s, v| put(&mut s.load.model.output_name, optional("output-name", v)?),
        ),
        prop(
            Str::builder("input-mean")
                .nick("Input mean")
                .blurb(&read_at_ready("value = (pixel − mean) / std, pixels 0–255: one number or three, e.g. 127; empty = the model's metadata, else ImageNet"))
                .build(),
            |s| s.written.input_mean.to_value(),
            |s, v| set_normalisation(s, v, false),
        ),
        prop(
            Str::builder("input-std")
                .nick("Input standard deviation")
                .blurb(&read_at_ready("See input-mean; positive, one number or three, e.g. 128"))
                .build(),
            |s| s.written.input_std.to_value(),
            |s, v| set_normalisation(s, v, true),
        ),
        prop(
            Enum::builder_with_default("color-order", ColorOrder::Auto)
                .nick("Colour order")
                .blurb(&read_at_ready("Channel order the model wants: auto (its metadata, else RGB), rgb or bgr"))
                .build(),
            |s| color_order(s.load.model.normalisation.order).to_value(),
            |s, v| put(&mut s.load.model.normalisation.order, get::<ColorOrder>(v)?.into()),
        ),
        prop(
            Enum::builder_with_default("output-activation", OutputActivation::Auto)
                .nick("Output activation")
                .blurb(&read_at_ready("What turns the model's output into scores"))
                .build(),
            |s| requested_activation(s.load.model.activation).to_value(),
            |s, v| put(&mut s.load.model.activation, get::<OutputActivation>(v)?.into()),
        ),
        prop(
            UInt::builder("max-batch")
                .nick("Maximum batch")
                .blurb("Regions or zones run in one inference at most; more take several")
                .minimum(1)
                .maximum(256)
                .default_value(8)
                .mutable_playing()
                .build(),
            |s| (s.frame.max_batch as u32).to_value(),
            |s, v| put(&mut s.frame.max_batch, get::<u32>(v)? as usize),
        ),
        prop(
            Str::builder("zones")
                .nick("Zones")
                .blurb(&format!(
                    "Named rectangles classified with target=zones: NAME:X,Y,W,H;NAME:X,Y,W,H; at most {MAX_ZONES}"
                ))
                .default_value(Some(""))
                .mutable_playing()
                .build(),
            |s| s.zones.text.to_value(),
            |s, v| {
                let text = text("zones", v)?.unwrap_or_default();
                let zones = Zones::parse(&text).map_err(|e| {
                    let (given, kept) = (excerpt(&text, 80), excerpt(&s.zones.text, 80));
                    format!("zones '{given}' refused: {e}; keeping '{kept}'")
                })?;
                // An equal value is no change: the zones keep their results.
                if zones != *s.zones.zones {
                    s.zones.zones = Arc::new(zones);
                }
                s.zones.text = text;
                Ok(())
            },
        ),
        prop(
            Bool::builder("post-changes")
                .nick("Post changes")
                .blurb("Post an 'imgclassify-change' element message when the top-1 label of the frame or of a zone changes")
                .mutable_playing()
                .build(),
            |s| s.frame.post_changes.to_value(),
            |s, v| put(&mut s.frame.post_changes, get(v)?),
        ),
        prop(
            Str::builder("inference-server")
                .nick("Inference server")
                .blurb(&read_at_ready("Comma-separated grpc:// or grpcs:// endpoints of KServe v2 servers that run the model; empty = in process"))
                .build(),
            |s| s.written.inference_server.to_value(),
            |s, v| {
                let given = text("inference-server", v)?.unwrap_or_default();
                s.load.server.endpoints = parse_endpoints(&given)
                    .map_err(|e| format!("{e}; keeping '{}'", s.written.inference_server))?;
                s.written.inference_server = given.trim().to_string();
                Ok(())
            },
        ),
        prop(
            Str::builder("server-model")
                .nick("Server model")
                .blurb(&read_at_ready("The model's name on the inference server; empty = the model's own name"))
                .build(),
            |s| s.load.server.model.to_value(),
            |s, v| put(&mut s.load.server.model, optional("server-model", v)?),
        ),
        prop(
            UInt::builder("server-timeout")
                .nick("Server timeout")
                .blurb(&read_at_ready("Milliseconds a frame waits for the inference servers, retries included"))
                .minimum(1)
                .maximum(MAX_TIMEOUT_MS)
                .default_value(1000)
                .build(),
            |s| s.load.server.timeout_ms.to_value(),
            |s, v| put(&mut s.load.server.timeout_ms, get(v)?),
        ),
        prop(
            UInt::builder("max-in-flight")
                .nick("Maximum requests in flight")
                .blurb(&read_at_ready("Requests to the inference servers outstanding at once"))
                .minimum(1)
                .maximum(1024)
                .default_value(4)
                .build(),
            |s| s.load.server.max_in_flight.to_value(),
            |s, v| put(&mut s.load.server.max_in_flight, get(v)?),
        ),
        prop(
            Str::builder("server-ca-file")
                .nick("Server CA file")
                .blurb(&read_at_ready("PEM CA certificates grpcs:// servers are verified against; empty = the system's roots"))
                .build(),
            |s| s.load.server.ca_file.to_value(),
            |s, v| put(&mut s.load.server.ca_file, property::path(v)),
        ),
        prop(
            Str::builder("server-cert-file")
                .nick("Server client certificate file")
                .blurb(&read_at_ready("PEM client certificate for mutual TLS, with server-key-file"))
                .build(),
            |s| s.load.server.cert_file.to_value(),
            |s, v| put(&mut s.load.server.cert_file, property::path(v)),
        ),
        prop(
            Str::builder("server-key-file")
                .nick("Server client key file")
                .blurb(&read_at_ready("PEM private key of server-cert-file; never logged"))
                .build(),
            |s| s.load.server.key_file.to_value(),
            |s, v| put(&mut s.load.server.key_file, property::path(v)),
        ),
        prop(
            Str::builder("server-token-file")
                .nick("Server token file")
                .blurb(&read_at_ready("A file whose first line is a bearer token for the servers; never logged"))
                .build(),
            |s| s.load.server.token_file.to_value(),
            |s, v| put(&mut s.load.server.token_file, property::path(v)),
        ),
        prop(
            Str::builder("classes-dir")
                .nick("Classes folder")
                .blurb(&read_at_ready("Custom classes from example photos, one sub-folder per class; empty = the model's classes"))
                .build(),
            |s| s.load.classes.dir.to_value(),
            |s, v| put(&mut s.load.classes.dir, property::path(v)),
        ),
        prop(
            Str::builder("classes-cache-dir")
                .nick("Classes cache folder")
                .blurb(&read_at_ready("Where the examples' embeddings are cached; unset = $XDG_CACHE_HOME/imgclassify/classes"))
                .build(),
            |s| s.load.classes.cache_dir.to_value(),
            |s, v| put(&mut s.load.classes.cache_dir, property::path(v)),
        ),
        prop(
            Double::builder("min-similarity")
                .nick("Minimum similarity")
                .blurb("With classes-dir: below this cosine similarity the label is 'unknown'; 0 = always the nearest class")
                .minimum(0.0)
                .maximum(1.0)
                .default_value(0.0)
                .mutable_playing()
                .build(),
            |s| s.frame.params.min_similarity.to_value(),
            |s, v| put(&mut s.frame.params.min_similarity, get(v)?),
        ),
        prop(
            Bool::builder("attach-embedding")
                .nick("Attach embedding")
                .blurb(&read_at_ready("Add each result's unit-length embedding as the float array 'embedding'"))
                .build(),
            |s| s.load.classes.attach_embedding.to_value(),
            |s, v| put(&mut s.load.classes.attach_embedding, get(v)?),
        ),
        Property {
            spec: glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                .nick("Statistics")
                .blurb("Counters and inference times since READY (docs/properties.md lists the fields)")
                .read_only()
                .build(),
            access: Access::Stats,
        },
        prop(
            Bool::builder("post-messages")
                .nick("Post messages")
                .blurb("Post an 'imgclassify' element message with every classified frame's result")
                .mutable_playing()
                .build(),
            |s| s.frame.post_messages.to_value(),
            |s, v| put(&mut s.frame.post_messages, get(v)?),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_specs() {
        gst::init().unwrap();
        let s = defaults();
        assert_eq!(s.load.model.name, "mobilenet");
        assert_eq!(s.frame.params.top_k, 3);
        assert_eq!(s.frame.interval, 1);
        assert_eq!(s.frame.max_batch, 8);
        assert_eq!(s.load.server.timeout_ms, 1000);
        assert_eq!(s.load.server.max_in_flight, 4);
        assert!(s.load.engine.provider.fallback);
        assert_eq!(s.regions.min_size, "0x0");
        assert!(s.refused.is_empty());
    }

    #[test]
    fn every_settable_property_reads_back_what_was_set() {
        gst::init().unwrap();
        let mut s = defaults();
        for (name, value) in [
            ("top-k", 5u32.to_value()),
            ("zones", "a:0,0,10,10".to_value()),
            ("input-mean", "127".to_value()),
            ("inference-server", "grpc://127.0.0.1:8001".to_value()),
            ("min-region-size", "32x32".to_value()),
            ("max-regions", 4u32.to_value()),
            ("color-order", ColorOrder::Bgr.to_value()),
            ("output-activation", OutputActivation::Sigmoid.to_value()),
            ("execution-provider", ExecutionProvider::Cpu.to_value()),
        ] {
            let Access::Settings { get, set } = find(name).unwrap().access else {
                panic!("{name} is a setting")
            };
            set(&mut s, &value).unwrap();
            let back = get(&s);
            assert_eq!(format!("{back:?}"), format!("{value:?}"), "{name}");
        }
        assert_eq!(s.regions.selection.min_size, (32, 32));
        assert_eq!(s.regions.selection.max_regions, 4);
        assert_eq!(s.load.server.endpoints.len(), 1);
        assert_eq!(s.load.model.normalisation.mean, Some([127.0; 3]));
    }

    #[test]
    fn a_bad_value_is_refused_and_the_old_one_kept() {
        gst::init().unwrap();
        let mut s = defaults();
        let Access::Settings { set, .. } = find("input-mean").unwrap().access else {
            unreachable!()
        };
        let why = set(&mut s, &"127,127".to_value()).unwrap_err();
        assert!(why.starts_with("input-mean '127,127': "), "{why}");
        assert_eq!(s.load.model.normalisation.mean, None);
    }
}
