//! Everything the element writes: the result as `ImgClassifyMeta` (and the analytics
//! meta), an `imgclassify` param on each classified ROI, the element message, and the
//! bus warnings and errors decided while a frame was processed.

use gst::glib;
use gst::prelude::*;
use gst_base::prelude::*;

use super::{CAT, Mode};
use crate::core::changes::{CHANGE_NAME, Change, unix_nanos};
use crate::core::postprocess::NON_FINITE;
use crate::core::regions;
use crate::core::stats::Stats;
use crate::meta::META_NAME;
use crate::result::{Classification, Target};

/// A bus message decided while the state lock is held and posted once it is released:
/// an application's bus sync handler runs on the posting thread and may read this
/// element's properties, which take the same locks.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    UnreadableFrame(String),
    NonFinite {
        model: String,
    },
    Failed(String),
    /// No inference server answered; frames flow on unlabelled until one does.
    Unavailable(String),
    /// One inference server cannot be used (another model, refused credentials); the
    /// others take the frames.
    Server(String),
    NotLoaded,
    /// Another classifier with this id already labelled the buffer for the same target.
    DuplicateClassifier {
        id: String,
        target: &'static str,
    },
    /// `target=zones`, but these zones have no pixel in a frame this size (or, with no
    /// names, no zone is set at all).
    ZonesOutside {
        names: Vec<String>,
        width: u32,
        height: u32,
    },
    /// The inbox could not save a crop or keep its folder under its caps.
    Inbox(String),
    /// This frame is the first to use a new model or class set.
    Swapped(crate::core::loading::live::Swapped),
    /// `spinning` changed, or `auto` decided (debug log).
    Spinning(String),
    /// A top-1 label changed (`post-changes`), seen on the buffer with this PTS.
    Change {
        change: Change,
        pts: Option<gst::ClockTime>,
    },
}

pub fn post(element: &super::ImgClassify, notice: Notice) {
    match notice {
        Notice::Swapped(swapped) => super::swap::post(element, &swapped),
        Notice::UnreadableFrame(why) => gst::element_warning!(
            element,
            gst::StreamError::Format,
            ("cannot read frame for classification: {}", why),
            ["frames that cannot be read pass through without ImgClassifyMeta"]
        ),
        Notice::NonFinite { model } => gst::element_warning!(
            element,
            gst::StreamError::Decode,
            ("{}", NON_FINITE),
            ["model '{}'; check its weights", model]
        ),
        Notice::Failed(e) => gst::element_error!(element, gst::StreamError::Failed, ("{}", e)),
        Notice::Unavailable(why) => gst::element_warning!(
            element,
            gst::ResourceError::Read,
            (
                "{}; frames flow on without new labels until a server answers",
                why
            )
        ),
        Notice::Server(why) => {
            gst::element_warning!(element, gst::ResourceError::Settings, ("{}", why))
        }
        Notice::DuplicateClassifier { id, target } => gst::element_warning!(
            element,
            gst::LibraryError::Settings,
            (
                "an earlier classifier with the id '{}' already classified this stream's {}: \
                 their results cannot be told apart",
                id,
                target
            ),
            ["give each imgclassify element its own name or classifier-id"]
        ),
        Notice::ZonesOutside { names, .. } if names.is_empty() => gst::element_warning!(
            element,
            gst::LibraryError::Settings,
            ("target=zones but the zones property is empty: nothing is classified"),
            ["set zones to NAME:X,Y,W,H;NAME:X,Y,W,H in frame pixels"]
        ),
        Notice::ZonesOutside {
            names,
            width,
            height,
        } => gst::element_warning!(
            element,
            gst::LibraryError::Settings,
            (
                "zones outside the {}x{} frame are skipped: {}",
                width,
                height,
                names.join(", ")
            ),
            ["zones are in frame pixels; those partly outside are clipped"]
        ),
        Notice::Inbox(why) => gst::element_warning!(
            element,
            gst::ResourceError::Write,
            ("{}", why),
            ["check that the folder is writable and has room; frames flow on"]
        ),
        Notice::Change { change, pts } => post_change(element, &change, pts),
        Notice::Spinning(text) => gst::debug!(CAT, obj = element, "{}", text),
        Notice::NotLoaded => {
            gst::element_error!(element, gst::CoreError::Negotiation, ["no model loaded"])
        }
    }
}

/// Puts the result on the buffer: the meta, and a param on each ROI it classified.
pub fn attach(element: &super::ImgClassify, result: &Classification, buf: &mut gst::BufferRef) {
    gst::trace!(CAT, obj = element, "{:?}", result);
    if let Err(e) = result.attach(buf) {
        gst::warning!(CAT, obj = element, "could not attach {}: {}", META_NAME, e);
    }
    attach_to_rois(result, buf);
}

/// Adds the result of each region to the ROI meta it belongs to as an `imgclassify`
/// param. Zones belong to no ROI meta.
fn attach_to_rois(result: &Classification, buf: &mut gst::BufferRef) {
    if result.regions.is_empty() || result.target != Target::Regions {
        return;
    }
    let owners = regions::owners(&super::frame::candidates(buf), &result.regions);
    let rois = buf.iter_meta_mut::<gst_video::VideoRegionOfInterestMeta>();
    for (mut roi, owner) in rois.zip(owners) {
        if let Some(r) = owner.and_then(|i| result.regions.get(i)) {
            let mut param = result.to_structure();
            param.remove_field("regions");
            param.set("labels", gst::Array::new(&r.labels));
            param.set("class-ids", gst::Array::new(&r.class_ids));
            param.set("scores", gst::Array::new(&r.scores));
            if let Some(track) = &r.track {
                track.write(&mut param);
            }
            roi.add_param(param);
        }
    }
}

/// The running time and stream time of `pts` in the current segment.
fn times(
    element: &super::ImgClassify,
    pts: Option<gst::ClockTime>,
) -> (Option<gst::ClockTime>, Option<gst::ClockTime>) {
    let segment = element
        .sink_pad()
        .sticky_event::<gst::event::Segment>(0)
        .and_then(|e| e.segment().clone().downcast::<gst::ClockTime>().ok());
    match (&segment, pts) {
        (Some(seg), Some(pts)) => (seg.to_running_time(pts), seg.to_stream_time(pts)),
        _ => (None, None),
    }
}

/// Posts the result as an element message with the buffer's times.
pub fn post_result(element: &super::ImgClassify, result: &Classification, buf: &gst::BufferRef) {
    let mut s = result.to_structure();
    let pts = buf.pts();
    s.set("timestamp", pts);
    let (running, stream) = times(element, pts);
    s.set("running-time", running);
    s.set("stream-time", stream);
    let msg = gst::message::Element::builder(s).src(element).build();
    let _ = element.post_message(msg);
}

/// Posts an `imgclassify-change` element message. `zone` is NULL for the whole frame,
/// `old-label` NULL for the first result, `new-label` NULL when no label passes
/// `threshold`; `score` is the new label's (0 without one). `previous-label` repeats
/// `old-label` beside `previous-duration`, how long it held (NONE for the first result);
/// `wall-time` is when the change was decided, in nanoseconds since 1970 (UTC).
fn post_change(element: &super::ImgClassify, change: &Change, pts: Option<gst::ClockTime>) {
    let s = gst::Structure::builder(CHANGE_NAME)
        .field("classifier", &change.classifier)
        .field("target", change.target.name())
        .field("zone", &change.zone)
        .field("old-label", &change.old_label)
        .field("new-label", &change.new_label)
        .field("score", change.score.unwrap_or(0.0))
        .field("pts", pts)
        .field("running-time", times(element, pts).0)
        .field("previous-label", &change.old_label)
        .field(
            "previous-duration",
            change
                .old_duration
                .and_then(|d| gst::ClockTime::try_from(d).ok()),
        )
        .field("wall-time", unix_nanos(change.wall_time))
        .build();
    let msg = gst::message::Element::builder(s).src(element).build();
    let _ = element.post_message(msg);
}

/// Warns when a property changes where it cannot take effect at once. Its flags say
/// where it is read: without a MUTABLE flag at NULL→READY, with MUTABLE_READY alone
/// at READY→PAUSED.
pub fn warn_if_deferred(
    element: &super::ImgClassify,
    pspec: &glib::ParamSpec,
    loaded_model: Option<&str>,
    mode: Option<Mode>,
) {
    let flags = pspec.flags();
    let name = pspec.name();
    let later = gst::PARAM_FLAG_MUTABLE_PAUSED | gst::PARAM_FLAG_MUTABLE_PLAYING;
    let read_at_load = !flags.intersects(gst::PARAM_FLAG_MUTABLE_READY | later);
    let read_at_start = flags.contains(gst::PARAM_FLAG_MUTABLE_READY) && !flags.intersects(later);
    if let Some(model) = loaded_model.filter(|_| read_at_load) {
        gst::element_warning!(
            element,
            gst::LibraryError::Settings,
            (
                "property '{}' changed while model '{}' is loaded: the new value takes effect \
                 the next time the element goes from NULL to READY",
                name,
                model
            ),
            ["set it in the NULL state, or set the element to NULL and back to apply it"]
        );
    }
    if let Some(mode) = mode.filter(|_| read_at_start) {
        gst::element_warning!(
            element,
            gst::LibraryError::Settings,
            (
                "property '{}' changed while streaming in {} mode: the new value takes \
                 effect the next time the element goes from READY to PAUSED",
                name,
                match mode {
                    Mode::Sync => "sync",
                    Mode::Async => "async",
                }
            ),
            ["set it in the NULL or READY state"]
        );
    }
}

/// The `stats` property's value; times in nanoseconds.
pub fn stats(s: &Stats) -> gst::Structure {
    let builder = gst::Structure::builder("imgclassify-stats")
        .field("frames-seen", s.frames_seen)
        .field("frames-classified", s.frames_classified)
        .field("mean-inference-time", s.mean_inference().as_nanos() as u64)
        .field("max-inference-time", s.max_inference.as_nanos() as u64)
        .field("results-dropped", s.results_dropped)
        .field("qos-skipped", s.qos_skipped)
        .field("inference-calls", s.inference_calls)
        .field("regions-classified", s.regions_classified)
        .field("frames-unchanged", s.frames_unchanged)
        .field("zones-unchanged", s.zones_unchanged)
        .field("objects-tracked", s.objects_tracked)
        .field("objects-classified", s.objects_classified)
        .field("regions-carried", s.regions_carried);
    // Only with `inference-server`: in-process stats keep their fields.
    let builder = match &s.requests {
        Some(r) => builder
            .field("frames-unanswered", s.frames_unanswered)
            .field("requests-sent", r.sent)
            .field("requests-failed", r.failed)
            .field("requests-retried", r.retried)
            .field("requests-timed-out", r.timed_out),
        None => builder,
    };
    let builder = match s.spinning {
        Some(mode) => builder.field("spinning", mode),
        None => builder,
    };
    let builder = match s.examples {
        Some((embedded, cached)) => builder
            .field("examples-embedded", embedded)
            .field("examples-cached", cached),
        None => builder,
    };
    let builder = match s.inbox {
        Some((queued, dropped)) => builder
            .field("inbox-queued", queued)
            .field("inbox-dropped", dropped),
        None => builder,
    };
    builder.build()
}
