//! `inbox-dir`: the images the classifier was unsure about, kept for the user to look
//! at and file as examples. A frame, zone or region whose label is `unknown`, or whose
//! two best scores are closer than `inbox-margin`, is queued with a copy of the frame
//! it was classified on to a writer thread, which cuts it out (native pixels, RGB),
//! saves it as a JPEG with a JSON sidecar, and keeps the folder under its caps. The
//! streaming thread only copies the frame's planes, and never waits: a full queue
//! drops the crop and counts it. No GStreamer here.

mod caps;
mod crop;
mod rate;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

pub use crop::{OwnedFrame, crop_rgb};
pub use rate::RateLimit;
pub use writer::Sidecar;

use crate::core::classes::UNKNOWN;
use crate::result::{Classification, Target};

/// Crops waiting for the writer: each holds its pixels, so the queue is short.
pub const QUEUE: usize = 4;

/// What the inbox is asked to do (the `inbox-*` properties); read at READY→PAUSED.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// None: no inbox.
    pub dir: Option<PathBuf>,
    /// Keep results whose two best scores differ by less than this; 0 = only `unknown`.
    pub margin: f64,
    /// Least time between two crops of one frame, zone or object, in milliseconds.
    pub interval_ms: u64,
    /// Most crops kept in `dir`; 0 = no cap.
    pub max_files: u64,
    /// Most bytes (JPEGs and sidecars) kept in `dir`; 0 = no cap.
    pub max_bytes: u64,
}

/// The model file whose SHA-256 the sidecars carry; None for a server's model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelFile {
    pub file: Option<PathBuf>,
}

/// Why an image went to the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Unknown,
    Margin,
}

/// One image of a result that goes to the inbox: which part of the frame, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Whose rate limit applies: `frame`, `zone:NAME` or `roi:ID`.
    pub key: String,
    /// x, y, width, height in frame pixels; None = the whole frame.
    pub rect: Option<(u32, u32, u32, u32)>,
    pub reason: Reason,
    pub zone: Option<String>,
    pub roi: Option<(i32, String)>,
    pub labels: Vec<String>,
    pub class_ids: Vec<u32>,
    pub scores: Vec<f64>,
}

/// Why a result is unsure, if it is: `unknown`, or a best score less than `margin` above
/// the second (0 = off; a result with one score has no second to compare with).
fn reason(labels: &[String], scores: &[f64], margin: f64) -> Option<Reason> {
    if labels.first().is_some_and(|l| l == UNKNOWN) {
        return Some(Reason::Unknown);
    }
    match scores {
        [first, second, ..] if margin > 0.0 && first - second < margin => Some(Reason::Margin),
        _ => None,
    }
}

/// The frame, zones or regions of `result` that belong in the inbox.
pub fn candidates(result: &Classification, margin: f64) -> Vec<Candidate> {
    if result.target == Target::Frame {
        return reason(&result.labels, &result.scores, margin)
            .map(|reason| Candidate {
                key: "frame".to_string(),
                rect: None,
                reason,
                zone: None,
                roi: None,
                labels: result.labels.clone(),
                class_ids: result.class_ids.clone(),
                scores: result.scores.clone(),
            })
            .into_iter()
            .collect();
    }
    let zones = result.target == Target::Zones;
    result
        .regions
        .iter()
        // A tracked object's carried labels were not worked out on this frame.
        .filter(|r| r.track.as_ref().is_none_or(|t| t.fresh))
        .filter_map(|r| {
            let reason = reason(&r.labels, &r.scores, margin)?;
            Some(Candidate {
                key: match (&r.track, zones) {
                    (_, true) => format!("zone:{}", r.roi_type),
                    (Some(t), false) => format!("object:{}", t.object_id),
                    (None, false) => format!("roi:{}", r.roi_id),
                },
                rect: Some(r.rect),
                reason,
                zone: zones.then(|| r.roi_type.clone()),
                roi: (!zones).then(|| (r.roi_id, r.roi_type.clone())),
                labels: r.labels.clone(),
                class_ids: r.class_ids.clone(),
                scores: r.scores.clone(),
            })
        })
        .collect()
}

/// An image for the writer: the frame, the part of it to save, and what its sidecar
/// says (the writer sets the image's name, size and the model's hash).
#[derive(Debug, Clone)]
pub struct Crop {
    pub frame: OwnedFrame,
    /// x, y, width, height in frame pixels; None = the whole frame.
    pub rect: Option<(u32, u32, u32, u32)>,
    pub sidecar: Sidecar,
}

/// Whether a crop was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    Queued,
    /// The writer is behind: the crop is dropped.
    Dropped,
}

/// The streaming thread's end: a bounded queue to the writer thread, and the writer's
/// failures coming back to be reported.
pub struct Inbox {
    /// Boxed: a crop's sidecar makes it large, and a refused one comes back in the error.
    queue: Option<SyncSender<Box<Crop>>>,
    /// Crops queued and not yet taken by the writer.
    pending: Arc<AtomicUsize>,
    failures: Receiver<String>,
    writer: Option<JoinHandle<()>>,
}

impl Inbox {
    /// Makes the folder if needed and starts the writer thread.
    pub fn start(dir: PathBuf, config: &Config, model: ModelFile) -> std::io::Result<Inbox> {
        std::fs::create_dir_all(&dir)?;
        let caps = (config.max_files, config.max_bytes);
        let (queue, crops) = sync_channel(QUEUE);
        let (failed, failures) = std::sync::mpsc::channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let taken = Arc::clone(&pending);
        let writer = std::thread::Builder::new()
            .name("imgclassify-inbox".into())
            .spawn(move || writer::run(&dir, caps, &model, (crops, taken, failed)))?;
        Ok(Inbox {
            queue: Some(queue),
            pending,
            failures,
            writer: Some(writer),
        })
    }

    /// Queues a crop; never waits.
    pub fn offer(&self, crop: Crop) -> Offered {
        // Counted before it is sent, so the writer never takes it below zero.
        self.pending.fetch_add(1, Ordering::AcqRel);
        match self.queue.as_ref().map(|q| q.try_send(Box::new(crop))) {
            Some(Ok(())) => Offered::Queued,
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => {
                self.pending.fetch_sub(1, Ordering::AcqRel);
                Offered::Dropped
            }
        }
    }

    /// Whether the queue has room now, so a crop is not cut from the frame in vain.
    /// Only this thread adds to the queue, so the answer holds until the next offer.
    pub fn has_room(&self) -> bool {
        self.queue.is_some() && self.pending.load(Ordering::Acquire) < QUEUE
    }

    /// What the writer could not do since the last call.
    pub fn failures(&self) -> Vec<String> {
        self.failures.try_iter().collect()
    }
}

impl Drop for Inbox {
    /// Writes what is queued, then joins the writer.
    fn drop(&mut self) {
        self.queue = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{RegionResult, RegionTrack};

    fn result(target: Target, labels: &[&str], scores: &[f64]) -> Classification {
        Classification {
            classifier: "c".into(),
            target,
            model: "mobilenet".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            class_ids: (0..labels.len() as u32).collect(),
            scores: scores.to_vec(),
            inference_time_ns: 0,
            provider: "cpu".into(),
            fresh: true,
            source_pts: None,
            seq: 1,
            regions: Vec::new(),
            embedding: None,
        }
    }

    #[test]
    fn unknown_and_close_results_are_candidates_others_are_not() {
        let unknown = result(Target::Frame, &["unknown"], &[0.9]);
        let found = candidates(&unknown, 0.0);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].key.as_str(), found[0].reason),
            ("frame", Reason::Unknown)
        );
        assert_eq!(found[0].rect, None);
        let close = result(Target::Frame, &["gate-open", "gate-closed"], &[0.55, 0.45]);
        assert!(candidates(&close, 0.0).is_empty());
        assert!(candidates(&close, 0.1).is_empty());
        assert_eq!(candidates(&close, 0.2)[0].reason, Reason::Margin);
        // One score has no second to be close to.
        let one = result(Target::Frame, &["gate-open"], &[0.55]);
        assert!(candidates(&one, 0.5).is_empty());
    }

    #[test]
    fn zones_and_regions_are_keyed_by_name_and_id() {
        let region = |id: i32, name: &str, label: &str| RegionResult {
            roi_id: id,
            roi_type: name.into(),
            rect: (1, 2, 3, 4),
            labels: vec![label.into()],
            class_ids: vec![0],
            scores: vec![1.0],
            embedding: None,
            track: None,
        };
        let mut zones = result(Target::Zones, &[], &[]);
        zones.regions = vec![region(0, "gate", "unknown"), region(1, "door", "closed")];
        let found = candidates(&zones, 0.0);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "zone:gate");
        assert_eq!(found[0].zone.as_deref(), Some("gate"));
        assert_eq!(found[0].rect, Some((1, 2, 3, 4)));
        let mut rois = zones.clone();
        rois.target = Target::Regions;
        let found = candidates(&rois, 0.0);
        assert_eq!(found[0].key, "roi:0");
        assert_eq!(found[0].roi, Some((0, "gate".to_string())));
        assert_eq!(found[0].zone, None);
        // A tracked object is keyed by its object id, and only on a fresh result.
        let mut track = RegionTrack {
            object_id: 7,
            first_seen: None,
            fresh: true,
            source_pts: None,
            seq: 1,
        };
        rois.regions[0].track = Some(track.clone());
        assert_eq!(candidates(&rois, 0.0)[0].key, "object:7");
        track.fresh = false;
        rois.regions[0].track = Some(track);
        assert!(candidates(&rois, 0.0).is_empty());
    }

    #[test]
    fn a_full_queue_drops_the_crop_and_never_waits() {
        // A queue nobody reads: the first QUEUE crops wait, the next is dropped.
        let (queue, _crops) = sync_channel(QUEUE);
        let (_failed, failures) = std::sync::mpsc::channel();
        let inbox = Inbox {
            queue: Some(queue),
            pending: Arc::new(AtomicUsize::new(0)),
            failures,
            writer: None,
        };
        let pixel = [0u8; 3];
        let view = crate::core::preprocess::FrameView::new(
            crate::core::preprocess::PixelFormat::Rgb,
            (1, 1),
            &[&pixel],
            &[3],
            crate::core::preprocess::YuvMatrix::BT601,
        )
        .expect("view");
        let crop = Crop {
            frame: OwnedFrame::copy(&view),
            rect: None,
            sidecar: Sidecar::default(),
        };
        for _ in 0..QUEUE {
            assert!(inbox.has_room());
            assert_eq!(inbox.offer(crop.clone()), Offered::Queued);
        }
        assert!(!inbox.has_room());
        assert_eq!(inbox.offer(crop.clone()), Offered::Dropped);
        assert_eq!(inbox.offer(crop), Offered::Dropped);
    }
}
