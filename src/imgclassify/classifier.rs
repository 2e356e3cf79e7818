//! Prepared tensors → `Classification`: the backend runs them, postprocessing labels
//! them. Runs on the streaming thread in `sync` mode and on the worker in `async` mode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::backend::{Backend, BackendError, Scores};
use crate::classes::{ClassSet, normalise, or_unknown};
use crate::lock::lock;
use crate::postprocess::{Labelled, Params, Postprocessor, Smoother, all_finite};
use crate::regions::{RegionInput, unique_id};
use crate::result::{Classification, RegionResult, Target};
use crate::stats::Stats;

/// Whose history a region's smoother holds: an ROI id (regions from a detector, whose
/// tracker keeps ids stable) or a zone's name (the stable key of a zone).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RegionKey {
    Roi(i32),
    Zone(String),
}

/// A frame handed to the async worker: its tensor, or with `regions` the tensors of its
/// regions one after another.
pub struct Job {
    pub tensor: Vec<f32>,
    pub frame: u64,
    pub pts: Option<gst::ClockTime>,
    pub params: Params,
    pub regions: Option<RegionsJob>,
}

/// The regions (or zones) whose tensors a job holds, and how many go in one inference.
pub struct RegionsJob {
    pub target: Target,
    pub inputs: Vec<RegionInput>,
    pub max_batch: usize,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// `frame` is the index of the frame the result was computed on.
    Done {
        frame: u64,
        result: Box<Classification>,
    },
    NonFinite,
    /// The frame could not be read; it flows on unlabelled.
    Unreadable(String),
    /// No inference server answered: the frame flows on without a fresh result.
    Unavailable(String),
    Failed(String),
}

pub struct Classifier {
    /// The id its results carry (`classifier-id`, by default the element's name).
    id: String,
    backend: Arc<dyn Backend>,
    post: Postprocessor,
    smoother: Mutex<Smoother>,
    /// Per ROI id; upstream trackers keep ids stable, so labels of one object are
    /// smoothed. ROIs whose id repeats on a frame are not smoothed (see `run_regions`).
    /// Per zone name with `target=zones`.
    region_smoothers: Mutex<HashMap<RegionKey, Smoother>>,
    pub stats: Arc<Mutex<Stats>>,
    /// With `classes-dir`: the custom classes, scored from the embedding; the
    /// postprocessor then holds their labels.
    classes: Option<ClassSet>,
    /// `attach-embedding`: results carry each image's unit-length embedding.
    attach_embedding: bool,
}

/// The rows the postprocessor ranks, the embeddings results carry, and with custom
/// classes each image's best cosine similarity (for `min-similarity`; empty without).
struct Rows {
    rows: Vec<f32>,
    embeddings: Vec<Option<Vec<f32>>>,
    similarities: Vec<f32>,
}

impl Classifier {
    pub fn new(id: String, backend: Arc<dyn Backend>, post: Postprocessor) -> Classifier {
        // A remote backend's request counters are in `stats` from READY on, zeros
        // included.
        let mut stats = Stats::default();
        stats.requests = backend.requests();
        Classifier {
            id,
            backend,
            post,
            smoother: Mutex::new(Smoother::new()),
            region_smoothers: Mutex::new(HashMap::new()),
            stats: Arc::new(Mutex::new(stats)),
            classes: None,
            attach_embedding: false,
        }
    }

    /// Scores custom classes instead of the model's (the postprocessor must hold their
    /// labels), and/or attaches embeddings to results.
    pub fn with_embedding(mut self, classes: Option<ClassSet>, attach: bool) -> Classifier {
        self.classes = classes;
        self.attach_embedding = attach;
        self
    }

    fn needs_embedding(&self) -> bool {
        self.classes.is_some() || self.attach_embedding
    }

    /// One inference, with the embedding output when custom classes or
    /// `attach-embedding` need it; before `deadline`, the frame's, where the backend
    /// has one.
    fn infer(
        &self,
        tensors: &[f32],
        images: usize,
        deadline: Option<Instant>,
    ) -> Result<Scores, BackendError> {
        if self.needs_embedding() {
            self.backend.run_embedded(tensors, images)
        } else if let Some(deadline) = deadline {
            self.backend.run_until(tensors, images, deadline)
        } else {
            self.backend.run(tensors, images)
        }
    }

    /// The model's score rows, or with custom classes one row of class scores per image
    /// from its unit-length embedding (NaN where the embedding is not usable, which the
    /// non-finite check then catches).
    fn rows(&self, rows: Vec<f32>, embeddings: Vec<f32>, images: usize) -> Rows {
        if !self.needs_embedding() {
            return Rows {
                rows,
                embeddings: vec![None; images],
                similarities: Vec::new(),
            };
        }
        let width = embeddings.len() / images.max(1);
        let mut out = Rows {
            rows: if self.classes.is_some() {
                Vec::new()
            } else {
                rows
            },
            embeddings: Vec::with_capacity(images),
            similarities: Vec::with_capacity(images),
        };
        let mut class_row = Vec::new();
        for chunk in embeddings.chunks(width.max(1)).take(images) {
            let mut embedding = chunk.to_vec();
            // A zero embedding stays zero (similarity 0 to every class); a non-finite
            // one gives NaN scores, caught as a broken model.
            normalise(&mut embedding);
            if let Some(classes) = &self.classes {
                out.similarities
                    .push(classes.scores(&embedding, &mut class_row));
                out.rows.extend(&class_row);
            }
            out.embeddings
                .push(self.attach_embedding.then_some(embedding));
        }
        out
    }

    /// Postprocessing, then `unknown` when the best class's cosine `similarity` is
    /// below `min-similarity`, with custom classes.
    fn label(
        &self,
        row: &[f32],
        similarity: Option<f32>,
        smoother: &mut Smoother,
        params: Params,
    ) -> Labelled {
        let labelled = self.post.process(row, smoother, params);
        match (&self.classes, similarity) {
            (Some(classes), Some(similarity)) => or_unknown(
                labelled,
                f64::from(similarity),
                params.min_similarity,
                classes.labels.len(),
            ),
            _ => labelled,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The model's name, as results carry it.
    pub fn model_name(&self) -> &str {
        &self.backend.info().name
    }

    /// Inferences worth running at once (the backend's `concurrency`).
    pub fn concurrency(&self) -> usize {
        self.backend.concurrency()
    }

    /// Copies a remote backend's request counters into `stats`.
    fn note_requests(&self) {
        if let Some(requests) = self.backend.requests() {
            lock(&self.stats).requests = Some(requests);
        }
    }

    /// The backend's warnings since the last call (an endpoint that came back
    /// misconfigured), for the bus.
    pub fn warnings(&self) -> Vec<String> {
        self.backend.warnings()
    }

    /// Forgets the smoothing history (flush, seek, format change).
    pub fn reset(&self) {
        lock(&self.smoother).reset();
        lock(&self.region_smoothers).clear();
    }

    fn result(
        &self,
        target: Target,
        took: std::time::Duration,
        pts: Option<gst::ClockTime>,
        provider: Option<String>,
    ) -> Classification {
        Classification {
            classifier: self.id.clone(),
            target,
            model: self.model_name().to_string(),
            labels: Vec::new(),
            class_ids: Vec::new(),
            scores: Vec::new(),
            inference_time_ns: took.as_nanos() as u64,
            provider: provider.unwrap_or_else(|| self.backend.provider()),
            fresh: true,
            source_pts: pts,
            // Numbered by the stream when it takes the result.
            seq: 0,
            regions: Vec::new(),
            embedding: None,
        }
    }

    /// Classifies all regions (or zones, `target` says which) of one frame, at most
    /// `chunk` per inference so memory stays bounded whatever the number of regions:
    /// `prepare` writes the tensors of the regions it is given into the slice, one after
    /// another.
    #[allow(clippy::too_many_arguments)]
    pub fn run_regions(
        &self,
        target: Target,
        regions: &[RegionInput],
        chunk: usize,
        batch: &mut Vec<f32>,
        mut prepare: impl FnMut(&[RegionInput], &mut [f32]) -> Result<(), String>,
        frame: u64,
        pts: Option<gst::ClockTime>,
        params: Params,
    ) -> Outcome {
        let started = Instant::now();
        // One deadline for all chunks: a frame waits at most `server-timeout` in all.
        let deadline = self.backend.deadline();
        let len = self.backend.info().spec.tensor.len();
        let mut rows = Vec::with_capacity(regions.len() * self.post.classes());
        let mut embeddings = Vec::new();
        let mut calls = 0;
        let mut provider = None;
        for part in regions.chunks(chunk.max(1)) {
            batch.resize(part.len() * len, 0.0);
            if let Err(why) = prepare(part, batch) {
                return Outcome::Unreadable(why);
            }
            let ran = self.infer(batch, part.len(), deadline);
            self.note_requests();
            match ran {
                Ok(scores) => {
                    rows.extend(scores.rows);
                    embeddings.extend(scores.embeddings);
                    calls += scores.calls;
                    provider = scores.provider.or(provider);
                }
                Err(e) => return failed(e),
            }
        }
        let took = started.elapsed();
        lock(&self.stats).record_inference(took, calls as u64, regions.len() as u64);
        let Rows {
            rows,
            embeddings,
            similarities,
        } = self.rows(rows, embeddings, regions.len());
        if !all_finite(&rows) {
            return Outcome::NonFinite;
        }
        let classes = self.post.classes().max(1);
        let zones = target == Target::Zones;
        // A zone is its name (names are unique); an ROI is its id, when unique.
        let key = |input: &RegionInput| {
            if zones {
                Some(RegionKey::Zone(input.roi_type.clone()))
            } else {
                unique_id(regions, input.roi_id).then_some(RegionKey::Roi(input.roi_id))
            }
        };
        let mut smoothers = lock(&self.region_smoothers);
        // An id on several ROIs of one frame says nothing about which object is which:
        // those are classified on their own, and keep no history. A zone gone from the
        // frame (removed, or outside it) forgets its history too.
        smoothers.retain(|k, _| match k {
            RegionKey::Roi(id) => !zones && unique_id(regions, *id),
            RegionKey::Zone(name) => zones && regions.iter().any(|r| r.roi_type == *name),
        });
        if !zones && regions.iter().any(|r| !unique_id(regions, r.roi_id)) {
            gst::debug!(
                super::CAT,
                "frame {frame}: ROI ids repeat; those ROIs are not smoothed and their \
                 results are matched to them by rectangle, so frames between inferences \
                 do not carry them"
            );
        }
        let results = regions
            .iter()
            .zip(rows.chunks(classes))
            .zip(embeddings)
            .enumerate()
            .map(|(i, ((input, row), embedding))| {
                let mut own = Smoother::new();
                let smoother = match key(input) {
                    Some(k) => smoothers.entry(k).or_default(),
                    None => &mut own,
                };
                let labelled = self.label(row, similarities.get(i).copied(), smoother, params);
                let r = input.region;
                RegionResult {
                    roi_id: input.roi_id,
                    roi_type: input.roi_type.clone(),
                    rect: (r.x as u32, r.y as u32, r.width as u32, r.height as u32),
                    labels: labelled.labels,
                    class_ids: labelled.class_ids,
                    scores: labelled.scores,
                    embedding,
                }
            })
            .collect();
        Outcome::Done {
            frame,
            result: Box::new(Classification {
                regions: results,
                ..self.result(target, took, pts, provider)
            }),
        }
    }

    /// Runs an async job: a whole frame, or the regions of one, prepared by the
    /// streaming thread so that it never waits for the backend.
    pub fn run_job(&self, job: Job) -> Outcome {
        let Some(regions) = &job.regions else {
            return self.run(&job.tensor, job.frame, job.pts, job.params);
        };
        let mut prepared = job.tensor.as_slice();
        self.run_regions(
            regions.target,
            &regions.inputs,
            regions.max_batch,
            &mut Vec::new(),
            |_, out| {
                if prepared.len() < out.len() {
                    return Err("fewer region tensors than regions were prepared".to_string());
                }
                let (next, rest) = prepared.split_at(out.len());
                out.copy_from_slice(next);
                prepared = rest;
                Ok(())
            },
            job.frame,
            job.pts,
            job.params,
        )
    }

    pub fn run(
        &self,
        tensor: &[f32],
        frame: u64,
        pts: Option<gst::ClockTime>,
        params: Params,
    ) -> Outcome {
        let started = Instant::now();
        let ran = self.infer(tensor, 1, self.backend.deadline());
        self.note_requests();
        let (rows, embeddings, provider) = match ran {
            Ok(scores) => (scores.rows, scores.embeddings, scores.provider),
            Err(e) => return failed(e),
        };
        let took = started.elapsed();
        lock(&self.stats).record_inference(took, 1, 0);
        let Rows {
            rows,
            embeddings,
            similarities,
        } = self.rows(rows, embeddings, 1);
        if !all_finite(&rows) {
            return Outcome::NonFinite;
        }
        let labelled = self.label(
            &rows,
            similarities.first().copied(),
            &mut lock(&self.smoother),
            params,
        );
        Outcome::Done {
            frame,
            result: Box::new(Classification {
                labels: labelled.labels,
                class_ids: labelled.class_ids,
                scores: labelled.scores,
                embedding: embeddings.into_iter().next().flatten(),
                ..self.result(Target::Frame, took, pts, provider)
            }),
        }
    }
}

/// A backend error as an outcome: a server that did not answer costs a label, not the
/// stream.
fn failed(e: BackendError) -> Outcome {
    match e {
        BackendError::Unavailable(why) => Outcome::Unavailable(why),
        e => Outcome::Failed(e.to_string()),
    }
}
