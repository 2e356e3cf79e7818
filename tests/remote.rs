//! `imgclassify inference-server=…` against a real Triton (`triton/server.rs`): the coffee
//! photo is an espresso and `provider` names the endpoint; a wrong `server-model` and an
//! endpoint where nothing listens fail NULL→READY naming both; with two servers, one
//! killed mid-stream, the other labels every frame; both down, frames flow with one
//! warning; a server back, labels resume; a served model that answers the wrong number
//! of scores fails READY; over TLS with the right CA it classifies, with
//! another CA READY fails; with mutual TLS the client certificate classifies and its
//! absence fails READY. Through the gateway of `triton/gateway.py`: a slow server, where
//! `mode=async` keeps `max-in-flight` requests outstanding (for whole frames, zones and
//! regions alike) and `mode=sync` waits at most `server-timeout` (all zones of a frame
//! together); a bearer token checked, a wrong one failing READY, never logged; a
//! gateway spoiling answers, refusing batches or renaming the model to one without a
//! batch dimension: failover, batches split, one request per image. Also inside an
//! application's tokio runtime, endpoints back refusing the client or too slow, and
//! silent endpoints checked at once. UINT8 (NHWC) and FP16 served models get
//! their own element type; the production repository's configs parse as Triton's
//! ModelConfig.

use crate::common;
use crate::mqtt::broker;
use crate::triton::{gateway, server};

use std::time::{Duration, Instant};

use common::servers::free_port;
use gateway::Gateway;
use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;
use server::Triton;

/// Pushes frame `n` (PTS n × 40 ms) and returns what comes out with its result.
fn classify(
    h: &mut gst_check::Harness,
    bus: &gst::Bus,
    frame: &gst::Buffer,
    n: u64,
) -> Option<Classification> {
    let mut buffer = frame.copy_deep().expect("copy");
    buffer
        .get_mut()
        .expect("writable")
        .set_pts(gst::ClockTime::from_mseconds(40 * n));
    let out = common::push_and_pull(h, bus, buffer);
    Classification::from_buffer(&out)
}

/// `imgclassify` with these properties, posting on a bus of its own. Set in code: a
/// launch line would split the endpoint list at its comma.
fn built(props: &[(&str, &str)]) -> (gst::Element, gst::Bus) {
    common::init();
    let mut builder = gst::ElementFactory::make("imgclassify");
    for (name, value) in props {
        builder = builder.property_from_str(name, value);
    }
    let e = builder.build().expect("imgclassify");
    let bus = gst::Bus::new();
    e.set_bus(Some(&bus));
    (e, bus)
}

/// Frame `n` through the element, which passes it without a fresh result: how long the
/// element held it.
fn unanswered(h: &mut gst_check::Harness, bus: &gst::Bus, frame: &gst::Buffer, n: u64) -> Duration {
    let pushed = Instant::now();
    let r = classify(h, bus, frame, n);
    let waited = pushed.elapsed();
    assert!(r.as_ref().is_none_or(|r| !r.fresh), "{r:?}");
    waited
}

/// [`built`] in a harness, not yet playing.
fn element(props: &[(&str, &str)]) -> (gst_check::Harness, gst::Bus) {
    let (e, bus) = built(props);
    (
        gst_check::Harness::with_element(&e, Some("sink"), Some("src")),
        bus,
    )
}

/// `imgclassify` with these properties, playing with the coffee photo's caps, and the
/// photo's frame to push.
fn playing(props: &[(&str, &str)]) -> (gst_check::Harness, gst::Bus, gst::Buffer) {
    let (caps, frame) = common::coffee_rgb();
    let (mut h, bus) = element(props);
    h.play();
    h.set_src_caps(caps);
    (h, bus, frame)
}

fn warnings(bus: &gst::Bus) -> Vec<String> {
    let mut found = Vec::new();
    while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Warning]) {
        if let gst::MessageView::Warning(w) = msg.view() {
            found.push(w.error().to_string());
        }
    }
    found
}

#[test]
fn coffee_is_an_espresso_on_triton_and_provider_names_the_endpoint() {
    let triton = Triton::start();
    let run = common::run(&format!(
        "filesrc location={} ! pngdec ! videoconvert ! imgclassify inference-server={} \
         post-messages=true ! appsink name=sink",
        common::data("coffee.png").display(),
        triton.endpoint()
    ));
    let result = run.results()[0].clone().expect("the frame is classified");
    assert_eq!(result.labels[0], "espresso", "{result:?}");
    assert!(result.scores[0] > 0.9, "{result:?}");
    assert_eq!(result.provider, triton.endpoint());
    assert_eq!(result.model, "mobilenet");
    let message = &run.messages[0];
    assert_eq!(
        message.get::<String>("provider").expect("provider"),
        triton.endpoint()
    );
}

#[test]
fn a_wrong_server_model_or_nothing_listening_fails_ready_naming_endpoint_and_model() {
    let triton = Triton::start();
    let e = common::error_of(&format!(
        "inference-server={} server-model=no-such-model",
        triton.endpoint()
    ));
    assert!(e.contains(&triton.endpoint()), "{e}");
    assert!(e.contains("'no-such-model'"), "{e}");
    let nobody = format!("grpc://127.0.0.1:{}", free_port());
    let e = common::error_of(&format!("inference-server={nobody}"));
    assert!(e.contains(&nobody), "{e}");
    assert!(e.contains("'mobilenet'"), "{e}");
    assert!(e.contains("refused"), "{e}");
}

/// Also: the element runs inside an application's tokio runtime (set to PLAYING and
/// fed from a thread that drives one); an endpoint that was down at READY and comes
/// back refusing the client is warned about once, naming it; one that comes back
/// slower than server-timeout costs the frame it took, not Triton's place in the
/// rotation.
#[test]
fn one_ready_endpoint_is_enough_and_the_other_is_warned_about() {
    let triton = Triton::start();
    let app = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (caps, frame) = common::coffee_rgb();
    app.block_on(async {
        let port = free_port();
        let nobody = format!("grpc://127.0.0.1:{port}");
        let servers = format!("{nobody},{}", triton.endpoint());
        let (mut h, bus) = element(&[("inference-server", &servers)]);
        h.play();
        h.set_src_caps(caps.clone());
        let w = warnings(&bus);
        assert!(w.iter().any(|w| w.contains(&nobody)), "{w:?}");
        let mut n = 0;
        for _ in 0..4 {
            let r = classify(&mut h, &bus, &frame, n).expect("classified");
            assert_eq!(r.labels[0], "espresso");
            assert_eq!(r.provider, triton.endpoint());
            n += 1;
        }
        // It comes up behind a gateway that wants a token the element does not send.
        let dir = tempfile::tempdir().expect("temporary folder");
        let token = dir.path().join("token");
        std::fs::write(&token, "t0ken\n").expect("token file");
        let _gateway = Gateway::start_on(
            port,
            triton.grpc_port,
            &["--token-file", token.to_str().expect("path")],
        );
        let until = Instant::now() + Duration::from_secs(4);
        let mut w = Vec::new();
        while Instant::now() < until {
            let r = classify(&mut h, &bus, &frame, n).expect("classified");
            assert_eq!(r.provider, triton.endpoint());
            w.extend(warnings(&bus));
            n += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains(&nobody) && w[0].contains("'mobilenet'"),
            "{w:?}"
        );
        assert!(w[0].contains("requires credentials"), "{w:?}");
    });

    // Another endpoint down at READY comes back slower than server-timeout, in
    // every call: the frame it takes runs out of time while it is checked, and is
    // not sent on to Triton with no time left, which would take Triton out of
    // rotation too. The next frame is Triton's.
    let port = free_port();
    let slow = format!("grpc://127.0.0.1:{port}");
    let servers = format!("{},{slow}", triton.endpoint());
    let (mut h, bus) = element(&[("inference-server", &servers), ("server-timeout", "1000")]);
    h.play();
    h.set_src_caps(caps);
    let mut n = 0;
    let _slow = Gateway::start_on(
        port,
        triton.grpc_port,
        &["--delay-ms", "1500", "--delay-all"],
    );
    let mut unlabelled = 0;
    let until = Instant::now() + Duration::from_secs(6);
    while unlabelled < 1 && Instant::now() < until {
        if classify(&mut h, &bus, &frame, n).is_some_and(|r| r.fresh) {
            n += 1;
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        unlabelled += 1;
        let r = classify(&mut h, &bus, &frame, n + 1).expect("classified");
        assert!(r.fresh, "frame {} after the slow endpoint's: {r:?}", n + 1);
        assert_eq!(r.provider, triton.endpoint());
        n += 2;
    }
    assert!(unlabelled >= 1, "no frame went to {slow}");
}

#[test]
fn failover_outage_and_recovery() {
    let mut a = Triton::start();
    let mut b = Triton::start();
    let servers = format!("{},{}", a.endpoint(), b.endpoint());
    let (mut h, bus, frame) =
        playing(&[("inference-server", &servers), ("server-timeout", "5000")]);
    let mut n = 0;
    let mut providers = Vec::new();
    for _ in 0..6 {
        let r = classify(&mut h, &bus, &frame, n).expect("classified");
        assert_eq!(r.labels[0], "espresso");
        assert!(r.fresh);
        providers.push(r.provider);
        n += 1;
    }
    // Round robin: both servers take frames.
    assert!(providers.contains(&a.endpoint()), "{providers:?}");
    assert!(providers.contains(&b.endpoint()), "{providers:?}");

    // One dies mid-stream: every frame still comes out, labelled fresh by the other.
    a.kill();
    for _ in 0..8 {
        let r = classify(&mut h, &bus, &frame, n).expect("still classified");
        assert_eq!(r.labels[0], "espresso");
        assert!(r.fresh, "frame {n} carries an old result");
        assert_eq!(r.provider, b.endpoint());
        n += 1;
    }
    assert!(warnings(&bus).is_empty());

    // Both down: frames flow unlabelled, one warning for the whole outage.
    b.kill();
    for _ in 0..10 {
        assert!(classify(&mut h, &bus, &frame, n).is_none_or(|r| !r.fresh));
        n += 1;
    }
    let w = warnings(&bus);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("no inference server answered"), "{w:?}");
    let stats = h
        .element()
        .expect("element")
        .property::<gst::Structure>("stats");
    let count = |name: &str| stats.get::<u64>(name).expect(name);
    assert_eq!(count("frames-unanswered"), 10, "{stats}");
    assert!(count("requests-retried") >= 1, "{stats}");
    assert!(count("requests-failed") >= 2, "{stats}");
    assert!(count("requests-sent") >= 16, "{stats}");

    // A server back on its address: labels resume by themselves.
    b.launch();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = classify(&mut h, &bus, &frame, n);
        n += 1;
        if let Some(r) = r.filter(|r| r.fresh) {
            assert_eq!(r.labels[0], "espresso");
            assert_eq!(r.provider, b.endpoint());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "labels did not resume"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(warnings(&bus).is_empty());
}

#[test]
fn tls_verified_against_the_ca_file_classifies_and_another_ca_is_refused() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let certs = broker::Certs::make(dir.path());
    let triton = Triton::start_with(&[
        "--grpc-use-ssl=true",
        &format!("--grpc-server-cert={}", certs.cert.display()),
        &format!("--grpc-server-key={}", certs.key.display()),
        &format!("--grpc-root-cert={}", certs.ca.display()),
    ]);
    let endpoint = format!("grpcs://127.0.0.1:{}", triton.grpc_port);
    let ca = certs.ca.display().to_string();
    let (mut h, bus, frame) = playing(&[("inference-server", &endpoint), ("server-ca-file", &ca)]);
    let r = classify(&mut h, &bus, &frame, 0).expect("classified over TLS");
    assert_eq!(r.labels[0], "espresso");
    assert_eq!(r.provider, endpoint);
    drop(h);

    let e = common::error_of(&format!(
        "inference-server={endpoint} server-ca-file={}",
        certs.other_ca.display()
    ));
    assert!(e.contains(&endpoint), "{e}");
    assert!(e.to_lowercase().contains("certificate"), "{e}");

    // Two endpoints, one whose certificate is not for its name: READY fails saying so,
    // where it used to go on with the other and retry this one for ever.
    let localhost = format!("grpcs://localhost:{}", triton.grpc_port);
    let e = ready_error(&[
        ("inference-server", &format!("{endpoint},{localhost}")),
        ("server-ca-file", &ca),
    ]);
    assert!(e.contains(&localhost), "{e}");
    assert!(e.contains("certificate did not verify"), "{e}");
}

/// The error that setting the element to READY with these properties posts.
/// Without a harness, which would set it PLAYING as it is made.
fn ready_error(props: &[(&str, &str)]) -> String {
    let (e, bus) = built(props);
    assert!(e.set_state(gst::State::Ready).is_err(), "READY should fail");
    let msg = bus
        .pop_filtered(&[gst::MessageType::Error])
        .expect("an error message");
    let gst::MessageView::Error(error) = msg.view() else {
        panic!("{msg:?}");
    };
    let text = error.error().to_string();
    let _ = e.set_state(gst::State::Null);
    text
}

/// mobilenet's input and output, as a Triton config declares them.
const MOBILENET_IO: &str = "input [{ name: \"input\" data_type: TYPE_FP32 dims: [3, 224, 224] }]\n\
     output [{ name: \"logits\" data_type: TYPE_FP32 dims: [1000] }]";

/// A Python-backend entry of the repository serving `onnx` as `name` with the
/// repository's own model.py; `max_batch` 0: no batch dimension (`io` then has it).
fn served(
    repository: &std::path::Path,
    name: &str,
    onnx: &std::path::Path,
    max_batch: u32,
    io: &str,
) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = repository.join(name);
    std::fs::create_dir_all(dir.join("1")).expect("model folder");
    std::fs::copy(
        root.join("server/triton/pytriton/model.py"),
        dir.join("1/model.py"),
    )
    .expect("model.py");
    std::fs::write(
        dir.join("config.pbtxt"),
        format!(
            "name: \"{name}\"\nbackend: \"python\"\nmax_batch_size: {max_batch}\n{io}\n\
             instance_group [{{ kind: KIND_CPU count: 1 }}]\n\
             parameters: {{ key: \"onnx_file\" value: {{ string_value: \"{}\" }} }}\n",
            onnx.display()
        ),
    )
    .expect("config");
}

/// The built-in mobilenet's file.
fn mobilenet() -> std::path::PathBuf {
    gstimgclassify::testing::model::zoo::resolve("mobilenet").expect("mobilenet")
}

/// A model that declares mobilenet's input and output but answers 999 scores per image.
fn short_model(repository: &std::path::Path) {
    served(repository, "short", &mobilenet(), 8, MOBILENET_IO);
    std::fs::write(
        repository.join("short/1/model.py"),
        // The helper module first: it puts the venv (numpy) on the path.
        "import triton_python_backend_utils as pb_utils\nimport numpy as np\n\n\
         class TritonPythonModel:\n    def execute(self, requests):\n        out = []\n\
         \x20       for r in requests:\n\
         \x20           n = pb_utils.get_input_tensor_by_name(r, 'input').as_numpy().shape[0]\n\
         \x20           t = pb_utils.Tensor('logits', np.zeros((n, 999), np.float32))\n\
         \x20           out.append(pb_utils.InferenceResponse(output_tensors=[t]))\n\
         \x20       return out\n",
    )
    .expect("model.py");
}

#[test]
fn a_server_answering_the_wrong_number_of_scores_fails_ready_without_labels() {
    let triton = Triton::start_with_models(&[], short_model);
    let e = common::error_of(&format!(
        "inference-server={} server-model=short",
        triton.endpoint()
    ));
    assert!(e.contains(&triton.endpoint()), "{e}");
    assert!(e.contains("'short'"), "{e}");
    assert!(
        e.contains("returned 1998 scores for 2 images of 1000 classes"),
        "{e}"
    );
}

fn stats(h: &gst_check::Harness) -> gst::Structure {
    h.element()
        .expect("element")
        .property::<gst::Structure>("stats")
}

/// What one async stream of the coffee photo got from a slow server.
struct Streamed {
    /// Inferences answered (`frames-classified`).
    answered: u64,
    /// Buffers that carried a result (every one an espresso).
    labelled: usize,
    /// The longest a buffer took through the element.
    slowest: Duration,
}

/// What is classified: the whole frame, one zone over it, or one ROI over it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cut {
    Frame,
    Zone,
    Region,
}

/// `frames` copies of the coffee photo pushed at 100 fps through `mode=async` with
/// `max-in-flight=depth`, classified whole or as a zone or region covering it.
fn stream_async(endpoint: &str, depth: u32, frames: u64, cut: Cut) -> Streamed {
    let (caps, frame) = common::coffee_rgb();
    let depth = depth.to_string();
    let target = match cut {
        Cut::Frame => "frame",
        Cut::Zone => "zones",
        Cut::Region => "regions",
    };
    let (mut h, bus) = element(&[
        ("inference-server", endpoint),
        ("mode", "async"),
        ("max-in-flight", &depth),
        ("server-timeout", "5000"),
        ("target", target),
        // Clipped to the frame: the whole photo.
        ("zones", "cup:0,0,4000,4000"),
    ]);
    let info = gst_video::VideoInfo::from_caps(&caps).expect("video caps");
    let whole = (0, 0, info.width(), info.height());
    h.play();
    h.set_src_caps(caps);
    let period = Duration::from_millis(10);
    let started = Instant::now();
    let mut streamed = Streamed {
        answered: 0,
        labelled: 0,
        slowest: Duration::ZERO,
    };
    for n in 0..frames {
        let due = started + period * n as u32;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let mut buffer = frame.copy_deep().expect("copy");
        {
            let b = buffer.get_mut().expect("writable");
            b.set_pts(gst::ClockTime::from_mseconds(10 * n));
            if cut == Cut::Region {
                gst_video::VideoRegionOfInterestMeta::add(b, "cup", whole).set_id(1);
            }
        }
        let pushed = Instant::now();
        let out = common::push_and_pull(&mut h, &bus, buffer);
        streamed.slowest = streamed.slowest.max(pushed.elapsed());
        if let Some(r) = Classification::from_buffer(&out) {
            let top = match cut {
                Cut::Frame => &r.labels[0],
                _ => &r.regions[0].labels[0],
            };
            assert_eq!(top, "espresso", "frame {n}: {r:?}");
            streamed.labelled += 1;
        }
    }
    let stats = stats(&h);
    streamed.answered = stats.get::<u64>("frames-classified").expect("stats");
    assert_eq!(
        stats.get::<u64>("requests-failed").expect("stats"),
        0,
        "{stats}"
    );
    assert!(warnings(&bus).is_empty());
    eprintln!(
        "{target}, max-in-flight={depth}: {} of {frames} frames answered, {} labelled, slowest buffer \
         {:?}; {stats}",
        streamed.answered, streamed.labelled, streamed.slowest
    );
    streamed
}

#[test]
fn a_slow_server_async_pipelines_up_to_max_in_flight_and_sync_waits_at_most_server_timeout() {
    let triton = Triton::start();
    // 200 ms per inference on top of Triton's own time, calls overlapping.
    let slow = Gateway::start(triton.grpc_port, &["--delay-ms", "200"]);
    let one = stream_async(&slow.endpoint(), 1, 200, Cut::Frame);
    let four = stream_async(&slow.endpoint(), 4, 200, Cut::Frame);
    // Zones and regions go to the inference threads too.
    let zone = stream_async(&slow.endpoint(), 4, 100, Cut::Zone);
    let region = stream_async(&slow.endpoint(), 4, 100, Cut::Region);
    // The streaming thread never waits for the server: a buffer passes in far less than
    // one request's 200 ms.
    for s in [&one, &four, &zone, &region] {
        assert!(s.slowest < Duration::from_millis(100), "{:?}", s.slowest);
        assert!(s.labelled > 0);
    }
    // One request at a time answers about 1 frame in 25 at 100 fps; four overlapping,
    // nearly four times as many.
    assert!(
        four.answered >= 3 * one.answered,
        "max-in-flight=4 answered {}, max-in-flight=1 {}",
        four.answered,
        one.answered
    );
    drop(slow);

    // mode=sync against a server slower than server-timeout: the frame waits 300 ms,
    // then flows on without a fresh result, counted.
    let slower = Gateway::start(triton.grpc_port, &["--delay-ms", "1500"]);
    // READY waits for the first answer longer than server-timeout (5 s at least), so a
    // slow server still loads.
    let (mut h, bus, frame) = playing(&[
        ("inference-server", &slower.endpoint()),
        ("server-timeout", "300"),
    ]);
    let waited = unanswered(&mut h, &bus, &frame, 0);
    assert!(
        waited >= Duration::from_millis(300) && waited <= Duration::from_millis(300 + 200),
        "the frame waited {waited:?}"
    );
    let stats = stats(&h);
    let count = |name: &str| stats.get::<u64>(name).expect(name);
    assert_eq!(count("requests-timed-out"), 1, "{stats}");
    assert_eq!(count("frames-unanswered"), 1, "{stats}");
    let w = warnings(&bus);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("no answer within server-timeout"), "{w:?}");
    drop(h);

    // Three zones one per request, each answered in 300 ms, in a frame given 500 ms:
    // the frame waits 500 ms in all, not 500 ms per zone.
    let zoned = Gateway::start(triton.grpc_port, &["--delay-ms", "300"]);
    let (mut h, bus, frame) = playing(&[
        ("inference-server", &zoned.endpoint()),
        ("server-timeout", "500"),
        ("target", "zones"),
        ("max-batch", "1"),
        ("zones", "a:0,0,4000,4000;b:0,0,4000,4000;c:0,0,4000,4000"),
    ]);
    let waited = unanswered(&mut h, &bus, &frame, 0);
    assert!(
        waited <= Duration::from_millis(500 + 150),
        "the frame waited {waited:?}"
    );
    // The request that ran out of the frame's time had too little of it to blame the
    // server: it stays in rotation, and one zone is answered right away.
    h.element()
        .expect("element")
        .set_property_from_str("zones", "a:0,0,4000,4000");
    let r = classify(&mut h, &bus, &frame, 1).expect("classified");
    assert!(r.fresh, "{r:?}");
    assert_eq!(r.regions[0].labels[0], "espresso");
}

/// `solo`: the built-in mobilenet taking one image per request (no batch dimension).
fn solo_model(repository: &std::path::Path) {
    served(
        repository,
        "solo",
        &mobilenet(),
        0,
        "input [{ name: \"input\" data_type: TYPE_FP32 dims: [1, 3, 224, 224] }]\n\
         output [{ name: \"logits\" data_type: TYPE_FP32 dims: [1, 1000] }]",
    );
}

/// One endpoint spoils its answers: each frame fails over to the other, and the stream
/// goes on; alone, frames pass unlabelled with one warning saying what was wrong. A
/// batch the server refuses as too large is split. An endpoint whose model takes one
/// image at a time gets one request per zone, beside one that takes batches. Request
/// counters are in `stats` from READY.
#[test]
fn a_malformed_answer_takes_the_endpoint_out_and_a_refused_batch_is_split() {
    let triton = Triton::start_with_models(&[], solo_model);
    let (caps, frame) = common::coffee_rgb();
    let bad = Gateway::start(triton.grpc_port, &["--bad-answers-after", "1"]);
    let servers = format!("{},{}", bad.endpoint(), triton.endpoint());
    let (mut h, bus) = element(&[("inference-server", &servers)]);
    h.play();
    let counts = |h: &gst_check::Harness| {
        let s = stats(h);
        let c = |name: &str| s.get::<u64>(name).expect(name);
        (
            c("requests-sent"),
            c("requests-failed"),
            c("requests-retried"),
            c("requests-timed-out"),
        )
    };
    // The warm-up request (answered intact) only.
    assert_eq!(counts(&h), (1, 0, 0, 0));
    h.set_src_caps(caps.clone());
    for n in 0..4 {
        let r = classify(&mut h, &bus, &frame, n).expect("classified");
        assert_eq!(r.labels[0], "espresso");
        assert!(r.fresh);
        assert_eq!(r.provider, triton.endpoint());
    }
    let (sent, failed, retried, timed_out) = counts(&h);
    assert!(failed >= 1 && failed == retried, "{:?}", counts(&h));
    assert_eq!((sent, timed_out), (1 + 4 + failed, 0));
    assert!(warnings(&bus).is_empty());
    drop(h);

    let alone = Gateway::start(triton.grpc_port, &["--bad-answers-after", "1"]);
    let (mut h, bus) = element(&[("inference-server", &alone.endpoint())]);
    h.play();
    h.set_src_caps(caps.clone());
    for n in 0..3 {
        assert!(classify(&mut h, &bus, &frame, n).is_none_or(|r| !r.fresh));
    }
    let w = warnings(&bus);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains(&alone.endpoint()), "{w:?}");
    assert!(
        w[0].contains("returned 999 scores for 1 images of 1000 classes"),
        "{w:?}"
    );
    drop(h);

    // One image's request is about 600 kB: larger ones are refused as a server
    // refuses a batch over its max_batch_size.
    let small = Gateway::start(triton.grpc_port, &["--max-request-bytes", "700000"]);
    let (mut h, bus) = element(&[
        ("inference-server", &small.endpoint()),
        ("target", "zones"),
        ("max-batch", "3"),
        ("zones", "a:0,0,4000,4000;b:0,0,4000,4000;c:0,0,4000,4000"),
    ]);
    h.play();
    h.set_src_caps(caps.clone());
    let r = classify(&mut h, &bus, &frame, 0).expect("classified");
    assert_eq!(r.regions.len(), 3, "{r:?}");
    for zone in &r.regions {
        assert_eq!(zone.labels[0], "espresso", "{r:?}");
    }
    assert!(warnings(&bus).is_empty());
    drop(h);

    // Batches of three zones to Triton's mobilenet, and to `solo` under the same name
    // one request per zone: none is refused.
    let solo = Gateway::start(triton.grpc_port, &["--model", "solo"]);
    let servers = format!("{},{}", triton.endpoint(), solo.endpoint());
    let (mut h, bus) = element(&[
        ("inference-server", &servers),
        ("target", "zones"),
        ("max-batch", "3"),
        ("zones", "a:0,0,4000,4000;b:0,0,4000,4000;c:0,0,4000,4000"),
    ]);
    h.play();
    h.set_src_caps(caps);
    let mut providers = Vec::new();
    for n in 0..4 {
        let r = classify(&mut h, &bus, &frame, n).expect("classified");
        assert!(r.fresh);
        assert!(r.regions.iter().all(|z| z.labels[0] == "espresso"), "{r:?}");
        providers.push(r.provider);
    }
    assert!(providers.contains(&solo.endpoint()), "{providers:?}");
    // The warm-up, then per frame one request to mobilenet or one per zone to `solo`.
    let per_frame: u64 = providers
        .iter()
        .map(|p| if *p == solo.endpoint() { 3 } else { 1 })
        .sum();
    assert_eq!(counts(&h), (1 + per_frame, 0, 0, 0), "{}", stats(&h));
    assert!(warnings(&bus).is_empty());
}

#[test]
fn a_bearer_token_passes_the_gateway_a_wrong_one_fails_ready_and_it_is_never_logged() {
    let triton = Triton::start();
    let dir = tempfile::tempdir().expect("temporary folder");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let token = format!("tok{:x}x{nanos:x}", std::process::id());
    let (right, wrong) = (dir.path().join("token"), dir.path().join("wrong"));
    std::fs::write(&right, format!("{token}\n")).expect("token file");
    std::fs::write(&wrong, format!("not{token}\n")).expect("token file");
    let gateway = Gateway::start(
        triton.grpc_port,
        &["--token-file", right.to_str().expect("path")],
    );
    let endpoint = gateway.endpoint();

    // The right token: classified, and with every debug category at LOG level nothing
    // written anywhere holds the token.
    let log = dir.path().join("gst.log");
    let output = common::programs::command("gst-launch-1.0")
        .env("GST_DEBUG", "*:6")
        .env("GST_DEBUG_FILE", &log)
        .env("GST_DEBUG_NO_COLOR", "1")
        .arg("-m")
        .args([
            "filesrc",
            &format!("location={}", common::data("coffee.png").display()),
        ])
        .args(["!", "pngdec", "!", "videoconvert", "!", "imgclassify"])
        .arg(format!("inference-server={endpoint}"))
        .arg(format!("server-token-file={}", right.display()))
        .args(["post-messages=true", "!", "fakesink"])
        .output()
        .expect("gst-launch-1.0 runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = common::programs::ok("gst-launch-1.0", output);
    assert!(stdout.contains("espresso"), "{stdout}");
    assert!(stdout.contains(&endpoint), "{stdout}");
    let logged = std::fs::read_to_string(&log).expect("debug log");
    // The log is the real one: it holds the result and the token file's name.
    assert!(logged.contains("espresso"), "{} bytes logged", logged.len());
    assert!(logged.contains(right.to_str().expect("path")));
    for (what, text) in [("log", &logged), ("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!text.contains(&token), "the token is in the {what}");
    }

    // A wrong token, and none: READY fails, saying which.
    let e = common::error_of(&format!(
        "inference-server={endpoint} server-token-file={}",
        wrong.display()
    ));
    assert!(e.contains("rejected the bearer token"), "{e}");
    assert!(e.contains("Unauthenticated"), "{e}");
    assert!(e.contains(&endpoint) && e.contains("'mobilenet'"), "{e}");
    assert!(!e.contains(&token), "{e}");
    let e = common::error_of(&format!("inference-server={endpoint}"));
    assert!(e.contains("requires credentials"), "{e}");
    assert!(e.contains("server-token-file"), "{e}");
}

/// A client certificate and key signed by the test CA of `broker::Certs` in `dir`.
fn client_certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let p = |n: &str| dir.join(n);
    let openssl = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-subj",
        "/CN=imgclassify test client",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "client.key",
        "-out",
        "client.csr",
    ]);
    std::fs::write(p("client.cnf"), "extendedKeyUsage=clientAuth\n").expect("ext file");
    openssl(&[
        "x509",
        "-req",
        "-days",
        "2",
        "-CAcreateserial",
        "-in",
        "client.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-extfile",
        "client.cnf",
        "-out",
        "client.pem",
    ]);
    (p("client.pem"), p("client.key"))
}

#[test]
fn mutual_tls_classifies_with_the_client_certificate_and_fails_ready_without() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let certs = broker::Certs::make(dir.path());
    let (cert, key) = client_certificate(dir.path());
    let triton = Triton::start_with(&[
        "--grpc-use-ssl-mutual=true",
        &format!("--grpc-server-cert={}", certs.cert.display()),
        &format!("--grpc-server-key={}", certs.key.display()),
        &format!("--grpc-root-cert={}", certs.ca.display()),
    ]);
    let endpoint = format!("grpcs://127.0.0.1:{}", triton.grpc_port);
    let ca = certs.ca.display().to_string();
    let (mut h, bus, frame) = playing(&[
        ("inference-server", &endpoint),
        ("server-ca-file", &ca),
        ("server-cert-file", cert.to_str().expect("path")),
        ("server-key-file", key.to_str().expect("path")),
    ]);
    let r = classify(&mut h, &bus, &frame, 0).expect("classified over mutual TLS");
    assert_eq!(r.labels[0], "espresso");
    assert_eq!(r.provider, endpoint);
    drop(h);

    let e = common::error_of(&format!("inference-server={endpoint} server-ca-file={ca}"));
    assert!(e.contains("require a client certificate"), "{e}");
    assert!(e.contains(&endpoint), "{e}");
    let e = common::error_of(&format!(
        "inference-server={endpoint} server-ca-file={ca} server-cert-file={}",
        cert.display()
    ));
    assert!(
        e.contains("server-cert-file and server-key-file go together"),
        "{e}"
    );
}

/// `mymodel`: the built-in mobilenet under a name no built-in model has, served by the
/// repository's own Python-backend model.
fn renamed_model(repository: &std::path::Path) {
    served(repository, "mymodel", &mobilenet(), 8, MOBILENET_IO);
}

#[test]
fn a_served_model_with_no_local_file_is_described_by_the_server_and_labels_file() {
    let triton = Triton::start_with_models(&[], renamed_model);
    // The class names, as a user would have them: a text file, one per line.
    let mobilenet = gstimgclassify::testing::model::zoo::resolve("mobilenet").expect("model");
    let options = gstimgclassify::testing::backend::EngineOptions::default();
    let local = gstimgclassify::testing::backend::OnnxRuntime::load(&mobilenet, &options, 0)
        .expect("mobilenet loads");
    use gstimgclassify::testing::backend::Backend;
    let labels = local.info().labels.clone().expect("mobilenet's labels");
    let dir = tempfile::tempdir().expect("temporary folder");
    let labels_file = dir.path().join("labels.txt");
    std::fs::write(&labels_file, labels.join("\n") + "\n").expect("labels file");

    // No model-file: nothing local is read but the labels. The result names the served
    // model, where the built-in model= (mobilenet) would name itself.
    let run = common::run(&format!(
        "filesrc location={} ! pngdec ! videoconvert ! imgclassify inference-server={} \
         server-model=mymodel labels-file={} post-messages=true ! appsink name=sink",
        common::data("coffee.png").display(),
        triton.endpoint(),
        labels_file.display()
    ));
    let result = run.results()[0].clone().expect("the frame is classified");
    assert_eq!(result.labels[0], "espresso", "{result:?}");
    assert_eq!(result.model, "mymodel");
    assert_eq!(result.provider, triton.endpoint());

    // Labels that do not match the served model's classes: READY fails saying so.
    std::fs::write(&labels_file, labels[..999].join("\n") + "\n").expect("labels file");
    let e = common::error_of(&format!(
        "inference-server={} server-model=mymodel labels-file={}",
        triton.endpoint(),
        labels_file.display()
    ));
    assert!(e.contains("999") && e.contains("1000"), "{e}");
}

/// TLS files with only plain endpoints are a typo in the scheme: one warning says so,
/// before READY fails for want of a server.
#[test]
fn tls_files_without_a_grpcs_endpoint_are_warned_about() {
    let nobody = format!("grpc://127.0.0.1:{}", free_port());
    let (e, bus) = built(&[
        ("inference-server", &nobody),
        ("server-ca-file", "/etc/ssl/certs/ca.crt"),
        ("server-key-file", "client.key"),
    ]);
    assert!(e.set_state(gst::State::Ready).is_err());
    assert_eq!(
        warnings(&bus),
        vec![
            "server-ca-file, server-key-file set, but no endpoint is grpcs://: TLS is not used; \
             write grpcs://HOST:PORT"
        ]
    );
    let _ = e.set_state(gst::State::Null);
}

/// The production repository (the onnxruntime backend, GPU instances, TensorRT) is for a
/// Triton that does not install from the package registries: its configs are parsed with
/// Triton's own ModelConfig message and checked against the model files instead.
#[test]
fn the_production_repository_is_a_valid_triton_model_config_for_every_built_in_model() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("temporary folder");
    let run = std::process::Command::new(root.join("deps/triton-venv/bin/python"))
        .arg(root.join("server/triton/repository.py"))
        .arg(out.path())
        .args(["--variant", "onnxruntime", "--check", "--models"])
        .arg(root.join("deps/models"))
        .output()
        .expect("deps/triton-venv's Python runs (scripts/setup.sh --dev)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let checked: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("ModelConfig ok"))
        .collect();
    assert_eq!(checked.len(), 4, "{stdout}");
    for (line, size) in checked.iter().zip([224, 224, 240, 260]) {
        assert!(
            line.contains(&format!(
                "(onnxruntime_onnx, KIND_GPU x 2, max_batch_size 8, input [3, {size}, {size}] \
                 -> logits [1000])"
            )),
            "{line}"
        );
    }
}

/// The tensor goes in the element type the served model declares: raw UINT8 pixels in
/// NHWC to one, FP16 to another whose scores come back in FP16. Triton refuses a tensor
/// of another type or shape, so an espresso from each says what went on the wire.
#[test]
fn uint8_and_float16_served_models_get_their_own_element_type() {
    let (uint8, float16) = (
        common::byom("uint8_nhwc.onnx"),
        common::byom("float16.onnx"),
    );
    let triton = Triton::start_with_models(&[], |repository| {
        served(
            repository,
            "pixels",
            std::path::Path::new(&uint8),
            8,
            "input [{ name: \"pixels\" data_type: TYPE_UINT8 dims: [224, 224, 3] }]\n\
             output [{ name: \"logits\" data_type: TYPE_FP32 dims: [1000] }]",
        );
        served(
            repository,
            "half",
            std::path::Path::new(&float16),
            8,
            "input [{ name: \"half\" data_type: TYPE_FP16 dims: [3, 224, 224] }]\n\
             output [{ name: \"scores\" data_type: TYPE_FP16 dims: [1000] }]",
        );
    });
    for (name, local) in [("pixels", &uint8), ("half", &float16)] {
        let run = common::run(&format!(
            "filesrc location={} ! pngdec ! videoconvert ! imgclassify model-file={} \
             inference-server={} server-model={name} ! appsink name=sink",
            common::data("coffee.png").display(),
            local,
            triton.endpoint(),
        ));
        let result = run.results()[0].clone().expect("the frame is classified");
        assert_eq!(result.labels[0], "espresso", "{name}: {result:?}");
        assert_eq!(result.provider, triton.endpoint());
        assert!(run.warnings.is_empty(), "{name}: {:?}", run.warnings);
    }
}

/// Endpoints that accept connections and never answer: READY waits for them all at
/// once (its 5 s load timeout once, not once per endpoint), then fails naming both.
#[test]
fn endpoints_that_never_answer_are_checked_at_once() {
    let silent: Vec<std::net::TcpListener> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a listener"))
        .collect();
    let endpoints: Vec<String> = silent
        .iter()
        .map(|l| format!("grpc://{}", l.local_addr().expect("address")))
        .collect();
    let started = Instant::now();
    let e = ready_error(&[
        ("inference-server", &endpoints.join(",")),
        ("server-timeout", "1000"),
    ]);
    let took = started.elapsed();
    for endpoint in &endpoints {
        assert!(e.contains(endpoint.as_str()), "{e}");
    }
    assert!(took < Duration::from_secs(8), "READY took {took:?}: {e}");
}
