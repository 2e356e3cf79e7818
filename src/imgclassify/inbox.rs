//! Feeds `inbox-dir` from the stream: the frame, zones or regions of a fresh result
//! that are `unknown` or close (`inbox-margin`) are queued to the inbox's writer with a
//! copy of the buffer's planes they were classified on, one per `inbox-interval` per frame,
//! zone or object. The work is in `core::inbox`; this holds the GStreamer side.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::frame::VideoInput;
use super::output::Notice;
use super::settings::Settings;
use crate::core::inbox::{
    self, Candidate, Crop, Inbox, ModelFile, Offered, OwnedFrame, RateLimit, Sidecar,
};
use crate::core::lock::lock;
use crate::core::model::zoo;
use crate::core::stats::Stats;
use crate::result::Classification;

pub struct InboxFeed {
    inbox: Inbox,
    margin: f64,
    interval_ns: u64,
    rate: RateLimit,
    /// The clock for buffers without a PTS.
    started: Instant,
    /// The writer's first failure was posted; later ones would flood the bus.
    warned: bool,
    /// The model file swapped in while running, if one was.
    model_file: Option<PathBuf>,
}

impl InboxFeed {
    /// READY→PAUSED: starts the writer when `inbox-dir` is set.
    pub fn start(
        settings: &Settings,
        stats: &Mutex<Stats>,
    ) -> Result<Option<InboxFeed>, gst::ErrorMessage> {
        let config = &settings.inbox;
        let Some(dir) = config.dir.clone() else {
            return Ok(None);
        };
        let request = &settings.load;
        let file = match &request.model.file {
            _ if request.server.is_remote() => None,
            Some(file) => Some(file.clone()),
            None => zoo::resolve(&request.model.name).ok(),
        };
        let inbox = Inbox::start(dir.clone(), config, ModelFile { file }).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::OpenWrite,
                (
                    "inbox-dir '{}' cannot be made or written: {}",
                    dir.display(),
                    e
                ),
                ["give a folder the user running the pipeline can write, or leave inbox-dir empty"]
            )
        })?;
        lock(stats).inbox = Some((0, 0));
        Ok(Some(InboxFeed {
            inbox,
            margin: config.margin,
            interval_ns: config.interval_ms.saturating_mul(1_000_000),
            rate: RateLimit::default(),
            started: Instant::now(),
            warned: false,
            model_file: None,
        }))
    }

    /// A model was swapped in while running: later sidecars carry its file's hash.
    pub fn model_swapped(&mut self, file: &Path) {
        self.model_file = file.is_file().then(|| file.to_path_buf());
    }

    /// Offers the unsure parts of a fresh `result` in `buf`, the buffer it was
    /// classified on (in `async` mode, the first buffer that carries it).
    pub fn offer(
        &mut self,
        (video, buf): (&VideoInput, &gst::BufferRef),
        result: &Classification,
        stats: &Mutex<Stats>,
        notices: &mut Vec<Notice>,
    ) {
        if let Some(first) = self.inbox.failures().into_iter().next() {
            self.warn(first, notices);
        }
        let candidates = inbox::candidates(result, self.margin);
        if candidates.is_empty() {
            return;
        }
        let now_ns = buf.pts().map_or_else(
            || self.started.elapsed().as_nanos() as u64,
            gst::ClockTime::nseconds,
        );
        let taken = SystemTime::now();
        for c in candidates {
            if !self.rate.allow(&c.key, now_ns, self.interval_ns) {
                continue;
            }
            let offered = if self.inbox.has_room() {
                // A copy of the planes only: the writer thread cuts and converts.
                match video.with_frame(buf, |view| Ok(OwnedFrame::copy(view))) {
                    Ok(frame) => self.inbox.offer(Crop {
                        frame,
                        rect: c.rect,
                        sidecar: Sidecar {
                            model_file: self.model_file.clone(),
                            ..sidecar(c, result, buf.pts(), taken)
                        },
                    }),
                    Err(why) => {
                        self.warn(format!("inbox-dir: frame not copied: {why}"), notices);
                        continue;
                    }
                }
            } else {
                Offered::Dropped
            };
            if let Some((queued, dropped)) = lock(stats).inbox.as_mut() {
                match offered {
                    Offered::Queued => *queued += 1,
                    Offered::Dropped => *dropped += 1,
                }
            }
        }
    }

    /// Only the first failure is posted: a full disk would otherwise flood the bus.
    fn warn(&mut self, why: String, notices: &mut Vec<Notice>) {
        if !self.warned {
            self.warned = true;
            notices.push(Notice::Inbox(why));
        }
    }
}

/// What the JSON beside a crop says, but for what the writer adds.
fn sidecar(
    c: Candidate,
    result: &Classification,
    pts: Option<gst::ClockTime>,
    taken: SystemTime,
) -> Sidecar {
    Sidecar {
        time: humantime::format_rfc3339_millis(taken).to_string(),
        unix_ms: taken
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        pts: pts.map(gst::ClockTime::nseconds),
        classifier: result.classifier.clone(),
        target: result.target.name().to_string(),
        zone: c.zone,
        roi_id: c.roi.as_ref().map(|r| r.0),
        roi_type: c.roi.map(|r| r.1),
        reason: Some(c.reason),
        labels: c.labels,
        class_ids: c.class_ids,
        scores: c.scores,
        model: result.model.clone(),
        key: c.key,
        ..Sidecar::default()
    }
}
