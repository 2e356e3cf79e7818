//! Process-wide session cache: elements that load the same model file with the same
//! options share one session; the last one to let go frees it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::SystemTime;

use crate::lock::lock;

use super::error::EngineError;
use super::session::{EngineOptions, SharedModel};

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

/// The shared session for `path` and `options`, loading it if no element holds it.
pub fn shared(path: &Path, options: &EngineOptions) -> Result<Arc<SharedModel>, EngineError> {
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
    if let Some(model) = cached.upgrade() {
        return Ok(model);
    }
    let model = Arc::new(SharedModel::load(path, options)?);
    *cached = Arc::downgrade(&model);
    Ok(model)
}
