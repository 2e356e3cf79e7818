//! The model in use, replaced while the element runs and frames never wait: a new model
//! (`model`, `model-file`, `labels-file` or `classes-dir` set after NULL→READY) loads on
//! a background thread, and a changed `classes-dir` is rebuilt on its watch's thread
//! (`core::classes::watch`, `core::loading::live`). Either is stored whole in one
//! `ArcSwap` cell, which the stream reads at the start of each frame: a frame runs on
//! one model from start to end, and the old model is freed when its last frame (or
//! async job) lets go of it. A load or rebuild that fails posts a warning and leaves the
//! model in use as it is.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use gst::glib;
use gst::prelude::*;

use super::CAT;
use crate::core::classes::watch::{self, Watch};
use crate::core::loading::live::{self, Swapped};
use crate::core::loading::request::{ClassesRequest, LoadRequest};
use crate::core::loading::{self, Loaded};
use crate::core::lock::lock;
use crate::core::preprocess::ResizeMode;
use crate::core::report::{Kind, LoadError, Note};
use crate::core::worker::Worker;

/// The properties whose change loads a new model while the element runs.
pub const RELOADING: [&str; 4] = ["model", "model-file", "labels-file", "classes-dir"];

/// The element message posted when the first frame uses a new class set.
pub const CLASSES_CHANGED: &str = "imgclassify-classes-changed";
/// The element message posted when the first frame uses a new model.
pub const MODEL_CHANGED: &str = "imgclassify-model-changed";

type Cell = Arc<ArcSwap<Loaded>>;

struct Reload {
    number: u64,
    request: LoadRequest,
    resize_mode: ResizeMode,
}

/// A classes folder watched, and the flag that ends its rebuild in progress early.
struct Watching {
    cancel: Arc<AtomicBool>,
    _watch: Watch,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Release);
    }
}

/// From NULL→READY to READY→NULL: the model in use and what replaces it.
pub struct Live {
    current: Cell,
    element: glib::WeakRef<super::ImgClassify>,
    /// Reloads asked for: a load that ends after a newer one was asked is dropped.
    asked: Arc<AtomicU64>,
    /// What loaded the model in use, so a new `classes-dir` alone reuses its model.
    loaded_with: Arc<Mutex<LoadRequest>>,
    /// Set when the element stops: a load in progress stops embedding examples.
    cancel: Arc<AtomicBool>,
    /// Started at the first reload; the newest one asked waits, older ones are dropped.
    reloads: Mutex<Option<Worker<Reload, ()>>>,
    watching: Arc<Mutex<Option<Watching>>>,
}

impl Live {
    /// Starts watching `classes-dir`, if set.
    pub fn new(
        element: &super::ImgClassify,
        loaded: Loaded,
        request: &LoadRequest,
        resize_mode: ResizeMode,
    ) -> Live {
        let live = Live {
            current: Arc::new(ArcSwap::from_pointee(loaded)),
            element: element.downgrade(),
            asked: Arc::new(AtomicU64::new(0)),
            loaded_with: Arc::new(Mutex::new(request.clone())),
            cancel: Arc::new(AtomicBool::new(false)),
            reloads: Mutex::new(None),
            watching: Arc::new(Mutex::new(None)),
        };
        let watching = watch_classes(element, &live.current, &request.classes, resize_mode);
        *lock(&live.watching) = watching;
        live
    }

    /// The model in use now.
    pub fn current(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// The cell the stream follows.
    pub fn cell(&self) -> Cell {
        Arc::clone(&self.current)
    }

    /// Loads `request` in the background and puts it in use once loaded.
    pub fn reload(&self, request: LoadRequest, resize_mode: ResizeMode) {
        let number = self.asked.fetch_add(1, Ordering::AcqRel) + 1;
        let mut reloads = lock(&self.reloads);
        if reloads.is_none() {
            match self.start_reloads() {
                Ok(worker) => *reloads = Some(worker),
                Err(e) => {
                    if let Some(element) = self.element.upgrade() {
                        gst::element_warning!(
                            element,
                            gst::CoreError::Thread,
                            (
                                "cannot start the model loading thread: {}; the model in use stays",
                                e
                            )
                        );
                    }
                    return;
                }
            }
        }
        if let Some(worker) = reloads.as_ref() {
            worker.submit(Reload {
                number,
                request,
                resize_mode,
            });
        }
    }

    fn start_reloads(&self) -> std::io::Result<Worker<Reload, ()>> {
        let (current, element) = (Arc::clone(&self.current), self.element.clone());
        let (asked, cancel) = (Arc::clone(&self.asked), Arc::clone(&self.cancel));
        let watching = Arc::clone(&self.watching);
        let loaded_with = Arc::clone(&self.loaded_with);
        Worker::start("imgclassify-load", 1, move |job: Reload| {
            watch::lower_priority();
            let newest = || job.number == asked.load(Ordering::Acquire);
            if !newest() || cancel.load(Ordering::Acquire) {
                return;
            }
            let Some(id) = element.upgrade().map(|e| {
                job.request
                    .classifier_id
                    .clone()
                    .unwrap_or_else(|| e.name().to_string())
            }) else {
                return;
            };
            let mut notes = Vec::new();
            let classes = &job.request.classes;
            let loaded = if only_classes_dir_changed(&lock(&loaded_with), &job.request) {
                let in_use = current.load_full();
                live::reclass_from(&in_use, classes, job.resize_mode, &cancel, &mut notes)
            } else {
                loading::load_until(&job.request, id, job.resize_mode, &cancel, &mut notes).map(
                    |mut loaded| {
                        loaded.swapped = Some(Swapped::Model {
                            name: loaded.classifier.info().name.clone(),
                            path: loaded.path.clone(),
                        });
                        loaded
                    },
                )
            };
            // Stopping: what was loaded is of no use, and not worth a word.
            if cancel.load(Ordering::Acquire) {
                return;
            }
            let Some(element) = element.upgrade() else {
                return;
            };
            let element = &element;
            for note in notes {
                super::loading::post(element, note);
            }
            match loaded {
                Ok(_) if !newest() => {}
                Ok(loaded) => {
                    current.store(Arc::new(loaded));
                    *lock(&loaded_with) = job.request.clone();
                    // The old watch's rebuilds were for the old model: stop it first.
                    drop(lock(&watching).take());
                    let new = watch_classes(element, &current, classes, job.resize_mode);
                    *lock(&watching) = new;
                    element.notify("active-provider");
                    let _ =
                        element.post_message(gst::message::Latency::builder().src(element).build());
                }
                Err(e) => super::loading::warn_kept(element, e, "the model in use stays"),
            }
        })
    }
}

impl Drop for Live {
    /// A load or rebuild in progress stops embedding; the model it loads is dropped.
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Release);
        drop(lock(&self.watching).take());
        drop(lock(&self.reloads).take());
    }
}

/// Whether `new` asks for the model in use, loaded with `in_use`, with another classes
/// folder: then the classes are rebuilt for the model in use, with no new load.
fn only_classes_dir_changed(in_use: &LoadRequest, new: &LoadRequest) -> bool {
    let mut same = new.clone();
    same.classes.dir = in_use.classes.dir.clone();
    same == *in_use && in_use.classes.dir.is_some() && new.classes.dir.is_some()
}

/// Watches `classes.dir` for the model in `current`; None without one, or with a
/// warning when it cannot be watched.
fn watch_classes(
    element: &super::ImgClassify,
    current: &Cell,
    classes: &ClassesRequest,
    resize_mode: ResizeMode,
) -> Option<Watching> {
    let dir = classes.dir.clone()?;
    let cancel = Arc::new(AtomicBool::new(false));
    let rebuild = {
        let (current, weak, cancel) = (
            Arc::clone(current),
            element.downgrade(),
            Arc::clone(&cancel),
        );
        let classes = classes.clone();
        // The warnings of the last rebuild: one still true is not posted again.
        let mut warned = BTreeSet::new();
        move || {
            let in_use = current.load_full();
            let mut notes = Vec::new();
            let rebuilt = live::reclass(&in_use, &classes, resize_mode, &cancel, &mut notes);
            if cancel.load(Ordering::Acquire) {
                return;
            }
            if let Err(e) = &rebuilt {
                notes.push(Note::warning(e.kind, e.message.clone()));
            }
            if let Ok(Some(new)) = rebuilt {
                // Unless a new model came in meanwhile: the rebuild was for the old one.
                current.compare_and_swap(&in_use, Arc::new(new));
            }
            let Some(element) = weak.upgrade() else {
                return;
            };
            let mut now = BTreeSet::new();
            for note in notes {
                if let Note::Warning { text, .. } = &note {
                    now.insert(text.clone());
                    if warned.contains(text) {
                        continue;
                    }
                }
                super::loading::post(&element, note);
            }
            warned = now;
        }
    };
    match Watch::start(&dir, watch::QUIET, watch::POLL, rebuild) {
        Ok(watch) => {
            gst::debug!(
                CAT,
                obj = element,
                "watching classes-dir '{}' ({})",
                dir.display(),
                if watch.polled { "polled" } else { "inotify" }
            );
            Some(Watching {
                cancel,
                _watch: watch,
            })
        }
        Err(why) => {
            super::loading::warn_kept(
                element,
                LoadError::new(Kind::Read, why),
                "changes to it are used after the element goes to NULL and back",
            );
            None
        }
    }
}

/// Posts the message saying that the frames now use a new class set or model.
pub fn post(element: &super::ImgClassify, swapped: &Swapped) {
    let s = match swapped {
        Swapped::Classes(change) => gst::Structure::builder(CLASSES_CHANGED)
            .field("classes", gst::Array::new(&change.classes))
            .field("examples", change.examples as u64)
            .field("added", gst::Array::new(&change.added))
            .field("removed", gst::Array::new(&change.removed))
            .build(),
        Swapped::Model { name, path } => gst::Structure::builder(MODEL_CHANGED)
            .field("model", name)
            .field("path", path.to_string_lossy().as_ref())
            .build(),
    };
    let _ = element.post_message(gst::message::Element::builder(s).src(element).build());
}
