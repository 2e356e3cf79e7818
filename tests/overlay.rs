//! `classifyoverlay` in a harness: pixels changed exactly inside the label box, untouched
//! buffers without labels, the overlay composition meta for downstream that takes it
//! (the harness's answers to the caps and ALLOCATION queries stand for downstream), and
//! re-rendering only when the shown labels change; then the whole chain on a photo.
//! Region outlines and labels are in `overlay_regions.rs`.

use crate::common;

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::testing::overlay::Rect;
use gstimgclassify::{Classification, RegionResult};

/// 0xAARRGGBB of the test frames: not grey, so that both the grey box and white text change
/// every pixel they cover.
const FRAME_COLOUR: &str = "0xff4080c0";

fn classification(labels: &[&str], scores: &[f64]) -> Classification {
    common::classification("imgclassify0", labels, scores)
}

fn espresso() -> Classification {
    classification(&["espresso", "cup", "soup bowl"], &[0.91, 0.06, 0.01])
}

/// Labels for the n-th frame (None: the frame gets no meta).
type Labeller = Box<dyn Fn(u64) -> Option<Classification>>;

struct Output {
    buffers: Vec<gst::Buffer>,
    /// What the overlay negotiated downstream.
    caps: gst::Caps,
    /// `renders` of the overlay after the last frame.
    renders: u64,
}

/// What downstream of the overlay says when asked.
#[derive(Clone, Copy)]
struct Downstream {
    /// Accepts only caps with the overlay composition feature; otherwise any caps, as
    /// appsink does.
    meta_caps_only: bool,
    /// Lists the overlay composition meta in its ALLOCATION answer, as a sink that draws
    /// overlays itself would.
    takes_meta: bool,
}

/// appsink: any caps, and no meta in its ALLOCATION answer.
const ANY_CAPS: Downstream = Downstream {
    meta_caps_only: false,
    takes_meta: false,
};

/// Identical solid-colour frames of one format and size.
struct Source<'a> {
    format: &'a str,
    width: u32,
    height: u32,
    frames: u64,
}

fn source(format: &str, width: u32, height: u32, frames: u64) -> Source<'_> {
    Source {
        format,
        width,
        height,
        frames,
    }
}

/// One frame `source` makes, and the caps videotestsrc negotiated for it.
fn frame(format: &str, width: u32, height: u32) -> (gst::Caps, gst::Buffer) {
    common::video_test_frame(
        &format!("pattern=solid-color foreground-color={FRAME_COLOUR}"),
        &format!("video/x-raw,format={format},width={width},height={height},framerate=30/1"),
    )
}

/// The frame `source` makes, without any overlay.
fn reference(format: &str, width: u32, height: u32) -> gst::Buffer {
    frame(format, width, height).1
}

/// Pushes the frames of `source` through `classifyoverlay name=overlay {properties}`,
/// the n-th with `labels(n)` attached, and pulls them out of a harness whose sink
/// answers as `downstream`. Panics on an error message.
fn run(
    source: Source,
    properties: &str,
    labels: &dyn Fn(u64) -> Option<Classification>,
    downstream: Downstream,
) -> Output {
    let (caps, frame) = frame(source.format, source.width, source.height);
    let (mut h, bus) = common::harness(&format!("classifyoverlay name=overlay {properties}"));
    if downstream.takes_meta {
        h.add_propose_allocation_meta(gst_video::VideoOverlayCompositionMeta::meta_api(), None);
    }
    if downstream.meta_caps_only {
        h.set_sink_caps_str("video/x-raw(meta:GstVideoOverlayComposition)");
    }
    h.play();
    h.set_src_caps(caps);
    let mut buffers = Vec::new();
    for n in 0..source.frames {
        // A deep copy: the overlay draws into what it is given.
        let mut buffer = frame.copy_deep().expect("copy");
        {
            let b = buffer.get_mut().expect("writable");
            b.set_pts(gst::ClockTime::from_nseconds(n * 1_000_000_000 / 30));
            if let Some(result) = labels(n) {
                result.attach(b).expect("meta attaches");
            }
        }
        buffers.push(common::push_and_pull(&mut h, &bus, buffer));
    }
    if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
        panic!("classifyoverlay {properties}: {msg:?}");
    }
    let caps = h
        .sinkpad()
        .and_then(|p| p.current_caps())
        .expect("caps downstream");
    Output {
        buffers,
        caps,
        renders: common::overlay_renders(&h),
    }
}

fn same_labels(c: Classification) -> impl Fn(u64) -> Option<Classification> {
    move |_| Some(c.clone())
}

fn video_info(caps: &gst::Caps) -> gst_video::VideoInfo {
    gst_video::VideoInfo::from_caps(caps).expect("raw video caps")
}

/// The rectangle of the composition meta on `buffer`.
fn composition_rect(buffer: &gst::BufferRef) -> Option<Rect> {
    let meta = buffer.meta::<gst_video::VideoOverlayCompositionMeta>()?;
    let overlay = meta.overlay();
    assert_eq!(overlay.n_rectangles(), 1);
    let (x, y, width, height) = overlay.rectangle(0).ok()?.render_rectangle();
    Some(Rect {
        x,
        y,
        width,
        height,
    })
}

/// Where `output` differs from `reference`, sample by sample of every component: panics if
/// any byte outside `rect` differs (padding bytes included); returns how many pixels inside
/// `rect` have at least one changed sample.
fn changed_pixels_inside(
    info: &gst_video::VideoInfo,
    reference: &gst::BufferRef,
    output: &gst::BufferRef,
    rect: Rect,
) -> usize {
    let a = reference.map_readable().expect("readable");
    let b = output.map_readable().expect("readable");
    assert_eq!(a.len(), b.len());
    let (width, height) = (info.width(), info.height());
    let finfo = info.format_info();
    // Which bytes belong to a sample of a pixel inside the box.
    let mut inside = vec![false; a.len()];
    let mut changed = vec![false; (width * height) as usize];
    for c in 0..finfo.n_components() as usize {
        let plane = finfo.plane()[c] as usize;
        let (offset, stride) = (info.offset()[plane], info.stride()[plane] as usize);
        let bytes = (finfo.depth()[c] as usize).div_ceil(8);
        // GStreamer 1.22 gives P010_10LE's V offset as 1, counted in 16-bit samples
        // where every other format counts bytes; a 2-byte sample starts on an even byte.
        let poffset = match finfo.poffset()[c] as usize {
            odd if bytes == 2 && odd % 2 == 1 => odd * 2,
            even => even,
        };
        let (ws, hs) = (finfo.w_sub()[c], finfo.h_sub()[c]);
        for cy in 0..finfo.scale_height(c as u8, height) {
            for cx in 0..finfo.scale_width(c as u8, width) {
                let at = offset
                    + cy as usize * stride
                    + poffset
                    + cx as usize * finfo.pixel_stride()[c] as usize;
                // A subsampled sample (chroma of 2×2 or 2×1 pixels) is inside only when
                // every pixel it covers is: the pixels around the box must keep theirs.
                let (px, py) = (cx << ws, cy << hs);
                let last_x = (px + (1 << ws) - 1).min(width - 1);
                let last_y = (py + (1 << hs) - 1).min(height - 1);
                if !rect.contains(px, py) || !rect.contains(last_x, last_y) {
                    continue;
                }
                inside[at..at + bytes].iter_mut().for_each(|m| *m = true);
                if a[at..at + bytes] != b[at..at + bytes] {
                    for y in py..(py + (1 << hs)).min(height) {
                        for x in px..(px + (1 << ws)).min(width) {
                            changed[(y * width + x) as usize] = true;
                        }
                    }
                }
            }
        }
    }
    let outside: Vec<usize> = (0..a.len())
        .filter(|&i| !inside[i] && a[i] != b[i])
        .collect();
    assert!(
        outside.is_empty(),
        "{}: {} bytes outside the box {:?} changed, the first at byte {}",
        info.format(),
        outside.len(),
        rect,
        outside[0]
    );
    (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .filter(|&(x, y)| rect.contains(x, y) && changed[(y * width + x) as usize])
        .count()
}

/// The box the element draws for `espresso()` on a `width`×`height` frame in `position`,
/// read from the composition it attaches when downstream takes the meta.
fn label_box(format: &str, width: u32, height: u32, position: &str) -> Rect {
    let out = run(
        source(format, width, height, 1),
        &format!("position={position}"),
        &same_labels(espresso()),
        Downstream {
            meta_caps_only: false,
            takes_meta: true,
        },
    );
    composition_rect(&out.buffers[0]).expect("composition meta attached")
}

fn blends_inside_the_box_only(format: &str, position: &str) -> (Rect, usize) {
    let (width, height) = (320, 240);
    let rect = label_box(format, width, height, position);
    let original = reference(format, width, height);
    let out = run(
        source(format, width, height, 3),
        &format!("position={position}"),
        &same_labels(espresso()),
        ANY_CAPS,
    );
    let info = video_info(&out.caps);
    assert_eq!(info.format().to_str(), format);
    assert_eq!(out.buffers.len(), 3);
    let mut changed = usize::MAX;
    for buffer in &out.buffers {
        assert!(
            buffer
                .meta::<gst_video::VideoOverlayCompositionMeta>()
                .is_none()
        );
        changed = changed.min(changed_pixels_inside(&info, &original, buffer, rect));
    }
    assert_eq!(out.renders, 1);
    (rect, changed)
}

#[test]
fn rgbx_changes_every_pixel_of_the_box_and_nothing_else() {
    let (rect, changed) = blends_inside_the_box_only("RGBx", "top-left");
    // 320×240: the margin is 2% of 240 = 4.8, rounded to 5, made even: 4.
    assert_eq!((rect.x, rect.y), (4, 4));
    assert!(rect.width >= 60 && rect.height >= 30, "{rect:?}");
    assert_eq!(changed, (rect.width * rect.height) as usize);
}

#[test]
fn nv12_changes_every_pixel_of_the_box_and_nothing_else() {
    let (rect, changed) = blends_inside_the_box_only("NV12", "bottom-right");
    assert_eq!(rect.x as u32 + rect.width, 320 - 4);
    assert_eq!(rect.y as u32 + rect.height, 240 - 4);
    assert_eq!(changed, (rect.width * rect.height) as usize);
}

#[test]
fn every_accepted_format_is_blended_inside_the_box_only() {
    let formats = [
        "NV12",
        "I420",
        "YUY2",
        "RGB",
        "BGR",
        "RGBA",
        "BGRA",
        "RGBx",
        "BGRx",
        "xRGB",
        "xBGR",
        "ARGB",
        "ABGR",
        "GRAY8",
        "NV21",
        "UYVY",
        "YVYU",
        "Y42B",
        "Y444",
        "I420_10LE",
        "P010_10LE",
        "Y444_10LE",
        "YV12",
    ];
    for format in formats {
        let (rect, changed) = blends_inside_the_box_only(format, "top-right");
        let area = (rect.width * rect.height) as usize;
        // GRAY8 has luma only: a few anti-aliased text pixels may keep the frame's grey.
        assert!(
            changed * 100 >= area * 99,
            "{format}: {changed} of {area} pixels changed"
        );
        if format != "GRAY8" {
            assert_eq!(changed, area, "{format}");
        }
    }
}

#[test]
fn buffers_without_labels_pass_bit_identical() {
    let original = reference("RGBx", 320, 240);
    let original_nv12 = reference("NV12", 320, 240);
    // No meta at all, meta with no labels, and labels all below min-score.
    let cases: Vec<(&str, &gst::Buffer, Labeller)> = vec![
        ("RGBx", &original, Box::new(|_| None)),
        ("NV12", &original_nv12, Box::new(|_| None)),
        (
            "RGBx",
            &original,
            Box::new(|_| Some(classification(&[], &[]))),
        ),
        ("RGBx", &original, Box::new(same_labels(espresso()))),
    ];
    for (format, original, labels) in cases {
        let out = run(
            source(format, 320, 240, 4),
            "min-score=0.95",
            &labels,
            ANY_CAPS,
        );
        assert_eq!(out.buffers.len(), 4);
        assert_eq!(out.renders, 0);
        let a = original.map_readable().unwrap();
        for buffer in &out.buffers {
            assert_eq!(buffer.map_readable().unwrap().as_slice(), a.as_slice());
            assert!(
                buffer
                    .meta::<gst_video::VideoOverlayCompositionMeta>()
                    .is_none()
            );
        }
    }
}

#[test]
fn a_frame_without_labels_between_labelled_ones_is_not_drawn_on() {
    let original = reference("RGBx", 320, 240);
    let out = run(
        source("RGBx", 320, 240, 3),
        "",
        &|n| (n != 1).then(espresso),
        ANY_CAPS,
    );
    let a = original.map_readable().unwrap();
    let same: Vec<bool> = out
        .buffers
        .iter()
        .map(|b| b.map_readable().unwrap().as_slice() == a.as_slice())
        .collect();
    assert_eq!(same, [false, true, false]);
    assert_eq!(out.renders, 1);
}

/// Downstream that accepts the caps feature and lists the meta: pixels untouched, one
/// composition (the same object) attached to every buffer.
fn check_attached(out: &Output, original: &gst::Buffer) {
    let features = out.caps.features(0).expect("features");
    assert!(
        features.contains(gst_video::CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION),
        "{}",
        out.caps
    );
    let a = original.map_readable().unwrap();
    let mut seqnums = Vec::new();
    for buffer in &out.buffers {
        assert_eq!(buffer.map_readable().unwrap().as_slice(), a.as_slice());
        let meta = buffer
            .meta::<gst_video::VideoOverlayCompositionMeta>()
            .expect("composition meta");
        seqnums.push(meta.overlay().seqnum());
        let rect = composition_rect(buffer).expect("one rectangle");
        assert!(rect.x >= 0 && rect.x as u32 + rect.width <= 320, "{rect:?}");
        assert!(
            rect.y >= 0 && rect.y as u32 + rect.height <= 240,
            "{rect:?}"
        );
    }
    seqnums.dedup();
    assert_eq!(seqnums.len(), 1, "one composition reused");
    assert_eq!(out.renders, 1);
}

#[test]
fn attaches_the_composition_when_downstream_takes_it() {
    for format in [
        "RGBx",
        "NV12",
        "NV21",
        "UYVY",
        "YVYU",
        "Y42B",
        "Y444",
        "I420_10LE",
        "P010_10LE",
        "Y444_10LE",
        "YV12",
    ] {
        let original = reference(format, 320, 240);
        let out = run(
            source(format, 320, 240, 5),
            "",
            &same_labels(espresso()),
            Downstream {
                meta_caps_only: true,
                takes_meta: true,
            },
        );
        assert_eq!(out.buffers.len(), 5);
        check_attached(&out, &original);
    }
}

#[test]
fn downstream_accepting_only_the_meta_caps_gets_the_meta() {
    // The ALLOCATION answer lacks the meta, but nothing else than meta caps would be
    // accepted.
    let original = reference("RGBx", 320, 240);
    let out = run(
        source("RGBx", 320, 240, 3),
        "",
        &same_labels(espresso()),
        Downstream {
            meta_caps_only: true,
            takes_meta: false,
        },
    );
    check_attached(&out, &original);
}

#[test]
fn downstream_accepting_any_caps_without_the_meta_gets_pixels() {
    // Downstream takes any caps features but does not list the meta when asked, as
    // appsink does: blend, and say so in the caps.
    let out = run(
        source("RGBx", 320, 240, 1),
        "",
        &same_labels(espresso()),
        ANY_CAPS,
    );
    let features = out.caps.features(0).expect("features");
    assert!(!features.contains(gst_video::CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION));
    assert!(
        out.buffers[0]
            .meta::<gst_video::VideoOverlayCompositionMeta>()
            .is_none()
    );
}

fn renders(labels: impl Fn(u64) -> Option<Classification>, properties: &str, frames: u64) -> u64 {
    run(
        source("NV12", 320, 240, frames),
        properties,
        &labels,
        ANY_CAPS,
    )
    .renders
}

#[test]
fn renders_only_when_the_shown_labels_change() {
    // 30 frames, the same labels: one rendering.
    assert_eq!(renders(|_| Some(espresso()), "", 30), 1);
    // New labels every 10 frames: three.
    let cycle = |n: u64| {
        let labels = [["espresso", "cup"], ["cup", "espresso"], ["mug", "cup"]];
        Some(classification(&labels[(n / 10) as usize % 3], &[0.8, 0.1]))
    };
    assert_eq!(renders(cycle, "", 30), 3);
    // Back and forth every frame: every frame.
    let flip = |n: u64| {
        Some(classification(
            if n.is_multiple_of(2) { &["a"] } else { &["b"] },
            &[0.5],
        ))
    };
    assert_eq!(renders(flip, "", 20), 20);
    // Scores that wobble below the shown precision (whole percent) do not count ...
    let wobble = |n: u64| Some(classification(&["espresso"], &[0.9101 + n as f64 * 1e-4]));
    assert_eq!(renders(wobble, "", 30), 1);
    // ... those that change the percentage do, unless scores are hidden.
    let drift = |n: u64| Some(classification(&["espresso"], &[0.5 + n as f64 * 0.01]));
    assert_eq!(renders(drift, "", 30), 30);
    assert_eq!(renders(drift, "show-scores=false", 30), 1);
}

#[test]
fn classifies_and_overlays_a_real_photo() {
    // The whole chain on the coffee photo: 5 identical frames, one rendering, the box in
    // the top-left corner.
    let description = format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGBx \
         ! imagefreeze num-buffers=5 ! imgclassify model=mobilenet \
         ! classifyoverlay name=overlay ! appsink name=sink",
        common::data("coffee.png").display()
    );
    let pipeline = common::pipeline(&description);
    let out = common::try_run_pipeline(&pipeline)
        .unwrap_or_else(|e| panic!("pipeline '{description}' failed: {e}"));
    // The element keeps its count after the pipeline stopped.
    let renders = pipeline
        .by_name("overlay")
        .expect("overlay")
        .property::<u64>("renders");
    assert_eq!(out.buffers.len(), 5);
    assert_eq!(renders, 1);
    let result = Classification::from_buffer(&out.buffers[0]).expect("classified");
    assert_eq!(result.labels[0], "espresso");
}

fn region(rect: (u32, u32, u32, u32), label: &str, score: f64) -> RegionResult {
    RegionResult {
        roi_id: 0,
        roi_type: "object".into(),
        rect,
        labels: vec![label.into()],
        class_ids: vec![0],
        scores: vec![score],
        embedding: None,
        track: None,
    }
}

#[test]
fn region_rectangles_stay_inside_odd_frames_on_even_pixels() {
    // Metas from elsewhere need not be clipped: past the border, on the odd last
    // column, a single pixel, outside, and one below min-score.
    let labels = Classification {
        regions: vec![
            region((300, 220, 100, 100), "a long label for a small region", 0.9),
            region((0, 0, 1, 1), "dot", 0.9),
            region((320, 10, 1, 5), "odd column", 0.9),
            region((1000, 1000, 5, 5), "outside", 0.9),
            region((100, 100, 50, 50), "unsure", 0.1),
        ],
        ..classification(&[], &[])
    };
    let out = run(
        source("NV12", 321, 241, 2),
        "min-score=0.5",
        &same_labels(labels),
        Downstream {
            meta_caps_only: false,
            takes_meta: true,
        },
    );
    assert_eq!(out.renders, 1);
    for buffer in &out.buffers {
        let meta = buffer
            .meta::<gst_video::VideoOverlayCompositionMeta>()
            .expect("composition meta");
        let overlay = meta.overlay();
        // 4 outline bands and a label for the first region, a filled 2×2 and a label for
        // the dot, nothing for the others.
        assert_eq!(overlay.n_rectangles(), 7);
        for i in 0..overlay.n_rectangles() {
            let (x, y, w, h) = overlay.rectangle(i).expect("rectangle").render_rectangle();
            assert!(x >= 0 && y >= 0, "{x},{y}");
            assert!(
                x as u32 + w <= 320 && y as u32 + h <= 240,
                "{x},{y} {w}x{h}"
            );
            assert!(
                [x, y, w as i32, h as i32].iter().all(|v| v % 2 == 0),
                "{x},{y} {w}x{h}"
            );
        }
    }
}
