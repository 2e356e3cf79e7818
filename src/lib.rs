//! imgclassify: image classification on video frames with ONNX Runtime.
//!
//! The GStreamer glue lives in [`imgclassify`]; everything it calls is plain Rust:
//! [`preprocess`] (frame → tensor), [`engine`] (ONNX Runtime), [`postprocess`]
//! (softmax, top-k), [`model`] (zoo, metadata, labels) and [`meta`] (the buffer meta).
//! [`classifyoverlay`] draws the results on the video.

pub use gst;

pub mod classifyoverlay;
pub mod engine;
pub mod imgclassify;
pub mod meta;
pub mod model;
pub mod postprocess;
pub mod preprocess;
pub mod regions;
pub mod smoothing;
pub mod stats;
pub mod worker;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), gst::glib::BoolError> {
    meta::register();
    imgclassify::register(plugin)?;
    classifyoverlay::register(plugin)
}

gst::plugin_define!(
    imgclassify,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
