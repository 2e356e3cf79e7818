//! `imgclassify inference-server=…` against KServe's model server in front of two Ray
//! Serve replicas (server/kserve/serve.py, started by `kserve/server.rs`): the coffee
//! photo is an espresso on every frame, `provider` names the endpoint, and both replicas
//! answered; two zones go in one batched request and get the labels and scores the
//! local model gives them. Afterwards no process of that server or its Ray is left.

use crate::common;

mod server;

use gstimgclassify::{Classification, Target};
use server::KServe;

const FRAMES: usize = 20;
/// The zones of tests/zones.rs: the coffee photo on the left, the cat on the right.
const ZONES: &str = "cup:0,40,600,400;cat:640,90,451,300";

/// Frames of the coffee photo through `imgclassify {props}`.
fn coffee_frames(props: &str) -> Vec<Classification> {
    let run = common::run(&format!(
        "filesrc location={} ! pngdec ! videoconvert ! imagefreeze num-buffers={FRAMES} \
         ! imgclassify {props} ! appsink name=sink",
        common::data("coffee.png").display(),
    ));
    assert_eq!(run.buffers.len(), FRAMES);
    run.results()
        .into_iter()
        .map(|r| r.expect("every frame is classified"))
        .collect()
}

/// Three frames of the coffee photo and the cat side by side, `target=zones` with
/// `ZONES`, through `imgclassify {props}`.
fn zone_frames(props: &str) -> Vec<Classification> {
    let run = common::run(&format!(
        "compositor name=mix background=black sink_0::ypos=40 sink_1::xpos=640 sink_1::ypos=90 \
         ! video/x-raw,width=1280,height=480 ! videoconvert \
         ! imgclassify target=zones zones=\"{ZONES}\" {props} ! appsink name=sink \
         filesrc location={} ! decodebin ! videoconvert ! imagefreeze num-buffers=3 ! mix. \
         filesrc location={} ! decodebin ! videoconvert ! imagefreeze num-buffers=3 ! mix.",
        common::data("coffee.png").display(),
        common::data("chelsea.png").display(),
    ));
    assert_eq!(run.buffers.len(), 3);
    run.results()
        .into_iter()
        .map(|r| r.expect("every frame is classified"))
        .collect()
}

/// The same labels and, to rounding, the same scores: the server runs the same model
/// file with ONNX Runtime's Python package of the same release.
fn assert_same(remote: &[String], remote_scores: &[f64], local: &[String], local_scores: &[f64]) {
    assert_eq!(remote, local);
    for (r, l) in remote_scores.iter().zip(local_scores) {
        assert!(
            (r - l).abs() < 1e-4,
            "{remote_scores:?} vs {local_scores:?}"
        );
    }
}

#[test]
fn kserve_with_two_ray_replicas_classifies_frames_and_zones() {
    let mut kserve = KServe::start(2);
    let endpoint = kserve.endpoint();
    let remote = format!("inference-server={endpoint} server-model=mobilenet");

    // The element's warm-up at READY sends one batch of two; then one request a frame.
    let before = kserve.calls().len();
    let results = coffee_frames(&remote);
    for r in &results {
        assert_eq!(r.labels[0], "espresso", "{r:?}");
        assert!(r.scores[0] > 0.9, "{r:?}");
        assert_eq!(r.provider, endpoint);
        assert_eq!(r.model, "mobilenet");
    }
    let local = &coffee_frames("")[0];
    assert_same(
        &results[0].labels,
        &results[0].scores,
        &local.labels,
        &local.scores,
    );
    let calls = kserve.calls()[before..].to_vec();
    let batches: Vec<usize> = calls.iter().map(|c| c.batch).collect();
    assert_eq!(batches.iter().filter(|&&b| b == 2).count(), 1, "{calls:?}");
    assert_eq!(
        batches.iter().filter(|&&b| b == 1).count(),
        FRAMES,
        "{calls:?}"
    );
    // Ray Serve picks a replica per request: with 20 requests, both take some.
    let mut replicas: Vec<&str> = calls.iter().map(|c| c.replica.as_str()).collect();
    replicas.sort();
    replicas.dedup();
    assert_eq!(replicas.len(), 2, "{calls:?}");
    let per_replica: Vec<usize> = replicas
        .iter()
        .map(|r| calls.iter().filter(|c| c.replica == *r).count())
        .collect();
    eprintln!("calls per replica: {replicas:?} {per_replica:?}");

    // Both zones of a frame in one request of two, answered as the local model does.
    let before = kserve.calls().len();
    let remote_zones = zone_frames(&remote);
    let local_zones = zone_frames("");
    for (r, l) in remote_zones.iter().zip(&local_zones) {
        assert_eq!(r.target, Target::Zones);
        assert_eq!(r.provider, endpoint);
        let names: Vec<&str> = r.regions.iter().map(|z| z.roi_type.as_str()).collect();
        assert_eq!(names, ["cup", "cat"]);
        assert_eq!(r.regions[0].labels[0], "espresso");
        for (rz, lz) in r.regions.iter().zip(&l.regions) {
            assert_same(&rz.labels, &rz.scores, &lz.labels, &lz.scores);
        }
    }
    let batches: Vec<usize> = kserve.calls()[before..].iter().map(|c| c.batch).collect();
    // The warm-up's batch of two, then one batch of two zones per frame.
    assert_eq!(batches, [2, 2, 2, 2]);

    // serve.py, Ray's GCS, raylet and agents, the Serve controller, the two replicas.
    let running = kserve.processes();
    assert!(running.len() >= 6, "{running:?}");
    let left = kserve.stop();
    assert!(left.is_empty(), "processes {left:?} survived");
}
