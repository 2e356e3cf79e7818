//! `classifyoverlay` after `imgclassify target=regions`: each classified region outlined
//! and labelled inside the frame, drawn once for identical frames, and nothing below
//! `min-score`.

use crate::common;

use gstimgclassify::Classification;
use gstimgclassify::gst;
use gstimgclassify::testing::overlay::Rect;

// Regions: `imgclassify target=regions` classifies the ROI metas of a frame, and
// `classifyoverlay` outlines each region with its best label.

const REGION_W: u32 = 640;
const REGION_H: u32 = 480;

/// An ROI meta to add: id and rectangle (x, y, width, height).
use common::Roi;

/// A solid RGB frame (not grey, not white) with one ROI meta per `(id, rect)`.
fn frame_with_rois(rois: &[Roi]) -> gst::Buffer {
    let pixels = [0x40u8, 0x80, 0xc0].repeat((REGION_W * REGION_H) as usize);
    common::frame_with_rois(pixels, rois)
}

/// `imgclassify target=regions ! classifyoverlay` in a harness taking RGB frames.
fn regions_harness(overlay_properties: &str) -> gst_check::Harness {
    common::init();
    let mut h = gst_check::Harness::new_parse(&format!(
        "imgclassify target=regions model=mobilenet ! classifyoverlay name=overlay {overlay_properties}"
    ));
    h.play();
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={REGION_W},height={REGION_H},framerate=30/1"
    ));
    h
}

/// Which pixels of an RGB frame (rows of 640 × 3 bytes) differ between `a` and `b`.
fn changed_rgb(a: &gst::BufferRef, b: &gst::BufferRef) -> impl Fn(u32, u32) -> bool {
    let (a, b) = (
        a.map_readable().expect("readable").to_vec(),
        b.map_readable().expect("readable").to_vec(),
    );
    assert_eq!(a.len(), b.len());
    move |x, y| {
        let at = ((y * REGION_W + x) * 3) as usize;
        a[at..at + 3] != b[at..at + 3]
    }
}

fn rect((x, y, width, height): (u32, u32, u32, u32)) -> Rect {
    Rect {
        x: x as i32,
        y: y as i32,
        width,
        height,
    }
}

#[test]
fn classified_regions_are_outlined_and_labelled() {
    let rois = [(1, (100, 80, 200, 150)), (2, (330, 200, 220, 180))];
    let mut h = regions_harness("");
    let input = frame_with_rois(&rois);
    let original = input.copy_deep().expect("copy");
    let out = h.push_and_pull(input).expect("a frame");
    let meta = Classification::from_buffer(&out).expect("classified");
    assert!(meta.labels.is_empty());
    assert_eq!(meta.regions.len(), 2);
    assert!(
        out.meta::<gst_video::VideoOverlayCompositionMeta>()
            .is_none()
    );
    let changed = changed_rgb(&original, &out);
    let boxes: Vec<Rect> = rois.iter().map(|&(_, r)| rect(r)).collect();
    for y in 0..REGION_H {
        for x in 0..REGION_W {
            if changed(x, y) {
                assert!(
                    boxes.iter().any(|b| b.contains(x, y)),
                    "({x}, {y}) changed outside the regions"
                );
            }
        }
    }
    // 480 lines: the outline is 2 pixels wide.
    let t = 2;
    for (_, (x, y, w, h)) in rois {
        for i in x..x + w {
            assert!(changed(i, y) && changed(i, y + t - 1), "top edge at {i}");
            assert!(
                changed(i, y + h - 1) && changed(i, y + h - t),
                "bottom edge at {i}"
            );
        }
        for j in y..y + h {
            assert!(changed(x, j) && changed(x + t - 1, j), "left edge at {j}");
            assert!(
                changed(x + w - 1, j) && changed(x + w - t, j),
                "right edge at {j}"
            );
        }
        // The label box is at the top-left; the lower half inside the outline is untouched.
        for j in y + h / 2..y + h - t {
            for i in x + t..x + w - t {
                assert!(!changed(i, j), "({i}, {j}) inside the region changed");
            }
        }
        // The label box: the pixel just inside the outline's corner is covered.
        assert!(changed(x + t, y + t));
    }
    assert_eq!(common::overlay_renders(&h), 1);
}

#[test]
fn regions_at_the_frame_border_are_drawn_inside_it() {
    // imgclassify clips the first to (560, 400, 80, 80).
    let rois = [(1, (560, 400, 200, 200)), (2, (639, 0, 1, 1))];
    let mut h = regions_harness("");
    let input = frame_with_rois(&rois);
    let original = input.copy_deep().expect("copy");
    let out = h.push_and_pull(input).expect("a frame");
    let meta = Classification::from_buffer(&out).expect("classified");
    let mut rects: Vec<_> = meta.regions.iter().map(|r| r.rect).collect();
    rects.sort();
    assert_eq!(rects, [(560, 400, 80, 80), (639, 0, 1, 1)]);
    let changed = changed_rgb(&original, &out);
    // The outline's bottom and right edges run along the frame's edges.
    assert!((560..640).all(|x| changed(x, 479)));
    assert!((400..480).all(|y| changed(639, y)));
    // The 1-pixel region is drawn as the 2×2 block it lies in.
    assert!(changed(638, 0) && changed(639, 1));
    // The left part of the frame, away from both, is untouched.
    assert!((0..300).all(|x| (0..REGION_H).all(|y| !changed(x, y))));
}

#[test]
fn identical_frames_with_regions_are_drawn_once() {
    let rois = [(1, (100, 80, 200, 150)), (2, (330, 200, 220, 180))];
    let mut h = regions_harness("");
    let first = h.push_and_pull(frame_with_rois(&rois)).expect("a frame");
    for _ in 0..4 {
        let next = h.push_and_pull(frame_with_rois(&rois)).expect("a frame");
        assert!(
            next.map_readable().unwrap().as_slice() == first.map_readable().unwrap().as_slice()
        );
    }
    assert_eq!(common::overlay_renders(&h), 1);
}

#[test]
fn regions_below_min_score_are_not_drawn() {
    let rois = [(1, (100, 80, 200, 150))];
    let mut h = regions_harness("min-score=1.0");
    let input = frame_with_rois(&rois);
    let original = input.copy_deep().expect("copy");
    let out = h.push_and_pull(input).expect("a frame");
    assert_eq!(
        Classification::from_buffer(&out)
            .expect("classified")
            .regions
            .len(),
        1
    );
    assert!(out.map_readable().unwrap().as_slice() == original.map_readable().unwrap().as_slice());
    assert_eq!(common::overlay_renders(&h), 0);
}
