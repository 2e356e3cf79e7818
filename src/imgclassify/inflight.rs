//! `in-flight` in `sync` mode: with K ≥ 2 the streaming thread hands each buffer to a
//! thread of the element's own and returns to upstream, so a decoder in front decodes
//! the next frame while this one is classified. That thread classifies the buffers in
//! the order they came (the same per-frame path as with K = 1) and pushes them on the
//! source pad, as a `queue` would. The hand-over waits while K buffers are held
//! (`core::inflight`).
//!
//! BaseTransform's `submit_input_buffer` is where a buffer is handed over: the base
//! class still handles caps, segments, reconfiguration and events, and with no queued
//! buffer its `generate_output` produces nothing for the held ones. Serialized events
//! wait in `sink_event` until every held buffer has left, so nothing overtakes a frame.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;

use super::{CAT, Mode};
use crate::core::inflight::{Held, Refused};
use crate::core::lock::lock;

type Buffers = Held<gst::Buffer, gst::FlowError>;

/// `in-flight=0`: held frames when upstream is not live.
pub const AUTO_NOT_LIVE: usize = 2;

enum Overlap {
    /// Inference on the streaming thread.
    Off,
    /// Decided with the first buffer: how many to hold, 0 for auto.
    Undecided(u32),
    On {
        held: Arc<Buffers>,
        thread: Option<JoinHandle<()>>,
    },
}

/// Between READY→PAUSED and PAUSED→READY; `Off` otherwise.
pub struct InFlight {
    overlap: Mutex<Overlap>,
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight {
            overlap: Mutex::new(Overlap::Off),
        }
    }
}

impl InFlight {
    /// At READY→PAUSED: `setting` is the property's value.
    pub fn configure(&self, setting: u32, mode: Mode) {
        *lock(&self.overlap) = if mode == Mode::Async || setting == 1 {
            Overlap::Off
        } else {
            Overlap::Undecided(setting)
        };
    }

    /// The buffers held, when frames are in flight: decided with the first buffer,
    /// which starts the thread.
    pub fn held(&self, obj: &super::ImgClassify) -> Option<Arc<Buffers>> {
        let setting = match &*lock(&self.overlap) {
            Overlap::Off => return None,
            Overlap::On { held, .. } => return Some(Arc::clone(held)),
            Overlap::Undecided(setting) => *setting,
        };
        // Asked with no lock held: the query runs upstream's handlers on this thread.
        let capacity = match setting {
            0 if upstream_is_live(obj) => 1,
            0 => AUTO_NOT_LIVE,
            k => k as usize,
        };
        gst::debug!(
            CAT,
            obj = obj,
            "holding up to {} frames in flight",
            capacity
        );
        if capacity < 2 {
            *lock(&self.overlap) = Overlap::Off;
            return None;
        }
        let held = Arc::new(Held::new(capacity));
        let thread = start(obj, &held);
        let Ok(thread) = thread else {
            gst::element_warning!(
                obj,
                gst::CoreError::Thread,
                ("cannot start the in-flight thread; classifying on the streaming thread"),
                ["set in-flight=1 to silence this"]
            );
            *lock(&self.overlap) = Overlap::Off;
            return None;
        };
        *lock(&self.overlap) = Overlap::On {
            held: Arc::clone(&held),
            thread: Some(thread),
        };
        Some(held)
    }

    fn current(&self) -> Option<Arc<Buffers>> {
        match &*lock(&self.overlap) {
            Overlap::On { held, .. } => Some(Arc::clone(held)),
            _ => None,
        }
    }

    /// The frames a buffer may wait behind, itself included, for the latency query:
    /// 1 while undecided with auto, which is what a live upstream gets.
    pub fn capacity(&self) -> usize {
        match &*lock(&self.overlap) {
            Overlap::Off => 1,
            Overlap::Undecided(setting) => (*setting as usize).max(1),
            Overlap::On { held, .. } => held.capacity(),
        }
    }

    /// Before a serialized event passes, and before new caps: every held buffer leaves
    /// first. A flush or a downstream failure ends the wait early.
    pub fn drain(&self) {
        if let Some(held) = self.current() {
            let _ = held.drain();
        }
    }

    pub fn flush_start(&self) {
        if let Some(held) = self.current() {
            held.flush_start();
        }
    }

    /// Waits for the frame being classified, so the stream is back for its restart.
    pub fn flush_stop(&self) {
        if let Some(held) = self.current() {
            held.flush_stop();
        }
    }

    /// Before PAUSED→READY deactivates the pads: wakes a streaming thread waiting for
    /// room, and the element's thread ends after the frame it works on.
    pub fn close(&self) {
        if let Some(held) = self.current() {
            held.close();
        }
    }

    /// From `stop`: after `close`, ends the thread. The stream is back afterwards.
    pub fn stop(&self) {
        let overlap = std::mem::replace(&mut *lock(&self.overlap), Overlap::Off);
        if let Overlap::On { held, thread } = overlap {
            held.close();
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
    }
}

/// Hands a buffer over; the flow return of an earlier buffer's push comes back here.
pub fn hand_over(held: &Buffers, buf: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
    match held.submit(buf) {
        Ok(()) => Ok(gst::FlowSuccess::Ok),
        Err(Refused::Flushing) => Err(gst::FlowError::Flushing),
        Err(Refused::Failed(e)) => Err(e),
    }
}

fn upstream_is_live(obj: &super::ImgClassify) -> bool {
    let mut query = gst::query::Latency::new();
    // No answer: treated as live, which keeps today's lowest-latency behaviour.
    !obj.sink_pad().peer_query(&mut query) || query.result().0
}

fn start(obj: &super::ImgClassify, held: &Arc<Buffers>) -> std::io::Result<JoinHandle<()>> {
    let weak: glib::WeakRef<super::ImgClassify> = obj.downgrade();
    let held = Arc::clone(held);
    std::thread::Builder::new()
        .name(format!("{}:in-flight", obj.name()))
        .spawn(move || {
            while let Some(buf) = held.take() {
                let result = match weak.upgrade() {
                    Some(obj) => pass_on(&obj, buf, &held),
                    None => Err(gst::FlowError::Flushing),
                };
                held.finish(result);
            }
        })
}

/// Classifies one buffer as the streaming thread would with `in-flight=1`, and pushes
/// it, unless a flush came meanwhile.
fn pass_on(
    obj: &super::ImgClassify,
    mut buf: gst::Buffer,
    held: &Buffers,
) -> Result<(), gst::FlowError> {
    obj.imp().classify(buf.make_mut())?;
    if held.is_flushing() {
        return Ok(());
    }
    obj.src_pad().push(buf).map(|_| ())
}
