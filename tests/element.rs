//! The element on its own: every format and size passes bit-identical and labelled, and
//! its messages carry the result.

use crate::common;

use gstimgclassify::Classification;
use gstimgclassify::gst;
use gstimgclassify::testing::preprocess::PixelFormat;

fn video_info(format: PixelFormat, w: u32, h: u32) -> gst_video::VideoInfo {
    let f = gst_video::VideoFormat::from_string(format.name());
    gst_video::VideoInfo::builder(f, w, h)
        .fps(gst::Fraction::new(30, 1))
        .build()
        .expect("valid video info")
}

/// One frame of `videotestsrc` in the given format and size.
fn test_frame(info: &gst_video::VideoInfo) -> gst::Buffer {
    let caps = info.to_caps().expect("caps").to_string();
    common::video_test_frame("pattern=smpte", &caps).1
}

/// One `videotestsrc` frame and its caps, in ABGR: the format videotestsrc picks for
/// imgclassify when it is left open.
fn abgr_frame(width: u32, height: u32, fps: u32) -> (gst::Caps, gst::Buffer) {
    common::video_test_frame(
        "",
        &format!("video/x-raw,format=ABGR,width={width},height={height},framerate={fps}/1"),
    )
}

fn assert_valid(result: &Classification, k: usize) {
    assert_eq!(result.model, "mobilenet");
    assert_eq!(result.labels.len(), k, "{result:?}");
    assert_eq!(result.class_ids.len(), k);
    assert_eq!(result.scores.len(), k);
    assert!(result.labels.iter().all(|l| !l.is_empty()), "{result:?}");
    assert!(result.scores.windows(2).all(|w| w[0] >= w[1]), "{result:?}");
    assert!(result.scores.iter().all(|s| *s > 0.0 && *s <= 1.0));
    assert!(result.scores.iter().sum::<f64>() <= 1.0 + 1e-9);
    assert!(result.inference_time_ns > 0);
}

fn assert_bit_identical(before: &gst::Buffer, after: &gst::Buffer) {
    let a = before.map_readable().expect("readable");
    let b = after.map_readable().expect("readable");
    assert_eq!(a.len(), b.len());
    assert!(a.as_slice() == b.as_slice(), "pixels changed");
    assert_eq!(before.pts(), after.pts());
}

#[test]
fn every_format_and_size_passes_untouched_with_labels() {
    common::init();
    for format in PixelFormat::ALL {
        let mut h = gst_check::Harness::new("imgclassify");
        h.play();
        for (w, hgt) in [(1, 1), (2, 3), (33, 17), (4095, 1), (1920, 1080)] {
            let info = video_info(format, w, hgt);
            h.set_src_caps(info.to_caps().expect("caps"));
            let frame = test_frame(&info);
            let original = frame.copy_deep().expect("copy");
            let out = h.push_and_pull(frame).expect("buffer comes out");
            assert_bit_identical(&original, &out);
            let result = Classification::from_buffer(&out)
                .unwrap_or_else(|| panic!("{format} {w}x{hgt}: no ImgClassifyMeta"));
            assert_valid(&result, 3);
        }
    }
}

#[test]
fn explicitly_padded_strides_are_read_through_the_video_meta() {
    common::init();
    let formats = [
        PixelFormat::Nv12,
        PixelFormat::I420,
        PixelFormat::Rgbx,
        PixelFormat::Yuy2,
        PixelFormat::Nv21,
        PixelFormat::Uyvy,
        PixelFormat::Yvyu,
        PixelFormat::Y42b,
        PixelFormat::Y444,
        PixelFormat::I420p10,
        PixelFormat::P010,
        PixelFormat::Y444p10,
        PixelFormat::Yv12,
    ];
    let sizes = [(640, 480), (2, 3), (1, 1)];
    for (format, (width, height)) in formats
        .into_iter()
        .flat_map(|f| sizes.map(|size| (f, size)))
    {
        let info = video_info(format, width, height);
        let tight = test_frame(&info);
        // Same picture with 96 spare bytes per row, described by a GstVideoMeta.
        let n = info.n_planes() as usize;
        let strides: Vec<i32> = info.stride()[..n].iter().map(|s| s + 96).collect();
        let mut offsets = Vec::new();
        let mut size = 0usize;
        for (p, stride) in strides.iter().enumerate() {
            offsets.push(size);
            // Rows of the plane: those of its first component (halved for 4:2:0 chroma).
            let finfo = info.format_info();
            let component = (0..finfo.n_components())
                .find(|&c| finfo.plane()[c as usize] as usize == p)
                .expect("a component lives in every plane");
            let rows = finfo.scale_height(component as u8, info.height());
            size += *stride as usize * rows as usize;
        }
        let mut padded = gst::Buffer::with_size(size).expect("alloc");
        {
            let b = padded.get_mut().expect("writable");
            let src = gst_video::VideoFrameRef::from_buffer_ref_readable(tight.as_ref(), &info)
                .expect("map");
            let mut map = b.map_writable().expect("map");
            for p in 0..n {
                let data = src.plane_data(p as u32).expect("plane");
                let sstride = info.stride()[p] as usize;
                for (r, row) in data.chunks(sstride).enumerate() {
                    let at = offsets[p] + r * strides[p] as usize;
                    map[at..at + row.len()].copy_from_slice(row);
                }
            }
            drop(map);
            gst_video::VideoMeta::add_full(
                b,
                gst_video::VideoFrameFlags::empty(),
                info.format(),
                info.width(),
                info.height(),
                &offsets,
                &strides,
            )
            .expect("video meta");
        }
        let mut h = gst_check::Harness::new("imgclassify");
        h.play();
        h.set_src_caps(info.to_caps().expect("caps"));
        let reference = Classification::from_buffer(&h.push_and_pull(tight).expect("out"))
            .expect("meta on tight frame");
        let original = padded.copy_deep().expect("copy");
        let out = h.push_and_pull(padded).expect("out");
        assert_bit_identical(&original, &out);
        let result = Classification::from_buffer(&out).expect("meta on padded frame");
        // Same pixels, different memory layout: the same answer.
        assert_eq!(
            result.class_ids, reference.class_ids,
            "{format} {width}x{height}"
        );
        for (a, b) in result.scores.iter().zip(&reference.scores) {
            assert!(
                (a - b).abs() < 1e-6,
                "{format} {width}x{height}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn messages_carry_the_meta_fields_and_times() {
    let (caps, frame) = abgr_frame(320, 240, 10);
    let run = common::run_harness("imgclassify post-messages=true top-k=5", &caps, &frame, 5);
    assert_eq!(run.buffers.len(), 5);
    assert_eq!(run.messages.len(), 5);
    for (i, (buffer, msg)) in run.buffers.iter().zip(&run.messages).enumerate() {
        let meta = Classification::from_buffer(buffer).expect("meta");
        assert_valid(&meta, 5);
        let from_msg = Classification::from_structure(msg).expect("message has the meta fields");
        assert_eq!(from_msg, meta);
        let pts = gst::ClockTime::from_mseconds(100 * i as u64);
        assert_eq!(
            msg.get::<Option<gst::ClockTime>>("timestamp")
                .expect("timestamp"),
            Some(pts)
        );
        assert_eq!(
            msg.get::<Option<gst::ClockTime>>("running-time")
                .expect("running-time"),
            Some(pts)
        );
        assert_eq!(
            msg.get::<Option<gst::ClockTime>>("stream-time")
                .expect("stream-time"),
            Some(pts)
        );
    }
}

#[test]
fn threshold_drops_unlikely_classes() {
    let coffee = common::data("coffee.png").display().to_string();
    let run = common::run(&format!(
        "filesrc location={coffee} ! decodebin ! videoconvert ! imgclassify top-k=10 threshold=0.5 \
         ! appsink name=sink"
    ));
    let result = run.results()[0].clone().expect("meta");
    assert_eq!(result.labels, vec!["espresso".to_string()]);
    assert!(result.scores[0] > 0.9);
}

#[test]
fn no_messages_unless_asked() {
    let (caps, frame) = abgr_frame(320, 240, 30);
    let run = common::run_harness("imgclassify", &caps, &frame, 2);
    assert_eq!(run.buffers.len(), 2);
    assert!(run.messages.is_empty());
    assert!(run.results().iter().all(Option::is_some));
}
