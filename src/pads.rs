//! Pad templates the elements share: the raw video every pixel format of the
//! preprocessing reads, and a source and a sink pad that are always there.

use gst::glib;

use crate::core::preprocess::PixelFormat;

/// Raw video in every format imgclassify reads, any size and rate, with `features`
/// (None: system memory).
pub fn raw_video(features: Option<&[&glib::GStr]>) -> gst::Caps {
    let structure = gst::Structure::builder("video/x-raw")
        .field("format", gst::List::new(PixelFormat::ALL.map(|f| f.name())))
        .field("width", gst::IntRange::new(1, i32::MAX))
        .field("height", gst::IntRange::new(1, i32::MAX))
        .field(
            "framerate",
            gst::FractionRange::new(gst::Fraction::new(0, 1), gst::Fraction::new(i32::MAX, 1)),
        )
        .build();
    let mut caps = gst::Caps::new_empty();
    caps.make_mut().append_structure_full(
        structure,
        features.map(|f| gst::CapsFeatures::new(f.iter().copied())),
    );
    caps
}

/// An always-present `src` and `sink` pad template, both with `caps`.
pub fn src_and_sink(caps: &gst::Caps) -> Vec<gst::PadTemplate> {
    [
        ("src", gst::PadDirection::Src),
        ("sink", gst::PadDirection::Sink),
    ]
    .into_iter()
    .filter_map(|(name, dir)| gst::PadTemplate::new(name, dir, gst::PadPresence::Always, caps).ok())
    .collect()
}
