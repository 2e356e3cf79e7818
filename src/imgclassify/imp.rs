//! GStreamer glue for `imgclassify`: properties, caps, state changes and the per-frame
//! hand-off to the stream. The work happens elsewhere: `properties` and `settings`
//! (what is set), `loading` (NULL→READY, on `core::loading`), `stream` (each frame, on
//! the core's scheduler and classifier), `frame` (reading buffers) and `output` (meta,
//! messages, warnings).
//!
//! State is split by lifetime, and no lock is held while a model runs: the settings
//! (cloned under a short lock), the loaded model (an `Arc`, READY to NULL) and the
//! stream (PAUSED to READY), which the streaming thread takes out for each frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::frame::{VideoInput, pad_templates};
use super::inbox::InboxFeed;
use super::inflight::{self, InFlight};
use super::output::{self, Notice};
use super::properties::{self, Access};
use super::settings::Settings;
use super::stream::{FrameInput, Stream};
use super::swap::{self, Live};
use super::{CAT, Mode};
use crate::core::loading::Loaded;
use crate::core::lock::lock;
use crate::core::stats::Stats;

/// What lives from NULL→READY to READY→NULL.
struct Model {
    /// The model in use, replaced while running when its properties or classes change.
    live: Live,
    /// Written by the stream only; read by the `stats` getter.
    stats: Arc<Mutex<Stats>>,
}

pub struct ImgClassify {
    settings: Mutex<Settings>,
    model: Mutex<Option<Model>>,
    /// Between READY→PAUSED and PAUSED→READY; None while a frame is being processed,
    /// when the streaming thread holds it.
    stream: Mutex<Option<Stream>>,
    /// The mode in use between READY→PAUSED and PAUSED→READY.
    running: Mutex<Option<Mode>>,
    /// Made at READY→PAUSED with the stream, set at PAUSED→READY before the pads are
    /// deactivated (which waits for the streaming thread): the frame in progress ends
    /// between two batches and requests in flight are abandoned, instead of the state
    /// change waiting for every zone of the frame or for `server-timeout`.
    cancel: Mutex<Option<Arc<AtomicBool>>>,
    /// Running time before which frames are late, from downstream QoS events.
    qos_earliest: Mutex<Option<gst::ClockTime>>,
    /// `in-flight` ≥ 2: buffers held while the element's own thread classifies them.
    inflight: InFlight,
}

impl Default for ImgClassify {
    fn default() -> Self {
        ImgClassify {
            settings: Mutex::new(properties::defaults()),
            model: Mutex::new(None),
            stream: Mutex::new(None),
            running: Mutex::new(None),
            cancel: Mutex::new(None),
            qos_earliest: Mutex::new(None),
            inflight: InFlight::default(),
        }
    }
}

impl ImgClassify {
    fn loaded(&self) -> Option<Arc<Loaded>> {
        lock(&self.model).as_ref().map(|m| m.live.current())
    }

    fn stats(&self) -> gst::Structure {
        let stats = lock(&self.model).as_ref().map(|m| Arc::clone(&m.stats));
        output::stats(&stats.map(|s| lock(&s).clone()).unwrap_or_default())
    }

    /// Whether downstream's last QoS event says this frame is already late; never with
    /// `qos=false`.
    fn is_late(&self, buf: &gst::BufferRef) -> bool {
        if !self.obj().is_qos() {
            return false;
        }
        let Some(earliest) = *lock(&self.qos_earliest) else {
            return false;
        };
        let segment = self.obj().segment();
        let running = segment
            .downcast_ref::<gst::ClockTime>()
            .and_then(|seg| buf.pts().and_then(|pts| seg.to_running_time(pts)));
        running.is_some_and(|rt| rt < earliest)
    }

    /// The per-frame path, on the streaming thread (`in-flight=1`) or on the element's
    /// own thread: classifies the buffer, attaches its result and posts the messages.
    pub(super) fn classify(
        &self,
        buf: &mut gst::BufferRef,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let inputs = lock(&self.settings).frame_inputs();
        let late = self.is_late(buf);
        let mut notices = Vec::new();
        // The stream is taken out for the frame, so no lock is held during inference;
        // only one thread uses it while streaming.
        let stream = lock(&self.stream).take();
        let carried = match stream {
            Some(mut stream) => {
                let frame = FrameInput {
                    buf,
                    inputs: &inputs,
                    late,
                };
                let carried = stream.process(&frame, &mut notices);
                *lock(&self.stream) = Some(stream);
                carried
            }
            None => {
                notices.push(Notice::NotLoaded);
                Err(gst::FlowError::NotNegotiated)
            }
        };
        for notice in notices {
            output::post(&self.obj(), notice);
        }
        let Some(carried) = carried? else {
            return Ok(gst::FlowSuccess::Ok);
        };
        let fresh = carried.is_fresh();
        let mut result = carried.result;
        result.fresh = fresh;
        output::attach(&self.obj(), &result, buf);
        if inputs.settings.post_messages && carried.first_sight {
            output::post_result(&self.obj(), &result, buf);
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn load(&self) -> Result<(), gst::ErrorMessage> {
        let (request, resize_mode, refused) = {
            let s = lock(&self.settings);
            (s.load.clone(), s.frame.resize_mode, s.refusals())
        };
        if let Some(refused) = refused {
            return Err(gst::error_msg!(
                gst::LibraryError::Settings,
                ("{}", refused)
            ));
        }
        let loaded = super::loading::load(&self.obj(), &request, resize_mode.into())?;
        let mut stats = Stats::default();
        // A remote backend's request counters are in `stats` from READY on, zeros
        // included.
        let telemetry = loaded.classifier.telemetry();
        stats.requests = telemetry.requests;
        stats.spinning = telemetry.spinning.map(|s| s.mode);
        stats.examples = loaded.examples;
        let live = Live::new(&self.obj(), loaded, &request, resize_mode.into());
        *lock(&self.model) = Some(Model {
            live,
            stats: Arc::new(Mutex::new(stats)),
        });
        self.obj().notify("active-provider");
        Ok(())
    }
}

#[glib::object_subclass]
impl ObjectSubclass for ImgClassify {
    const NAME: &'static str = "GstImgClassify";
    type Type = super::ImgClassify;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for ImgClassify {
    fn constructed(&self) {
        self.parent_constructed();
        // As GstVideoFilter does, QoS is on by default: late frames skip inference (the
        // frames themselves are never dropped, see `src_event`), unless qos=false.
        self.obj().set_qos(true);
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static SPECS: std::sync::LazyLock<Vec<glib::ParamSpec>> =
            std::sync::LazyLock::new(|| properties::all().iter().map(|p| p.spec.clone()).collect());
        SPECS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let name = pspec.name();
        let Some(Access::Settings { set, .. }) = properties::find(name).map(|p| &p.access) else {
            gst::warning!(CAT, imp = self, "property '{}' cannot be set", name);
            return;
        };
        let (changed, refused, reload) = {
            let mut s = lock(&self.settings);
            let before = s.clone();
            let refused = set(&mut s, value).err();
            let changed = *s != before;
            match &refused {
                Some(why) => s.refused.insert(name.to_string(), why.clone()),
                None => s.refused.remove(name),
            };
            let reload = (changed && swap::RELOADING.contains(&name))
                .then(|| (s.load.clone(), s.frame.resize_mode.into()));
            (changed, refused, reload)
        };
        // Posted with no lock held: a bus sync handler runs on this thread and may read
        // this element's properties.
        if let Some(text) = refused {
            crate::property::refuse(self.obj().upcast_ref(), *CAT, &text);
        }
        if let Some((request, resize_mode)) = reload
            && let Some(model) = lock(&self.model).as_ref()
        {
            model.live.reload(request, resize_mode);
        }
        if changed {
            let model = self.loaded().map(|l| l.classifier.info().name.clone());
            output::warn_if_deferred(&self.obj(), pspec, model.as_deref(), *lock(&self.running));
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match properties::find(pspec.name()).map(|p| &p.access) {
            Some(Access::Settings { get, .. }) => get(&lock(&self.settings)),
            Some(Access::Stats) => self.stats().to_value(),
            Some(Access::ActiveProvider) => self
                .loaded()
                .map(|l| l.classifier.info().placement.provider.clone())
                .to_value(),
            None => pspec.default_value().clone(),
        }
    }
}

impl GstObjectImpl for ImgClassify {}

impl ElementImpl for ImgClassify {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: std::sync::LazyLock<gst::subclass::ElementMetadata> = std::sync::LazyLock::new(
            || {
                gst::subclass::ElementMetadata::new(
                    "Image classifier",
                    "Filter/Analyzer/Video",
                    "Classifies every frame with MobileNet / EfficientNet (or any ONNX classifier) on ONNX Runtime \
                     and attaches the top-k labels as ImgClassifyMeta; pixels pass through untouched",
                    "imgclassify developers",
                )
            },
        );
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        pad_templates()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady
            && let Err(msg) = self.load()
        {
            self.post_error_message(msg);
            return Err(gst::StateChangeError);
        }
        if transition == gst::StateChange::PausedToReady {
            if let Some(cancel) = lock(&self.cancel).as_ref() {
                cancel.store(true, Ordering::Release);
            }
            // A streaming thread waiting for room must return before the pads go.
            self.inflight.close();
        }
        let result = self.parent_change_state(transition);
        if transition == gst::StateChange::ReadyToNull
            || result.is_err() && transition == gst::StateChange::NullToReady
        {
            // Dropped with no lock held: stopping a rebuild posts on this element's bus.
            let model = lock(&self.model).take();
            drop(model);
        }
        result
    }
}

impl BaseTransformImpl for ImgClassify {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        // Held buffers are classified with the caps they came with (and the thread
        // holding the stream gives it back).
        self.inflight.drain();
        let video =
            VideoInput::from_caps(incaps).map_err(|e| gst::loggable_error!(CAT, "{}", e))?;
        gst::debug!(
            CAT,
            imp = self,
            "negotiated {} {}x{} {:?}",
            video.format,
            video.info.width(),
            video.info.height(),
            video.matrix
        );
        let mut stream = lock(&self.stream);
        let stream = stream
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "caps set before the stream started"))?;
        stream.set_video(video);
        Ok(())
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.classify(buf)
    }

    fn submit_input_buffer(
        &self,
        is_discont: bool,
        inbuf: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        // A held buffer is never queued in the base class, so its `generate_output`
        // has nothing to push for it.
        match self.inflight.held(&self.obj()) {
            Some(held) => inflight::hand_over(&held, inbuf),
            None => self.parent_submit_input_buffer(is_discont, inbuf),
        }
    }

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let (mode, resize_mode) = (settings.mode, settings.frame.resize_mode);
        let (loaded, stats) = lock(&self.model)
            .as_ref()
            .map(|m| (m.live.cell(), Arc::clone(&m.stats)))
            .ok_or_else(|| gst::error_msg!(gst::CoreError::StateChange, ("no model loaded")))?;
        let inbox = InboxFeed::start(&settings, &stats)?;
        let cancel = Arc::new(AtomicBool::new(false));
        let mut stream = Stream::start(loaded, mode, resize_mode, stats, Arc::clone(&cancel))
            .map_err(|e| {
                gst::error_msg!(
                    gst::CoreError::Thread,
                    ("cannot start the inference thread: {}", e)
                )
            })?;
        stream.set_inbox(inbox);
        self.inflight.configure(settings.in_flight, mode);
        *lock(&self.stream) = Some(stream);
        *lock(&self.running) = Some(mode);
        *lock(&self.cancel) = Some(cancel);
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        // The in-flight thread ends first: it may hold the stream.
        self.inflight.stop();
        // Take the worker out first: joining it must not happen under a lock.
        let stream = lock(&self.stream).take();
        drop(stream.and_then(Stream::stop));
        *lock(&self.running) = None;
        *lock(&self.cancel) = None;
        *lock(&self.qos_earliest) = None;
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::FlushStart(_) => self.inflight.flush_start(),
            gst::EventView::FlushStop(_) => self.inflight.flush_stop(),
            // Nothing serialized overtakes a held buffer: EOS, segment, caps, tags...
            _ if event.is_serialized() => self.inflight.drain(),
            _ => {}
        }
        if let gst::EventView::FlushStop(_) = event.view() {
            if let Some(stream) = lock(&self.stream).as_mut() {
                stream.restart();
            }
            *lock(&self.qos_earliest) = None;
        }
        self.parent_sink_event(event)
    }

    fn src_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Qos(qos) = event.view() {
            let (_, _, diff, timestamp) = qos.get();
            // As GstBaseTransform does: a frame due before timestamp + 2 * lateness is late.
            *lock(&self.qos_earliest) = match (timestamp, diff) {
                (Some(ts), diff) if diff > 0 => {
                    Some(ts + gst::ClockTime::from_nseconds(2 * diff as u64))
                }
                _ => None,
            };
            // Upstream still hears of it, but GstBaseTransform must not: with `qos`
            // on it would drop late frames, and this element never drops a frame.
            return self.obj().sink_pad().push_event(event);
        }
        self.parent_src_event(event)
    }

    fn query(&self, direction: gst::PadDirection, query: &mut gst::QueryRef) -> bool {
        // A serialized query (allocation, drain: a decoder wanting its buffers back)
        // does not overtake the held buffers either.
        if direction == gst::PadDirection::Sink && query.is_serialized() {
            self.inflight.drain();
        }
        let answered = BaseTransformImplExt::parent_query(self, direction, query);
        if !answered || direction != gst::PadDirection::Src {
            return answered;
        }
        if let gst::QueryViewMut::Latency(q) = query.view_mut() {
            // A held buffer may wait behind the others held before its own inference.
            let held = self.inflight.capacity() as u64;
            let ours = match (self.loaded(), *lock(&self.running)) {
                (Some(l), mode) if mode != Some(Mode::Async) => {
                    gst::ClockTime::from_nseconds(held * l.latency.as_nanos() as u64)
                }
                _ => gst::ClockTime::ZERO,
            };
            let (live, min, max) = q.result();
            gst::debug!(CAT, imp = self, "adding {} of inference latency", ours);
            q.set(live, min + ours, max.map(|m| m + ours));
        }
        answered
    }
}
