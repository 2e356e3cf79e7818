//! `classifyoverlay`: draws the labels of `ImgClassifyMeta` on the video, or attaches
//! them as `GstVideoOverlayCompositionMeta` when downstream draws overlays itself.
//!
//! [`layout`] decides what is drawn and where (plain Rust), [`render`] draws it with
//! pango and cairo, `imp.rs` is the GStreamer glue (negotiation, reuse, blending).

use gst::glib;
use gst::prelude::*;

mod imp;
pub(crate) mod layout;
mod render;

glib::wrapper! {
    pub struct ClassifyOverlay(ObjectSubclass<imp::ClassifyOverlay>)
        @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Frame corner of the label box (the `position` property).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstClassifyOverlayPosition")]
pub enum Position {
    #[default]
    #[enum_value(name = "Top left corner", nick = "top-left")]
    TopLeft = 0,
    #[enum_value(name = "Top right corner", nick = "top-right")]
    TopRight = 1,
    #[enum_value(name = "Bottom left corner", nick = "bottom-left")]
    BottomLeft = 2,
    #[enum_value(name = "Bottom right corner", nick = "bottom-right")]
    BottomRight = 3,
}

impl From<Position> for layout::Corner {
    fn from(p: Position) -> Self {
        match p {
            Position::TopLeft => layout::Corner::TopLeft,
            Position::TopRight => layout::Corner::TopRight,
            Position::BottomLeft => layout::Corner::BottomLeft,
            Position::BottomRight => layout::Corner::BottomRight,
        }
    }
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "classifyoverlay",
        gst::Rank::NONE,
        ClassifyOverlay::static_type(),
    )
}
