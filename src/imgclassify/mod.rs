//! `imgclassify`: classifies every video frame and attaches the labels as metadata.

use std::sync::LazyLock;

use gst::glib;
use gst::prelude::*;

mod frame;
mod imp;
mod inbox;
mod inflight;
mod loading;
mod output;
mod properties;
mod settings;
mod stream;
mod swap;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "imgclassify",
        gst::DebugColorFlags::empty(),
        Some("Image classification with ONNX Runtime"),
    )
});

glib::wrapper! {
    pub struct ImgClassify(ObjectSubclass<imp::ImgClassify>)
        @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// What turns the model's output into scores (the `output-activation` property).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstImgClassifyOutputActivation")]
pub enum OutputActivation {
    #[default]
    #[enum_value(
        name = "The model's imgclassify.output metadata, else softmax unless the output already is a probability distribution",
        nick = "auto"
    )]
    Auto = 0,
    #[enum_value(name = "Softmax: one class per image, from logits", nick = "softmax")]
    Softmax = 1,
    #[enum_value(
        name = "Sigmoid per class: a multi-label model whose output is logits",
        nick = "sigmoid"
    )]
    Sigmoid = 2,
    #[enum_value(
        name = "None: the output already is scores (e.g. a sigmoid or softmax inside the model)",
        nick = "none"
    )]
    None = 3,
}

impl From<OutputActivation> for crate::core::postprocess::RequestedActivation {
    fn from(a: OutputActivation) -> Self {
        use crate::core::postprocess::RequestedActivation as R;
        match a {
            OutputActivation::Auto => R::Auto,
            OutputActivation::Softmax => R::Softmax,
            OutputActivation::Sigmoid => R::Sigmoid,
            OutputActivation::None => R::None,
        }
    }
}

/// The channel order the model wants (the `color-order` property).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstImgClassifyColorOrder")]
pub enum ColorOrder {
    #[default]
    #[enum_value(
        name = "The model's imgclassify.color_order metadata, else RGB",
        nick = "auto"
    )]
    Auto = 0,
    #[enum_value(name = "Red, green, blue", nick = "rgb")]
    Rgb = 1,
    #[enum_value(name = "Blue, green, red (OpenCV and Caffe models)", nick = "bgr")]
    Bgr = 2,
}

impl From<ColorOrder> for Option<crate::core::model::ChannelOrder> {
    fn from(order: ColorOrder) -> Self {
        match order {
            ColorOrder::Auto => None,
            ColorOrder::Rgb => Some(crate::core::model::ChannelOrder::Rgb),
            ColorOrder::Bgr => Some(crate::core::model::ChannelOrder::Bgr),
        }
    }
}

/// How the frame is fitted to the model input (the `resize-mode` property).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstImgClassifyResizeMode")]
pub enum ResizeMode {
    #[default]
    #[enum_value(
        name = "Centre crop with the model's evaluation crop fraction (how the weights were evaluated)",
        nick = "center-crop"
    )]
    CenterCrop = 0,
    #[enum_value(
        name = "Scale the whole frame, ignoring its aspect ratio",
        nick = "stretch"
    )]
    Stretch = 1,
    #[enum_value(
        name = "Scale the whole frame keeping its aspect ratio, with black bars",
        nick = "letterbox"
    )]
    Letterbox = 2,
}

impl From<ResizeMode> for crate::core::preprocess::ResizeMode {
    fn from(mode: ResizeMode) -> Self {
        match mode {
            ResizeMode::CenterCrop => crate::core::preprocess::ResizeMode::CenterCrop,
            ResizeMode::Stretch => crate::core::preprocess::ResizeMode::Stretch,
            ResizeMode::Letterbox => crate::core::preprocess::ResizeMode::Letterbox,
        }
    }
}

/// When inference happens relative to the stream (the `mode` property).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstImgClassifyMode")]
pub enum Mode {
    #[default]
    #[enum_value(name = "Each classified frame waits for its own result", nick = "sync")]
    Sync = 0,
    #[enum_value(
        name = "Frames never wait: a worker classifies the newest frame, buffers carry the latest finished result",
        nick = "async"
    )]
    Async = 1,
}

/// What gets classified (the `target` property).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstImgClassifyTarget")]
pub enum Target {
    #[default]
    #[enum_value(name = "The whole frame", nick = "frame")]
    Frame = 0,
    #[enum_value(
        name = "Each GstVideoRegionOfInterestMeta on the buffer (e.g. from a detector), batched",
        nick = "regions"
    )]
    Regions = 1,
    #[enum_value(
        name = "Each zone of the zones property (fixed rectangles, no detector needed), batched",
        nick = "zones"
    )]
    Zones = 2,
}

impl From<Target> for crate::result::Target {
    fn from(target: Target) -> Self {
        match target {
            Target::Frame => crate::result::Target::Frame,
            Target::Regions => crate::result::Target::Regions,
            Target::Zones => crate::result::Target::Zones,
        }
    }
}

/// Which execution provider runs the model (the `execution-provider` property).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstImgClassifyExecutionProvider")]
pub enum ExecutionProvider {
    #[default]
    #[enum_value(name = "The first that works of TensorRT, CUDA, CPU", nick = "auto")]
    Auto = 0,
    #[enum_value(name = "NVIDIA TensorRT", nick = "tensorrt")]
    TensorRt = 1,
    #[enum_value(name = "NVIDIA CUDA", nick = "cuda")]
    Cuda = 2,
    #[enum_value(name = "CPU", nick = "cpu")]
    Cpu = 3,
}

impl From<ExecutionProvider> for crate::core::backend::onnxruntime::Requested {
    fn from(p: ExecutionProvider) -> Self {
        match p {
            ExecutionProvider::Auto => crate::core::backend::onnxruntime::Requested::Auto,
            ExecutionProvider::TensorRt => crate::core::backend::onnxruntime::Requested::TensorRt,
            ExecutionProvider::Cuda => crate::core::backend::onnxruntime::Requested::Cuda,
            ExecutionProvider::Cpu => crate::core::backend::onnxruntime::Requested::Cpu,
        }
    }
}

/// Whether ONNX Runtime's intra-op threads spin while waiting for work (the `spinning`
/// property).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstImgClassifySpinning")]
pub enum Spinning {
    #[default]
    #[enum_value(
        name = "Measured while running: short spinning where the cores are free and it is faster, else off",
        nick = "auto"
    )]
    Auto = 0,
    #[enum_value(name = "Spin as ONNX Runtime does by default", nick = "on")]
    On = 1,
    #[enum_value(name = "Never spin: threads sleep at once", nick = "off")]
    Off = 2,
}

impl From<Spinning> for crate::core::backend::onnxruntime::Spinning {
    fn from(s: Spinning) -> Self {
        use crate::core::backend::onnxruntime::{SpinMode, Spinning as Core};
        match s {
            Spinning::Auto => Core::Auto,
            Spinning::On => Core::Fixed(SpinMode::On),
            Spinning::Off => Core::Fixed(SpinMode::Off),
        }
    }
}

impl From<crate::core::backend::onnxruntime::Spinning> for Spinning {
    fn from(s: crate::core::backend::onnxruntime::Spinning) -> Self {
        use crate::core::backend::onnxruntime::{SpinMode, Spinning as Core};
        match s {
            Core::Fixed(SpinMode::On) => Spinning::On,
            Core::Fixed(SpinMode::Off) => Spinning::Off,
            // `short` is only chosen by `auto`.
            Core::Auto | Core::Fixed(SpinMode::Short) => Spinning::Auto,
        }
    }
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "imgclassify",
        gst::Rank::NONE,
        ImgClassify::static_type(),
    )
}
