//! Classifying each tracked object now and then against every box of every frame:
//! `cargo run --release --example tracking_bench [frames]`.
//!
//! A clip of `frames` frames (default 150, 960x540 at 30 fps): the coffee photo moving
//! right, the cat moving left, the motorcycle from 60 % of the clip on, each 300x200 or
//! 240x162 with an ROI meta. Per setting: inferences (regions classified), inferences
//! per object, the share of boxes whose region in the meta has the right top-1 label on
//! the box where the object is on that frame, and the element's time per frame.

use std::time::{Duration, Instant};

use gst::prelude::*;
use gstimgclassify::{Classification, gst};

const W: usize = 960;
const H: usize = 540;

struct Sprite {
    rgb: Vec<u8>,
    size: (usize, usize),
    right: &'static [&'static str],
    frames: std::ops::Range<u64>,
    from: (i64, i64),
    step: (i64, i64),
    roi_id: i32,
}

impl Sprite {
    fn rect(&self, f: u64) -> Option<(u32, u32, u32, u32)> {
        if !self.frames.contains(&f) {
            return None;
        }
        let t = (f - self.frames.start) as i64;
        let (x, y) = (self.from.0 + self.step.0 * t, self.from.1 + self.step.1 * t);
        Some((x as u32, y as u32, self.size.0 as u32, self.size.1 as u32))
    }
}

/// A photo of tests/data scaled to `size`, as tight RGB rows.
fn photo(name: &str, (w, h): (usize, usize)) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let pipeline = gst::parse::launch(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! videoscale \
         ! video/x-raw,format=RGB,width={w},height={h} ! appsink name=sink",
        path.display()
    ))
    .expect("pipeline")
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    pipeline.set_state(gst::State::Playing).expect("playing");
    let sample = sink.pull_sample().expect("a decoded photo");
    let buffer = sample.buffer().expect("buffer");
    let map = buffer.map_readable().expect("readable");
    let stride = (w * 3).div_ceil(4) * 4;
    let rgb = (0..h)
        .flat_map(|row| map[row * stride..row * stride + w * 3].iter().copied())
        .collect();
    pipeline.set_state(gst::State::Null).expect("stopped");
    rgb
}

fn scene(frames: u64, with_ids: bool) -> Vec<Sprite> {
    let id = |n: i32| if with_ids { n } else { 0 };
    let step = (600 / frames.max(1) as i64).max(1);
    let third = frames * 6 / 10;
    vec![
        Sprite {
            rgb: photo("coffee.png", (300, 200)),
            size: (300, 200),
            right: &["espresso"],
            frames: 0..frames,
            from: (0, 10),
            step: (step, 0),
            roi_id: id(1),
        },
        Sprite {
            rgb: photo("chelsea.png", (300, 200)),
            size: (300, 200),
            right: &["Egyptian cat", "tiger cat", "tabby"],
            frames: 0..frames,
            from: (660, 320),
            step: (-step, 0),
            roi_id: id(2),
        },
        Sprite {
            rgb: photo("motorcycle_left.png", (240, 162)),
            size: (240, 162),
            right: &["moped", "motor scooter"],
            frames: third..frames,
            from: (700, 30),
            step: (0, (250 / (frames - third).max(1) as i64).max(1)),
            roi_id: id(3),
        },
    ]
}

fn frame(sprites: &[Sprite], f: u64) -> gst::Buffer {
    let mut pixels = vec![128u8; W * H * 3];
    for s in sprites {
        let Some((x, y, w, h)) = s.rect(f) else {
            continue;
        };
        let (x, y, w, h) = (x as usize, y as usize, w as usize, h as usize);
        for row in 0..h {
            let at = ((y + row) * W + x) * 3;
            pixels[at..at + w * 3].copy_from_slice(&s.rgb[row * w * 3..(row + 1) * w * 3]);
        }
    }
    let mut buffer = gst::Buffer::from_mut_slice(pixels);
    {
        let b = buffer.get_mut().expect("writable");
        b.set_pts(gst::ClockTime::from_nseconds(f * 1_000_000_000 / 30));
        for s in sprites {
            if let Some(rect) = s.rect(f) {
                gst_video::VideoRegionOfInterestMeta::add(b, "object", rect).set_id(s.roi_id);
            }
        }
    }
    buffer
}

struct Measured {
    inferences: u64,
    boxes: u64,
    right: u64,
    per_frame: Duration,
}

fn measure(sprites: &[Sprite], frames: u64, props: &[(&str, &str)]) -> Measured {
    let mut h = gst_check::Harness::new("imgclassify");
    let element = h.element().expect("element");
    element.set_property_from_str("target", "regions");
    for (k, v) in props {
        element.set_property_from_str(k, v);
    }
    h.play();
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={W},height={H},framerate=30/1"
    ));
    let (mut boxes, mut right, mut took) = (0, 0, Duration::ZERO);
    for f in 0..frames {
        let input = frame(sprites, f);
        let t = Instant::now();
        h.push(input).expect("pushed");
        let out = h.pull().expect("buffer");
        took += t.elapsed();
        let result = Classification::from_buffer(&out);
        for s in sprites {
            let Some(rect) = s.rect(f) else { continue };
            boxes += 1;
            let label = result.as_ref().and_then(|c| {
                c.regions
                    .iter()
                    .find(|r| r.rect == rect && r.roi_id == s.roi_id)
                    .and_then(|r| r.labels.first().cloned())
            });
            right += u64::from(label.is_some_and(|l| s.right.contains(&l.as_str())));
        }
    }
    let stats = element.property::<gst::Structure>("stats");
    Measured {
        inferences: stats.get("regions-classified").expect("stats"),
        boxes,
        right,
        per_frame: took / frames.max(1) as u32,
    }
}

fn main() {
    let frames: u64 = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
        .max(10);
    gst::init().expect("GStreamer");
    gstimgclassify::plugin_register_static().expect("plugin");
    let with_ids = scene(frames, true);
    let without = scene(frames, false);
    println!("{frames} frames, 3 objects, mobilenet, mode=sync");
    println!(
        "| setting | ROI ids | inferences | per object | right label on the right box | time per frame |"
    );
    println!("|---|---|---|---|---|---|");
    let settings: [(&str, &[(&str, &str)]); 3] = [
        ("every box of every frame", &[]),
        ("`inference-interval=30`", &[("inference-interval", "30")]),
        ("`reclassify-interval=30`", &[("reclassify-interval", "30")]),
    ];
    for (name, props) in settings {
        for (ids, sprites) in [("stable", &with_ids), ("all 0", &without)] {
            let m = measure(sprites, frames, props);
            println!(
                "| {name} | {ids} | {} | {:.1} | {:.1} % | {:.1} ms |",
                m.inferences,
                m.inferences as f64 / 3.0,
                100.0 * m.right as f64 / m.boxes as f64,
                m.per_frame.as_secs_f64() * 1e3
            );
        }
    }
}
