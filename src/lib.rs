//! imgclassify: image classification on video frames with ONNX Runtime.
//!
//! The GStreamer glue lives in [`imgclassify`]; everything it calls is plain Rust:
//! [`preprocess`] (frame → tensor), [`engine`] (ONNX Runtime), [`postprocess`]
//! (softmax, top-k), [`model`] (zoo, metadata, labels) and [`meta`] (the buffer meta).
//! [`classifyoverlay`] draws the results on the video.
//! With the `analytics` feature, `analytics` adds the GStreamer ≥ 1.24 analytics meta.
//! [`classifyjson`] writes the results as JSON lines built by [`jsonlines`].

pub use gst;

#[cfg(feature = "analytics")]
pub mod analytics;
pub mod classifyjson;
pub mod classifyoverlay;
pub mod engine;
pub mod imgclassify;
pub mod jsonlines;
pub mod lock;
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
    classifyoverlay::register(plugin)?;
    classifyjson::register(plugin)
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
