//! Caps: what the element refuses at negotiation, and a stream whose size and format
//! change while it plays.

use crate::common;

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;

/// Linked without a caps check, as a dynamic pipeline may be: the caps meet
/// `imgclassify` only when the source negotiates.
#[test]
fn caps_it_cannot_read_are_refused_at_negotiation() {
    common::init();
    for (what, source) in [
        ("audio", "audiotestsrc num-buffers=1"),
        (
            "an unsupported raw format",
            "videotestsrc num-buffers=1 ! video/x-raw,format=v210,width=64,height=48",
        ),
        (
            "compressed video",
            "videotestsrc num-buffers=1 ! video/x-raw,width=64,height=48 ! jpegenc",
        ),
    ] {
        let pipeline = gst::parse::launch(&format!(
            "{source} ! identity name=last  imgclassify name=classify ! appsink name=sink"
        ))
        .expect("parses")
        .downcast::<gst::Pipeline>()
        .expect("pipeline");
        let pad = |element: &str, pad: &str| {
            pipeline
                .by_name(element)
                .and_then(|e| e.static_pad(pad))
                .expect("pad")
        };
        pad("last", "src")
            .link_full(&pad("classify", "sink"), gst::PadLinkCheck::empty())
            .expect("links unchecked");
        let error = common::try_run_pipeline(&pipeline)
            .err()
            .unwrap_or_else(|| panic!("{what} was accepted"));
        assert!(error.contains("not-negotiated"), "{what}: {error}");
    }
}

/// The coffee photo as one raw frame of the given format and size.
fn coffee(format: &str, width: i32, height: i32) -> (gst::Caps, gst::Buffer) {
    let path = common::data("coffee.png").display().to_string();
    let run = common::run(&format!(
        "filesrc location={path} ! decodebin ! videoconvert ! videoscale \
         ! video/x-raw,format={format},width={width},height={height} ! appsink name=sink"
    ));
    let frame = run.buffers.first().expect("one decoded frame").clone();
    let caps = common::raw_caps(format, (width, height), 30);
    (caps, frame)
}

#[test]
fn size_and_format_change_mid_stream_keep_the_labels_right() {
    let phases = [coffee("NV12", 640, 480), coffee("RGBx", 1920, 1080)];
    let (mut h, bus) = common::harness("imgclassify");
    h.play();
    let mut pts = 0;
    let mut seen = Vec::new();
    for (caps, frame) in &phases {
        h.set_src_caps(caps.clone());
        for _ in 0..2 {
            let mut buffer = frame.copy();
            buffer
                .make_mut()
                .set_pts(gst::ClockTime::from_mseconds(33 * pts));
            pts += 1;
            let buffer = common::push_and_pull(&mut h, &bus, buffer);
            // The element works in place, so the caps downstream when its buffer comes
            // out are the buffer's.
            let caps = h
                .sinkpad()
                .and_then(|p| p.current_caps())
                .expect("caps downstream");
            let info = gst_video::VideoInfo::from_caps(&caps).expect("video caps");
            let result = Classification::from_buffer(&buffer).expect("every frame has a meta");
            assert!(result.fresh, "{result:?}");
            seen.push((
                info.format().to_str().to_string(),
                info.width(),
                result.labels[0].clone(),
            ));
        }
    }
    let error = bus.pop_filtered(&[gst::MessageType::Error, gst::MessageType::Warning]);
    assert!(error.is_none(), "{error:?}");
    let espresso = |format: &str, width: u32| (format.to_string(), width, "espresso".to_string());
    assert_eq!(
        seen,
        vec![
            espresso("NV12", 640),
            espresso("NV12", 640),
            espresso("RGBx", 1920),
            espresso("RGBx", 1920),
        ]
    );
}
