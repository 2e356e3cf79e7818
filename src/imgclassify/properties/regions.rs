//! What in a frame is classified: the frame, regions from a detector, or zones.

use gst::glib;
use gst::prelude::*;

use super::*;

pub(super) fn properties() -> Vec<Property> {
    use glib::{ParamSpecEnum as Enum, ParamSpecString as Str, ParamSpecUInt as UInt};
    vec![
        prop(
            Enum::builder_with_default("target", Target::default())
                .nick("Target")
                .blurb("What is classified: the whole frame, each region of interest, or each zone")
                .mutable_playing()
                .build(),
            |s| s.frame.target.to_value(),
            |s, v| put(&mut s.frame.target, get(v)?),
        ),
        prop(
            Str::builder("region-types")
                .nick("Region types")
                .blurb("Comma-separated ROI types classified with target=regions; empty = all")
                .default_value(Some(""))
                .mutable_playing()
                .build(),
            |s| s.regions.types.to_value(),
            |s, v| {
                s.regions.types = text("region-types", v)?.unwrap_or_default();
                reselect(s, None);
                Ok(())
            },
        ),
        prop(
            Str::builder("min-region-size")
                .nick("Minimum region size")
                .blurb("Skip regions smaller than WxH pixels, e.g. 32x32")
                .default_value(Some("0x0"))
                .mutable_playing()
                .build(),
            |s| s.regions.min_size.to_value(),
            |s, v| {
                let size = text("min-region-size", v)?.unwrap_or_default();
                if parse_size(&size).is_none() {
                    return Err(format!(
                        "min-region-size '{size}' is not WxH (e.g. 32x32); keeping '{}'",
                        s.regions.min_size
                    ));
                }
                s.regions.min_size = size;
                reselect(s, None);
                Ok(())
            },
        ),
        prop(
            UInt::builder("max-regions")
                .nick("Maximum regions")
                .blurb("Classify at most this many regions per frame, the largest first, or zones, the first in the frame in the order given; 0 = all")
                .mutable_playing()
                .build(),
            |s| s.regions.selection.max_regions.to_value(),
            |s, v| {
                reselect(s, Some(get(v)?));
                Ok(())
            },
        ),
        prop(
            Str::builder("zones")
                .nick("Zones")
                .blurb(&format!(
                    "Named rectangles classified with target=zones: NAME:X,Y,W,H;NAME:X,Y,W,H; at most {MAX_ZONES}"
                ))
                .default_value(Some(""))
                .mutable_playing()
                .build(),
            |s| s.zones.text.to_value(),
            |s, v| {
                let text = text("zones", v)?.unwrap_or_default();
                let zones = Zones::parse(&text).map_err(|e| {
                    let (given, kept) = (excerpt(&text, 80), excerpt(&s.zones.text, 80));
                    format!("zones '{given}' refused: {e}; keeping '{kept}'")
                })?;
                // An equal value is no change: the zones keep their results.
                if zones != *s.zones.zones {
                    s.zones.zones = Arc::new(zones);
                }
                s.zones.text = text;
                Ok(())
            },
        ),
    ]
}
