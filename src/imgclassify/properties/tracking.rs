//! Classifying each tracked object now and then instead of every box on every frame
//! (`target=regions`).

use gst::glib;
use gst::prelude::*;

use super::*;

pub(super) fn properties() -> Vec<Property> {
    use glib::{ParamSpecDouble as Double, ParamSpecUInt as UInt};
    vec![
        prop(
            UInt::builder("reclassify-interval")
                .nick("Reclassify interval")
                .blurb("With target=regions: classify each tracked object on its first frame and again after this many frames; the frames between carry its labels. 0 = every box of every frame")
                .default_value(0)
                .mutable_playing()
                .build(),
            |s| s.frame.reclassify.interval.to_value(),
            |s, v| put(&mut s.frame.reclassify.interval, get(v)?),
        ),
        prop(
            Double::builder("reclassify-growth")
                .nick("Reclassify growth")
                .blurb("With reclassify-interval: an object whose box area grew by more than this factor since its last result is classified again at once; 0 = never")
                .minimum(0.0)
                .maximum(100.0)
                .default_value(1.5)
                .mutable_playing()
                .build(),
            |s| s.frame.reclassify.growth.to_value(),
            |s, v| put(&mut s.frame.reclassify.growth, get(v)?),
        ),
        prop(
            UInt::builder("object-timeout")
                .nick("Object timeout")
                .blurb("With reclassify-interval: milliseconds a tracked object not seen is kept before it is forgotten (a box there later is a new object)")
                .minimum(1)
                .maximum(3_600_000)
                .default_value(1000)
                .mutable_playing()
                .build(),
            |s| s.frame.reclassify.timeout_ms.to_value(),
            |s, v| put(&mut s.frame.reclassify.timeout_ms, get(v)?),
        ),
    ]
}
