//! What lives for one stream, and the per-frame path: frame → preprocess → classifier →
//! the result the buffer carries. Started at READY→PAUSED; the scheduler and the worker
//! start afresh at flush and caps change.

use std::sync::Arc;
use std::time::Instant;

use super::classifier::{Classifier, Job, Outcome, RegionsJob};
use super::frame::VideoInput;
use super::output::Notice;
use super::schedule::{Carried, Decision, Scheduler};
use super::worker::Worker;
use super::{CAT, Mode, ResizeMode, Target};
use crate::changes::Tracker;
use crate::lock::lock;
use crate::meta;
use crate::model::ModelSpec;
use crate::postprocess::Params;
use crate::preprocess::{FrameView, Preprocessor};
use crate::regions::{RegionInput, Selection};
use crate::result::{Classification, Target as ResultTarget};
use crate::zones::Zones;

/// The settings read for every frame: small and `Copy`, so taking them costs nothing
/// and they never hold the settings lock during inference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameSettings {
    pub params: Params,
    pub interval: u32,
    pub target: Target,
    pub resize_mode: ResizeMode,
    pub post_messages: bool,
    /// Most regions in one inference (`max-batch`).
    pub max_batch: usize,
    /// Post an element message when a top-1 label changes (`post-changes`).
    pub post_changes: bool,
}

pub struct Stream {
    spec: ModelSpec,
    /// Only in `async` mode, between READY→PAUSED and PAUSED→READY.
    worker: Option<Worker<Job, Outcome>>,
    schedule: Scheduler<Classification>,
    /// Inference results so far, for their `seq`; never reset, so a number is never
    /// reused while the model is loaded.
    results: u64,
    preprocessor: Preprocessor,
    resize_mode: ResizeMode,
    tensor: Vec<f32>,
    /// The regions of one frame, one tensor after another.
    batch: Vec<f32>,
    /// Set by caps; None until negotiated.
    video: Option<VideoInput>,
    /// The zones the frames were last classified with (`target=zones`).
    zones: Option<Arc<Zones>>,
    /// The last top-1 label of the frame and of each zone, for change events. Kept
    /// across flushes and caps changes, so a scene that did not change posts nothing.
    changes: Tracker,
    /// Warnings already posted this run, so a bad stream does not flood the bus.
    warned_frame: bool,
    warned_scores: bool,
    /// No inference server answered the last request (warned once per outage).
    outage: bool,
    warned_duplicate: bool,
    /// Zones outside the frame (or none set) were warned about, for these zones and size.
    warned_zones: bool,
}

impl Stream {
    pub fn new(spec: &ModelSpec, resize_mode: ResizeMode) -> Stream {
        Stream {
            spec: spec.clone(),
            worker: None,
            schedule: Scheduler::default(),
            results: 0,
            preprocessor: Preprocessor::new(
                spec.tensor.clone(),
                resize_mode.into(),
                spec.crop_fraction,
            ),
            resize_mode,
            tensor: vec![0.0; spec.tensor.len()],
            batch: Vec::new(),
            video: None,
            zones: None,
            changes: Tracker::default(),
            warned_frame: false,
            warned_scores: false,
            outage: false,
            warned_duplicate: false,
            warned_zones: false,
        }
    }

    /// READY→PAUSED: in `async` mode the inference thread starts.
    pub fn start(&mut self, mode: Mode, classifier: &Arc<Classifier>) -> std::io::Result<()> {
        self.restart(classifier);
        self.changes.reset();
        if mode == Mode::Async {
            let depth = classifier.concurrency();
            let classifier = Arc::clone(classifier);
            self.worker = Some(Worker::start(
                "imgclassify-infer",
                depth,
                move |job: Job| classifier.run_job(job),
            )?);
        }
        Ok(())
    }

    /// PAUSED→READY: hands out the worker, to be joined with no lock held.
    pub fn stop(&mut self) -> Option<Worker<Job, Outcome>> {
        self.worker.take()
    }

    /// New caps: a new frame size or format starts the stream afresh.
    pub fn set_video(&mut self, video: VideoInput, classifier: &Classifier) {
        self.video = Some(video);
        self.warned_frame = false;
        self.warned_zones = false;
        self.restart(classifier);
    }

    /// Starts the stream afresh: after a flush, a caps change or a restart.
    pub fn restart(&mut self, classifier: &Classifier) {
        self.schedule.reset();
        classifier.reset();
        if let Some(worker) = &self.worker {
            worker.reset();
        }
    }

    /// Runs (or skips) inference for one frame and returns the result the buffer
    /// carries; messages to post go to `notices`.
    #[allow(clippy::too_many_arguments)]
    pub fn process(
        &mut self,
        classifier: &Classifier,
        buf: &gst::BufferRef,
        settings: FrameSettings,
        selection: &Selection,
        zones: &Arc<Zones>,
        late: bool,
        notices: &mut Vec<Notice>,
    ) -> Result<Option<Carried<Classification>>, gst::FlowError> {
        if self.resize_mode != settings.resize_mode {
            self.preprocessor = Preprocessor::new(
                self.spec.tensor.clone(),
                settings.resize_mode.into(),
                self.spec.crop_fraction,
            );
            self.resize_mode = settings.resize_mode;
        }
        let target = ResultTarget::from(settings.target);
        if !self.warned_duplicate && meta::carries(buf, classifier.id(), target) {
            self.warned_duplicate = true;
            notices.push(Notice::DuplicateClassifier {
                id: classifier.id().to_string(),
                target: target.name(),
            });
        }
        if settings.target == Target::Zones
            && !self.zones.as_ref().is_some_and(|z| Arc::ptr_eq(z, zones))
        {
            // New zones apply from this frame: the result carried so far, and any answer
            // still in flight, is of the old ones.
            if self.zones.is_some() {
                self.schedule.start_over();
                if let Some(worker) = &self.worker {
                    worker.reset();
                }
            }
            self.zones = Some(Arc::clone(zones));
            self.warned_zones = false;
        }
        let (frame, decision) =
            self.schedule
                .next_frame(settings.interval, late, self.worker.is_some());
        {
            let mut stats = lock(&classifier.stats);
            stats.frames_seen += 1;
            if decision == Decision::SkipLate {
                stats.qos_skipped += 1;
            }
        }
        if decision == Decision::Classify {
            match settings.target {
                Target::Regions => {
                    let regions = self.video.as_ref().map(|v| v.regions(buf, selection));
                    self.classify_regions(classifier, buf, frame, settings, regions, notices)?
                }
                Target::Zones => {
                    let inputs = self.place_zones(zones, notices);
                    self.classify_regions(classifier, buf, frame, settings, inputs, notices)?
                }
                Target::Frame => self.classify_frame(classifier, buf, frame, settings, notices)?,
            }
        }
        // An answer of another target (the property changed since) is not this one's.
        if let Some(outcome) = self.worker.as_ref().and_then(Worker::take)
            && !matches!(&outcome, Outcome::Done { result, .. } if result.target != target)
        {
            self.take(classifier, outcome, notices)?;
        }
        let carried = self.schedule.carried(frame);
        if let Some(c) = carried.as_ref().filter(|c| c.first_sight) {
            // Tracked whether posted or not, so turning `post-changes` on mid-stream
            // posts only what changes from then on.
            for change in self.changes.update(&c.result) {
                if settings.post_changes {
                    notices.push(Notice::Change {
                        change,
                        pts: buf.pts(),
                    });
                }
            }
        }
        Ok(carried)
    }

    /// The zones on the negotiated frame, clipped to it; warns once (per zones value and
    /// frame size) about zones with no pixel in the frame, or about no zones at all.
    fn place_zones(
        &mut self,
        zones: &Zones,
        notices: &mut Vec<Notice>,
    ) -> Option<Vec<RegionInput>> {
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
        Some(placed.inputs)
    }

    fn classify_frame(
        &mut self,
        classifier: &Classifier,
        buf: &gst::BufferRef,
        frame: u64,
        settings: FrameSettings,
        notices: &mut Vec<Notice>,
    ) -> Result<(), gst::FlowError> {
        let Some(video) = self.video.as_ref() else {
            self.warn_frame("no caps were negotiated", notices);
            return Ok(());
        };
        let started = Instant::now();
        let (pre, tensor) = (&mut self.preprocessor, &mut self.tensor);
        if let Err(why) =
            video.with_frame(buf, |view| pre.run(view, tensor).map_err(|e| e.to_string()))
        {
            self.warn_frame(&why, notices);
            return Ok(());
        }
        gst::log!(CAT, "preprocess {:?}", started.elapsed());
        match &self.worker {
            None => {
                let outcome = classifier.run(&self.tensor, frame, buf.pts(), settings.params);
                self.take(classifier, outcome, notices)?;
            }
            Some(worker) => {
                let job = Job {
                    tensor: self.tensor.clone(),
                    frame,
                    pts: buf.pts(),
                    params: settings.params,
                    regions: None,
                };
                if worker.submit(job) {
                    lock(&classifier.stats).results_dropped += 1;
                }
            }
        }
        Ok(())
    }

    fn classify_regions(
        &mut self,
        classifier: &Classifier,
        buf: &gst::BufferRef,
        frame: u64,
        settings: FrameSettings,
        regions: Option<Vec<RegionInput>>,
        notices: &mut Vec<Notice>,
    ) -> Result<(), gst::FlowError> {
        let (Some(video), Some(regions)) = (self.video.as_ref(), regions) else {
            self.warn_frame("no caps were negotiated", notices);
            return Ok(());
        };
        let pre = &mut self.preprocessor;
        let len = pre.spec().len();
        let mut prepare = |view: &FrameView<'_>, part: &[RegionInput], out: &mut [f32]| {
            for (region, tensor) in part.iter().zip(out.chunks_mut(len)) {
                pre.run_region(view, Some(region.region), tensor)
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        };
        let outcome = match &self.worker {
            // Async: every region is prepared here and the worker runs them, `max-batch`
            // at a time, so the streaming thread never waits for the backend or the
            // network. A job holds all of a frame's tensors: `max-regions` bounds them.
            Some(worker) => {
                let mut tensors = vec![0.0; regions.len() * len];
                video
                    .with_frame(buf, |view| prepare(view, &regions, &mut tensors))
                    .map(|()| {
                        let job = Job {
                            tensor: tensors,
                            frame,
                            pts: buf.pts(),
                            params: settings.params,
                            regions: Some(RegionsJob {
                                target: settings.target.into(),
                                inputs: regions,
                                max_batch: settings.max_batch,
                            }),
                        };
                        if worker.submit(job) {
                            lock(&classifier.stats).results_dropped += 1;
                        }
                        None
                    })
            }
            None => video.with_frame(buf, |view| {
                Ok(Some(classifier.run_regions(
                    settings.target.into(),
                    &regions,
                    settings.max_batch,
                    &mut self.batch,
                    |part, out| prepare(view, part, out),
                    frame,
                    buf.pts(),
                    settings.params,
                )))
            }),
        };
        match outcome {
            Ok(Some(outcome)) => self.take(classifier, outcome, notices),
            Ok(None) => Ok(()),
            Err(why) => {
                self.warn_frame(&why, notices);
                Ok(())
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
    fn take(
        &mut self,
        classifier: &Classifier,
        outcome: Outcome,
        notices: &mut Vec<Notice>,
    ) -> Result<(), gst::FlowError> {
        notices.extend(classifier.warnings().into_iter().map(Notice::Server));
        match outcome {
            Outcome::Done { frame, mut result } => {
                self.outage = false;
                result.seq = self.results + 1;
                if self.schedule.finished(frame, *result) {
                    self.results += 1;
                }
                Ok(())
            }
            Outcome::NonFinite => {
                self.schedule.forget();
                if !self.warned_scores {
                    self.warned_scores = true;
                    notices.push(Notice::NonFinite {
                        model: classifier.model_name().to_string(),
                    });
                }
                Ok(())
            }
            Outcome::Unreadable(why) => {
                self.warn_frame(&why, notices);
                Ok(())
            }
            // One warning per outage, not one per frame; the next result ends it.
            Outcome::Unavailable(why) => {
                self.schedule.forget();
                lock(&classifier.stats).frames_unanswered += 1;
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
        }
    }
}
