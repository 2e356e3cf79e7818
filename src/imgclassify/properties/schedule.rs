//! Which frames are classified, and what is posted about them.

use gst::glib;
use gst::prelude::*;

use super::*;

pub(super) fn properties() -> Vec<Property> {
    use glib::{
        ParamSpecBoolean as Bool, ParamSpecDouble as Double, ParamSpecEnum as Enum,
        ParamSpecUInt as UInt,
    };
    vec![
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
            UInt::builder("in-flight")
                .nick("Frames in flight")
                .blurb("sync mode: frames held at once while the element's own thread classifies them, so upstream (a decoder) works on the next meanwhile; each frame still leaves in order with its own result. 1 = classify on the streaming thread (lowest latency); 0 = auto: 2 when upstream is not live, else 1. Adds up to in-flight × the inference latency. Read at READY→PAUSED")
                .maximum(16)
                .default_value(0)
                .mutable_ready()
                .build(),
            |s| s.in_flight.to_value(),
            |s, v| put(&mut s.in_flight, get(v)?),
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
            Bool::builder("post-changes")
                .nick("Post changes")
                .blurb("Post an 'imgclassify-change' element message when the top-1 label of the frame or of a zone changes")
                .mutable_playing()
                .build(),
            |s| s.frame.post_changes.to_value(),
            |s, v| put(&mut s.frame.post_changes, get(v)?),
        ),
        prop(
            UInt::builder("change-confirm")
                .nick("Change confirm")
                .blurb("Milliseconds of stream time (PTS) a new top-1 label must hold before it is a change (post-changes); shorter flickers post nothing; 0 = at once")
                .default_value(0)
                .mutable_playing()
                .build(),
            |s| s.frame.change_confirm_ms.to_value(),
            |s, v| put(&mut s.frame.change_confirm_ms, get(v)?),
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
