//! Prepared tensors → `Classification`: the backend runs them, postprocessing labels
//! them. A job's images go through one [`Pass`]: batch after batch into the backend,
//! then labelled at once. The streaming thread drives a pass in `sync` mode, the async
//! worker in `async` mode; both the same way.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::backend::{Backend, BackendError, Batch, ModelInfo, Telemetry, batching};
use crate::core::classes::{Best, ClassSet, normalise, or_unknown};
use crate::core::job::{Job, Outcome, What};
use crate::core::lock::lock;
use crate::core::postprocess::{Activation, Labelled, Params, Postprocessor, Smoother, all_finite};
use crate::core::regions::{RegionInput, unique_id};
use crate::result::{Classification, RegionResult, Target};

/// Whose history a region's smoother holds: an ROI id (regions from a detector, whose
/// tracker keeps ids stable) or a zone's name (the stable key of a zone).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RegionKey {
    Roi(i32),
    Zone(String),
}

pub struct Classifier {
    /// The id its results carry (`classifier-id`, by default the element's name).
    id: String,
    backend: Arc<dyn Backend>,
    post: Postprocessor,
    smoother: Mutex<Smoother>,
    /// Per ROI id; upstream trackers keep ids stable, so labels of one object are
    /// smoothed. ROIs whose id repeats on a frame are not smoothed (see `label_regions`).
    /// Per zone name with `target=zones`.
    region_smoothers: Mutex<HashMap<RegionKey, Smoother>>,
    /// With `classes-dir`: the custom classes, scored from the embedding; the
    /// postprocessor then holds their labels.
    classes: Option<ClassSet>,
    /// `attach-embedding`: results carry each image's unit-length embedding.
    attach_embedding: bool,
}

/// The rows the postprocessor ranks, the embeddings results carry, and with custom
/// classes each image's best class (for `min-similarity`; empty without).
struct Rows {
    rows: Vec<f32>,
    embeddings: Vec<Option<Vec<f32>>>,
    similarities: Vec<Best>,
}

/// One job's way through the backend: batches go in as they are prepared, under one
/// deadline for the whole frame, and the scores gather until `finish` labels them.
pub struct Pass<'c> {
    classifier: &'c Classifier,
    job: Job,
    started: Instant,
    /// A frame waits at most `server-timeout` in all, whatever the number of batches.
    deadline: Option<Instant>,
    /// Set when the element leaves PAUSED: the job ends before its next batch, and a
    /// request to a server in flight is abandoned.
    cancel: &'c AtomicBool,
    rows: Vec<f32>,
    embeddings: Vec<f32>,
    calls: u64,
    provider: Option<String>,
}

impl Pass<'_> {
    /// Runs the next `images` tensors of the job.
    pub fn run(&mut self, tensors: &[f32], images: usize) -> Result<(), Outcome> {
        let c = self.classifier;
        let batch = Batch {
            tensors,
            images,
            embed: c.needs_embedding(),
            deadline: self.deadline,
            cancel: Some(self.cancel),
        };
        let scores = batching::run(c.backend.as_ref(), &batch).map_err(failed)?;
        self.rows.extend(scores.rows);
        self.embeddings.extend(scores.embeddings);
        self.calls += scores.calls as u64;
        self.provider = scores.provider.or(self.provider.take());
        Ok(())
    }

    /// Labels every image the batches held.
    pub fn finish(self) -> Outcome {
        let took = self.started.elapsed();
        let c = self.classifier;
        let images = self.job.images();
        let rows = c.rows(self.rows, self.embeddings, images);
        if !all_finite(&rows.rows) {
            return Outcome::NonFinite;
        }
        let head = c.result(took, self.job.pts, self.provider);
        let result = match &self.job.what {
            What::Frame => c.label_frame(rows, self.job.params, head),
            What::Regions {
                target,
                inputs,
                unchanged,
                ..
            } => c.label_regions(
                (inputs, unchanged),
                rows,
                self.job.params,
                Classification {
                    target: *target,
                    ..head
                },
            ),
        };
        Outcome::Done {
            frame: self.job.frame,
            result: Box::new(result),
            calls: self.calls,
        }
    }
}

impl Classifier {
    pub fn new(id: String, backend: Arc<dyn Backend>, post: Postprocessor) -> Classifier {
        Classifier {
            id,
            backend,
            post,
            smoother: Mutex::new(Smoother::new()),
            region_smoothers: Mutex::new(HashMap::new()),
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

    /// The same model and id with another class set, and no smoothing history (the
    /// class ids changed): what a fresh start with these classes would be.
    pub fn with_classes(&self, classes: ClassSet) -> Classifier {
        let labels = classes.labels.clone();
        // Class scores are similarities in [0, 1] already.
        let post = Postprocessor::new(Activation::None, labels);
        Classifier::new(self.id.clone(), Arc::clone(&self.backend), post)
            .with_embedding(Some(classes), self.attach_embedding)
    }

    /// The custom classes in use, with `classes-dir`.
    pub fn classes(&self) -> Option<&ClassSet> {
        self.classes.as_ref()
    }

    fn needs_embedding(&self) -> bool {
        self.classes.is_some() || self.attach_embedding
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The model and where it runs.
    pub fn info(&self) -> &ModelInfo {
        self.backend.info()
    }

    /// The backend's request counters and new warnings.
    pub fn telemetry(&self) -> Telemetry {
        self.backend.telemetry()
    }

    /// Forgets the smoothing history (flush, seek, format change).
    pub fn reset(&self) {
        lock(&self.smoother).reset();
        lock(&self.region_smoothers).clear();
    }

    /// Starts a job's pass through the backend; setting `cancel` ends it early.
    pub fn start<'c>(&'c self, job: Job, cancel: &'c AtomicBool) -> Pass<'c> {
        let started = Instant::now();
        let limit: Option<Duration> = self.backend.info().placement.time_limit;
        Pass {
            classifier: self,
            job,
            started,
            deadline: limit.map(|l| started + l),
            cancel,
            rows: Vec::new(),
            embeddings: Vec::new(),
            calls: 0,
            provider: None,
        }
    }

    /// A job whose tensors are all prepared (the async worker's, or with
    /// `unchanged-threshold`), `max-batch` images per inference, until `cancel` is set.
    /// The tensors are only read, so their memory can serve the next frame.
    pub fn run_prepared(&self, job: Job, tensors: &[f32], cancel: &AtomicBool) -> Outcome {
        let len = self.backend.info().spec.tensor.len().max(1);
        let (images, per_batch) = (job.images(), job.batch_size());
        if tensors.len() != images * len {
            return Outcome::Unreadable(format!(
                "{} region tensors were prepared for {images} regions",
                tensors.len() / len
            ));
        }
        let mut pass = self.start(job, cancel);
        for chunk in tensors.chunks(per_batch * len) {
            if let Err(outcome) = pass.run(chunk, chunk.len() / len) {
                return outcome;
            }
        }
        pass.finish()
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
                    .push(classes.best(&embedding, &mut class_row));
                out.rows.extend(&class_row);
            }
            out.embeddings
                .push(self.attach_embedding.then_some(embedding));
        }
        out
    }

    /// Postprocessing, then `unknown` when the best class's cosine similarity is
    /// below `min-similarity` (or below the class's own threshold when it is -1), with
    /// custom classes.
    fn label(
        &self,
        row: &[f32],
        best: Option<Best>,
        smoother: &mut Smoother,
        params: Params,
    ) -> Labelled {
        let labelled = self.post.process(row, smoother, params);
        match (&self.classes, best) {
            (Some(classes), Some(best)) => or_unknown(
                labelled,
                f64::from(best.similarity),
                best.threshold(params.min_similarity),
                classes.labels.len(),
            ),
            _ => labelled,
        }
    }

    fn result(
        &self,
        took: Duration,
        pts: Option<gst::ClockTime>,
        provider: Option<String>,
    ) -> Classification {
        let info = self.backend.info();
        Classification {
            classifier: self.id.clone(),
            target: Target::Frame,
            model: info.name.clone(),
            labels: Vec::new(),
            class_ids: Vec::new(),
            scores: Vec::new(),
            inference_time_ns: took.as_nanos() as u64,
            provider: provider.unwrap_or_else(|| info.placement.provider.clone()),
            fresh: true,
            source_pts: pts,
            // Numbered by the stream when it takes the result.
            seq: 0,
            regions: Vec::new(),
            embedding: None,
        }
    }

    fn label_frame(&self, rows: Rows, params: Params, head: Classification) -> Classification {
        let labelled = self.label(
            &rows.rows,
            rows.similarities.first().copied(),
            &mut lock(&self.smoother),
            params,
        );
        Classification {
            labels: labelled.labels,
            class_ids: labelled.class_ids,
            scores: labelled.scores,
            embedding: rows.embeddings.into_iter().next().flatten(),
            ..head
        }
    }

    /// Each region's labels, smoothed per object where the object is known: a zone by
    /// its name, an ROI by its id where the id is unique on the frame.
    /// `head` holds the target: regions or zones. `unchanged`: the frame's zones not
    /// classified this time.
    fn label_regions(
        &self,
        (regions, unchanged): (&[RegionInput], &[String]),
        rows: Rows,
        params: Params,
        head: Classification,
    ) -> Classification {
        let classes = self.post.classes().max(1);
        let zones = head.target == Target::Zones;
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
            RegionKey::Zone(name) => {
                zones && (regions.iter().any(|r| r.roi_type == *name) || unchanged.contains(name))
            }
        });
        let results = regions
            .iter()
            .zip(rows.rows.chunks(classes))
            .zip(rows.embeddings)
            .enumerate()
            .map(|(i, ((input, row), embedding))| {
                let mut own = Smoother::new();
                let smoother = match key(input) {
                    Some(k) => smoothers.entry(k).or_default(),
                    None => &mut own,
                };
                let similarity = rows.similarities.get(i).copied();
                let labelled = self.label(row, similarity, smoother, params);
                let r = input.region;
                RegionResult {
                    roi_id: input.roi_id,
                    roi_type: input.roi_type.clone(),
                    rect: (r.x as u32, r.y as u32, r.width as u32, r.height as u32),
                    labels: labelled.labels,
                    class_ids: labelled.class_ids,
                    scores: labelled.scores,
                    embedding,
                    track: None,
                }
            })
            .collect();
        Classification {
            regions: results,
            ..head
        }
    }
}

/// A backend error as an outcome: a server that did not answer costs a label, not the
/// stream.
fn failed(e: BackendError) -> Outcome {
    match e {
        BackendError::Unavailable(why) => Outcome::Unavailable(why),
        BackendError::Cancelled => Outcome::Cancelled,
        e => Outcome::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backend::fake::Fake;
    use crate::core::preprocess::Region;
    use std::time::Duration;

    fn classifier(backend: Fake) -> (Classifier, Arc<Fake>) {
        let backend = Arc::new(backend);
        let labels = vec!["cat".into(), "dog".into(), "car".into()];
        let post = Postprocessor::new(Activation::Softmax, labels);
        let c = Classifier::new("c".into(), Arc::clone(&backend) as Arc<dyn Backend>, post);
        (c, backend)
    }

    fn params() -> Params {
        Params {
            top_k: 1,
            ..Params::default()
        }
    }

    fn zone(name: &str) -> RegionInput {
        RegionInput {
            roi_id: 0,
            roi_type: name.into(),
            region: Region {
                x: 0,
                y: 0,
                width: 2,
                height: 2,
            },
        }
    }

    fn zones_job(names: &[&str], max_batch: usize) -> Job {
        Job {
            frame: 7,
            pts: None,
            params: params(),
            what: What::Regions {
                target: Target::Zones,
                inputs: names.iter().map(|n| zone(n)).collect(),
                max_batch,
                unchanged: Vec::new(),
            },
        }
    }

    #[test]
    fn a_prepared_job_runs_max_batch_at_a_time_under_one_deadline_and_labels_in_order() {
        let (c, backend) = classifier(Fake::new(3, true, Some(Duration::from_secs(5))));
        let tensors = backend.images(&[2, 0, 1]);
        let job = zones_job(&["a", "b", "c"], 2);
        let Outcome::Done {
            frame,
            result,
            calls,
        } = c.run_prepared(job, &tensors, &AtomicBool::new(false))
        else {
            panic!("no result")
        };
        assert_eq!((frame, calls), (7, 2));
        assert_eq!(*backend.calls.lock().unwrap(), vec![(2, true), (1, true)]);
        assert_eq!(result.target, Target::Zones);
        assert_eq!(result.provider, "fake");
        let labels: Vec<(&str, &str)> = result
            .regions
            .iter()
            .map(|r| (r.roi_type.as_str(), r.labels[0].as_str()))
            .collect();
        assert_eq!(labels, vec![("a", "car"), ("b", "cat"), ("c", "dog")]);
    }

    #[test]
    fn a_zone_left_unclassified_because_it_did_not_change_keeps_its_smoothing_history() {
        for keep in [true, false] {
            let (c, backend) = classifier(Fake::new(3, true, None));
            let smoothed = Params {
                smoothing: 0.5,
                ..params()
            };
            let run = |names: &[&str], ids: &[usize], unchanged: &[&str]| {
                let mut job = zones_job(names, 8);
                job.params = smoothed;
                if let What::Regions { unchanged: u, .. } = &mut job.what {
                    *u = unchanged.iter().map(|n| n.to_string()).collect();
                }
                let tensors = backend.images(ids);
                match c.run_prepared(job, &tensors, &AtomicBool::new(false)) {
                    Outcome::Done { result, .. } => result.regions[0].labels[0].clone(),
                    other => panic!("{other:?}"),
                }
            };
            run(&["a", "b"], &[0, 0], &[]);
            run(&["a"], &[0], if keep { &["b"] } else { &[] });
            // With its history, b's cat and dog average to a tie: the sticky top-1 stays.
            let label = run(&["b"], &[1], &["a"]);
            assert_eq!(label, if keep { "cat" } else { "dog" }, "kept: {keep}");
        }
    }

    #[test]
    fn in_process_there_is_no_deadline_and_a_frame_is_one_image() {
        let (c, backend) = classifier(Fake::new(3, true, None));
        let job = Job {
            what: What::Frame,
            ..zones_job(&[], 1)
        };
        let go = AtomicBool::new(false);
        let mut pass = c.start(job, &go);
        pass.run(&backend.images(&[1]), 1).unwrap();
        let Outcome::Done { result, .. } = pass.finish() else {
            panic!("no result")
        };
        assert_eq!(result.target, Target::Frame);
        assert_eq!(result.labels, vec!["dog".to_string()]);
        assert_eq!(*backend.calls.lock().unwrap(), vec![(1, false)]);
    }

    #[test]
    fn tensors_that_do_not_fit_the_job_and_a_silent_server_are_outcomes_not_panics() {
        let (c, backend) = classifier(Fake::new(3, true, None));
        let tensors = backend.images(&[0]);
        let outcome = c.run_prepared(zones_job(&["a", "b"], 8), &tensors, &AtomicBool::new(false));
        assert!(matches!(outcome, Outcome::Unreadable(_)), "{outcome:?}");
        assert!(backend.calls.lock().unwrap().is_empty());

        let mut silent = Fake::new(3, true, None);
        silent.unavailable = Some("no server".into());
        let (c, backend) = classifier(silent);
        let tensors = backend.images(&[0, 1]);
        let outcome = c.run_prepared(zones_job(&["a", "b"], 8), &tensors, &AtomicBool::new(false));
        assert!(matches!(outcome, Outcome::Unavailable(ref why) if why == "no server"));
    }
}
