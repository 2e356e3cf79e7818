//! Region rectangles follow the frame: after `videoscale`, `videoconvertscale` or
//! `videocrop` the `ImgClassifyMeta` regions still lie on their ROI metas, and
//! `classifyoverlay` outlines them where the objects now are.

use crate::common;

use gstimgclassify::Classification;
use gstimgclassify::gst;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
/// The colour of the test frame: neither grey nor white, and kept by scaling.
const BACKGROUND: [u8; 3] = [0x40, 0x80, 0xc0];

/// An ROI meta to add: id and rectangle (x, y, width, height).
use common::Roi;

/// Two regions away from the frame's top-left corner, on odd coordinates so that
/// scaling truncates.
const ROIS: [Roi; 2] = [(1, (101, 81, 199, 151)), (2, (331, 201, 219, 179))];

/// A solid RGB frame with one ROI meta per `(id, rect)`.
fn frame_with_rois(rois: &[Roi]) -> gst::Buffer {
    common::frame_with_rois(BACKGROUND.repeat((WIDTH * HEIGHT) as usize), rois)
}

/// Pushes the frame with `ROIS` through `imgclassify target=regions ! {after}` and
/// returns what comes out.
fn through(after: &str) -> gst::Buffer {
    common::init();
    let mut h = gst_check::Harness::new_parse(&format!(
        "imgclassify target=regions model=mobilenet ! {after}"
    ));
    h.play();
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={WIDTH},height={HEIGHT},framerate=30/1"
    ));
    h.push_and_pull(frame_with_rois(&ROIS)).expect("a frame")
}

/// The ROI metas' rectangles by id, sorted.
fn roi_rects(buffer: &gst::BufferRef) -> Vec<(i32, (u32, u32, u32, u32))> {
    let mut rects: Vec<_> = buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .map(|roi| (roi.id(), roi.rect()))
        .collect();
    rects.sort();
    rects
}

/// The classified regions' rectangles by ROI id, sorted; the buffer carries exactly
/// one result.
fn region_rects(buffer: &gst::BufferRef) -> Vec<(i32, (u32, u32, u32, u32))> {
    let all = Classification::all_from_buffer(buffer);
    assert_eq!(all.len(), 1, "one result: {all:?}");
    let mut rects: Vec<_> = all[0].regions.iter().map(|r| (r.roi_id, r.rect)).collect();
    rects.sort();
    rects
}

#[test]
fn videoscale_scales_the_region_rects_like_the_roi_metas() {
    let out = through("videoscale ! capsfilter caps=video/x-raw,width=320,height=240");
    let expected = vec![(1, (50, 40, 99, 75)), (2, (165, 100, 109, 89))];
    assert_eq!(roi_rects(&out), expected);
    assert_eq!(region_rects(&out), expected);
}

#[test]
fn videoconvertscale_scales_each_axis_on_its_own() {
    let out =
        through("videoconvertscale ! capsfilter caps=video/x-raw,format=I420,width=960,height=240");
    let expected = vec![(1, (151, 40, 298, 75)), (2, (496, 100, 328, 89))];
    assert_eq!(roi_rects(&out), expected);
    assert_eq!(region_rects(&out), expected);
}

#[test]
fn an_unscaled_conversion_keeps_the_rects() {
    let out = through("videoconvert ! capsfilter caps=video/x-raw,format=I420");
    let expected: Vec<_> = ROIS.to_vec();
    assert_eq!(region_rects(&out), expected);
}

#[test]
fn videocrop_leaves_no_region_rect_off_its_object() {
    // GStreamer 1.22's videocrop keeps only metas without tags: the ROI metas and the
    // result both go. Whatever a videocrop does, no region may stay where the object
    // was before the crop.
    let out = through("videocrop left=100 top=40");
    let rois = roi_rects(&out);
    for result in Classification::all_from_buffer(&out) {
        for region in result.regions {
            assert!(
                rois.contains(&(region.roi_id, region.rect)),
                "region {} at {:?} is on no ROI meta: {rois:?}",
                region.roi_id,
                region.rect
            );
        }
    }
}

#[test]
fn the_overlay_outlines_the_regions_where_the_scaler_put_them() {
    let (w, h) = (320u32, 240u32);
    let out = through(&format!(
        "videoscale ! capsfilter caps=video/x-raw,width={w},height={h} ! classifyoverlay name=overlay"
    ));
    let pixels = out.map_readable().expect("readable").to_vec();
    let changed = |x: u32, y: u32| {
        let at = ((y * w + x) * 3) as usize;
        pixels[at..at + 3] != BACKGROUND
    };
    // The outlines as the overlay widens them to even pixels: (50, 40, 100, 76) and
    // (164, 100, 110, 90); 2 pixels wide.
    for (x, y, bw, bh) in [(50, 40, 100, 76), (164, 100, 110, 90)] {
        for i in x..x + bw {
            assert!(
                changed(i, y) && changed(i, y + bh - 1),
                "top or bottom edge at {i}"
            );
        }
        for j in y..y + bh {
            assert!(
                changed(x, j) && changed(x + bw - 1, j),
                "left or right edge at {j}"
            );
        }
        // Just outside the outline, left and below, the frame is untouched.
        for j in y + bh / 2..y + bh {
            assert!(!changed(x - 1, j), "({}, {j}) changed", x - 1);
        }
        for i in x + bw / 2..x + bw {
            assert!(!changed(i, y + bh), "({i}, {}) changed", y + bh);
        }
    }
    // Where the unscaled rectangles' bottom right corners would be: untouched.
    assert!(!changed(299, 230) && !changed(319, 239));
}
