//! Prepared tensor → `Classification`: inference, softmax, smoothing, top-k. Runs on the
//! streaming thread in `sync` mode and on the worker thread in `async` mode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::engine::Engine;
use crate::lock::lock;
use crate::meta::{Classification, RegionResult};
use crate::postprocess::{Ranked, softmax};
use crate::regions::RegionInput;
use crate::smoothing::Smoother;
use crate::stats::Stats;

/// Settings read per frame, so changes while playing apply from the next frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub top_k: usize,
    pub threshold: f64,
    pub smoothing: f64,
}

/// A frame handed to the async worker.
pub struct Job {
    pub tensor: Vec<f32>,
    pub frame: u64,
    pub pts: Option<gst::ClockTime>,
    pub params: Params,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// `frame` is the index of the frame the result was computed on.
    Done {
        frame: u64,
        result: Classification,
    },
    NonFinite,
    Failed(String),
}

pub struct Classifier {
    pub engine: Engine,
    smoother: Mutex<Smoother>,
    /// Per ROI id; upstream trackers keep ids stable, so labels of one object are smoothed.
    region_smoothers: Mutex<HashMap<i32, Smoother>>,
    pub stats: Arc<Mutex<Stats>>,
}

impl Classifier {
    pub fn new(engine: Engine) -> Classifier {
        Classifier {
            engine,
            smoother: Mutex::new(Smoother::new()),
            region_smoothers: Mutex::new(HashMap::new()),
            stats: Arc::new(Mutex::new(Stats::default())),
        }
    }

    /// Forgets the smoothing history (flush, seek, format change).
    pub fn reset(&self) {
        lock(&self.smoother).reset();
        lock(&self.region_smoothers).clear();
    }

    fn probabilities(&self, raw: &[f32]) -> Vec<f64> {
        if self.engine.outputs_probabilities() {
            raw.iter().map(|&v| v as f64).collect()
        } else {
            softmax(raw)
        }
    }

    /// Classifies all regions of one frame: one batched call where the model allows.
    pub fn run_regions(
        &self,
        tensors: &[f32],
        regions: &[RegionInput],
        frame: u64,
        pts: Option<gst::ClockTime>,
        params: Params,
    ) -> Outcome {
        let started = Instant::now();
        let (raw, calls) = if regions.is_empty() {
            (Vec::new(), 0)
        } else {
            match self.engine.run_many(tensors, regions.len()) {
                Ok(r) => r,
                Err(e) => return Outcome::Failed(e.to_string()),
            }
        };
        let took = started.elapsed();
        lock(&self.stats).record_inference(took, calls as u64, regions.len() as u64);
        if raw.iter().any(|v| !v.is_finite()) {
            return Outcome::NonFinite;
        }
        let classes = self.engine.spec().classes.max(1);
        let labels = self.engine.labels();
        let mut smoothers = lock(&self.region_smoothers);
        smoothers.retain(|id, _| regions.iter().any(|r| r.roi_id == *id));
        let results = regions
            .iter()
            .zip(raw.chunks(classes))
            .map(|(input, row)| {
                let ranked = smoothers.entry(input.roi_id).or_default().update(
                    &self.probabilities(row),
                    params.smoothing,
                    params.top_k,
                    params.threshold,
                );
                let r = input.region;
                let (labels, class_ids, scores) = named(&ranked, labels);
                RegionResult {
                    roi_id: input.roi_id,
                    roi_type: input.roi_type.clone(),
                    rect: (r.x as u32, r.y as u32, r.width as u32, r.height as u32),
                    labels,
                    class_ids,
                    scores,
                }
            })
            .collect();
        Outcome::Done {
            frame,
            result: Classification {
                model: self.engine.name().to_string(),
                labels: Vec::new(),
                class_ids: Vec::new(),
                scores: Vec::new(),
                inference_time_ns: took.as_nanos() as u64,
                provider: self.engine.active().to_string(),
                fresh: true,
                source_pts: pts,
                regions: results,
            },
        }
    }

    pub fn run(
        &self,
        tensor: &[f32],
        frame: u64,
        pts: Option<gst::ClockTime>,
        params: Params,
    ) -> Outcome {
        let started = Instant::now();
        let raw = match self.engine.run(tensor) {
            Ok(raw) => raw,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let took = started.elapsed();
        lock(&self.stats).record_inference(took, 1, 0);
        if raw.iter().any(|v| !v.is_finite()) {
            return Outcome::NonFinite;
        }
        let scores = self.probabilities(&raw);
        let ranked =
            lock(&self.smoother).update(&scores, params.smoothing, params.top_k, params.threshold);
        let (labels, class_ids, scores) = named(&ranked, self.engine.labels());
        Outcome::Done {
            frame,
            result: Classification {
                model: self.engine.name().to_string(),
                labels,
                class_ids,
                scores,
                inference_time_ns: took.as_nanos() as u64,
                provider: self.engine.active().to_string(),
                fresh: true,
                source_pts: pts,
                regions: Vec::new(),
            },
        }
    }
}

/// The ranked classes as the meta's three parallel lists: labels, class ids, scores.
fn named(ranked: &[Ranked], labels: &[String]) -> (Vec<String>, Vec<u32>, Vec<f64>) {
    (
        ranked
            .iter()
            .map(|r| labels.get(r.class_id as usize).cloned().unwrap_or_default())
            .collect(),
        ranked.iter().map(|r| r.class_id).collect(),
        ranked.iter().map(|r| r.score).collect(),
    )
}
