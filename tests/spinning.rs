//! `spinning`: the property, the mode `stats` reports, and `auto` rebuilding the
//! sessions while frames flow. Here among the serial tests: with `auto` the default,
//! these set the process's environment to make `auto` try short spinning whatever the
//! load, and no other pipeline may load a model meanwhile.

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

/// Loads models with `auto` acting as where the CPU counters cannot be read: it tries
/// short spinning after two windows whatever the load (the documented fallback).
struct LoadUnread;

impl LoadUnread {
    fn set() -> LoadUnread {
        // SAFETY: the tests of this binary that start pipelines hold `common::serial()`.
        unsafe { std::env::set_var("IMGCLASSIFY_CPU_LOAD", "0") };
        LoadUnread
    }
}

impl Drop for LoadUnread {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { std::env::remove_var("IMGCLASSIFY_CPU_LOAD") };
    }
}

#[test]
fn the_property_round_trips() {
    let _serial = common::serial();
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
    assert_eq!(nick(&element), "auto", "auto is the default");
    for mode in ["off", "on", "auto"] {
        element.set_property_from_str("spinning", mode);
        assert_eq!(nick(&element), mode);
    }
}

#[test]
fn stats_report_the_mode_the_sessions_run_with() {
    let _serial = common::serial();
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
        // `auto` starts off and watches two seconds of frames before it tries anything.
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
    let _serial = common::serial();
    let (caps, frame) = common::coffee_rgb();
    let unread = LoadUnread::set();
    // threads=1: a pool of its own.
    let (mut h, bus) = common::harness("imgclassify name=c model=mobilenet threads=1");
    h.play();
    h.set_src_caps(caps.clone());
    drop(unread);
    let element = common::named(&h, "c");
    let mut seen = vec![stats_spinning(&element).expect("in process")];
    let mut pushed = 0u32;
    let mut after = None;
    // After two windows of watching (a second and 10 frames each, spinning off), the
    // default `auto` that cannot read the load tries short spinning; it keeps it or
    // goes back to off. Then 100 more frames.
    while after.is_none_or(|a| pushed < a + 100) {
        assert!(pushed < 20_000, "no switch after {pushed} frames: {seen:?}");
        let out = common::push_and_pull(&mut h, &bus, frame.copy_deep().expect("copy"));
        pushed += 1;
        assert_eq!(top1(&out), "espresso", "frame {pushed}");
        let mode = stats_spinning(&element).expect("in process");
        assert!(["off", "short"].contains(&mode.as_str()), "{mode}");
        if seen.last() != Some(&mode) {
            seen.push(mode.clone());
        }
        if mode == "short" && after.is_none() {
            after = Some(pushed);
        }
    }
    assert_eq!(seen[..2], ["off", "short"], "{seen:?}");
    // At most one rebuild back: a trial either keeps short or ends it.
    assert!(seen.len() <= 3, "{seen:?}");
    drop(element);
    drop(h);
    assert_eq!(
        gstimgclassify::testing::live_sessions(),
        0,
        "a session outlived its pipeline"
    );
}
