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

static CACHE: LazyLock<Mutex<HashMap<Key, Weak<SharedModel>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The shared session for `path` and `options`, loading it if no element holds it.
/// Loads are serialised: elements starting together on one model load it once.
pub fn shared(path: &Path, options: &EngineOptions) -> Result<Arc<SharedModel>, EngineError> {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let meta = std::fs::metadata(&canonical).ok();
    let key = Key {
        len: meta.as_ref().map_or(0, |m| m.len()),
        modified: meta.and_then(|m| m.modified().ok()),
        path: canonical,
        options: options.clone(),
    };
    let mut cache = lock(&CACHE);
    cache.retain(|_, model| model.strong_count() > 0);
    if let Some(model) = cache.get(&key).and_then(Weak::upgrade) {
        return Ok(model);
    }
    let model = Arc::new(SharedModel::load(path, options)?);
    cache.insert(key, Arc::downgrade(&model));
    Ok(model)
}
