//! `unchanged-threshold`: frames (and zones) whose model input did not change since
//! the last classified frame carry its result (`fresh=false`, same `seq`) instead of
//! being classified again; a real change, a scene cut above all, is classified on the
//! frame it happens, compression noise or not.

use crate::common;

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::{Classification, Target};

/// The threshold docs/properties.md gives for H.264 from 0.5 to 4 Mbit/s.
const H264_THRESHOLD: f64 = 0.02;

const CAT_LABELS: [&str; 3] = ["Egyptian cat", "tiger cat", "tabby"];

/// Runs `description` (the classifier named `c`, ending in `appsink name=sink`) to EOS:
/// every buffer's result, and the classifier's `stats` read at EOS, before the pipeline
/// stops and the counters go with the model.
fn run(description: &str) -> (Vec<Classification>, gst::Structure) {
    let pipeline = common::pipeline(description);
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .expect("an appsink named sink");
    sink.set_property("sync", false);
    let bus = pipeline.bus().expect("bus");
    pipeline.set_state(gst::State::Playing).expect("plays");
    let mut results = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !sink.is_eos() {
        if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            let _ = pipeline.set_state(gst::State::Null);
            panic!("'{description}' failed: {msg:?}");
        }
        assert!(std::time::Instant::now() < deadline, "no EOS within 120 s");
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(50)) {
            let buffer = sample.buffer().expect("buffer");
            results.push(Classification::from_buffer(buffer).expect("every buffer has a result"));
        }
    }
    let stats = pipeline
        .by_name("c")
        .expect("a classifier named c")
        .property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null).expect("stops");
    (results, stats)
}

fn count(stats: &gst::StructureRef, field: &str) -> u64 {
    stats
        .get::<u64>(field)
        .unwrap_or_else(|_| panic!("{field} in {stats}"))
}

/// (fresh, seq) of each result.
fn freshness(results: &[Classification]) -> Vec<(bool, u64)> {
    results.iter().map(|r| (r.fresh, r.seq)).collect()
}

/// The frames whose result is fresh.
fn fresh_frames(results: &[Classification]) -> Vec<usize> {
    (0..results.len()).filter(|&i| results[i].fresh).collect()
}

fn photo(name: &str) -> String {
    common::data(name).display().to_string()
}

/// `frames` frames of a photo, 1280x720 I420 at 25 fps, one segment of a `concat`.
fn still(name: &str, frames: u32) -> String {
    format!(
        "filesrc location={} ! pngdec ! videoconvert ! videoscale \
         ! video/x-raw,format=I420,width=1280,height=720,pixel-aspect-ratio=1/1 \
         ! imagefreeze num-buffers={frames} ! video/x-raw,framerate=25/1 ! scene.",
        photo(name)
    )
}

/// A still camera as it reaches a decoder: the photos one after the other (`frames`
/// each), sensor noise (snow at 3 % opacity), then H.264 at 1 Mbit/s with a key frame
/// every 10 frames, decoded again; into `imgclassify name=c {props}`.
fn camera(photos: &[&str], frames: u32, props: &str) -> String {
    let segments: Vec<String> = photos.iter().map(|p| still(p, frames)).collect();
    let total = frames * photos.len() as u32;
    format!(
        "compositor name=mix sink_1::alpha=0.03 \
         ! video/x-raw,format=I420,width=1280,height=720,framerate=25/1 \
         ! x264enc bitrate=1000 speed-preset=veryfast key-int-max=10 threads=1 \
         ! h264parse ! avdec_h264 ! imgclassify name=c {props} ! appsink name=sink \
         concat name=scene ! mix.sink_0 \
         videotestsrc pattern=snow num-buffers={total} \
         ! video/x-raw,width=1280,height=720,framerate=25/1 ! mix.sink_1 {}",
        segments.join(" ")
    )
}

#[test]
fn a_still_photo_is_classified_once_and_every_later_frame_carries_that_result() {
    let pipeline = |props: &str| {
        format!(
            "filesrc location={} ! pngdec ! videoconvert ! imagefreeze num-buffers=9 \
             ! video/x-raw,format=RGB,framerate=25/1 ! imgclassify name=c {props} \
             ! appsink name=sink",
            photo("coffee.png")
        )
    };
    let (results, stats) = run(&pipeline("unchanged-threshold=0.001"));
    let mut carried = vec![(false, 1); 9];
    carried[0] = (true, 1);
    assert_eq!(freshness(&results), carried);
    assert!(results.iter().all(|r| r.labels[0] == "espresso"));
    assert_eq!(results[8].source_pts, Some(gst::ClockTime::ZERO));
    assert_eq!(
        (
            count(&stats, "frames-classified"),
            count(&stats, "frames-unchanged"),
            count(&stats, "zones-unchanged"),
        ),
        (1, 8, 0)
    );

    // With inference-interval only the due frames are compared: 2, 4, 6 and 8.
    let (results, stats) = run(&pipeline("unchanged-threshold=0.001 inference-interval=2"));
    assert_eq!(freshness(&results), carried);
    assert_eq!(count(&stats, "frames-unchanged"), 4);

    // 0, the default: every frame is classified, as without the property.
    let (results, stats) = run(&pipeline("unchanged-threshold=0"));
    let every: Vec<(bool, u64)> = (1..=9).map(|seq| (true, seq)).collect();
    assert_eq!(freshness(&results), every);
    assert_eq!(
        (
            count(&stats, "frames-classified"),
            count(&stats, "frames-unchanged")
        ),
        (9, 0)
    );
}

/// Through H.264 no two decoded frames of a still scene are the same: the documented
/// threshold carries them all (key frames included), a threshold below the noise does
/// not.
#[test]
fn compression_noise_of_a_still_camera_stays_under_the_documented_threshold() {
    let props = format!("unchanged-threshold={H264_THRESHOLD}");
    let (results, stats) = run(&camera(&["coffee.png"], 30, &props));
    assert_eq!(results.len(), 30);
    assert_eq!(fresh_frames(&results), vec![0]);
    assert!(
        results
            .iter()
            .all(|r| r.seq == 1 && r.labels[0] == "espresso")
    );
    assert_eq!(count(&stats, "frames-unchanged"), 29);

    let (results, _) = run(&camera(&["coffee.png"], 30, "unchanged-threshold=0.0005"));
    let fresh = fresh_frames(&results);
    assert!(fresh.len() > 1, "the stream is noisy: {fresh:?}");
}

/// The scene cuts from the coffee to the cat on frame 15: that frame is classified, the
/// frames before and after carry their scene's result. Cutting to the same photo again
/// classifies nothing: what classified frame 15 was its picture, not the new segment.
#[test]
fn a_scene_cut_under_compression_noise_is_classified_on_the_frame_it_happens() {
    let props = format!("unchanged-threshold={H264_THRESHOLD}");
    let (results, stats) = run(&camera(&["coffee.png", "chelsea.png"], 15, &props));
    assert_eq!(results.len(), 30);
    assert_eq!(fresh_frames(&results), vec![0, 15]);
    let seqs: Vec<u64> = results.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [[1; 15], [2; 15]].concat());
    assert_eq!(results[14].labels[0], "espresso");
    assert!(
        CAT_LABELS.contains(&results[15].labels[0].as_str()),
        "{:?}",
        results[15].labels
    );
    assert_eq!(count(&stats, "frames-unchanged"), 28);

    let (results, _) = run(&camera(&["coffee.png", "coffee.png"], 15, &props));
    assert_eq!(fresh_frames(&results), vec![0]);
}

/// A brightness ramp of one grey level per frame: each frame differs from the one
/// before by 1/255, under the threshold (0.01), but the reference is the last
/// classified frame, so every third frame (3/255 = 0.0118) is classified.
#[test]
fn a_slow_drift_adds_up_from_the_last_classified_frame() {
    common::init();
    let caps = common::raw_caps("RGB", (320, 240), 30);
    let (mut h, bus) = common::harness("imgclassify name=c unchanged-threshold=0.01");
    h.play();
    h.set_src_caps(caps);
    let results: Vec<Classification> = (0..11u64)
        .map(|n| {
            let mut buffer = gst::Buffer::from_mut_slice(vec![100 + n as u8; 320 * 240 * 3]);
            buffer
                .get_mut()
                .expect("writable")
                .set_pts(gst::ClockTime::from_mseconds(n * 33));
            let out = common::push_and_pull(&mut h, &bus, buffer);
            Classification::from_buffer(&out).expect("result")
        })
        .collect();
    assert_eq!(fresh_frames(&results), vec![0, 3, 6, 9]);
    let stats = common::named(&h, "c").property::<gst::Structure>("stats");
    assert_eq!(count(&stats, "frames-unchanged"), 7);
}

const W: usize = 1280;
const H: usize = 720;

/// A grey 1280x720 RGB frame with the coffee at (40, 60) and, if `cat`, the cat at
/// (760, 300); frame `n` of 30 per second.
fn scene(
    coffee: &(usize, usize, Vec<u8>),
    cat: Option<&(usize, usize, Vec<u8>)>,
    n: u64,
) -> gst::Buffer {
    let mut frame = vec![128u8; W * H * 3];
    let mut place = |(w, h, rgb): &(usize, usize, Vec<u8>), x0: usize, y0: usize| {
        for row in 0..*h {
            let at = ((y0 + row) * W + x0) * 3;
            frame[at..at + w * 3].copy_from_slice(&rgb[row * w * 3..(row + 1) * w * 3]);
        }
    };
    place(coffee, 40, 60);
    if let Some(cat) = cat {
        place(cat, 760, 300);
    }
    let mut buffer = gst::Buffer::from_mut_slice(frame);
    {
        let b = buffer.get_mut().expect("writable");
        b.set_pts(gst::ClockTime::from_nseconds(n * 1_000_000_000 / 30));
        b.set_duration(gst::ClockTime::from_nseconds(1_000_000_000 / 30));
    }
    buffer
}

fn harness_1280x720(props: &str) -> (gst_check::Harness, gst::Bus) {
    let (mut h, bus) = common::harness(&format!("imgclassify name=c {props}"));
    h.play();
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={W},height={H},framerate=30/1"
    ));
    (h, bus)
}

/// The cat leaves the sofa on frame 2: only the sofa is classified again, the counter
/// keeps frame 0's result in the new one; still frames classify nothing.
#[test]
fn zones_are_compared_each_on_their_own() {
    common::init();
    let (coffee, cat) = (
        common::photo_rgb("coffee.png"),
        common::photo_rgb("chelsea.png"),
    );
    let (mut h, bus) = harness_1280x720(
        "target=zones zones=\"counter:40,60,600,400;sofa:760,300,451,300\" unchanged-threshold=0.01",
    );
    let frames = [true, true, false, false]
        .iter()
        .enumerate()
        .map(|(n, &cat_there)| {
            let buffer = scene(&coffee, cat_there.then_some(&cat), n as u64);
            let out = common::push_and_pull(&mut h, &bus, buffer);
            Classification::from_buffer(&out).expect("result")
        });
    let results: Vec<Classification> = frames.collect();
    assert!(
        results
            .iter()
            .all(|r| r.target == Target::Zones && r.regions.len() == 2)
    );
    assert_eq!(
        freshness(&results),
        vec![(true, 1), (false, 1), (true, 2), (false, 2)]
    );
    let (counter, sofa) = (&results[0].regions[0], &results[0].regions[1]);
    assert_eq!(
        (counter.roi_type.as_str(), counter.labels[0].as_str()),
        ("counter", "espresso")
    );
    assert!(
        CAT_LABELS.contains(&sofa.labels[0].as_str()),
        "{:?}",
        sofa.labels
    );
    // The counter's result is frame 0's, scores and all; the sofa's is new.
    assert_eq!(&results[2].regions[0], counter);
    assert_eq!(results[2].regions[1].roi_type, "sofa");
    assert!(!CAT_LABELS.contains(&results[2].regions[1].labels[0].as_str()));
    let stats = common::named(&h, "c").property::<gst::Structure>("stats");
    assert_eq!(
        (
            count(&stats, "regions-classified"),
            count(&stats, "frames-unchanged"),
            count(&stats, "zones-unchanged"),
        ),
        (3, 2, 5)
    );
}

/// Detections move from frame to frame: with `target=regions` the threshold is not
/// used, and every frame is classified.
#[test]
fn regions_are_always_classified() {
    let (caps, _) = common::coffee_rgb();
    let (_, _, pixels) = common::photo_rgb("coffee.png");
    let (mut h, bus) = common::harness("imgclassify name=c target=regions unchanged-threshold=0.5");
    h.play();
    h.set_src_caps(caps);
    let results: Vec<Classification> = (0..3)
        .map(|_| {
            let frame = common::frame_with_rois(pixels.clone(), &[(1, (100, 50, 300, 300))]);
            let out = common::push_and_pull(&mut h, &bus, frame);
            Classification::from_buffer(&out).expect("result")
        })
        .collect();
    assert_eq!(fresh_frames(&results), vec![0, 1, 2]);
    let stats = common::named(&h, "c").property::<gst::Structure>("stats");
    assert_eq!(
        (
            count(&stats, "regions-classified"),
            count(&stats, "frames-unchanged")
        ),
        (3, 0)
    );
}

/// In `mode=async` the comparison happens on the streaming thread: once the first
/// answer is in, still frames are no longer handed to the worker.
#[test]
fn async_mode_stops_handing_still_frames_to_the_worker_once_answered() {
    let (caps, frame) = common::coffee_rgb();
    let (mut h, bus) = common::harness("imgclassify name=c mode=async unchanged-threshold=0.001");
    h.play();
    h.set_src_caps(caps);
    let copy = || frame.copy_deep().expect("copy");
    common::first_answer(&mut h, &bus, 400, copy).expect("an answer within 400 frames");
    let element = common::named(&h, "c");
    let before = element.property::<gst::Structure>("stats");
    assert_eq!(
        count(&before, "frames-unchanged"),
        0,
        "no reference before the answer"
    );
    let results: Vec<Classification> = (0..20)
        .map(|_| {
            let out = common::push_and_pull(&mut h, &bus, copy());
            Classification::from_buffer(&out).expect("result")
        })
        .collect();
    assert!(
        results
            .iter()
            .all(|r| !r.fresh && r.labels[0] == "espresso")
    );
    let after = element.property::<gst::Structure>("stats");
    assert_eq!(count(&after, "frames-unchanged"), 20, "{after}");
    assert_eq!(
        count(&after, "frames-seen") - count(&before, "frames-seen"),
        20
    );
}
