//! imgclassify: image classification on video frames with ONNX Runtime.
//!
//! The elements are `imgclassify`, `classifyoverlay` and `classifyjson`. A frame flows
//! through `preprocess` (frame → tensor), a `backend` (ONNX Runtime today), `postprocess`
//! (activation, smoothing, top-k, labels) and ends as a [`Classification`] on the buffer.
//!
//! The public API is what an application reads: [`Classification`] and [`RegionResult`],
//! [`Classification::from_buffer`] (the `ImgClassifyMeta`), the [`meta`] names, and with
//! the `analytics` feature the `analytics` helpers for the GStreamer ≥ 1.24 analytics meta.

pub use gst;

#[cfg(feature = "analytics")]
pub mod analytics;
mod classifyjson;
mod classifyoverlay;
mod core;
mod imgclassify;
mod jsonlines;
pub mod meta;
mod pads;
mod property;
mod result;
mod roi;

pub use result::{
    Classification, REGION_STRUCTURE_NAME, RegionResult, RegionTrack, STRUCTURE_NAME, Target,
};

/// Internals for the crate's own tests, benchmarks, examples and fuzz targets; not an API.
#[doc(hidden)]
pub mod testing {
    pub use crate::core::backend::onnxruntime::{
        PINNED_THREADS_ENV, SESSIONS_ENV, SHARED_PREPACK_ENV, aside_sessions, default_threads,
        live_sessions, pool_lends, pooled_sessions,
    };
    pub use crate::core::lock::lock;

    pub mod backend {
        pub use crate::core::backend::onnxruntime::{
            EngineOptions, OnnxRuntime, ProviderOptions, Requested, runtime,
        };
        pub use crate::core::backend::{Backend, Batch, Scores};
    }

    pub mod model {
        pub use crate::core::model::labels::parse_lines;
        pub use crate::core::model::metadata::PREFIX;
        pub use crate::core::model::{
            INPUT_SIZE_RANGE, Layout, MAX_INPUT_SIZE, ModelMetadata, ModelSpec, model_spec, zoo,
        };
    }

    pub mod preprocess {
        pub use crate::core::model::{ChannelOrder, Layout, TensorSpec};
        pub use crate::core::preprocess::{
            FrameView, PixelFormat, Preprocessor, Region, ResizeMode, YuvMatrix,
        };
        pub use crate::core::unchanged::Scale;
    }

    pub mod classes {
        pub use crate::core::classes::{
            CacheOptions, ClassSet, Embedder, Rule, UNKNOWN, build, cache, decode,
            default_cache_dir, folder, normalise,
        };
    }

    pub mod jsonlines {
        pub use crate::jsonlines::{Times, line};
    }

    pub mod inbox {
        pub use crate::core::inbox::{OwnedFrame, crop_rgb};
    }

    pub mod overlay {
        pub use crate::classifyoverlay::layout::Rect;
    }
}

fn plugin_init(plugin: &gst::Plugin) -> Result<(), gst::glib::BoolError> {
    meta::register();
    imgclassify::register(plugin)?;
    classifyoverlay::register(plugin)?;
    classifyjson::register(plugin)
}

// The crate is MIT OR Apache-2.0 (Cargo.toml, LICENSE-MIT, LICENSE-APACHE). GStreamer
// loads only plugins whose licence string is on its own short list (LGPL, GPL, QPL,
// GPL/QPL, MPL, BSD, MIT/X11, Proprietary, unknown), which has no Apache entry: "MIT/X11"
// names the MIT half, as the dual-licensed plugins of gst-plugins-rs do.
// The origin is GStreamer's own value for a package without a public home; there is
// none yet, and an invented URL would send people nowhere.
gst::plugin_define!(
    imgclassify,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    "Unknown package origin",
    env!("BUILD_REL_DATE")
);
