//! String properties set from C with bytes that are not UTF-8 (a Latin-1 file name, say)
//! must never abort the process: paths keep their bytes, other text is refused with a
//! warning that names the property.

use crate::common;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use gst::prelude::*;
use gstimgclassify::gst;

/// A string GValue holding `bytes` as they are, as `g_value_set_string` from C would.
fn raw(bytes: &[u8]) -> gst::glib::Value {
    PathBuf::from(OsString::from_vec(bytes.to_vec())).to_value()
}

fn bytes_of(element: &gst::Element, name: &str) -> Option<Vec<u8>> {
    element
        .property::<Option<PathBuf>>(name)
        .map(|p| p.as_os_str().as_bytes().to_vec())
}

/// `element` in a pipeline, so that its warnings reach a bus.
fn in_pipeline(factory: &str) -> (gst::Pipeline, gst::Element) {
    common::init();
    let pipeline = gst::Pipeline::new();
    let element = gst::ElementFactory::make(factory).build().expect("element");
    pipeline.add(&element).expect("add");
    (pipeline, element)
}

fn warnings(pipeline: &gst::Pipeline) -> Vec<String> {
    let bus = pipeline.bus().expect("bus");
    std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Warning]))
        .filter_map(|m| match m.view() {
            gst::MessageView::Warning(w) => Some(w.error().to_string()),
            _ => None,
        })
        .collect()
}

const LATIN1: &[u8] = b"/tmp/caf\xe9/labels.txt";

#[test]
fn path_properties_keep_their_bytes() {
    for (factory, names) in [
        (
            "imgclassify",
            &["model-file", "labels-file", "engine-cache-dir"][..],
        ),
        ("classifyjson", &["location", "ca-file"][..]),
    ] {
        let (pipeline, element) = in_pipeline(factory);
        for name in names {
            element.set_property_from_value(name, &raw(LATIN1));
            assert_eq!(
                bytes_of(&element, name).as_deref(),
                Some(LATIN1),
                "{factory} {name}"
            );
        }
        assert_eq!(warnings(&pipeline), Vec::<String>::new());
    }
}

#[test]
fn text_properties_refuse_invalid_utf8_with_a_warning_naming_them() {
    for (factory, names) in [
        (
            "imgclassify",
            &["classifier-id", "model", "region-types", "min-region-size"][..],
        ),
        ("classifyjson", &["username", "client-id"][..]),
        ("classifyoverlay", &["font-desc"][..]),
    ] {
        let (pipeline, element) = in_pipeline(factory);
        for name in names {
            let before = element.property_value(name);
            element.set_property_from_value(name, &raw(b"caf\xe9"));
            let after = element.property_value(name);
            assert_eq!(
                before.get::<Option<String>>().ok(),
                after.get::<Option<String>>().ok(),
                "{factory} {name} kept its value"
            );
            let got = warnings(&pipeline);
            assert_eq!(got.len(), 1, "{factory} {name}: {got:?}");
            assert!(
                got[0].starts_with(&format!("{name}: 'caf\u{fffd}' is not valid UTF-8")),
                "{factory} {name}: {got:?}"
            );
        }
    }
}

#[test]
fn a_password_that_is_not_utf8_is_refused_without_showing_it() {
    let (pipeline, element) = in_pipeline("classifyjson");
    element.set_property_from_value("password", &raw(b"s3cr\xe9t"));
    let got = warnings(&pipeline);
    assert_eq!(
        got,
        vec!["password: the value is not valid UTF-8 and was refused".to_string()]
    );
}

#[test]
fn an_mqtt_location_that_is_not_utf8_fails_the_start_without_showing_it() {
    let (pipeline, element) = in_pipeline("classifyjson");
    element.set_property_from_value("location", &raw(b"mqtt://cam:8883/s3cr\xe9t@127.0.0.1:1/t"));
    assert!(element.set_state(gst::State::Playing).is_err());
    let _ = element.set_state(gst::State::Null);
    let bus = pipeline.bus().expect("bus");
    let msg = bus
        .pop_filtered(&[gst::MessageType::Error])
        .expect("an error");
    let gst::MessageView::Error(err) = msg.view() else {
        unreachable!()
    };
    let text = format!("{} {:?}", err.error(), err.debug());
    assert!(err.error().matches(gst::ResourceError::Settings), "{text}");
    assert!(text.contains("not valid UTF-8"), "{text}");
    assert!(!text.contains("s3cr"), "{text}");
}

/// A model and labels under a Latin-1 folder name load and classify.
#[test]
fn a_latin1_model_path_loads_and_classifies() {
    common::init();
    let mut name = b"imgclassify-caf\xe9-".to_vec();
    name.extend(std::process::id().to_string().bytes());
    let dir = std::env::temp_dir().join(OsString::from_vec(name));
    std::fs::create_dir_all(&dir).expect("Latin-1 folder");
    let model = dir.join("four.onnx");
    let labels = dir.join("labels.txt");
    std::fs::copy(common::fixture("four_classes.onnx"), &model).expect("copy model");
    std::fs::write(&labels, "a\nb\nc\nd\n").expect("labels");
    let pipeline =
        common::pipeline("videotestsrc num-buffers=2 ! imgclassify name=c ! appsink name=sink");
    let element = pipeline.by_name("c").expect("imgclassify");
    element.set_property_from_value("model-file", &model.to_value());
    element.set_property_from_value("labels-file", &labels.to_value());
    let run = common::try_run_pipeline(&pipeline);
    std::fs::remove_dir_all(&dir).ok();
    let run = run.expect("the pipeline runs");
    let results = run.results();
    assert_eq!(results.len(), 2);
    for result in results {
        let result = result.expect("a result on every frame");
        assert!(
            ["a", "b", "c", "d"].contains(&result.labels[0].as_str()),
            "{:?}",
            result.labels
        );
    }
}
