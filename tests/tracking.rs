//! `reclassify-interval`: photos moving across a frame with an ROI meta each, tracked
//! as objects and classified once in a while, every frame describing its own boxes.

use crate::common;

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::{Classification, RegionResult};

/// x, y, width, height.
type Rect = (u32, u32, u32, u32);

const W: usize = 960;
const H: usize = 540;

/// A photo scaled to `size`, its RGB rows, and the labels that are right for it.
struct Photo {
    size: (usize, usize),
    rgb: Vec<u8>,
    right: &'static [&'static str],
}

fn photo(name: &str, size: (usize, usize), right: &'static [&'static str]) -> Photo {
    let path = common::data(name).display().to_string();
    let (w, h) = size;
    let run = common::run(&format!(
        "filesrc location={path} ! decodebin ! videoconvert ! videoscale \
         ! video/x-raw,format=RGB,width={w},height={h} ! appsink name=sink"
    ));
    let map = run.buffers[0].map_readable().expect("readable");
    // GStreamer pads RGB rows to 4 bytes.
    let stride = (w * 3).div_ceil(4) * 4;
    let rgb = (0..h)
        .flat_map(|row| map[row * stride..row * stride + w * 3].iter().copied())
        .collect();
    Photo { size, rgb, right }
}

fn coffee() -> Photo {
    photo("coffee.png", (300, 200), &["espresso"])
}

fn cat() -> Photo {
    photo(
        "chelsea.png",
        (300, 200),
        &["Egyptian cat", "tiger cat", "tabby"],
    )
}

fn moped() -> Photo {
    photo(
        "motorcycle_left.png",
        (240, 162),
        &["moped", "motor scooter"],
    )
}

/// A photo on the frames `frames`, moving from `from` by `step` pixels a frame, with
/// an ROI meta of id `roi_id`.
struct Sprite {
    photo: Photo,
    frames: std::ops::Range<u64>,
    from: (i64, i64),
    step: (i64, i64),
    roi_id: i32,
}

impl Sprite {
    /// Its box on frame `f`, if it is on it.
    fn rect(&self, f: u64) -> Option<(u32, u32, u32, u32)> {
        if !self.frames.contains(&f) {
            return None;
        }
        let t = (f - self.frames.start) as i64;
        let (x, y) = (self.from.0 + self.step.0 * t, self.from.1 + self.step.1 * t);
        let (w, h) = self.photo.size;
        assert!(x >= 0 && y >= 0 && x as usize + w <= W && y as usize + h <= H);
        Some((x as u32, y as u32, w as u32, h as u32))
    }
}

/// Frame `f`: the sprites on grey, drawn in order, with one "object" ROI meta each.
fn frame(sprites: &[Sprite], f: u64) -> gst::Buffer {
    painted(sprites, f, true)
}

/// Frame `f`: the sprites on grey, with their ROI metas or without.
fn painted(sprites: &[Sprite], f: u64, rois: bool) -> gst::Buffer {
    let mut pixels = vec![128u8; W * H * 3];
    for s in sprites {
        let Some((x, y, w, h)) = s.rect(f) else {
            continue;
        };
        let (x, y, w, h) = (x as usize, y as usize, w as usize, h as usize);
        for row in 0..h {
            let at = ((y + row) * W + x) * 3;
            pixels[at..at + w * 3].copy_from_slice(&s.photo.rgb[row * w * 3..(row + 1) * w * 3]);
        }
    }
    let mut buffer = gst::Buffer::from_mut_slice(pixels);
    {
        let b = buffer.get_mut().expect("writable");
        b.set_pts(gst::ClockTime::from_nseconds(f * 1_000_000_000 / 30));
        for s in sprites.iter().filter(|_| rois) {
            if let Some(rect) = s.rect(f) {
                let mut roi = gst_video::VideoRegionOfInterestMeta::add(b, "object", rect);
                roi.set_id(s.roi_id);
            }
        }
    }
    buffer
}

/// What each frame carried, and the element's stats at the end.
struct Outcome {
    frames: Vec<Option<Classification>>,
    /// Per frame, each ROI meta's rectangle and the `object-id` of its `imgclassify`
    /// param.
    rois: Vec<Vec<(Rect, Option<u64>)>>,
    stats: gst::Structure,
}

fn run(sprites: &[Sprite], frames: u64, props: &[(&str, &str)]) -> Outcome {
    run_with(sprites, frames, props, frame)
}

fn run_with(
    sprites: &[Sprite],
    frames: u64,
    props: &[(&str, &str)],
    frame: impl Fn(&[Sprite], u64) -> gst::Buffer,
) -> Outcome {
    let mut h = common::regions_harness(props, (W, H));
    let element = h.element().expect("element");
    let (frames, rois) = (0..frames)
        .map(|f| {
            h.push(frame(sprites, f)).expect("pushed");
            let out = h.pull().expect("buffer");
            let rois = out
                .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
                .map(|roi| {
                    let id = roi
                        .param("imgclassify")
                        .and_then(|p| p.get::<u64>("object-id").ok());
                    (roi.rect(), id)
                })
                .collect();
            (Classification::from_buffer(&out), rois)
        })
        .unzip();
    let stats = element.property::<gst::Structure>("stats");
    Outcome {
        frames,
        rois,
        stats,
    }
}

impl Outcome {
    /// The region describing `sprite`'s box on frame `f`.
    fn region(&self, sprite: &Sprite, f: u64) -> Option<&RegionResult> {
        let rect = sprite.rect(f)?;
        self.frames[f as usize]
            .as_ref()?
            .regions
            .iter()
            .find(|r| r.rect == rect && r.roi_id == sprite.roi_id)
    }

    fn right(&self, sprite: &Sprite, f: u64) -> bool {
        self.region(sprite, f)
            .and_then(|r| r.labels.first())
            .is_some_and(|l| sprite.photo.right.contains(&l.as_str()))
    }

    /// The object ids `sprite`'s boxes had, in frame order, without repeats.
    fn object_ids(&self, sprite: &Sprite) -> Vec<u64> {
        let mut ids: Vec<u64> = sprite
            .frames
            .clone()
            .filter_map(|f| self.region(sprite, f)?.track.as_ref().map(|t| t.object_id))
            .collect();
        ids.dedup();
        ids
    }

    fn stat(&self, name: &str) -> u64 {
        self.stats.get(name).expect(name)
    }
}

/// Two photos crossing the frame for 150 frames, a third from frame 90.
fn scene(ids: [i32; 3]) -> Vec<Sprite> {
    vec![
        Sprite {
            photo: coffee(),
            frames: 0..150,
            from: (0, 10),
            step: (4, 0),
            roi_id: ids[0],
        },
        Sprite {
            photo: cat(),
            frames: 0..150,
            from: (660, 320),
            step: (-4, 0),
            roi_id: ids[1],
        },
        Sprite {
            photo: moped(),
            frames: 90..150,
            from: (700, 30),
            step: (0, 2),
            roi_id: ids[2],
        },
    ]
}

/// The boxes of all frames (what classifying every box of every frame costs), and the
/// share of them with a right top-1 label.
fn boxes_and_accuracy(sprites: &[Sprite], out: &Outcome) -> (u64, f64) {
    let (mut boxes, mut right) = (0u64, 0u64);
    for s in sprites {
        for f in s.frames.clone() {
            boxes += 1;
            right += u64::from(out.right(s, f));
        }
    }
    (boxes, right as f64 / boxes as f64)
}

fn check_scene(ids: [i32; 3]) {
    let sprites = scene(ids);
    let out = run(&sprites, 150, &[("reclassify-interval", "30")]);
    let (boxes, accuracy) = boxes_and_accuracy(&sprites, &out);
    assert_eq!(boxes, 360);
    // Each object on its first frame and every 30 frames: 5 + 5 + 2.
    assert_eq!(out.stat("regions-classified"), 12);
    assert_eq!(out.stat("regions-carried"), 360 - 12);
    assert_eq!(out.stat("objects-tracked"), 3);
    assert_eq!(out.stat("objects-classified"), 3);
    assert!(
        accuracy >= 0.95,
        "right labels on {accuracy:.3} of the boxes"
    );
    let ids: Vec<Vec<u64>> = sprites.iter().map(|s| out.object_ids(s)).collect();
    assert_eq!(ids, vec![vec![1], vec![2], vec![3]]);
    // The moped is labelled on the frame it appears, by a result of that frame.
    let first = out.region(&sprites[2], 90).expect("moped labelled");
    let track = first.track.as_ref().expect("tracked");
    assert!(track.fresh);
    assert_eq!(
        track.first_seen,
        Some(gst::ClockTime::from_nseconds(3_000_000_000))
    );
    assert!(out.right(&sprites[2], 90));
    // A frame between: the boxes where they are now, the labels of frame 30.
    let between = out.region(&sprites[0], 45).expect("coffee on frame 45");
    let track = between.track.as_ref().expect("tracked");
    assert!(!track.fresh);
    assert_eq!(track.source_pts, Some(gst::ClockTime::from_seconds(1)));
    assert_eq!(between.rect, (180, 10, 300, 200));
    // The ROI meta of that box has the object's labels too.
    assert!(out.rois[45].contains(&((180, 10, 300, 200), Some(track.object_id))));
}

#[test]
fn detector_ids_keep_each_object_and_a_tenth_of_the_inferences_label_it() {
    check_scene([11, 12, 13]);
}

#[test]
fn boxes_with_id_0_are_tracked_by_overlap() {
    check_scene([0, 0, 0]);
}

#[test]
fn every_box_of_every_frame_without_reclassify_interval() {
    let sprites = scene([0, 0, 0]);
    let out = run(&sprites, 100, &[]);
    assert_eq!(out.stat("regions-classified"), 2 * 100 + 10);
    assert_eq!(out.stat("objects-tracked"), 0);
    assert!(
        out.region(&sprites[0], 99)
            .is_some_and(|r| r.track.is_none())
    );
}

#[test]
fn crossing_objects_keep_their_ids_and_labels() {
    // Boxes overlapping by 80 rows pass each other from about frame 23 to 60 (the cat
    // drawn on top).
    let sprites = vec![
        Sprite {
            photo: coffee(),
            frames: 0..80,
            from: (0, 100),
            step: (8, 0),
            roi_id: 0,
        },
        Sprite {
            photo: cat(),
            frames: 0..80,
            from: (660, 220),
            step: (-8, 0),
            roi_id: 0,
        },
    ];
    let out = run(&sprites, 80, &[("reclassify-interval", "30")]);
    assert_eq!(out.object_ids(&sprites[0]), vec![1]);
    assert_eq!(out.object_ids(&sprites[1]), vec![2]);
    for f in 0..80 {
        assert!(out.right(&sprites[0], f), "coffee on frame {f}");
        assert!(out.right(&sprites[1], f), "cat on frame {f}");
    }
}

#[test]
fn a_new_object_where_one_left_gets_a_new_id_and_its_own_label() {
    // The coffee stands still until frame 20; 10 frames (333 ms) later the moped
    // stands there.
    let sprites = vec![
        Sprite {
            photo: coffee(),
            frames: 0..20,
            from: (100, 100),
            step: (0, 0),
            roi_id: 0,
        },
        Sprite {
            photo: moped(),
            frames: 30..60,
            from: (130, 120),
            step: (0, 0),
            roi_id: 0,
        },
    ];
    let out = run(
        &sprites,
        60,
        &[("reclassify-interval", "100"), ("object-timeout", "200")],
    );
    assert_eq!(out.object_ids(&sprites[0]), vec![1]);
    assert_eq!(out.object_ids(&sprites[1]), vec![2]);
    for f in 30..60 {
        assert!(out.right(&sprites[1], f), "moped on frame {f}");
    }
    assert_eq!(out.stat("regions-classified"), 2);
    // On the frames with no box the meta lists none.
    assert_eq!(out.frames[25].as_ref().map(|c| c.regions.len()), Some(0));
}

#[test]
fn a_growing_box_is_classified_again() {
    let mut sprites = vec![Sprite {
        photo: coffee(),
        frames: 0..10,
        from: (0, 0),
        step: (0, 0),
        roi_id: 5,
    }];
    sprites.push(Sprite {
        photo: photo("coffee.png", (450, 300), &["espresso"]),
        frames: 10..20,
        from: (0, 0),
        step: (0, 0),
        roi_id: 5,
    });
    let out = run(&sprites, 20, &[("reclassify-interval", "1000")]);
    // 300x200 to 450x300 is 2.25 times the area, over the default 1.5.
    assert_eq!(out.stat("regions-classified"), 2);
    assert_eq!(out.object_ids(&sprites[0]), out.object_ids(&sprites[1]));
    assert!(
        out.region(&sprites[1], 10)
            .and_then(|r| r.track.as_ref())
            .is_some_and(|t| t.fresh)
    );
}

/// `mode=async`: the object's answer comes a few frames later; from then on each frame
/// lists the object's box where it is on that frame, with the labels of the frame it
/// was first seen on, and no other inference is asked for.
#[test]
fn async_answers_label_the_object_where_it_is_now() {
    let (mut h, bus) =
        common::harness("imgclassify name=c target=regions mode=async reclassify-interval=1000");
    h.play();
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={W},height={H},framerate=30/1"
    ));
    let sprites = [Sprite {
        photo: coffee(),
        frames: 0..460,
        from: (0, 10),
        step: (1, 0),
        roi_id: 0,
    }];
    let next = std::cell::Cell::new(0u64);
    let push = || {
        let f = next.get();
        next.set(f + 1);
        frame(&sprites, f)
    };
    let out = common::first_answer(&mut h, &bus, 400, push).expect("an answer within 400 frames");
    let f = next.get() - 1;
    let meta = Classification::from_buffer(&out).expect("meta");
    assert_eq!(meta.regions.len(), 1);
    let region = &meta.regions[0];
    assert_eq!(Some(region.rect), sprites[0].rect(f));
    assert_eq!(region.labels[0], "espresso");
    let track = region.track.as_ref().expect("tracked");
    assert_eq!(track.object_id, 1);
    assert_eq!(track.source_pts, Some(gst::ClockTime::ZERO));
    assert_eq!(track.fresh, f == 0);
    for _ in 0..20 {
        let out = common::push_and_pull(&mut h, &bus, push());
        let meta = Classification::from_buffer(&out).expect("meta");
        let r = &meta.regions[0];
        assert_eq!(Some(r.rect), sprites[0].rect(next.get() - 1));
        assert_eq!(r.track.as_ref().map(|t| t.object_id), Some(1));
    }
    let stats = common::named(&h, "c").property::<gst::Structure>("stats");
    assert_eq!(
        stats.get::<u64>("regions-classified").ok(),
        Some(1),
        "{stats}"
    );
}

/// Frame `f` as GStreamer 1.26's tensor decoders give it: the sprites' boxes only as
/// `GstAnalyticsODMtd`s (type "object", the last sprite's "vehicle"), no ROI meta, each
/// with a `GstAnalyticsTrackingMtd` of id 100 + its index when `tracked`.
#[cfg(feature = "analytics")]
fn detections_only(sprites: &[Sprite], f: u64, tracked: bool) -> gst::Buffer {
    use gst_analytics::prelude::*;

    let mut buffer = painted(sprites, f, false);
    let b = buffer.get_mut().expect("writable");
    let mut meta = gst_analytics::AnalyticsRelationMeta::add(b);
    for (i, s) in sprites.iter().enumerate() {
        let Some((x, y, w, h)) = s.rect(f) else {
            continue;
        };
        let kind = if i + 1 == sprites.len() {
            "vehicle"
        } else {
            "object"
        };
        let (x, y, w, h) = (x as i32, y as i32, w as i32, h as i32);
        let od = meta
            .add_od_mtd(glib::Quark::from_str(kind), x, y, w, h, 0.9)
            .expect("od mtd")
            .id();
        if tracked {
            let track = meta
                .add_tracking_mtd(100 + i as u64, gst::ClockTime::ZERO)
                .expect("tracking mtd")
                .id();
            meta.set_relation(gst_analytics::RelTypes::RELATE_TO, od, track)
                .expect("related");
        }
    }
    buffer
}

/// The scene with detections that come only as ODMtds, each with the tracker's id: they
/// are classified, each object once every 30 frames, with the right labels.
#[cfg(feature = "analytics")]
#[test]
fn detections_with_only_analytics_meta_and_tracker_ids_are_tracked() {
    let mut sprites = scene([0, 0, 0]);
    for (i, s) in sprites.iter_mut().enumerate() {
        s.roi_id = gstimgclassify::analytics::tracked_roi_id(100 + i as u64);
    }
    let out = run_with(&sprites, 150, &[("reclassify-interval", "30")], |s, f| {
        detections_only(s, f, true)
    });
    let (boxes, accuracy) = boxes_and_accuracy(&sprites, &out);
    assert_eq!(boxes, 360);
    assert_eq!(out.stat("regions-classified"), 12);
    assert_eq!(out.stat("objects-tracked"), 3);
    assert!(
        accuracy >= 0.95,
        "right labels on {accuracy:.3} of the boxes"
    );
    let ids: Vec<Vec<u64>> = sprites.iter().map(|s| out.object_ids(s)).collect();
    assert_eq!(ids, vec![vec![1], vec![2], vec![3]]);
    let moped = out.region(&sprites[2], 90).expect("moped labelled");
    assert_eq!(moped.roi_type, "vehicle");
}

/// Without tracker ids the element's own tracker follows ODMtd-only detections, and
/// `region-types` matches the ODMtd's object type: the "vehicle" is left out.
#[cfg(feature = "analytics")]
#[test]
fn detections_with_only_analytics_meta_are_tracked_by_overlap_and_typed() {
    let sprites = scene([0, 0, 0]);
    let out = run_with(
        &sprites,
        150,
        &[("reclassify-interval", "30"), ("region-types", "object")],
        |s, f| detections_only(s, f, false),
    );
    assert_eq!(out.stat("regions-classified"), 10);
    assert_eq!(out.stat("objects-tracked"), 2);
    let ids: Vec<Vec<u64>> = sprites[..2].iter().map(|s| out.object_ids(s)).collect();
    assert_eq!(ids, vec![vec![1], vec![2]]);
    assert!((0..150).all(|f| out.right(&sprites[0], f) && out.right(&sprites[1], f)));
    assert!(out.region(&sprites[2], 100).is_none());
}
