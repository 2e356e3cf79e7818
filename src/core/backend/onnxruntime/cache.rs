//! Process-wide session cache: elements that load the same model file with the same
//! options share one model and its pool of sessions; the last one to let go frees it.
//! The pool grows by one session per element that joins, up to [`pool_size`], so
//! one stream keeps one session and N streams run N inferences at once where the cores
//! allow it; an element's `sessions` property asks for a size of its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::SystemTime;

use crate::core::lock::lock;

use super::error::EngineError;
use super::pool::Demand;
use super::provider::Kind;
use super::session::{EngineOptions, SharedModel};

/// Overrides the pool's size limit for the whole process (for measuring; 1 = one
/// session shared by all elements, as before pools).
pub const SESSIONS_ENV: &str = "IMGCLASSIFY_SESSIONS";

/// How many sessions a model's pool should hold for what its holders ask
/// ([`Demand`]). Automatic holders (`sessions=0`) get one session each, as many as there
/// are streams, even beyond `cores / threads`: with fewer, each stream waits for a
/// session while the others preprocess, and 4 streams on 2 cores reached 0.89 of 4
/// processes (docs/streams.md). The sessions' threads are not pinned (threads.rs), and
/// spin only where the pool's threads have the cores to themselves (spinning.rs), so a
/// session waiting for work leaves its cores to the others. An
/// explicit `sessions=N` is honoured as it is. GPU providers keep one session: the
/// device, not the host's cores, runs the inference, and each session holds its own
/// device memory. `IMGCLASSIFY_SESSIONS` caps every ask in the process.
pub fn pool_size(kind: Kind, demand: &Demand) -> usize {
    let env = std::env::var(SESSIONS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    if let Some(n) = env {
        return demand.wanted(n).min(n);
    }
    if kind != Kind::Cpu {
        return 1;
    }
    demand.wanted(usize::MAX)
}

/// One element's hold on a shared model; letting go withdraws its ask of the pool.
pub struct Held {
    pub model: Arc<SharedModel>,
    sessions: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.model.demand.leave(self.sessions);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    path: PathBuf,
    /// A rewritten file is a different model.
    len: u64,
    modified: Option<SystemTime>,
    options: EngineOptions,
}

/// One key's place in the cache. Its own lock serialises loads of that key only, so
/// elements starting together on one model load it once, and a slow load (a big model,
/// a TensorRT engine build) never holds up loads of other models.
#[derive(Default)]
struct Slot {
    model: Mutex<Weak<SharedModel>>,
}

static CACHE: LazyLock<Mutex<HashMap<Key, Arc<Slot>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The shared model for `path` and `options`, loading it if no element holds it, its
/// pool grown to what the holders ask, this one's `sessions` (0 = automatic) included.
pub fn shared(path: &Path, options: &EngineOptions, sessions: usize) -> Result<Held, EngineError> {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let meta = std::fs::metadata(&canonical).ok();
    let key = Key {
        len: meta.as_ref().map_or(0, |m| m.len()),
        modified: meta.and_then(|m| m.modified().ok()),
        path: canonical,
        options: options.clone(),
    };
    let slot = {
        let mut cache = lock(&CACHE);
        // A slot being loaded is locked, or held by its loader: both keep it.
        cache.retain(|_, slot| {
            Arc::strong_count(slot) > 1
                || slot
                    .model
                    .try_lock()
                    .map_or(true, |model| model.strong_count() > 0)
        });
        Arc::clone(cache.entry(key).or_default())
    };
    let mut cached = lock(&slot.model);
    let model = match cached.upgrade() {
        Some(model) => model,
        None => {
            let model = Arc::new(SharedModel::load(path, options)?);
            *cached = Arc::downgrade(&model);
            model
        }
    };
    model.demand.join(sessions);
    let held = Held { model, sessions };
    // A session that cannot be added leaves the pool smaller but working.
    let wanted = pool_size(held.model.active.kind, &held.model.demand);
    let _ = held.model.grow_to(wanted);
    Ok(held)
}
