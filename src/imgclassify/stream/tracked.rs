//! `target=regions` with `reclassify-interval`: every frame's boxes are assigned to
//! objects (`core::tracking`), only the objects due are classified, and the frame
//! carries, for each of its own boxes, its object's latest labels.

use std::collections::VecDeque;

use super::{FrameInput, Stream};
use crate::core::job::{Job, What};
use crate::core::lock::lock;
use crate::core::postprocess::{Labelled, Params};
use crate::core::regions::RegionInput;
use crate::core::schedule::{Carried, Decision};
use crate::core::tracking::{Moment, Objects};
use crate::core::worker::Worker;
use crate::imgclassify::output::Notice;
use crate::result::{Classification, RegionResult, RegionTrack, Target};

/// A frame's boxes as time for objects when buffers have no PTS: 30 per second.
const FRAME_NS: u64 = 33_333_333;
/// Jobs kept waiting for their answers; in `async` mode a newer job replaces an older
/// one that no thread took, so only a few are ever answered late.
const MAX_PENDING: usize = 16;

#[derive(Debug, Default)]
pub struct Tracked {
    objects: Objects,
    /// Jobs asked for and not answered yet: the frame, its PTS, the object of each
    /// region in the job's order, and the smoothing they are folded in with.
    pending: VecDeque<Pending>,
    /// The newest result, without its regions: what composed results are made from.
    head: Option<Classification>,
    /// `seq` of the newest result a frame carried, so each is posted once.
    shown_seq: u64,
}

#[derive(Debug)]
struct Pending {
    frame: u64,
    pts: Option<gst::ClockTime>,
    objects: Vec<u64>,
    smoothing: f64,
}

/// One frame's boxes and the object of each.
struct Plan {
    boxes: Vec<RegionInput>,
    ids: Vec<Option<u64>>,
}

impl Tracked {
    pub fn reset(&mut self) {
        self.objects.clear();
        self.pending.clear();
        self.head = None;
    }

    /// Whether the answer for `frame` is one of the tracked jobs.
    pub fn expects(&self, frame: u64) -> bool {
        self.pending.iter().any(|p| p.frame == frame)
    }

    /// Folds an answer into its objects; jobs for earlier frames were replaced and will
    /// get no answer.
    pub fn take(&mut self, frame: u64, result: &Classification) {
        while let Some(p) = self.pending.pop_front() {
            if p.frame < frame {
                continue;
            }
            let source = (frame, p.pts.map(gst::ClockTime::nseconds), result.seq);
            for (id, region) in p.objects.iter().zip(&result.regions) {
                let labels = Labelled {
                    labels: region.labels.clone(),
                    class_ids: region.class_ids.clone(),
                    scores: region.scores.clone(),
                };
                self.objects.record(*id, source, labels, p.smoothing);
            }
            break;
        }
        self.head = Some(Classification {
            regions: Vec::new(),
            ..result.clone()
        });
    }

    /// The result frame `frame` carries: each of its boxes whose object has labels.
    fn compose(&mut self, frame: u64, plan: &Plan) -> Option<Carried<Classification>> {
        let head = self.head.as_ref()?;
        let mut newest: Option<(u64, u64, Option<u64>)> = None;
        let regions: Vec<RegionResult> = plan
            .boxes
            .iter()
            .zip(&plan.ids)
            .filter_map(|(input, id)| {
                let view = self.objects.view((*id)?)?;
                let shown = view.shown?;
                if newest.is_none_or(|n| shown.seq > n.0) {
                    newest = Some((shown.seq, shown.source_frame, shown.source_pts));
                }
                let r = input.region;
                Some(RegionResult {
                    roi_id: input.roi_id,
                    roi_type: input.roi_type.clone(),
                    rect: (r.x as u32, r.y as u32, r.width as u32, r.height as u32),
                    labels: shown.labels.labels.clone(),
                    class_ids: shown.labels.class_ids.clone(),
                    scores: shown.labels.scores.clone(),
                    embedding: None,
                    track: Some(RegionTrack {
                        object_id: view.id,
                        first_seen: view.first_seen_pts.map(gst::ClockTime::from_nseconds),
                        fresh: shown.source_frame == frame,
                        source_pts: shown.source_pts.map(gst::ClockTime::from_nseconds),
                        seq: shown.seq,
                    }),
                })
            })
            .collect();
        let fresh = regions
            .iter()
            .any(|r| r.track.as_ref().is_some_and(|t| t.fresh));
        let (seq, source_frame, source_pts) = match newest {
            Some((seq, f, pts)) => (seq, f, pts.map(gst::ClockTime::from_nseconds)),
            None => (head.seq, frame.saturating_sub(1), head.source_pts),
        };
        let first_sight = seq > self.shown_seq;
        self.shown_seq = self.shown_seq.max(seq);
        Some(Carried {
            source_frame: if fresh { frame } else { source_frame },
            frame,
            result: Classification {
                regions,
                seq,
                source_pts,
                ..head.clone()
            },
            first_sight,
        })
    }
}

impl Stream {
    /// One frame with `reclassify-interval`: track its boxes, classify the objects due
    /// (none on a frame QoS says is late), and carry every object's latest labels.
    pub(super) fn process_tracked(
        &mut self,
        input: &FrameInput<'_>,
        (frame, decision): (u64, Decision),
        notices: &mut Vec<Notice>,
    ) -> Result<Option<Carried<Classification>>, gst::FlowError> {
        let settings = input.inputs.settings;
        let Some(video) = self.video.as_ref() else {
            self.warn_frame("no caps were negotiated", notices);
            return Ok(None);
        };
        let boxes = video.regions(input.buf, &input.inputs.selection);
        let config = settings
            .reclassify
            .config(input.inputs.selection.max_regions);
        let pts = input.buf.pts();
        let now = pts.map_or(frame.saturating_mul(FRAME_NS), gst::ClockTime::nseconds);
        let before = (self.tracked.objects.created, self.tracked.objects.labelled);
        let objects = &mut self.tracked.objects;
        let at = Moment {
            frame,
            now_ns: now,
            pts: pts.map(gst::ClockTime::nseconds),
        };
        let ids = objects.update(at, &boxes, &config);
        let mut due = Vec::new();
        let mut due_ids = Vec::new();
        if decision == Decision::Classify {
            for (input, id) in boxes.iter().zip(&ids) {
                if let Some(id) = id.filter(|&id| objects.due(id, frame, &config)) {
                    objects.requested(id, frame);
                    due.push(input.clone());
                    due_ids.push(id);
                }
            }
        }
        {
            let mut stats = lock(&self.stats);
            stats.regions_carried += (boxes.len() - due.len()) as u64;
        }
        if !due.is_empty() {
            // The vote smooths per object; the classifier's per-ROI history would see
            // only the boxes due.
            let params = Params {
                smoothing: 0.0,
                ..settings.params
            };
            // Answers that never came (a server outage) are not waited for forever.
            if self.tracked.pending.len() >= MAX_PENDING {
                self.tracked.pending.pop_front();
            }
            self.tracked.pending.push_back(Pending {
                frame,
                pts,
                objects: due_ids,
                smoothing: settings.params.smoothing,
            });
            let job = Job {
                frame,
                pts,
                params,
                what: What::Regions {
                    target: Target::Regions,
                    inputs: due,
                    max_batch: settings.max_batch,
                    unchanged: Vec::new(),
                },
            };
            self.classify(input.buf, job, 0.0, notices)?;
        }
        if let Some(outcome) = self.worker.as_ref().and_then(Worker::take) {
            self.take(outcome, notices)?;
        }
        {
            let mut stats = lock(&self.stats);
            // Counted since the model was loaded, across streams.
            stats.objects_tracked += self.tracked.objects.created - before.0;
            stats.objects_classified += self.tracked.objects.labelled - before.1;
        }
        Ok(self.tracked.compose(frame, &Plan { boxes, ids }))
    }
}
