//! `imgclassify inference-server=…` at the edges of what a server may do, against a real
//! Triton (`triton/server.rs`) behind the gateway of `triton/gateway.py`: a server that
//! stops answering while the element goes to NULL, and one whose answers are larger than
//! the client accepts. tests/remote.rs has the rest.

use crate::common;
use crate::triton::{gateway, server};

use std::time::{Duration, Instant};

use gateway::Gateway;
use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;
use server::Triton;

fn warnings(bus: &gst::Bus) -> Vec<String> {
    std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Warning]))
        .map(|m| match m.view() {
            gst::MessageView::Warning(w) => w.error().to_string(),
            _ => unreachable!(),
        })
        .collect()
}

fn count(element: &gst::Element, name: &str) -> u64 {
    let stats = element.property::<gst::Structure>("stats");
    stats
        .get::<u64>(name)
        .unwrap_or_else(|_| panic!("{name} in {stats}"))
}

/// Sets the pipeline to NULL when dropped, so a failed test leaves nothing streaming.
struct Stopping(gst::Pipeline);

impl Drop for Stopping {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

/// A server that holds every inference after the warm-up for 10 minutes, far beyond
/// `server-timeout=60000`, the most it may be: PLAYING→NULL with a frame's request in
/// flight returns at once, in both modes, and the cancelled request is no warning.
#[test]
fn null_with_a_request_in_flight_returns_at_once() {
    let triton = Triton::start();
    for mode in ["sync", "async"] {
        let stuck = Gateway::start(
            triton.grpc_port,
            &["--delay-ms", "600000", "--delay-after", "1"],
        );
        let pipeline = common::pipeline(&format!(
            "videotestsrc ! video/x-raw,width=224,height=224 \
             ! imgclassify name=c inference-server={} server-timeout=60000 mode={mode} \
             ! fakesink sync=false",
            stuck.endpoint()
        ));
        let running = Stopping(pipeline.clone());
        let bus = pipeline.bus().expect("bus");
        pipeline.set_state(gst::State::Playing).expect("plays");
        // The warm-up at READY passes; the first frame's request is held.
        let waiting = Instant::now() + Duration::from_secs(60);
        while !stuck.log().contains("holding ModelInfer") {
            assert!(Instant::now() < waiting, "{mode}: no request held");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(100));
        let stopping = pipeline.clone();
        let started = Instant::now();
        common::bounded("PLAYING→NULL", 30, move || {
            stopping.set_state(gst::State::Null)
        })
        .expect("NULL");
        let took = started.elapsed();
        drop(running);
        eprintln!("{mode}: NULL with a request in flight took {took:?}");
        assert!(took < Duration::from_secs(1), "{mode}: NULL took {took:?}");
        let w = warnings(&bus);
        assert!(w.is_empty(), "{mode}: {w:?}");
    }
    let spec = gst::ElementFactory::make("imgclassify")
        .build()
        .expect("imgclassify")
        .find_property("server-timeout")
        .expect("server-timeout");
    let spec = spec
        .downcast::<gst::glib::ParamSpecUInt>()
        .expect("a uint property");
    assert_eq!((spec.minimum(), spec.maximum()), (1, 60_000));
}

/// One endpoint pads every answer to 5 MB, over the client's 4 MiB limit: its frames fail
/// over to the other endpoint, every frame is labelled, the stream goes on, and one
/// warning names the endpoint and says its answer was too large.
#[test]
fn an_answer_larger_than_the_client_accepts_fails_over_to_the_other_endpoint() {
    let triton = Triton::start();
    let padded = Gateway::start(triton.grpc_port, &["--pad-answers-bytes", "5000000"]);
    let (caps, frame) = common::coffee_rgb();
    // Triton first: the warm-up at READY goes to the first endpoint.
    let servers = format!("{},{}", triton.endpoint(), padded.endpoint());
    // Set in code: a launch line would split the endpoint list at its comma.
    let e = gst::ElementFactory::make("imgclassify")
        .property_from_str("inference-server", &servers)
        .property_from_str("server-timeout", "5000")
        .build()
        .expect("imgclassify");
    let bus = gst::Bus::new();
    e.set_bus(Some(&bus));
    let mut h = gst_check::Harness::with_element(&e, Some("sink"), Some("src"));
    h.play();
    h.set_src_caps(caps);
    for n in 0..6u64 {
        let mut buffer = frame.copy_deep().expect("copy");
        buffer
            .get_mut()
            .expect("writable")
            .set_pts(gst::ClockTime::from_mseconds(40 * n));
        let out = common::push_and_pull(&mut h, &bus, buffer);
        let r = Classification::from_buffer(&out).expect("classified");
        assert_eq!(r.labels[0], "espresso", "frame {n}: {r:?}");
        assert!(r.fresh, "frame {n}: {r:?}");
        assert_eq!(r.provider, triton.endpoint(), "frame {n}");
    }
    let (failed, retried) = (count(&e, "requests-failed"), count(&e, "requests-retried"));
    assert!(
        failed >= 1 && retried == failed,
        "{failed} failed, {retried} retried"
    );
    let w = warnings(&bus);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains(&padded.endpoint()), "{w:?}");
    assert!(
        w[0].contains("the answer was larger than the client accepts"),
        "{w:?}"
    );
    assert!(w[0].contains("the limit is 4194304 bytes"), "{w:?}");
    assert!(!w[0].contains("refused"), "{w:?}");
}
