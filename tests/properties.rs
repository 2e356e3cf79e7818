//! Properties changed while PLAYING from an application thread, while the streaming
//! thread classifies: per-frame ones apply from the next frame, the model loads in the
//! background (tests/live_classes.rs), other load-time ones warn on the bus and wait
//! for the next NULL→READY, and nothing races or deadlocks.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::programs::{self, ROOT};
use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;
use gstimgclassify::testing::live_sessions;

/// Frames that may already be past the point where the element reads its settings
/// when a property changes: one queued in the appsink (max-buffers=1), one blocked on
/// it, one inside the element.
const IN_FLIGHT: usize = 3;

struct Playing {
    pipeline: gst::Pipeline,
    element: gst::Element,
    sink: gst_app::AppSink,
}

impl Playing {
    fn start(props: &str) -> Playing {
        common::init();
        let pipeline = gst::parse::launch(&format!(
            "videotestsrc ! video/x-raw,width=64,height=48 ! imgclassify name=c {props} \
             ! appsink name=sink sync=false max-buffers=1"
        ))
        .expect("parses")
        .downcast::<gst::Pipeline>()
        .expect("pipeline");
        let element = pipeline.by_name("c").expect("imgclassify");
        let sink = pipeline
            .by_name("sink")
            .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
            .expect("appsink");
        pipeline.set_state(gst::State::Playing).expect("plays");
        Playing {
            pipeline,
            element,
            sink,
        }
    }

    fn frame(&self) -> gst::Buffer {
        self.sink
            .try_pull_sample(gst::ClockTime::from_seconds(30))
            .and_then(|s| s.buffer_owned())
            .expect("a frame within 30 s")
    }

    fn result(&self) -> Classification {
        Classification::from_buffer(&self.frame()).expect("every frame has a meta")
    }

    /// After a property change: at most IN_FLIGHT frames still show the old value,
    /// then five in a row show the new one.
    fn expect_switch(
        &self,
        what: &str,
        old: impl Fn(&Classification) -> bool,
        new: impl Fn(&Classification) -> bool,
    ) {
        let (mut olds, mut news) = (0, 0);
        while news < 5 {
            let r = self.result();
            if news == 0 && old(&r) {
                olds += 1;
                assert!(olds <= IN_FLIGHT, "{what}: not applied after {olds} frames");
            } else {
                assert!(
                    new(&r),
                    "{what}: frame {} after the change: {r:?}",
                    olds + news
                );
                news += 1;
            }
        }
    }

    /// The next warning the element posts, within five seconds.
    fn warning(&self) -> String {
        let bus = self.pipeline.bus().expect("bus");
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(5),
                &[gst::MessageType::Warning, gst::MessageType::Error],
            )
            .expect("a warning on the bus");
        let gst::MessageView::Warning(w) = msg.view() else {
            panic!("{msg:?}");
        };
        assert_eq!(msg.src(), Some(self.element.upcast_ref::<gst::Object>()));
        format!("{} {:?}", w.error(), w.debug())
    }

    fn no_warning(&self) {
        let bus = self.pipeline.bus().expect("bus");
        let msg = bus.pop_filtered(&[gst::MessageType::Warning, gst::MessageType::Error]);
        assert!(msg.is_none(), "{msg:?}");
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[test]
fn per_frame_properties_apply_from_the_next_frame_while_playing() {
    let _s = common::serial();
    let p = Playing::start("top-k=1");
    assert!((0..3).all(|_| p.result().labels.len() == 1));

    p.element.set_property("top-k", 3u32);
    p.expect_switch(
        "top-k 1→3",
        |r| r.labels.len() == 1,
        |r| r.labels.len() == 3,
    );

    p.element.set_property("threshold", 1.0f64);
    p.expect_switch(
        "threshold 0→1",
        |r| r.labels.len() == 3,
        |r| r.labels.is_empty(),
    );
    p.element.set_property("threshold", 0.0f64);
    p.expect_switch(
        "threshold 1→0",
        |r| r.labels.is_empty(),
        |r| r.labels.len() == 3,
    );

    // The test pattern is still, so the scores change only with the resize mode.
    let cropped = p.result().scores;
    p.element.set_property_from_str("resize-mode", "stretch");
    p.expect_switch(
        "resize-mode center-crop→stretch",
        |r| r.scores == cropped,
        |r| r.scores != cropped,
    );

    p.element.set_property("post-messages", true);
    let bus = p.pipeline.bus().expect("bus");
    while bus.pop_filtered(&[gst::MessageType::Element]).is_some() {}
    let frames = 8;
    for _ in 0..frames {
        p.frame();
    }
    let mut messages = 0;
    while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Element]) {
        messages += usize::from(msg.structure().is_some_and(|s| s.name() == "imgclassify"));
    }
    assert!(messages >= frames - IN_FLIGHT, "{messages} messages");

    p.element.set_property("inference-interval", 4u32);
    for _ in 0..IN_FLIGHT + 4 {
        p.frame();
    }
    // From here every fourth frame is classified; the others carry its result.
    let frames: Vec<gst::Buffer> = (0..16).map(|_| p.frame()).collect();
    let results: Vec<Classification> = frames
        .iter()
        .map(|b| Classification::from_buffer(b).expect("meta"))
        .collect();
    let fresh: Vec<usize> = (0..16).filter(|&i| results[i].fresh).collect();
    assert_eq!(fresh.len(), 4, "{fresh:?}");
    assert!(fresh.windows(2).all(|w| w[1] - w[0] == 4), "{fresh:?}");
    for (i, r) in results.iter().enumerate().skip(fresh[0]) {
        let source = i - (i - fresh[0]) % 4;
        assert_eq!(r.source_pts, frames[source].pts(), "frame {i}");
    }
    p.no_warning();
}

#[test]
fn load_time_properties_warn_and_apply_after_null() {
    let _s = common::serial();
    let p = Playing::start("");
    let softmax = p.result();
    assert_eq!(softmax.model, "mobilenet");

    p.element
        .set_property_from_str("output-activation", "sigmoid");
    let warning = p.warning();
    for needle in ["'output-activation'", "NULL", "mobilenet"] {
        assert!(warning.contains(needle), "lacks {needle}: {warning}");
    }
    p.element.set_property("threads", 1u32);
    assert!(p.warning().contains("'threads'"));
    p.element.set_property("sessions", 2u32);
    assert!(p.warning().contains("'sessions'"));
    // The same value again changes nothing, so says nothing.
    p.element
        .set_property_from_str("output-activation", "sigmoid");
    p.element.set_property_from_str("mode", "async");
    let warning = p.warning();
    for needle in ["'mode'", "READY", "sync"] {
        assert!(warning.contains(needle), "lacks {needle}: {warning}");
    }
    p.no_warning();

    // The stream keeps its model as loaded; the new values are stored for the next start.
    for _ in 0..IN_FLIGHT + 3 {
        let scores = p.result().scores;
        assert!(scores.iter().sum::<f64>() <= 1.0 + 1e-6, "{scores:?}");
    }
    assert_eq!(live_sessions(), 1);

    p.pipeline.set_state(gst::State::Null).expect("stops");
    assert_eq!(live_sessions(), 0);
    p.pipeline.set_state(gst::State::Playing).expect("plays");
    // Async: frames pass unlabelled until the worker's first result, which on a busy
    // machine may take many frames of this fast source.
    let deadline = Instant::now() + Duration::from_secs(10);
    let result = loop {
        if let Some(result) = Classification::from_buffer(&p.frame()) {
            break result;
        }
        assert!(
            Instant::now() < deadline,
            "no result from the new model in 10 s"
        );
    };
    // Now a sigmoid per class instead of a softmax: the top classes' scores, each
    // above 0.5 for the positive logits of the best classes, sum to more than 1.
    assert_eq!(result.model, "mobilenet");
    assert!(
        result.scores.iter().sum::<f64>() > 1.0,
        "{:?}",
        result.scores
    );
    p.no_warning();
}

/// A model set while playing replaces the one in use, and the old one's session is
/// freed once no frame uses it: one session in the process before and after.
#[test]
fn a_model_swapped_while_playing_frees_the_old_one() {
    let _s = common::serial();
    let p = Playing::start("");
    assert_eq!(p.result().model, "mobilenet");
    assert_eq!(live_sessions(), 1);
    p.element
        .set_property("model-file", common::fixture("four_classes.onnx"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.result().model != "four_classes" {
        assert!(
            Instant::now() < deadline,
            "the new model never came into use"
        );
    }
    for _ in 0..IN_FLIGHT {
        assert_eq!(p.result().model, "four_classes");
    }
    assert_eq!(live_sessions(), 1);
    p.no_warning();
}

#[test]
fn hammering_properties_during_playback_neither_races_nor_deadlocks() {
    let _s = common::serial();
    common::init();
    for mode in ["sync", "async"] {
        let (model_changes, warnings) = common::bounded(&format!("mode={mode}"), 60, move || {
            hammer(mode, Duration::from_millis(1500))
        });
        println!("mode={mode}: {model_changes} model changes, {warnings} warnings");
        // A model set while playing loads in the background and warns of nothing.
        assert!(model_changes > 0, "mode={mode}");
        assert_eq!(warnings, 0, "mode={mode}");
        assert_eq!(live_sessions(), 0, "mode={mode}");
    }
}

/// Plays while one thread sets every per-frame property in a loop and another reads
/// properties and flips the model; returns how many model changes and warnings there
/// were.
fn hammer(mode: &str, how_long: Duration) -> (usize, usize) {
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc ! video/x-raw,width=64,height=48 ! imgclassify name=c mode={mode} \
         ! fakesink sync=false"
    ))
    .expect("parses")
    .downcast::<gst::Pipeline>()
    .expect("pipeline");
    let element = pipeline.by_name("c").expect("imgclassify");
    pipeline.set_state(gst::State::Playing).expect("plays");
    let stop = Arc::new(AtomicBool::new(false));
    let model_changes = Arc::new(AtomicUsize::new(0));
    let setter = {
        let (element, stop) = (element.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                element.set_property("top-k", 1 + i % 5);
                element.set_property("threshold", f64::from(i % 3) * 0.1);
                element.set_property("smoothing", f64::from(i % 2) * 0.5);
                element.set_property("inference-interval", 1 + i % 3);
                let resize = ["center-crop", "stretch", "letterbox"][i as usize % 3];
                element.set_property_from_str("resize-mode", resize);
                element.set_property("post-messages", i.is_multiple_of(2));
                element.set_property_from_str("target", ["frame", "regions"][i as usize % 2]);
                element.set_property("max-regions", i % 4);
                i += 1;
            }
        })
    };
    let reader = {
        let (element, stop) = (element.clone(), Arc::clone(&stop));
        let changes = Arc::clone(&model_changes);
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let _ = element.property::<gst::Structure>("stats");
                let _ = element.property::<Option<String>>("active-provider");
                let _ = element.property::<u32>("top-k");
                if i.is_multiple_of(50) {
                    let model = ["efficientnet", "mobilenet"][(i / 50) % 2];
                    element.set_property("model", model);
                    changes.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        })
    };
    let bus = pipeline.bus().expect("bus");
    let mut warnings = 0;
    let until = Instant::now() + how_long;
    while Instant::now() < until {
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(20)) {
            match msg.view() {
                gst::MessageView::Warning(_) => warnings += 1,
                gst::MessageView::Error(e) => panic!("{} {:?}", e.error(), e.debug()),
                _ => {}
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    setter.join().expect("setter thread");
    reader.join().expect("reader thread");
    let seen = |e: &gst::Element| {
        e.property::<gst::Structure>("stats")
            .get::<u64>("frames-seen")
            .expect("frames-seen")
    };
    // Models set last may still be loading in the background, taking cores from the
    // frames on a busy machine: frames must flow on, however slowly.
    let before = seen(&element);
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen(&element) == before {
        assert!(Instant::now() < deadline, "frames stopped flowing");
        std::thread::sleep(Duration::from_millis(20));
    }
    pipeline.send_event(gst::event::Eos::new());
    loop {
        let msg = bus
            .timed_pop(gst::ClockTime::from_seconds(10))
            .expect("EOS within 10 s");
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Warning(_) => warnings += 1,
            gst::MessageView::Error(e) => panic!("{} {:?}", e.error(), e.debug()),
            _ => {}
        }
    }
    println!("mode={mode}: {} frames", seen(&element));
    pipeline.set_state(gst::State::Null).expect("stops");
    (model_changes.load(Ordering::Relaxed), warnings)
}

/// Applications often read the element's properties from a bus sync handler, on the
/// thread that posted the message; that must not deadlock on the element's own locks.
#[test]
fn a_sync_handler_may_read_properties_when_the_element_warns() {
    let _s = common::serial();
    common::init();
    let nan = common::fixture("nan_scores.onnx");
    let cases = [
        ("NaN scores", format!("model-file={nan}"), None),
        (
            "a model that cannot load set while playing",
            String::new(),
            Some(("model", "no-such-model")),
        ),
        (
            "bad min-region-size",
            String::new(),
            Some(("min-region-size", "big")),
        ),
    ];
    for (what, props, change) in cases {
        let handled = common::bounded(what, 20, move || {
            let pipeline = gst::parse::launch(&format!(
                "videotestsrc ! video/x-raw,width=64,height=48 ! imgclassify name=c {props} \
                 ! fakesink sync=false"
            ))
            .expect("parses")
            .downcast::<gst::Pipeline>()
            .expect("pipeline");
            let element = pipeline.by_name("c").expect("imgclassify");
            let bus = pipeline.bus().expect("bus");
            let handled = Arc::new(AtomicUsize::new(0));
            {
                let (element, handled) = (element.clone(), Arc::clone(&handled));
                bus.set_sync_handler(move |_, msg| {
                    if let gst::MessageView::Warning(_) = msg.view() {
                        let _ = element.property::<gst::Structure>("stats");
                        let _ = element.property::<String>("model");
                        handled.fetch_add(1, Ordering::SeqCst);
                    }
                    gst::BusSyncReply::Pass
                });
            }
            pipeline.set_state(gst::State::Playing).expect("plays");
            let _ = pipeline.state(gst::ClockTime::from_seconds(10));
            if let Some((name, value)) = change {
                element.set_property_from_str(name, value);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while handled.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            pipeline.set_state(gst::State::Null).expect("stops");
            bus.unset_sync_handler();
            handled.load(Ordering::SeqCst)
        });
        assert_eq!(handled, 1, "{what}");
    }
}

/// Every field of the `stats` structure is named in docs/properties.md (which the
/// property's blurb points to), the README's property section and docs/live.md's stats
/// table.
#[test]
fn every_stats_field_is_documented() {
    common::init();
    let element = gst::ElementFactory::make("imgclassify")
        .build()
        .expect("imgclassify");
    let stats = element.property::<gst::Structure>("stats");
    let blurb = element
        .find_property("stats")
        .and_then(|p| p.blurb().map(str::to_owned))
        .expect("stats blurb");
    assert!(blurb.contains("docs/properties.md"), "{blurb}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |path: &str| std::fs::read_to_string(root.join(path)).expect(path);
    let (properties, readme, live) = (
        read("docs/properties.md"),
        read("README.md"),
        read("docs/live.md"),
    );
    assert!(stats.n_fields() > 0);
    for (field, _) in stats.iter() {
        assert!(
            properties.contains(&format!("`{field}`")),
            "docs/properties.md lacks `{field}`"
        );
        assert!(
            readme.contains(&format!("`{field}`")),
            "README lacks `{field}`"
        );
        assert!(
            live.contains(&format!("| `{field}` |")),
            "docs/live.md lacks `{field}`"
        );
    }
}

/// The properties every element has, which docs/properties.md leaves out.
const LEFT_OUT: [&str; 2] = ["name", "parent"];

/// What docs/properties.md writes as the default of a read-only property whose value is
/// no default worth the name (gst-inspect-1.0 prints none for a `GstStructure`).
const NO_DEFAULT: &str = "—";

/// The columns of each element's table in docs/properties.md.
const COLUMNS: [&str; 5] = ["property", "type", "default", "live", "what it does"];

/// docs/properties.md has one row per property of each element, with the default that
/// `gst-inspect-1.0 ELEMENT` prints for the plugin as built.
#[test]
fn documented_properties_match_gst_inspect() {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/properties.md"))
        .expect("docs/properties.md");
    let mut problems = Vec::new();
    for element in ["imgclassify", "classifyoverlay", "classifyjson"] {
        let out = programs::command("gst-inspect-1.0")
            .env("GST_INSPECT_NO_COLORS", "1")
            .arg(element)
            .output()
            .expect("gst-inspect-1.0 runs (Debian: gstreamer1.0-tools)");
        let inspected =
            inspected_properties(&programs::ok(&format!("gst-inspect-1.0 {element}"), out));
        assert!(
            inspected.contains_key("name"),
            "no Element Properties read from gst-inspect-1.0 {element}: {inspected:?}"
        );
        let documented = documented_properties(&doc, element)
            .unwrap_or_else(|e| panic!("docs/properties.md, ## {element}: {e}"));

        let real: BTreeSet<&str> = inspected
            .keys()
            .map(String::as_str)
            .filter(|name| !LEFT_OUT.contains(name))
            .collect();
        let written: BTreeSet<&str> = documented.keys().map(String::as_str).collect();
        let missing: Vec<&str> = real.difference(&written).copied().collect();
        let unknown: Vec<&str> = written.difference(&real).copied().collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{element}: properties missing from the doc: {}",
                missing.join(", ")
            ));
        }
        if !unknown.is_empty() {
            problems.push(format!(
                "{element}: documented, but not properties of the element (or left out on \
                 purpose: {}): {}",
                LEFT_OUT.join(", "),
                unknown.join(", ")
            ));
        }

        for (name, doc_default) in &documented {
            let Some(property) = inspected.get(name) else {
                continue;
            };
            let agrees = match &property.default {
                None => doc_default == NO_DEFAULT,
                Some(printed) => {
                    matches_documented(doc_default, printed)
                        || (doc_default == NO_DEFAULT && !property.writable)
                }
            };
            if !agrees {
                let printed = match &property.default {
                    Some(printed) => format!("`Default: {printed}`"),
                    None => format!("no default (document it as `{NO_DEFAULT}`)"),
                };
                problems.push(format!(
                    "{element} {name}: the doc says `{doc_default}`, gst-inspect-1.0 prints {printed}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/properties.md disagrees with gst-inspect-1.0:\n{}",
        problems.join("\n")
    );
}

/// What gst-inspect-1.0 prints for one property.
#[derive(Debug)]
struct Inspected {
    /// The text after `Default:`, trimmed and without the ` Write only` of a write-only
    /// property; None where it prints none (a `GstStructure`, an object).
    default: Option<String>,
    writable: bool,
}

/// The "Element Properties:" section of gst-inspect-1.0's output. Each property starts
/// with a line `  name                : blurb` (two spaces, the name, padding, a colon);
/// the lines after it are indented further: `flags: …`, then the type, whose line has
/// `Default: …` for strings, numbers, booleans and enums (an enum's values follow on
/// lines of their own), and no default but the current fields for a `GstStructure`.
/// The next heading at the start of a line (`Element Signals:`, …) ends the section.
fn inspected_properties(output: &str) -> BTreeMap<String, Inspected> {
    let mut properties = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut lines = output.lines().map(without_colours);
    for line in lines.by_ref() {
        if line.trim_end() == "Element Properties:" {
            break;
        }
    }
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) && line.trim_end().ends_with(':') {
            break;
        }
        if let Some(name) = property_name(&line) {
            properties.entry(name.to_string()).or_insert(Inspected {
                default: None,
                writable: false,
            });
            current = Some(name.to_string());
            continue;
        }
        let Some(property) = current.as_ref().and_then(|name| properties.get_mut(name)) else {
            continue;
        };
        let detail = line.trim();
        if let Some(flags) = detail.strip_prefix("flags:") {
            property.writable = flags.split(',').any(|flag| flag.trim() == "writable");
        } else if property.default.is_none()
            && let Some((_, value)) = detail.split_once("Default:")
        {
            let value = value.trim();
            let value = value.strip_suffix("Write only").unwrap_or(value).trim_end();
            property.default = Some(value.to_string());
        }
    }
    properties
}

/// The name on the first line of a property, `  name                : blurb`; None for
/// any other line.
fn property_name(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("  ")?;
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))?;
    let (name, after) = rest.split_at(end);
    (!name.is_empty() && after.trim_start().starts_with(':')).then_some(name)
}

/// The line without ANSI colour sequences (`ESC [ … letter`), in case gst-inspect-1.0
/// colours its output.
fn without_colours(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// The rows of the properties table in the section `## ELEMENT` of docs/properties.md:
/// each property's name (first column, in backticks) and its default (third column,
/// without its backticks). Other tables of the section (the `stats` fields) are not
/// read: only the first table, whose header is `COLUMNS`.
fn documented_properties(doc: &str, element: &str) -> Result<BTreeMap<String, String>, String> {
    let heading = format!("## {element}");
    let mut section = doc
        .lines()
        .skip_while(|line| line.trim_end() != heading)
        .skip(1)
        .take_while(|line| !line.starts_with("## ") && !line.starts_with("# "))
        .map(str::trim)
        .skip_while(|line| !line.starts_with('|'));
    let header = section
        .next()
        .ok_or_else(|| format!("no section '{heading}' with a table"))?;
    if table_cells(header) != COLUMNS {
        return Err(format!(
            "the table's header is '{header}', not | {} |",
            COLUMNS.join(" | ")
        ));
    }
    let mut rows = BTreeMap::new();
    for row in section.take_while(|line| line.starts_with('|')) {
        let cells = table_cells(row);
        if cells
            .iter()
            .all(|c| !c.is_empty() && c.chars().all(|c| matches!(c, '-' | ':')))
        {
            continue;
        }
        if cells.len() != COLUMNS.len() {
            return Err(format!(
                "{} cells, not {}: {row}",
                cells.len(),
                COLUMNS.len()
            ));
        }
        let name = unquoted(&cells[0])
            .filter(|name| !name.contains('`'))
            .ok_or_else(|| format!("the property is not one name in backticks: {row}"))?;
        let default = unquoted(&cells[2]).unwrap_or(cells[2].as_str());
        if rows.insert(name.to_string(), default.to_string()).is_some() {
            return Err(format!("`{name}` has two rows"));
        }
    }
    Ok(rows)
}

/// The cells of a Markdown table row, trimmed; a `|` inside backticks, or written `\|`,
/// is part of its cell.
fn table_cells(row: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut in_code = false;
    let mut chars = row.trim().chars().peekable();
    while let Some(c) = chars.next() {
        let cell = cells.last_mut().expect("a cell");
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '`' => {
                in_code = !in_code;
                cell.push(c);
            }
            '|' if !in_code => cells.push(String::new()),
            _ => cell.push(c),
        }
    }
    let mut cells: Vec<String> = cells.into_iter().map(|c| c.trim().to_string()).collect();
    if cells.first().is_some_and(String::is_empty) {
        cells.remove(0);
    }
    if cells.last().is_some_and(String::is_empty) {
        cells.pop();
    }
    cells
}

/// The text inside one pair of enclosing backticks; None when it is not enclosed.
fn unquoted(cell: &str) -> Option<&str> {
    cell.strip_prefix('`')?.strip_suffix('`')
}

/// Whether the default gst-inspect-1.0 printed is the documented one: equal, where each
/// `…` in the documented text stands for any text (a default that differs for every
/// element, such as `classifyjson`'s `client-id`).
fn matches_documented(documented: &str, printed: &str) -> bool {
    let mut parts = documented.split('…');
    let Some(mut rest) = printed.strip_prefix(parts.next().unwrap_or_default()) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(*part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(*last)
}

#[test]
fn the_doc_and_inspect_parsers_read_what_they_are_given() {
    let inspect = "\
Pad Templates:
  SINK template: 'sink'

Element Properties:
  background-color    : Colour of the box
                        flags: readable, writable, changeable in NULL, READY, PAUSED or PLAYING state
                        Unsigned Integer. Range: 0 - 4294967295 Default: 2684354560
  min-score           : Labels below it are not drawn
                        flags: readable, writable
                        Double. Range:               0 -               1 Default:               0
  mode                : sync or async
                        flags: readable, writable, changeable only in NULL or READY state
                        Enum \"GstImgClassifyMode\" Default: 0, \"sync\"
                           (0): sync             - Each classified frame waits
                           (1): async            - Frames never wait
  name                : The name of the object
                        flags: readable, writable
                        String. Default: \"imgclassify0\"
  password            : Password (write-only)
                        flags: writable
                        String. Default: null Write only
  stats               : Counters
                        flags: readable
                        Boxed pointer of type \"GstStructure\"
                                       frames-seen: 0

Element Signals:
  \"pad-added\" :  void user_function (GstElement* object,
";
    let found = inspected_properties(inspect);
    let defaults: Vec<(&str, Option<&str>)> = found
        .iter()
        .map(|(name, p)| (name.as_str(), p.default.as_deref()))
        .collect();
    assert_eq!(
        defaults,
        [
            ("background-color", Some("2684354560")),
            ("min-score", Some("0")),
            ("mode", Some("0, \"sync\"")),
            ("name", Some("\"imgclassify0\"")),
            ("password", Some("null")),
            ("stats", None),
        ]
    );
    assert!(found["password"].writable && !found["stats"].writable);

    let doc = "\
## one

| property | type | default | live | what it does |
|---|---|---|---|---|
| `a` | string | `\"x\\|y\"` | yes | with `a|b` in code |
| `stats` | GstStructure | — | read-only | counters |

| field | meaning |
|---|---|
| `frames-seen` | not a property |

## two
| property | type | default | live | what it does |
|---|---|---|---|---|
| `b` | uint | `3` | yes | three |
";
    let one = documented_properties(doc, "one").expect("parses");
    assert_eq!(
        one.into_iter().collect::<Vec<_>>(),
        [
            ("a".to_string(), "\"x|y\"".to_string()),
            ("stats".to_string(), "—".to_string())
        ]
    );
    assert_eq!(documented_properties(doc, "two").expect("parses").len(), 1);
    assert!(documented_properties(doc, "three").is_err());

    assert!(matches_documented(
        "\"imgclassify-…\"",
        "\"imgclassify-0123456789a\""
    ));
    assert!(!matches_documented(
        "\"imgclassify-…\"",
        "\"other-0123456789a\""
    ));
    assert!(matches_documented("0, \"sync\"", "0, \"sync\""));
    assert!(!matches_documented("3", "30"));
}
