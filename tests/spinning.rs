//! `spinning`: the property, the mode `stats` reports, and `auto` rebuilding the
//! sessions while frames flow.

use crate::common;

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;

fn stats_spinning(element: &gst::Element) -> Option<String> {
    element
        .property::<gst::Structure>("stats")
        .get::<String>("spinning")
        .ok()
}

fn top1(buffer: &gst::Buffer) -> String {
    Classification::from_buffer(buffer)
        .and_then(|c| c.labels.first().cloned())
        .expect("the frame carries a label")
}

#[test]
fn the_property_round_trips() {
    common::init();
    let element = gst::ElementFactory::make("imgclassify")
        .build()
        .expect("element");
    let nick = |e: &gst::Element| {
        let value = e.property_value("spinning");
        gst::glib::EnumValue::from_value(&value)
            .expect("an enum")
            .1
            .nick()
            .to_string()
    };
    assert_eq!(nick(&element), "off", "off is the default");
    for mode in ["off", "on", "auto"] {
        element.set_property_from_str("spinning", mode);
        assert_eq!(nick(&element), mode);
    }
}

#[test]
fn stats_report_the_mode_the_sessions_run_with() {
    let (caps, frame) = common::coffee_rgb();
    // threads=2: a pool of its own, which the other tests' elements do not share.
    for (asked, expected) in [("off", "off"), ("on", "on"), ("auto", "off")] {
        let (mut h, bus) = common::harness(&format!(
            "imgclassify name=c model=mobilenet threads=2 spinning={asked}"
        ));
        h.play();
        h.set_src_caps(caps.clone());
        let element = common::named(&h, "c");
        assert_eq!(
            stats_spinning(&element).as_deref(),
            Some(expected),
            "spinning={asked} at READY"
        );
        let out = common::push_and_pull(&mut h, &bus, frame.copy_deep().expect("copy"));
        // `auto` starts off and needs a second of frames before it tries anything else.
        assert_eq!(
            stats_spinning(&element).as_deref(),
            Some(expected),
            "spinning={asked} after a frame"
        );
        assert_eq!(top1(&out), "espresso", "spinning={asked}");
    }
}

#[test]
fn auto_rebuilds_the_sessions_without_losing_a_frame() {
    let (caps, frame) = common::coffee_rgb();
    // threads=1: a pool of its own.
    let (mut h, bus) =
        common::harness("imgclassify name=c model=mobilenet threads=1 spinning=auto");
    h.play();
    h.set_src_caps(caps.clone());
    let element = common::named(&h, "c");
    let mut seen = vec![stats_spinning(&element).expect("in process")];
    let mut pushed = 0u32;
    let mut after = None;
    // After its first step (a second and 10 frames, spinning off) `auto` always tries
    // short spinning; then 100 more frames through the rebuilt sessions.
    while after.is_none_or(|a| pushed < a + 100) {
        assert!(pushed < 20_000, "no switch after {pushed} frames: {seen:?}");
        let out = common::push_and_pull(&mut h, &bus, frame.copy_deep().expect("copy"));
        pushed += 1;
        assert_eq!(top1(&out), "espresso", "frame {pushed}");
        let mode = stats_spinning(&element).expect("in process");
        if seen.last() != Some(&mode) {
            seen.push(mode.clone());
        }
        if mode == "short" && after.is_none() {
            after = Some(pushed);
        }
    }
    assert_eq!(seen[..2], ["off", "short"], "{seen:?}");
}
