//! Prepared tensor → `Classification`: inference, softmax, smoothing, top-k. Runs on the
//! streaming thread in `sync` mode and on the worker thread in `async` mode.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::engine::Engine;
use crate::meta::Classification;
use crate::postprocess::softmax;
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
    pub stats: Arc<Mutex<Stats>>,
}

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not make every later frame panic too.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Classifier {
    pub fn new(engine: Engine) -> Classifier {
        Classifier {
            engine,
            smoother: Mutex::new(Smoother::new()),
            stats: Arc::new(Mutex::new(Stats::default())),
        }
    }

    /// Forgets the smoothing history (flush, seek, format change).
    pub fn reset(&self) {
        lock(&self.smoother).reset();
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
        lock(&self.stats).record_inference(took);
        if raw.iter().any(|v| !v.is_finite()) {
            return Outcome::NonFinite;
        }
        let scores: Vec<f64> = if self.engine.outputs_probabilities() {
            raw.iter().map(|&v| v as f64).collect()
        } else {
            softmax(&raw)
        };
        let ranked =
            lock(&self.smoother).update(&scores, params.smoothing, params.top_k, params.threshold);
        let labels = self.engine.labels();
        Outcome::Done {
            frame,
            result: Classification {
                model: self.engine.name().to_string(),
                labels: ranked
                    .iter()
                    .map(|r| labels.get(r.class_id as usize).cloned().unwrap_or_default())
                    .collect(),
                class_ids: ranked.iter().map(|r| r.class_id).collect(),
                scores: ranked.iter().map(|r| r.score).collect(),
                inference_time_ns: took.as_nanos() as u64,
                provider: self.engine.active().to_string(),
                fresh: true,
                source_pts: pts,
            },
        }
    }
}
