//! `change-confirm`: a new label becomes a change only once it held that long in stream
//! time (PTS). The coffee photo and the cat photo alternate, with flickers shorter than
//! the hold; `imgclassify post-changes=true` and `classifyjson changes-only=true` give the
//! same events, with the previous label, how long it held and the wall-clock time.

use std::time::{Duration, SystemTime};

use gstimgclassify::gst;

use crate::common;

const W: usize = 600;
const H: usize = 400;
/// 10 frames a second.
const FRAME_MS: u64 = 100;

/// Which photo each frame shows: a one-frame flicker of the cat at 500 ms, the cat
/// from 1000 ms, a 200 ms return of the coffee at 1800 ms, the cat again from 2000 ms.
fn scenes() -> Vec<&'static str> {
    let mut s = vec!["coffee"; 5];
    s.push("cat");
    s.extend(["coffee"; 4]);
    s.extend(["cat"; 8]);
    s.extend(["coffee"; 2]);
    s.extend(["cat"; 6]);
    s
}

struct Photos {
    coffee: Vec<u8>,
    /// The cat on grey, as large as the coffee photo.
    cat: Vec<u8>,
}

impl Photos {
    fn load() -> Photos {
        common::init();
        let (_, _, coffee) = common::photo_rgb("coffee.png");
        let (cw, ch, cat_rgb) = common::photo_rgb("chelsea.png");
        let mut cat = vec![128u8; W * H * 3];
        for row in 0..ch {
            cat[row * W * 3..row * W * 3 + cw * 3]
                .copy_from_slice(&cat_rgb[row * cw * 3..(row + 1) * cw * 3]);
        }
        Photos { coffee, cat }
    }

    fn frame(&self, scene: &str, n: u64) -> gst::Buffer {
        let pixels = if scene == "coffee" {
            &self.coffee
        } else {
            &self.cat
        };
        let mut buffer = gst::Buffer::from_slice(pixels.clone());
        {
            let b = buffer.get_mut().expect("writable");
            b.set_pts(gst::ClockTime::from_mseconds(n * FRAME_MS));
            b.set_duration(gst::ClockTime::from_mseconds(FRAME_MS));
        }
        buffer
    }
}

/// (pts ms, previous label, new label, how long the previous label held in ms).
type Event = (u64, Option<String>, String, Option<u64>);

/// Runs the scenes through `imgclassify {extra} ! classifyjson` with `confirm` ms on both
/// and returns the element messages' events and the JSON lines.
fn run(photos: &Photos, confirm: u32, extra: &str) -> (Vec<Event>, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("changes.jsonl");
    let (mut h, bus) = common::harness(&format!(
        "imgclassify post-changes=true change-confirm={confirm} {extra} \
         ! classifyjson changes-only=true change-confirm={confirm} location={}",
        path.display()
    ));
    h.play();
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={W},height={H},framerate=10/1"
    ));
    for (n, scene) in scenes().into_iter().enumerate() {
        common::push_and_pull(&mut h, &bus, photos.frame(scene, n as u64));
    }
    h.push_event(gst::event::Eos::new());
    drop(h);
    let events = std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Element]))
        .filter_map(|m| m.structure().map(|s| s.to_owned()))
        .filter(|s| s.name() == "imgclassify-change")
        .map(|s| {
            let ms = |field: &str| {
                s.get::<Option<gst::ClockTime>>(field)
                    .expect(field)
                    .map(|t| t.mseconds())
            };
            assert_eq!(
                s.get::<Option<String>>("previous-label"),
                s.get::<Option<String>>("old-label")
            );
            (
                ms("pts").expect("a pts"),
                s.get::<Option<String>>("previous-label").expect("label"),
                s.get::<String>("new-label").expect("new-label"),
                ms("previous-duration"),
            )
        })
        .collect();
    (events, common::read_lines(&path))
}

#[test]
fn a_label_must_hold_for_change_confirm_before_it_is_a_change() {
    let photos = Photos::load();
    let before = SystemTime::now();

    // Without a hold every change of label is an event, flickers included.
    let (at_once, _) = run(&photos, 0, "");
    let cat = at_once
        .get(1)
        .map(|e| e.2.clone())
        .expect("the cat's label");
    assert_ne!(cat, "espresso");
    let s = |l: &str| Some(l.to_string());
    let espresso = "espresso".to_string();
    assert_eq!(
        at_once,
        vec![
            (0, None, espresso.clone(), None),
            (500, s("espresso"), cat.clone(), Some(500)),
            (600, Some(cat.clone()), espresso.clone(), Some(100)),
            (1000, s("espresso"), cat.clone(), Some(400)),
            (1800, Some(cat.clone()), espresso.clone(), Some(800)),
            (2000, s("espresso"), cat.clone(), Some(200)),
        ]
    );

    // With 250 ms: the first label after it held 250 ms (at the frame of 300 ms), the
    // cat at 1300 ms; the espresso held from 0 to 1000 ms. Flickers post nothing.
    let (held, lines) = run(&photos, 250, "");
    let after = SystemTime::now();
    assert_eq!(
        held,
        vec![
            (300, None, espresso.clone(), None),
            (1300, s("espresso"), cat.clone(), Some(1000)),
        ]
    );

    // classifyjson writes the same events.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["pts"], 300_000_000u64);
    assert_eq!(lines[0]["previous-label"], serde_json::Value::Null);
    assert_eq!(lines[0]["previous-duration"], serde_json::Value::Null);
    assert_eq!(lines[1]["pts"], 1_300_000_000u64);
    assert_eq!(lines[1]["previous-label"], "espresso");
    assert_eq!(lines[1]["old-label"], "espresso");
    assert_eq!(lines[1]["new-label"], cat.as_str());
    assert_eq!(lines[1]["previous-duration"], 1_000_000_000u64);
    let nanos = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos() as u64
    };
    for line in &lines {
        let wall = line["wall-time"].as_u64().expect("wall-time");
        assert!(
            (nanos(before)..=nanos(after)).contains(&wall),
            "{wall} not within the test's run"
        );
    }
}

#[test]
fn carried_results_confirm_on_the_first_frame_past_the_hold_in_both_elements() {
    let photos = Photos::load();
    // Results on frames 0, 4, 8, …: the cat is first classified at 1200 ms and carried
    // on the frames of 1300 and 1400 ms (held 200 ms), then 1500 ms (held 300 ms).
    let (events, lines) = run(&photos, 250, "inference-interval=4");
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], (300, None, "espresso".to_string(), None));
    assert_eq!(
        (events[1].0, events[1].1.as_deref(), events[1].3),
        (1500, Some("espresso"), Some(1200))
    );
    let in_lines: Vec<(u64, Option<u64>)> = lines
        .iter()
        .map(|l| {
            (
                l["pts"].as_u64().expect("pts") / 1_000_000,
                l["previous-duration"].as_u64().map(|d| d / 1_000_000),
            )
        })
        .collect();
    assert_eq!(in_lines, vec![(300, None), (1500, Some(1200))]);
}
