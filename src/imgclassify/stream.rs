//! What lives for one stream, and the per-frame path, one way: frame → job (the frame,
//! its regions or its zones, preprocessed) → classifier and backend (here in `sync`
//! mode, on the worker in `async` mode) → outcome → the result the buffer carries, and
//! the notices to post. Made at READY→PAUSED; the scheduler and the worker start afresh
//! at flush and caps change. The only writer of the element's `stats`.

mod tracked;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;

use super::frame::VideoInput;
use super::inbox::InboxFeed;
use super::output::Notice;
use super::settings::FrameInputs;
use super::{Mode, ResizeMode, Target};
use crate::core::changes::{Seen, Tracker};
use crate::core::classifier::Classifier;
use crate::core::job::{Job, Outcome, Prepared, What};
use crate::core::loading::Loaded;
use crate::core::lock::lock;
use crate::core::model::ModelSpec;
use crate::core::preprocess::{FrameView, Preprocessor};
use crate::core::regions::RegionInput;
use crate::core::schedule::{Carried, Decision, Scheduler};
use crate::core::stats::Stats;
use crate::core::unchanged::{Check, Unchanged};
use crate::core::worker::Worker;
use crate::core::zones::Zones;
use crate::meta;
use crate::result::{Classification, Target as ResultTarget};

/// One buffer, and the settings it is processed with.
pub struct FrameInput<'a> {
    pub buf: &'a gst::BufferRef,
    pub inputs: &'a FrameInputs,
    /// Downstream's QoS says the frame is late: no inference for it.
    pub late: bool,
}

pub struct Stream {
    /// The model in use, replaced whole while running (`swap`); read at each frame's start.
    model: Arc<ArcSwap<Loaded>>,
    in_use: Arc<Loaded>,
    classifier: Arc<Classifier>,
    spec: ModelSpec,
    stats: Arc<Mutex<Stats>>,
    /// Only in `async` mode; each job runs on the model of the frame it came from.
    worker: Option<Worker<(Arc<Classifier>, Prepared), Outcome>>,
    /// Set by the element when it leaves PAUSED: the frame being classified (here or on
    /// the worker) ends between two batches, so the state change waits for one batch,
    /// not for every zone or region of the frame.
    cancel: Arc<AtomicBool>,
    schedule: Scheduler<Classification>,
    /// Inference results so far, for their `seq`; never reset, so a number is never
    /// reused while the stream runs.
    results: u64,
    preprocessor: Preprocessor,
    resize_mode: ResizeMode,
    /// One batch of tensors, reused from frame to frame in `sync` mode.
    batch: Vec<f32>,
    /// `unchanged-threshold`: the inputs of the result the frames carry.
    unchanged: Unchanged,
    /// The frame of the job last handed to the worker (`async` mode).
    submitted: Option<u64>,
    /// Set by caps; None until negotiated.
    video: Option<VideoInput>,
    /// The zones the frames were last classified with (`target=zones`).
    zones: Option<Arc<Zones>>,
    /// The last top-1 label of the frame and of each zone, for change events. Kept
    /// across flushes and caps changes, so a scene that did not change posts nothing.
    changes: Tracker,
    /// Stands in for the PTS of buffers that have none, for `change-confirm`.
    started: Instant,
    /// Warnings already posted this run, so a bad stream does not flood the bus.
    warned_frame: bool,
    warned_scores: bool,
    /// No inference server answered the last request (warned once per outage).
    outage: bool,
    warned_duplicate: bool,
    /// Zones outside the frame (or none set) were warned about, for these zones and size.
    warned_zones: bool,
    /// `target=regions` with `reclassify-interval`: the objects and their labels.
    tracked: tracked::Tracked,
    /// `inbox-dir`: where unsure results go.
    inbox: Option<InboxFeed>,
}

impl Stream {
    /// READY→PAUSED: in `async` mode the inference threads start. Setting `cancel` ends
    /// the frame in progress early; the stream is then of no more use.
    pub fn start(
        cell: Arc<ArcSwap<Loaded>>,
        mode: Mode,
        resize_mode: ResizeMode,
        stats: Arc<Mutex<Stats>>,
        cancel: Arc<AtomicBool>,
    ) -> std::io::Result<Stream> {
        let model = cell.load_full();
        let classifier = Arc::clone(&model.classifier);
        classifier.reset();
        let worker = match mode {
            Mode::Sync => None,
            Mode::Async => {
                let cancel = Arc::clone(&cancel);
                Some(Worker::start(
                    "imgclassify-infer",
                    classifier.info().placement.concurrency,
                    move |(runs, p): (Arc<Classifier>, Prepared)| {
                        runs.run_prepared(p.job, &p.tensors, &cancel)
                    },
                )?)
            }
        };
        let spec = model.spec.clone();
        // In `async` mode a job waits for its answer while the worker runs as many as
        // the backend's concurrency, and one more waits for a thread.
        let in_flight = match &worker {
            Some(_) => classifier.info().placement.concurrency + 1,
            None => 1,
        };
        Ok(Stream {
            model: cell,
            in_use: model,
            unchanged: Unchanged::new(&spec.tensor, in_flight),
            submitted: None,
            preprocessor: preprocessor(&spec, resize_mode),
            classifier,
            spec,
            stats,
            worker,
            cancel,
            schedule: Scheduler::default(),
            results: 0,
            resize_mode,
            batch: Vec::new(),
            video: None,
            zones: None,
            changes: Tracker::default(),
            started: Instant::now(),
            warned_frame: false,
            warned_scores: false,
            outage: false,
            warned_duplicate: false,
            warned_zones: false,
            tracked: tracked::Tracked::default(),
            inbox: None,
        })
    }

    /// `inbox-dir`, set at READY→PAUSED.
    pub fn set_inbox(&mut self, inbox: Option<InboxFeed>) {
        self.inbox = inbox;
    }

    /// PAUSED→READY: hands out the worker, to be joined with no lock held.
    pub fn stop(mut self) -> Option<Worker<(Arc<Classifier>, Prepared), Outcome>> {
        self.worker.take()
    }

    /// New caps: a new frame size or format starts the stream afresh.
    pub fn set_video(&mut self, video: VideoInput) {
        self.video = Some(video);
        self.warned_frame = false;
        self.warned_zones = false;
        self.restart();
    }

    /// Starts the stream afresh: after a flush, a caps change or a restart.
    pub fn restart(&mut self) {
        self.schedule.reset();
        self.tracked.reset();
        self.unchanged.reset();
        self.classifier.reset();
        if let Some(worker) = &self.worker {
            worker.reset();
        }
    }

    /// Runs (or skips) inference for one frame and returns the result the buffer
    /// carries; messages to post go to `notices`.
    pub fn process(
        &mut self,
        input: &FrameInput<'_>,
        notices: &mut Vec<Notice>,
    ) -> Result<Option<Carried<Classification>>, gst::FlowError> {
        let settings = input.inputs.settings;
        if !Arc::ptr_eq(&self.model.load(), &self.in_use) {
            self.adopt(self.model.load_full(), notices);
        }
        if self.resize_mode != settings.resize_mode {
            self.preprocessor = preprocessor(&self.spec, settings.resize_mode);
            self.resize_mode = settings.resize_mode;
        }
        let target = ResultTarget::from(settings.target);
        self.check_duplicate(input.buf, target, notices);
        if settings.target == Target::Zones {
            self.follow_zones(&input.inputs.zones);
        }
        // Tracked objects are looked at on every frame; each is classified when due.
        let tracking = settings.target == Target::Regions && settings.reclassify.interval > 0;
        let interval = if tracking { 1 } else { settings.interval };
        let (frame, decision) =
            self.schedule
                .next_frame(interval, input.late, self.worker.is_some());
        {
            let mut stats = lock(&self.stats);
            stats.frames_seen += 1;
            if decision == Decision::SkipLate {
                stats.qos_skipped += 1;
            }
        }
        if tracking {
            return self.process_tracked(input, (frame, decision), notices);
        }
        if decision == Decision::Classify {
            match self.job(input, frame, notices) {
                Some(job) => {
                    self.classify(input.buf, job, settings.unchanged_threshold, notices)?
                }
                None => self.warn_frame("no caps were negotiated", notices),
            }
        }
        // An answer of another target (the property changed since) is not this one's.
        if let Some(outcome) = self.worker.as_ref().and_then(Worker::take)
            && !matches!(&outcome, Outcome::Done { result, .. } if result.target != target)
        {
            self.take(outcome, notices)?;
        }
        let carried = self.schedule.carried(frame);
        // Every buffer that carries a result is seen, not only the first: a label held
        // by carried results (`inference-interval`, `mode=async`) confirms on the first
        // buffer past `change-confirm`, as in `classifyjson`, which sees every buffer.
        if let Some(c) = carried.as_ref() {
            // Tracked whether posted or not, so turning `post-changes` on mid-stream
            // posts only what changes from then on.
            self.changes
                .set_confirm(Duration::from_millis(settings.change_confirm_ms.into()));
            let seen = Seen {
                at: self.stream_time(input.buf),
                wall: SystemTime::now(),
            };
            for change in self.changes.update(&c.result, seen) {
                if settings.post_changes {
                    notices.push(Notice::Change {
                        change,
                        pts: input.buf.pts(),
                    });
                }
            }
            if let (Some(inbox), Some(video)) = (self.inbox.as_mut(), self.video.as_ref()) {
                inbox.offer((video, input.buf), &c.result, &self.stats, notices);
            }
        }
        Ok(carried)
    }

    /// The time `change-confirm` counts in: the PTS, or for a buffer without one the
    /// time since the stream started.
    fn stream_time(&self, buf: &gst::BufferRef) -> Duration {
        buf.pts().map_or_else(
            || self.started.elapsed(),
            |pts| Duration::from_nanos(pts.nseconds()),
        )
    }

    /// A new model or class set from this frame on, as a fresh start would have it: no
    /// result of the old one is carried, and answers of it still in flight are dropped.
    fn adopt(&mut self, loaded: Arc<Loaded>, notices: &mut Vec<Notice>) {
        self.classifier = Arc::clone(&loaded.classifier);
        self.classifier.reset();
        self.spec = loaded.spec.clone();
        self.preprocessor = preprocessor(&self.spec, self.resize_mode);
        let in_flight = match &self.worker {
            Some(_) => self.classifier.info().placement.concurrency + 1,
            None => 1,
        };
        self.unchanged = Unchanged::new(&self.spec.tensor, in_flight);
        self.schedule.start_over();
        self.submitted = None;
        // Labels of the old model must not be voted with the new one's.
        self.tracked.reset();
        if let Some(worker) = &self.worker {
            worker.reset();
        }
        lock(&self.stats).examples = loaded.examples;
        (self.warned_duplicate, self.warned_scores) = (false, false);
        if let Some(swapped) = &loaded.swapped {
            notices.push(Notice::Swapped(swapped.clone()));
            if let Some(inbox) = self.inbox.as_mut() {
                inbox.model_swapped(&loaded.path);
            }
        }
        self.in_use = loaded;
    }

    fn check_duplicate(
        &mut self,
        buf: &gst::BufferRef,
        target: ResultTarget,
        notices: &mut Vec<Notice>,
    ) {
        let id = self.classifier.id();
        if !self.warned_duplicate && meta::carries(buf, id, target) {
            self.warned_duplicate = true;
            notices.push(Notice::DuplicateClassifier {
                id: id.to_string(),
                target: target.name(),
            });
        }
    }

    /// New zones apply from this frame: the result carried so far, and any answer
    /// still in flight, is of the old ones.
    fn follow_zones(&mut self, zones: &Arc<Zones>) {
        if self.zones.as_ref().is_some_and(|z| Arc::ptr_eq(z, zones)) {
            return;
        }
        if self.zones.is_some() {
            self.schedule.start_over();
            self.unchanged.reset();
            if let Some(worker) = &self.worker {
                worker.reset();
            }
        }
        self.zones = Some(Arc::clone(zones));
        self.warned_zones = false;
    }

    /// What this frame asks of the classifier; None before caps.
    fn job(
        &mut self,
        input: &FrameInput<'_>,
        frame: u64,
        notices: &mut Vec<Notice>,
    ) -> Option<Job> {
        let settings = input.inputs.settings;
        let video = self.video.as_ref()?;
        let inputs = match settings.target {
            Target::Frame => None,
            Target::Regions => Some(video.regions(input.buf, &input.inputs.selection)),
            Target::Zones => Some(self.place_zones(input.inputs, notices)?),
        };
        let what = match inputs {
            None => What::Frame,
            Some(inputs) => What::Regions {
                target: settings.target.into(),
                inputs,
                max_batch: settings.max_batch,
                unchanged: Vec::new(),
            },
        };
        Some(Job {
            frame,
            pts: input.buf.pts(),
            params: settings.params,
            what,
        })
    }

    /// The zones on the negotiated frame, clipped to it, the first `max-regions` of them;
    /// warns once (per zones value and frame size) about zones with no pixel in the
    /// frame, or about no zones at all.
    fn place_zones(
        &mut self,
        inputs: &FrameInputs,
        notices: &mut Vec<Notice>,
    ) -> Option<Vec<RegionInput>> {
        let zones = &inputs.zones;
        let info = &self.video.as_ref()?.info;
        let (width, height) = (info.width(), info.height());
        let placed = zones.inputs(width as usize, height as usize);
        if !self.warned_zones && (zones.is_empty() || !placed.outside.is_empty()) {
            self.warned_zones = true;
            notices.push(Notice::ZonesOutside {
                names: placed.outside.clone(),
                width,
                height,
            });
        }
        let mut placed = placed.inputs;
        // Zones have no size order to pick by: the user's order says which matter most.
        if inputs.selection.max_regions > 0 {
            placed.truncate(inputs.selection.max_regions as usize);
        }
        Some(placed)
    }

    /// Preprocesses the job's images and runs them: here, one batch at a time, so
    /// memory stays bounded by `max-batch`; or all prepared at once and handed to the
    /// worker, so the streaming thread never waits for the backend. With
    /// `unchanged-threshold` (whole frame or zones) all are prepared first in `sync`
    /// mode too, and compared with the inputs of the result carried: what did not
    /// change is not classified.
    fn classify(
        &mut self,
        buf: &gst::BufferRef,
        job: Job,
        threshold: f64,
        notices: &mut Vec<Notice>,
    ) -> Result<(), gst::FlowError> {
        let Some(video) = self.video.as_ref() else {
            return Ok(());
        };
        let len = self.preprocessor.spec().len();
        let (pre, batch) = (&mut self.preprocessor, &mut self.batch);
        let regions: Vec<Option<crate::core::preprocess::Region>> = match &job.what {
            What::Frame => vec![None],
            What::Regions { inputs, .. } => inputs.iter().map(|r| Some(r.region)).collect(),
        };
        let mut prepare = |view: &FrameView<'_>, part: &[Option<_>], out: &mut Vec<f32>| {
            out.resize(part.len() * len, 0.0);
            for (region, tensor) in part.iter().zip(out.chunks_mut(len)) {
                pre.run_region(view, *region, tensor)
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        };
        let checked = threshold > 0.0
            && !matches!(
                job.what,
                What::Regions {
                    target: ResultTarget::Regions,
                    ..
                }
            );
        let by_batch = self.worker.is_none() && !checked;
        let step = video.with_frame(buf, |view| {
            if !by_batch {
                prepare(view, &regions, batch)?;
                let tensors = std::mem::take(batch);
                return Ok(Step::Prepared(Prepared { job, tensors }));
            }
            let per_batch = job.batch_size();
            let mut pass = self.classifier.start(job, &self.cancel);
            for part in regions.chunks(per_batch) {
                prepare(view, part, batch)?;
                if let Err(outcome) = pass.run(batch, part.len()) {
                    return Ok(Step::Done(outcome));
                }
            }
            Ok(Step::Done(pass.finish()))
        });
        match step {
            Ok(Step::Done(outcome)) => self.take(outcome, notices),
            Ok(Step::Prepared(prepared)) => match self.changed(prepared, checked, threshold) {
                Some(prepared) => self.run(prepared, notices),
                None => Ok(()),
            },
            Err(why) => {
                self.warn_frame(&why, notices);
                Ok(())
            }
        }
    }

    /// Hands a prepared job to the worker, or runs it here and keeps its tensor memory
    /// for the next frame.
    fn run(&mut self, prepared: Prepared, notices: &mut Vec<Notice>) -> Result<(), gst::FlowError> {
        let Some(worker) = &self.worker else {
            let Prepared { job, tensors } = prepared;
            let outcome = self.classifier.run_prepared(job, &tensors, &self.cancel);
            self.batch = tensors;
            return self.take(outcome, notices);
        };
        let frame = prepared.job.frame;
        // The job replaced is the one submitted before: no thread had taken it.
        if worker.submit((Arc::clone(&self.classifier), prepared)) {
            lock(&self.stats).results_dropped += 1;
            if let Some(before) = self.submitted {
                self.unchanged.dropped(before);
            }
        }
        self.submitted = Some(frame);
        Ok(())
    }

    /// What is left to classify of a prepared job once compared with the inputs of the
    /// result carried; None when nothing changed.
    fn changed(&mut self, prepared: Prepared, checked: bool, threshold: f64) -> Option<Prepared> {
        if !checked {
            return Some(prepared);
        }
        match self.unchanged.check(prepared, threshold) {
            Check::Unchanged { prepared, zones } => {
                let mut stats = lock(&self.stats);
                stats.frames_unchanged += 1;
                stats.zones_unchanged += zones;
                // Its memory serves the next frame.
                self.batch = prepared.tensors;
                None
            }
            Check::Classify {
                prepared,
                unchanged_zones,
            } => {
                lock(&self.stats).zones_unchanged += unchanged_zones;
                Some(prepared)
            }
        }
    }

    /// The frame still flows on, unlabelled: losing video is worse than losing one label.
    fn warn_frame(&mut self, why: &str, notices: &mut Vec<Notice>) {
        if !self.warned_frame {
            self.warned_frame = true;
            notices.push(Notice::UnreadableFrame(why.to_string()));
        }
    }

    /// Makes an inference outcome the current result, or says why there is none.
    fn take(&mut self, outcome: Outcome, notices: &mut Vec<Notice>) -> Result<(), gst::FlowError> {
        let telemetry = self.classifier.telemetry();
        notices.extend(telemetry.warnings.into_iter().map(Notice::Server));
        let mut stats = lock(&self.stats);
        if telemetry.requests.is_some() {
            stats.requests = telemetry.requests;
        }
        if let Some(spin) = telemetry
            .spinning
            .filter(|s| stats.spinning != Some(s.mode))
        {
            stats.spinning = Some(spin.mode);
            notices.push(Notice::Spinning(format!(
                "spinning {} ({})",
                spin.mode, spin.why
            )));
        }
        match outcome {
            Outcome::Done {
                frame,
                mut result,
                calls,
            } => {
                self.outage = false;
                let took = std::time::Duration::from_nanos(result.inference_time_ns);
                stats.record_inference(took, calls, result.regions.len() as u64);
                if self.tracked.expects(frame) {
                    self.results += 1;
                    result.seq = self.results;
                    self.tracked.take(frame, &result);
                    return Ok(());
                }
                if self.schedule.takes(frame) {
                    self.unchanged.classified(frame, &mut result);
                }
                result.seq = self.results + 1;
                if self.schedule.finished(frame, *result) {
                    self.results += 1;
                }
                Ok(())
            }
            Outcome::NonFinite => {
                self.schedule.forget();
                self.unchanged.forget();
                if !self.warned_scores {
                    self.warned_scores = true;
                    notices.push(Notice::NonFinite {
                        model: self.classifier.info().name.clone(),
                    });
                }
                Ok(())
            }
            Outcome::Unreadable(why) => {
                drop(stats);
                self.warn_frame(&why, notices);
                Ok(())
            }
            // One warning per outage, not one per frame; the next result ends it.
            Outcome::Unavailable(why) => {
                self.schedule.forget();
                self.unchanged.forget();
                stats.frames_unanswered += 1;
                if !self.outage {
                    self.outage = true;
                    notices.push(Notice::Unavailable(why));
                }
                Ok(())
            }
            Outcome::Failed(e) => {
                notices.push(Notice::Failed(e));
                Err(gst::FlowError::Error)
            }
            // The element is stopping: the frame is not worth a word.
            Outcome::Cancelled => Ok(()),
        }
    }
}

/// A frame's tensors: classified batch by batch as they were prepared, or all prepared.
enum Step {
    Done(Outcome),
    Prepared(Prepared),
}

fn preprocessor(spec: &ModelSpec, mode: ResizeMode) -> Preprocessor {
    Preprocessor::new(spec.tensor.clone(), mode.into(), spec.crop_fraction)
}
