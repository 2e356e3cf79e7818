//! What `classifyoverlay` draws and where, decided without GStreamer, pango or cairo:
//! the text lines for a classification, the label box placement, colours and the key
//! that says whether the last rendering can be reused.
//!
//! [`text`] makes the lines, [`geometry`] places the label box in the frame,
//! [`regions`] outlines regions and zones, [`colour`] converts the colour properties.
//! `regions` builds on `geometry` and `text`; none of them imports this module.

mod colour;
mod geometry;
mod regions;
mod text;

pub use colour::Rgba;
pub use geometry::{Corner, Rect, box_size, font_scale, place};
pub use regions::{
    RegionBox, RegionSettings, merged_regions, outline, outline_width, place_region_label,
    region_box, zone_box,
};
pub use text::{lines, stacked_lines};
// Outside this module only render's tests measure the text of a single entry.
#[cfg(test)]
pub use text::entry_text;

/// Everything a rendering depends on. When the key of a frame equals the key of the
/// last rendering, the last overlay is reused as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderKey {
    pub lines: Vec<String>,
    pub font_desc: String,
    pub corner: Corner,
    pub text_color: u32,
    pub background_color: u32,
    pub frame_width: u32,
    pub frame_height: u32,
    /// One per classified region shown, in the order of the meta (drawn in that order).
    pub regions: Vec<RegionBox>,
}

impl RenderKey {
    /// Nothing to draw: no top-level line and no region.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.regions.is_empty()
    }
}
