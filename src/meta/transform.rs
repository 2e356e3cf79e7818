//! What a buffer transform does to an `ImgClassifyMeta`'s structure: region rectangles
//! are pixel positions on the frame, so a scaled frame needs scaled rectangles, or an
//! overlay after `videoscale` draws every box where the object used to be.

use gst::prelude::ToSendValue;

use crate::result::REGION_STRUCTURE_NAME;

/// What the element copying the buffer asks of the meta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transform {
    /// The whole buffer is copied: the frame is the same.
    Copy,
    /// Only a byte range of the buffer is copied: it is no longer the frame the
    /// result describes.
    PartialCopy,
    /// The frame is scaled from one size (width, height) to another.
    Scale { from: (u32, u32), to: (u32, u32) },
}

/// The structure the transformed buffer's meta gets, or `None` when it gets none.
pub(super) fn transformed(s: &gst::StructureRef, transform: Transform) -> Option<gst::Structure> {
    match transform {
        Transform::Copy => Some(s.to_owned()),
        Transform::PartialCopy => None,
        Transform::Scale { from, to } => scaled(s, from, to),
    }
}

/// `s` with every region's rectangle scaled from a `from` frame to a `to` frame, as
/// GStreamer scales `GstVideoRegionOfInterestMeta` (truncating each of x, y, width and
/// height), so that a region still matches its ROI meta; then clamped to the new frame.
fn scaled(s: &gst::StructureRef, from: (u32, u32), to: (u32, u32)) -> Option<gst::Structure> {
    if from.0 == 0 || from.1 == 0 {
        return None;
    }
    let mut out = s.to_owned();
    let Ok(regions) = s.get::<gst::Array>("regions") else {
        return Some(out);
    };
    let regions = regions
        .iter()
        .map(|value| match value.get::<gst::Structure>() {
            Ok(region) if region.name() == REGION_STRUCTURE_NAME => {
                scaled_region(&region, from, to).to_send_value()
            }
            // Not ours to interpret: left as it is.
            _ => value.clone(),
        });
    out.set("regions", gst::Array::from_values(regions));
    Some(out)
}

fn scaled_region(
    region: &gst::StructureRef,
    (ow, oh): (u32, u32),
    (nw, nh): (u32, u32),
) -> gst::Structure {
    let mut out = region.to_owned();
    let field = |name| region.get::<u32>(name).ok();
    let (Some(x), Some(y), Some(w), Some(h)) =
        (field("x"), field("y"), field("width"), field("height"))
    else {
        return out;
    };
    let (x, w) = clamped(scale(x, nw, ow), scale(w, nw, ow), nw);
    let (y, h) = clamped(scale(y, nh, oh), scale(h, nh, oh), nh);
    out.set("x", x);
    out.set("y", y);
    out.set("width", w);
    out.set("height", h);
    out
}

/// `v * num / den` truncated, in 64 bits so that no frame size overflows.
fn scale(v: u32, num: u32, den: u32) -> u32 {
    let scaled = u64::from(v) * u64::from(num) / u64::from(den);
    u32::try_from(scaled).unwrap_or(u32::MAX)
}

/// A start and length kept within `0..size`.
fn clamped(start: u32, len: u32, size: u32) -> (u32, u32) {
    let start = start.min(size);
    (start, len.min(size - start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Classification, RegionResult, Target};

    fn with_regions(rects: &[(u32, u32, u32, u32)]) -> Classification {
        Classification {
            target: Target::Regions,
            labels: Vec::new(),
            class_ids: Vec::new(),
            scores: Vec::new(),
            regions: rects
                .iter()
                .enumerate()
                .map(|(i, &rect)| RegionResult {
                    roi_id: i as i32,
                    roi_type: "car".into(),
                    rect,
                    labels: vec!["sports car".into()],
                    class_ids: vec![817],
                    scores: vec![0.5],
                    embedding: None,
                    track: None,
                })
                .collect(),
            ..Classification::for_test(&[], &[])
        }
    }

    fn rects(s: &gst::StructureRef) -> Vec<(u32, u32, u32, u32)> {
        Classification::from_structure(s)
            .expect("still a result")
            .regions
            .iter()
            .map(|r| r.rect)
            .collect()
    }

    #[test]
    fn scaling_scales_every_rect_like_an_roi_meta_and_keeps_the_rest() {
        gst::init().expect("gstreamer");
        let result = with_regions(&[(101, 81, 199, 151), (0, 0, 640, 480)]);
        let s = result.to_structure();
        let scale = Transform::Scale {
            from: (640, 480),
            to: (320, 240),
        };
        let out = transformed(&s, scale).expect("a meta");
        assert_eq!(rects(&out), [(50, 40, 99, 75), (0, 0, 320, 240)]);
        let mut back = Classification::from_structure(&out).expect("a result");
        back.regions
            .iter_mut()
            .zip(&result.regions)
            .for_each(|(b, r)| b.rect = r.rect);
        assert_eq!(back, result);
    }

    #[test]
    fn scaled_rects_stay_inside_the_new_frame() {
        gst::init().expect("gstreamer");
        let s = with_regions(&[(639, 479, 1, 1), (4_000_000_000, 7, u32::MAX, 9)]).to_structure();
        let scale = Transform::Scale {
            from: (640, 480),
            to: (1921, 1),
        };
        let out = transformed(&s, scale).expect("a meta");
        assert_eq!(rects(&out), [(1917, 0, 3, 0), (1921, 0, 0, 0)]);
        let from_nothing = Transform::Scale {
            from: (0, 480),
            to: (320, 240),
        };
        assert_eq!(transformed(&s, from_nothing), None);
    }

    #[test]
    fn a_whole_copy_keeps_everything_and_a_partial_one_nothing() {
        gst::init().expect("gstreamer");
        let s = with_regions(&[(1, 2, 3, 4)]).to_structure();
        assert_eq!(
            transformed(&s, Transform::Copy).as_deref(),
            Some(s.as_ref())
        );
        assert_eq!(transformed(&s, Transform::PartialCopy), None);
    }

    #[test]
    fn a_frame_result_scales_to_itself() {
        gst::init().expect("gstreamer");
        let s = Classification::for_test(&["espresso"], &[0.9]).to_structure();
        let scale = Transform::Scale {
            from: (640, 480),
            to: (320, 240),
        };
        assert_eq!(transformed(&s, scale).as_deref(), Some(s.as_ref()));
    }
}
