//! `unchanged-threshold`: a frame, or a zone, whose model input differs from the input
//! of its last classified frame by less than the threshold is not classified again; it
//! carries that result, as a frame between two `inference-interval` frames does.
//!
//! The difference is the mean absolute difference of the input before normalisation,
//! RGB on a 0–1 scale, worked out from the tensors the element prepares anyway: the
//! normalisation is affine per channel, so a difference of tensor values is the input's
//! difference times a constant. A greyscale model's one channel is luma.
//!
//! The reference is the input of the result the frames carry, not the previous frame's:
//! a slow drift (light at dusk) adds up until it passes the threshold, instead of
//! hiding behind small steps. So an input becomes a reference only when its answer is
//! taken (at once in `sync` mode, later in `async` mode); until then it waits here.
//! Whatever ends that result (a failed inference, a flush, new zones) ends its references.
//!
//! Zones are compared each on their own: only the zones that changed are classified, and
//! the others keep their last result in the new one. Detections (`target=regions`) move
//! from frame to frame and have no stable place to compare, so they are always classified.

mod difference;

use std::collections::{HashMap, VecDeque};

pub use difference::Scale;

use crate::core::job::{Prepared, What};
use crate::core::model::TensorSpec;
use crate::result::{Classification, RegionResult, Target};

/// What a job became after the comparison.
pub enum Check {
    /// Nothing changed: the frame carries the latest result. The job is handed back so
    /// its tensor memory can be reused; `zones` zones were found unchanged.
    Unchanged { prepared: Prepared, zones: u64 },
    /// Classify this: the whole frame, or the zones that changed (`unchanged_zones` did
    /// not, and keep their last result).
    Classify {
        prepared: Prepared,
        unchanged_zones: u64,
    },
}

/// The input a zone's result was computed on, and that result.
#[derive(Debug, Clone)]
struct ZoneReference {
    input: Vec<f32>,
    result: RegionResult,
}

/// A zone of a job waiting for its answer: classified (its input), or carried (its
/// last result).
#[derive(Debug, Clone)]
enum Part {
    Classified(Vec<f32>),
    Carried(RegionResult),
}

#[derive(Debug, Clone)]
enum Waiting {
    Frame(Vec<f32>),
    /// Every zone of the frame, in the order of `zones`, by its place there.
    Zones(Vec<(i32, Part)>),
}

#[derive(Debug, Clone)]
struct Pending {
    frame: u64,
    waiting: Waiting,
}

/// The references of one stream, and the inputs waiting for their answers.
#[derive(Debug, Clone)]
pub struct Unchanged {
    scale: Scale,
    /// The input of the result the frames carry, with `target=frame`.
    frame: Option<Vec<f32>>,
    /// Per zone, by its place in `zones`.
    zones: HashMap<i32, ZoneReference>,
    /// Oldest first: in `async` mode those the worker runs and the one waiting for a
    /// thread, and those answered but not yet taken, until a newer answer is taken.
    pending: VecDeque<Pending>,
    /// Beyond this the oldest goes: an answer with no inputs here only costs the next
    /// frame an inference.
    capacity: usize,
}

impl Unchanged {
    /// `in_flight`: the jobs that can wait for an answer at once (1 in `sync` mode).
    pub fn new(spec: &TensorSpec, in_flight: usize) -> Unchanged {
        Unchanged {
            scale: Scale::new(spec),
            frame: None,
            zones: HashMap::new(),
            pending: VecDeque::new(),
            capacity: 2 * in_flight.max(1),
        }
    }

    /// The job of `frame` will never be answered (a newer one replaced it before it
    /// ran): its inputs go now, so they cannot push out those of a job still running.
    pub fn dropped(&mut self, frame: u64) {
        self.pending.retain(|p| p.frame != frame);
    }

    /// Forgets everything: flush, caps change, new zones.
    pub fn reset(&mut self) {
        self.forget();
        self.pending.clear();
    }

    /// The result the references belong to is gone (the model's output could not be
    /// used, or no server answered): the next frame is classified whatever it shows.
    pub fn forget(&mut self) {
        self.frame = None;
        self.zones.clear();
    }

    /// Compares a job's images with their references. A whole frame or a zone with no
    /// reference counts as changed; detections are never compared. What is to be
    /// classified is kept until its answer comes (`classified`).
    pub fn check(&mut self, prepared: Prepared, threshold: f64) -> Check {
        let len = self.scale.len;
        let frame = prepared.job.frame;
        let fits = len > 0 && prepared.tensors.len() == prepared.job.images() * len;
        match &prepared.job.what {
            // Tensors that do not fit the job are the classifier's to report.
            _ if !fits => Check::Classify {
                prepared,
                unchanged_zones: 0,
            },
            What::Frame => {
                let tensor = &prepared.tensors;
                let same = self
                    .frame
                    .as_deref()
                    .is_some_and(|r| self.scale.mean_abs_difference(r, tensor) < threshold);
                if same {
                    return Check::Unchanged { prepared, zones: 0 };
                }
                self.wait(frame, Waiting::Frame(tensor.clone()));
                Check::Classify {
                    prepared,
                    unchanged_zones: 0,
                }
            }
            What::Regions {
                target: Target::Zones,
                ..
            } => self.check_zones(prepared, threshold),
            What::Regions { .. } => Check::Classify {
                prepared,
                unchanged_zones: 0,
            },
        }
    }

    fn check_zones(&mut self, prepared: Prepared, threshold: f64) -> Check {
        let Prepared { mut job, tensors } = prepared;
        let What::Regions { inputs, .. } = &mut job.what else {
            return Check::Classify {
                prepared: Prepared { job, tensors },
                unchanged_zones: 0,
            };
        };
        let len = self.scale.len;
        let mut parts = Vec::with_capacity(inputs.len());
        let mut changed = Vec::with_capacity(inputs.len());
        for (i, (input, tensor)) in inputs.iter().zip(tensors.chunks_exact(len)).enumerate() {
            let r = input.region;
            let rect = (r.x as u32, r.y as u32, r.width as u32, r.height as u32);
            let reference = self.zones.get(&input.roi_id).filter(|z| {
                z.result.roi_type == input.roi_type
                    && z.result.rect == rect
                    && self.scale.mean_abs_difference(&z.input, tensor) < threshold
            });
            match reference {
                Some(z) => parts.push((input.roi_id, Part::Carried(z.result.clone()))),
                None => {
                    parts.push((input.roi_id, Part::Classified(tensor.to_vec())));
                    changed.push(i);
                }
            }
        }
        let unchanged_zones = (inputs.len() - changed.len()) as u64;
        // A frame with no zone in it still gets its (empty) result, as without the check.
        if changed.is_empty() && !inputs.is_empty() {
            return Check::Unchanged {
                prepared: Prepared { job, tensors },
                zones: unchanged_zones,
            };
        }
        // Every zone changed: the job goes as it is, without copying its tensors.
        if unchanged_zones == 0 {
            self.wait(job.frame, Waiting::Zones(parts));
            return Check::Classify {
                prepared: Prepared { job, tensors },
                unchanged_zones,
            };
        }
        let mut kept = Vec::with_capacity(changed.len() * len);
        for &i in &changed {
            kept.extend_from_slice(&tensors[i * len..(i + 1) * len]);
        }
        let all = std::mem::take(inputs);
        let (classified, carried): (Vec<_>, Vec<_>) = all
            .into_iter()
            .enumerate()
            .partition(|(i, _)| changed.contains(i));
        *inputs = classified.into_iter().map(|(_, input)| input).collect();
        if let What::Regions { unchanged, .. } = &mut job.what {
            *unchanged = carried.into_iter().map(|(_, z)| z.roi_type).collect();
        }
        self.wait(job.frame, Waiting::Zones(parts));
        Check::Classify {
            prepared: Prepared { job, tensors: kept },
            unchanged_zones,
        }
    }

    fn wait(&mut self, frame: u64, waiting: Waiting) {
        if self.pending.len() >= self.capacity {
            self.pending.pop_front();
        }
        self.pending.push_back(Pending { frame, waiting });
    }

    /// The answer for `frame` is taken as the result the frames carry (it is newer than
    /// the one before): its inputs become the references, and the zones it did not
    /// classify get their last result back into it, in the order of `zones`. An answer
    /// with no inputs waiting here (checked with the threshold at 0, or dropped) leaves
    /// no reference: nothing is known to match it.
    pub fn classified(&mut self, frame: u64, result: &mut Classification) {
        while self.pending.front().is_some_and(|p| p.frame < frame) {
            self.pending.pop_front();
        }
        let waiting = match self.pending.front() {
            Some(p) if p.frame == frame => self.pending.pop_front().map(|p| p.waiting),
            _ => None,
        };
        let old_zones = std::mem::take(&mut self.zones);
        self.frame = None;
        match waiting {
            Some(Waiting::Frame(input)) => self.frame = Some(input),
            Some(Waiting::Zones(parts)) => self.merge_zones(parts, old_zones, result),
            None => {}
        }
    }

    fn merge_zones(
        &mut self,
        parts: Vec<(i32, Part)>,
        mut old: HashMap<i32, ZoneReference>,
        result: &mut Classification,
    ) {
        let mut fresh: HashMap<i32, RegionResult> =
            result.regions.drain(..).map(|r| (r.roi_id, r)).collect();
        for (id, part) in parts {
            match part {
                Part::Classified(input) => {
                    if let Some(r) = fresh.remove(&id) {
                        self.zones.insert(
                            id,
                            ZoneReference {
                                input,
                                result: r.clone(),
                            },
                        );
                        result.regions.push(r);
                    }
                }
                Part::Carried(r) => {
                    // Forgotten since the job was made: the zone is carried this once,
                    // and classified on the next frame.
                    if let Some(reference) = old.remove(&id) {
                        self.zones.insert(id, reference);
                    }
                    result.regions.push(r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::difference::{spec, tensor};
    use super::*;
    use crate::core::job::Job;
    use crate::core::model::Layout;
    use crate::core::postprocess::Params;
    use crate::core::preprocess::Region;
    use crate::core::regions::RegionInput;

    fn job(frame: u64, what: What) -> Job {
        Job {
            frame,
            pts: None,
            params: Params::default(),
            what,
        }
    }

    fn frame_job(spec: &TensorSpec, frame: u64, rgb: f32) -> Prepared {
        Prepared {
            job: job(frame, What::Frame),
            tensors: tensor(spec, [rgb; 3]),
        }
    }

    fn is_unchanged(check: &Check) -> bool {
        matches!(check, Check::Unchanged { .. })
    }

    #[test]
    fn the_reference_is_the_last_classified_input_so_a_slow_drift_is_classified() {
        let spec = spec(8, Layout::Nchw);
        let mut u = Unchanged::new(&spec, 1);
        let t = 0.02;
        assert!(!is_unchanged(&u.check(frame_job(&spec, 0, 100.0), t)));
        let mut result = Classification::for_test(&["a"], &[1.0]);
        u.classified(0, &mut result);
        // Each frame 1/255 brighter than the one before: unchanged until the sum of
        // the steps reaches 0.02 of the scale (5.1 levels), from the classified frame.
        let mut classified = Vec::new();
        for n in 1..=12u64 {
            if !is_unchanged(&u.check(frame_job(&spec, n, 100.0 + n as f32), t)) {
                classified.push(n);
                u.classified(n, &mut result);
            }
        }
        assert_eq!(classified, vec![6, 12]);
    }

    #[test]
    fn nothing_is_unchanged_before_an_answer_nor_after_a_failure_or_an_answer_from_elsewhere() {
        let spec = spec(4, Layout::Nhwc);
        let mut u = Unchanged::new(&spec, 4);
        let mut result = Classification::for_test(&["a"], &[1.0]);
        // Async: frames 0 and 1 wait for their answers, so both are classified.
        assert!(!is_unchanged(&u.check(frame_job(&spec, 0, 50.0), 0.1)));
        assert!(!is_unchanged(&u.check(frame_job(&spec, 1, 50.0), 0.1)));
        u.classified(1, &mut result);
        assert!(is_unchanged(&u.check(frame_job(&spec, 2, 50.0), 0.1)));
        // Frame 0's answer comes after frame 1's: the scheduler does not take it, and
        // neither does this; its inputs were dropped when frame 1's was taken.
        u.forget();
        assert!(!is_unchanged(&u.check(frame_job(&spec, 3, 50.0), 0.1)));
        u.classified(3, &mut result);
        assert!(is_unchanged(&u.check(frame_job(&spec, 4, 50.0), 0.1)));
        // An answer to a job made with the threshold at 0 (not checked): no reference.
        u.classified(5, &mut result);
        assert!(!is_unchanged(&u.check(frame_job(&spec, 6, 50.0), 0.1)));
        u.reset();
        assert!(u.pending.is_empty() && u.frame.is_none());
    }

    #[test]
    fn waiting_inputs_are_bounded_and_those_of_replaced_jobs_go_first() {
        let spec = spec(2, Layout::Nchw);
        let frames = |u: &Unchanged| u.pending.iter().map(|p| p.frame).collect::<Vec<_>>();
        let mut u = Unchanged::new(&spec, 1);
        for n in 0..5 {
            u.check(frame_job(&spec, n, n as f32), 0.5);
        }
        assert_eq!(frames(&u), vec![3, 4]);
        // The answer of a job no longer waiting leaves no reference.
        u.classified(2, &mut Classification::for_test(&["a"], &[1.0]));
        assert!(u.frame.is_none());
        assert_eq!(frames(&u), vec![3, 4]);
        // One worker thread runs frame 5's job; 6, 7 and 8 each replace the one waiting.
        let mut u = Unchanged::new(&spec, 2);
        for n in 5..9 {
            u.check(frame_job(&spec, n, 1.0), 0.5);
            if n > 6 {
                u.dropped(n - 1);
            }
        }
        assert_eq!(frames(&u), vec![5, 8]);
        u.classified(5, &mut Classification::for_test(&["a"], &[1.0]));
        assert!(is_unchanged(&u.check(frame_job(&spec, 9, 1.0), 0.5)));
    }

    fn zone(id: i32, name: &str) -> RegionInput {
        RegionInput {
            roi_id: id,
            roi_type: name.into(),
            region: Region {
                x: 10 * id as usize,
                y: 0,
                width: 10,
                height: 10,
            },
        }
    }

    fn zones_job(spec: &TensorSpec, frame: u64, zones: &[(i32, &str, f32)]) -> Prepared {
        let mut tensors = Vec::new();
        for (_, _, rgb) in zones {
            tensors.extend(tensor(spec, [*rgb; 3]));
        }
        Prepared {
            job: job(
                frame,
                What::Regions {
                    target: Target::Zones,
                    inputs: zones.iter().map(|(id, n, _)| zone(*id, n)).collect(),
                    max_batch: 8,
                    unchanged: Vec::new(),
                },
            ),
            tensors,
        }
    }

    /// What the classifier answers for a zones job: each zone labelled with its frame.
    fn answer(prepared: &Prepared) -> Classification {
        let What::Regions { inputs, .. } = &prepared.job.what else {
            panic!("zones")
        };
        let regions = inputs
            .iter()
            .map(|z| RegionResult {
                roi_id: z.roi_id,
                roi_type: z.roi_type.clone(),
                rect: (z.region.x as u32, 0, 10, 10),
                labels: vec![format!("frame {}", prepared.job.frame)],
                class_ids: vec![0],
                scores: vec![1.0],
                embedding: None,
                track: None,
            })
            .collect();
        Classification {
            target: Target::Zones,
            regions,
            ..Classification::for_test(&[], &[])
        }
    }

    fn labels(result: &Classification) -> Vec<(String, String)> {
        result
            .regions
            .iter()
            .map(|r| (r.roi_type.clone(), r.labels[0].clone()))
            .collect()
    }

    #[test]
    fn zones_are_compared_each_on_their_own_and_carried_zones_keep_their_result_in_order() {
        let spec = spec(4, Layout::Nchw);
        let mut u = Unchanged::new(&spec, 1);
        let three = |a: f32, b: f32, c: f32| [(0, "gate", a), (1, "desk", b), (2, "door", c)];
        let Check::Classify { prepared, .. } =
            u.check(zones_job(&spec, 0, &three(10.0, 20.0, 30.0)), 0.05)
        else {
            panic!("first frame classified")
        };
        let mut result = answer(&prepared);
        u.classified(0, &mut result);
        // Only the desk changes: it alone is classified, the others keep frame 0's labels.
        let Check::Classify {
            prepared,
            unchanged_zones,
        } = u.check(zones_job(&spec, 1, &three(10.0, 200.0, 31.0)), 0.05)
        else {
            panic!("the desk changed")
        };
        assert_eq!(unchanged_zones, 2);
        assert_eq!(prepared.job.images(), 1);
        assert_eq!(prepared.tensors, tensor(&spec, [200.0; 3]));
        let What::Regions { unchanged, .. } = &prepared.job.what else {
            panic!("zones")
        };
        assert_eq!(unchanged, &vec!["gate".to_string(), "door".to_string()]);
        let mut result = answer(&prepared);
        u.classified(1, &mut result);
        let f = |s: &str, l: &str| (s.to_string(), l.to_string());
        assert_eq!(
            labels(&result),
            vec![
                f("gate", "frame 0"),
                f("desk", "frame 1"),
                f("door", "frame 0")
            ]
        );
        // Nothing changed against each zone's own reference: the frame is unchanged.
        let check = u.check(zones_job(&spec, 2, &three(10.0, 201.0, 30.0)), 0.05);
        assert!(matches!(check, Check::Unchanged { zones: 3, .. }));
        // A zone with no reference (new, or moved in the list) is classified.
        let check = u.check(
            zones_job(&spec, 3, &[(0, "gate", 10.0), (5, "shed", 10.0)]),
            0.05,
        );
        assert!(matches!(
            check,
            Check::Classify {
                unchanged_zones: 1,
                ..
            }
        ));
    }

    #[test]
    fn a_frame_without_zones_still_gets_its_empty_result_and_detections_are_never_compared() {
        let spec = spec(4, Layout::Nchw);
        let mut u = Unchanged::new(&spec, 1);
        for _ in 0..2 {
            let check = u.check(zones_job(&spec, 0, &[]), 0.5);
            assert!(matches!(check, Check::Classify { .. }));
            u.classified(0, &mut answer(&zones_job(&spec, 0, &[])));
        }
        assert!(u.pending.is_empty());
        for _ in 0..2 {
            let mut regions = zones_job(&spec, 1, &[(0, "car", 1.0)]);
            if let What::Regions { target, .. } = &mut regions.job.what {
                *target = Target::Regions;
            }
            let check = u.check(regions, 0.5);
            assert!(matches!(check, Check::Classify { .. }));
        }
        assert!(u.pending.is_empty());
    }
}
