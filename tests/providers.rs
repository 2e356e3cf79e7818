//! Execution providers on a machine without a GPU: explicit requests fall back to the
//! CPU loudly (or fail when told to), `auto` quietly.

use crate::common;

use gst::prelude::*;
use gstimgclassify::gst;

fn run_with(props: &str) -> Result<common::Run, String> {
    common::try_run(&format!(
        "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=48 ! imgclassify name=c {props} \
         ! appsink name=sink"
    ))
}

#[test]
fn explicit_gpu_requests_fall_back_to_cpu_with_a_warning() {
    for (provider, library_name) in [("cuda", "CUDA"), ("tensorrt", "TensorRT")] {
        let run = run_with(&format!("execution-provider={provider}")).expect("falls back");
        assert_eq!(run.warnings.len(), 1, "{provider}: {:?}", run.warnings);
        let w = &run.warnings[0];
        assert!(
            w.contains(&format!(
                "execution provider '{provider}' could not be used"
            )),
            "{w}"
        );
        // ONNX Runtime's own reason, e.g. "CUDA execution provider is not enabled in this build".
        assert!(
            w.contains(&format!("{library_name} execution provider")),
            "{w}"
        );
        assert!(w.contains("running on 'cpu' instead"), "{w}");
        assert!(
            run.results()
                .iter()
                .all(|r| r.as_ref().is_some_and(|r| r.provider == "cpu"))
        );
    }
}

#[test]
fn tensorrt_falls_back_through_cuda() {
    let run = run_with("execution-provider=tensorrt").expect("falls back");
    let w = &run.warnings[0];
    let trt = w.find("'tensorrt'").expect("names tensorrt");
    let cuda = w.find("'cuda'").expect("names cuda");
    assert!(trt < cuda, "{w}");
}

#[test]
fn no_fallback_means_an_error_naming_the_provider() {
    for provider in ["cuda", "tensorrt"] {
        let err = run_with(&format!("execution-provider={provider} fallback=false"))
            .err()
            .unwrap_or_else(|| panic!("{provider} without fallback should fail"));
        assert!(
            err.contains(&format!("execution provider '{provider}' cannot be used")),
            "{err}"
        );
        assert!(err.contains("fallback=true"), "{err}");
    }
}

#[test]
fn auto_and_cpu_run_on_cpu_without_warning() {
    for props in [
        "",
        "execution-provider=auto",
        "execution-provider=cpu fallback=false",
    ] {
        let run = run_with(props).expect("runs");
        assert!(run.warnings.is_empty(), "'{props}': {:?}", run.warnings);
        assert!(
            run.results()
                .iter()
                .all(|r| r.as_ref().is_some_and(|r| r.provider == "cpu"))
        );
    }
}

#[test]
fn active_provider_is_readable_once_ready() {
    common::init();
    let element = gst::ElementFactory::make("imgclassify")
        .property_from_str("execution-provider", "cuda")
        .build()
        .expect("element");
    assert_eq!(element.property::<Option<String>>("active-provider"), None);
    element.set_state(gst::State::Ready).expect("ready");
    assert_eq!(
        element
            .property::<Option<String>>("active-provider")
            .as_deref(),
        Some("cpu")
    );
    element.set_state(gst::State::Null).expect("null");
    assert_eq!(element.property::<Option<String>>("active-provider"), None);
}
