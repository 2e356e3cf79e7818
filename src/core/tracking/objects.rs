//! The objects of one stream: which box of a frame is which object, when each one is
//! due for a label, and the labels it shows in between.

use super::iou::{Rect, associate};
use super::vote::Vote;
use crate::core::postprocess::Labelled;
use crate::core::regions::RegionInput;

/// Least overlap between an object's predicted box and a box of the next frame for the
/// two to be one object (SORT uses 0.3).
pub const MIN_IOU: f64 = 0.3;
/// Objects tracked at most when `max-regions` is 0.
pub const MAX_OBJECTS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Frames between two results of one object (`reclassify-interval`, at least 1).
    pub interval: u32,
    /// An object whose box area grew past this factor since its last result is due at
    /// once (`reclassify-growth`); 0 = never.
    pub growth: f64,
    /// An object not seen for this long is forgotten (`object-timeout`), nanoseconds.
    pub timeout_ns: u64,
    /// At most this many objects are kept (`max-regions`); 0 = `MAX_OBJECTS`.
    pub max_objects: usize,
}

/// The labels an object shows, and the result they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub labels: Labelled,
    /// The frame (stream index and PTS) of the newest result, and its number.
    pub source_frame: u64,
    pub source_pts: Option<u64>,
    pub seq: u64,
}

#[derive(Debug, Clone)]
struct Object {
    id: u64,
    roi_type: String,
    /// The detector's id, where it is the key (unique on the frames, not 0).
    upstream: Option<i32>,
    rect: Rect,
    /// Pixels per frame the box's corner moved lately; predicts where it is next.
    velocity: (f64, f64),
    last_frame: u64,
    last_seen_ns: u64,
    first_seen_pts: Option<u64>,
    vote: Vote,
    shown: Option<Shown>,
    /// The frame and box area of the last result, and the frame a result was last
    /// asked for (answers may come later in `async` mode).
    classified: Option<(u64, f64)>,
    requested: Option<u64>,
}

/// When a frame was seen: its index in the stream, its time for `timeout_ns` (the PTS,
/// or one made up where buffers have none) and its PTS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moment {
    pub frame: u64,
    pub now_ns: u64,
    pub pts: Option<u64>,
}

/// What the output says of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectView<'a> {
    pub id: u64,
    pub first_seen_pts: Option<u64>,
    pub shown: Option<&'a Shown>,
}

#[derive(Debug, Default)]
pub struct Objects {
    objects: Vec<Object>,
    next_id: u64,
    /// Objects ever seen, and those that got a result, since the stream started.
    pub created: u64,
    pub labelled: u64,
}

fn rect_of(input: &RegionInput) -> Rect {
    let r = input.region;
    Rect::new(r.x as f64, r.y as f64, r.width as f64, r.height as f64)
}

impl Objects {
    /// Forgets every object (flush, caps change); ids go on counting.
    pub fn clear(&mut self) {
        self.objects.clear();
    }

    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.objects.len()
    }

    /// Assigns each box of a frame to an object:
    /// by the detector's id where it is on one box of the frame and not 0, else to the
    /// object whose predicted box overlaps it most. Returns each box's object id; None
    /// when `max_objects` objects are all on this frame already.
    pub fn update(
        &mut self,
        Moment { frame, now_ns, pts }: Moment,
        boxes: &[RegionInput],
        config: &Config,
    ) -> Vec<Option<u64>> {
        self.objects
            .retain(|o| now_ns.saturating_sub(o.last_seen_ns) <= config.timeout_ns);
        let upstream: Vec<Option<i32>> = boxes
            .iter()
            .map(|b| {
                (b.roi_id != 0 && boxes.iter().filter(|o| o.roi_id == b.roi_id).count() == 1)
                    .then_some(b.roi_id)
            })
            .collect();
        let mut owner: Vec<Option<usize>> = boxes
            .iter()
            .zip(&upstream)
            .map(|(b, up)| {
                let id = (*up)?;
                self.objects
                    .iter()
                    .position(|o| o.upstream == Some(id) && o.roi_type == b.roi_type)
            })
            .collect();
        // The rest by overlap, with objects that have no detector id and boxes that
        // have none either.
        let free: Vec<usize> = (0..self.objects.len())
            .filter(|&i| self.objects[i].upstream.is_none())
            .collect();
        let open: Vec<usize> = (0..boxes.len())
            .filter(|&j| upstream[j].is_none())
            .collect();
        let predicted: Vec<Rect> = free
            .iter()
            .map(|&i| {
                let o = &self.objects[i];
                let gap = frame.saturating_sub(o.last_frame) as f64;
                o.rect.shifted(o.velocity.0 * gap, o.velocity.1 * gap)
            })
            .collect();
        let rects: Vec<Rect> = open.iter().map(|&j| rect_of(&boxes[j])).collect();
        let assigned = associate(&predicted, &rects, MIN_IOU, |o, b| {
            self.objects[free[o]].roi_type == boxes[open[b]].roi_type
        });
        for (b, o) in assigned.into_iter().enumerate() {
            owner[open[b]] = o.map(|o| free[o]);
        }
        let mut seen = vec![false; self.objects.len()];
        for (j, o) in owner.iter().enumerate() {
            if let Some(i) = *o {
                seen[i] = true;
                self.objects[i].moved(rect_of(&boxes[j]), frame, now_ns);
            }
        }
        let limit = match config.max_objects {
            0 => MAX_OBJECTS,
            n => n.min(MAX_OBJECTS),
        };
        let mut ids: Vec<Option<u64>> = owner
            .iter()
            .map(|o| o.map(|i| self.objects[i].id))
            .collect();
        for j in 0..boxes.len() {
            if ids[j].is_some() {
                continue;
            }
            if self.objects.len() >= limit {
                // The object seen longest ago makes room, never one on this frame.
                let Some(oldest) = (0..self.objects.len())
                    .filter(|&i| !seen[i])
                    .min_by_key(|&i| self.objects[i].last_seen_ns)
                else {
                    continue;
                };
                self.objects.swap_remove(oldest);
                seen.swap_remove(oldest);
            }
            self.next_id += 1;
            self.created += 1;
            self.objects.push(Object {
                id: self.next_id,
                roi_type: boxes[j].roi_type.clone(),
                upstream: upstream[j],
                rect: rect_of(&boxes[j]),
                velocity: (0.0, 0.0),
                last_frame: frame,
                last_seen_ns: now_ns,
                first_seen_pts: pts,
                vote: Vote::default(),
                shown: None,
                classified: None,
                requested: None,
            });
            seen.push(true);
            ids[j] = Some(self.next_id);
        }
        ids
    }

    fn find(&self, id: u64) -> Option<&Object> {
        self.objects.iter().find(|o| o.id == id)
    }

    fn find_mut(&mut self, id: u64) -> Option<&mut Object> {
        self.objects.iter_mut().find(|o| o.id == id)
    }

    /// Whether object `id` needs a result on frame `frame`: it has none yet, its last
    /// is `interval` frames old, or its box grew past `growth` since. An object whose
    /// result was asked for is not asked again until it is `interval` frames late.
    pub fn due(&self, id: u64, frame: u64, config: &Config) -> bool {
        let Some(o) = self.find(id) else {
            return false;
        };
        let interval = u64::from(config.interval.max(1));
        if o.requested
            .is_some_and(|r| frame.saturating_sub(r) < interval)
        {
            return false;
        }
        match o.classified {
            None => true,
            Some((at, area)) => {
                frame.saturating_sub(at) >= interval
                    || (config.growth > 0.0 && o.rect.area() > area * config.growth)
            }
        }
    }

    /// A result for object `id` was asked for on frame `frame`.
    pub fn requested(&mut self, id: u64, frame: u64) {
        if let Some(o) = self.find_mut(id) {
            o.requested = Some(frame);
        }
    }

    /// A result for object `id`, computed on frame `frame`; an older one than the
    /// object holds (answers out of order) is dropped.
    pub fn record(
        &mut self,
        id: u64,
        (frame, pts, seq): (u64, Option<u64>, u64),
        result: Labelled,
        smoothing: f64,
    ) {
        let Some(o) = self.objects.iter_mut().find(|o| o.id == id) else {
            return;
        };
        if o.shown.as_ref().is_some_and(|s| s.source_frame > frame) {
            return;
        }
        if o.shown.is_none() {
            self.labelled += 1;
        }
        o.requested = None;
        o.classified = Some((frame, o.rect.area()));
        o.shown = Some(Shown {
            labels: o.vote.add(result, smoothing),
            source_frame: frame,
            source_pts: pts,
            seq,
        });
    }

    pub fn view(&self, id: u64) -> Option<ObjectView<'_>> {
        self.find(id).map(|o| ObjectView {
            id: o.id,
            first_seen_pts: o.first_seen_pts,
            shown: o.shown.as_ref(),
        })
    }
}

impl Object {
    fn moved(&mut self, rect: Rect, frame: u64, now_ns: u64) {
        let gap = frame.saturating_sub(self.last_frame).max(1) as f64;
        let step = ((rect.x - self.rect.x) / gap, (rect.y - self.rect.y) / gap);
        // Half the new step, half the old: one jittery box does not throw it off.
        self.velocity = (
            (self.velocity.0 + step.0) / 2.0,
            (self.velocity.1 + step.1) / 2.0,
        );
        self.rect = rect;
        self.last_frame = frame;
        self.last_seen_ns = now_ns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::preprocess::Region;

    const CONFIG: Config = Config {
        interval: 10,
        growth: 1.5,
        timeout_ns: 500_000_000,
        max_objects: 0,
    };
    const FRAME_NS: u64 = 40_000_000;

    fn bx(id: i32, x: usize, y: usize, size: usize) -> RegionInput {
        RegionInput {
            roi_id: id,
            roi_type: "car".into(),
            region: Region {
                x,
                y,
                width: size,
                height: size,
            },
        }
    }

    fn step(objects: &mut Objects, frame: u64, boxes: &[RegionInput]) -> Vec<Option<u64>> {
        let now = frame * FRAME_NS;
        let at = Moment {
            frame,
            now_ns: now,
            pts: Some(now),
        };
        objects.update(at, boxes, &CONFIG)
    }

    fn labelled(label: &str) -> Labelled {
        Labelled {
            labels: vec![label.into()],
            class_ids: vec![label.len() as u32],
            scores: vec![0.9],
        }
    }

    #[test]
    fn boxes_with_id_0_keep_their_objects_while_moving_and_crossing() {
        let mut objects = Objects::default();
        // Two boxes cross, one going right and one left, 6 pixels a frame; at the
        // crossing they overlap by a third.
        let mut first = Vec::new();
        for f in 0..40u64 {
            let a = bx(0, 10 + 6 * f as usize, 50, 40);
            let b = bx(0, 250 - 6 * f as usize, 70, 40);
            let ids = step(&mut objects, f, &[a, b]);
            if f == 0 {
                first = ids.clone();
            }
            assert_eq!(ids, first, "frame {f}");
        }
        assert_eq!(first, vec![Some(1), Some(2)]);
        assert_eq!(objects.created, 2);
    }

    #[test]
    fn detector_ids_are_the_key_where_unique() {
        let mut objects = Objects::default();
        let ids = step(&mut objects, 0, &[bx(7, 0, 0, 20), bx(9, 100, 0, 20)]);
        // The detector swapped the boxes' places: its ids say who is who.
        let swapped = step(&mut objects, 1, &[bx(9, 0, 0, 20), bx(7, 100, 0, 20)]);
        assert_eq!(swapped, vec![ids[1], ids[0]]);
        // A new detector id is a new object, even in the same place.
        let new = step(&mut objects, 2, &[bx(8, 0, 0, 20)]);
        assert_eq!(new, vec![Some(3)]);
    }

    #[test]
    fn an_object_gone_longer_than_the_timeout_is_forgotten() {
        let mut objects = Objects::default();
        assert_eq!(step(&mut objects, 0, &[bx(0, 10, 10, 30)]), vec![Some(1)]);
        // Back after 10 frames (400 ms): the same object.
        assert_eq!(step(&mut objects, 10, &[bx(0, 10, 10, 30)]), vec![Some(1)]);
        // Back after 20 frames (800 ms, over 500): a new one, and the old is gone.
        assert_eq!(step(&mut objects, 30, &[bx(0, 10, 10, 30)]), vec![Some(2)]);
        assert_eq!(objects.tracked(), 1);
        assert_eq!(
            objects.view(2).map(|v| v.first_seen_pts),
            Some(Some(30 * FRAME_NS))
        );
    }

    #[test]
    fn at_most_max_objects_and_the_oldest_makes_room() {
        let mut objects = Objects::default();
        let config = Config {
            max_objects: 2,
            ..CONFIG
        };
        objects.update(
            Moment {
                frame: 0,
                now_ns: 0,
                pts: None,
            },
            &[bx(1, 0, 0, 10), bx(2, 50, 0, 10)],
            &config,
        );
        objects.update(
            Moment {
                frame: 1,
                now_ns: FRAME_NS,
                pts: None,
            },
            &[bx(2, 50, 0, 10)],
            &config,
        );
        let ids = objects.update(
            Moment {
                frame: 2,
                now_ns: 2 * FRAME_NS,
                pts: None,
            },
            &[bx(2, 50, 0, 10), bx(3, 90, 0, 10)],
            &config,
        );
        assert_eq!(ids, vec![Some(2), Some(3)]);
        assert_eq!(objects.tracked(), 2);
        assert!(objects.view(1).is_none(), "the one seen longest ago went");
        let full = objects.update(
            Moment {
                frame: 3,
                now_ns: 3 * FRAME_NS,
                pts: None,
            },
            &[bx(2, 50, 0, 10), bx(3, 90, 0, 10), bx(4, 9, 9, 9)],
            &config,
        );
        assert_eq!(full, vec![Some(2), Some(3), None]);
    }

    #[test]
    fn due_on_first_sight_after_the_interval_and_when_grown() {
        let mut objects = Objects::default();
        let id = step(&mut objects, 0, &[bx(5, 0, 0, 20)])[0].unwrap_or(0);
        assert!(objects.due(id, 0, &CONFIG));
        objects.requested(id, 0);
        assert!(!objects.due(id, 1, &CONFIG), "asked for, answer pending");
        objects.record(id, (0, Some(0), 1), labelled("car"), 0.0);
        for f in 1..10 {
            step(&mut objects, f, &[bx(5, f as usize, 0, 20)]);
            assert!(!objects.due(id, f, &CONFIG), "frame {f}");
        }
        step(&mut objects, 10, &[bx(5, 10, 0, 20)]);
        assert!(objects.due(id, 10, &CONFIG));
        objects.record(id, (10, Some(10), 2), labelled("car"), 0.0);
        // 20x20 to 25x25 is 1.56 times the area: over 1.5.
        step(&mut objects, 11, &[bx(5, 10, 0, 25)]);
        assert!(objects.due(id, 11, &CONFIG));
        let view = objects.view(id).expect("tracked");
        let shown = view.shown.expect("labelled");
        assert_eq!((shown.source_frame, shown.seq), (10, 2));
        assert_eq!(objects.labelled, 1);
    }

    #[test]
    fn an_older_answer_does_not_replace_a_newer_one() {
        let mut objects = Objects::default();
        let id = step(&mut objects, 0, &[bx(5, 0, 0, 20)])[0].unwrap_or(0);
        objects.record(id, (4, None, 2), labelled("new"), 0.0);
        objects.record(id, (2, None, 1), labelled("old"), 0.0);
        let shown = objects.view(id).and_then(|v| v.shown.cloned());
        assert_eq!(
            shown.map(|s| s.labels.labels),
            Some(vec!["new".to_string()])
        );
    }
}
