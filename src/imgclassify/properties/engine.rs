//! The model, its labels and how it runs: file, top-k, threads, sessions, provider.

use gst::glib;
use gst::prelude::*;

use super::*;

pub(super) fn properties() -> Vec<Property> {
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
                .blurb(&reloaded(&format!("Built-in model: {} (model-file overrides it)", zoo::names())))
                .default_value(Some("mobilenet"))
                .mutable_playing()
                .build(),
            |s| s.load.model.name.to_value(),
            |s, v| put(&mut s.load.model.name, optional("model", v)?.unwrap_or_else(|| "mobilenet".into())),
        ),
        prop(
            Str::builder("model-file")
                .nick("Model file")
                .blurb(&reloaded("An ONNX image classifier, input [N,3,H,W], [N,H,W,3] or greyscale; overrides model"))
                .mutable_playing()
                .build(),
            |s| s.load.model.file.to_value(),
            |s, v| put(&mut s.load.model.file, property::path(v)),
        ),
        prop(
            Str::builder("labels-file")
                .nick("Labels file")
                .blurb(&reloaded("UTF-8 text, line N = the label of class N; overrides the model's labels"))
                .mutable_playing()
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
            Enum::builder_with_default("execution-provider", ExecutionProvider::default())
                .nick("Execution provider")
                .blurb(&read_at_ready("Where the model runs; see fallback"))
                .build(),
            |s| requested_provider(s.load.engine.provider.requested).to_value(),
            |s, v| put(&mut s.load.engine.provider.requested, get::<ExecutionProvider>(v)?.into()),
        ),
        prop(
            Enum::builder_with_default("spinning", Spinning::default())
                .nick("Spinning")
                .blurb(&read_at_ready("Whether ONNX Runtime's threads spin while waiting for work; auto measures which is faster while running"))
                .build(),
            |s| Spinning::from(s.load.engine.spinning).to_value(),
            |s, v| put(&mut s.load.engine.spinning, get::<Spinning>(v)?.into()),
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
    ]
}
