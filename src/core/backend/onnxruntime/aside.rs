//! A session of a model apart from its pool, for the examples embedded while frames
//! run (classes rebuilt, or a model loaded, while the element plays). A pool session
//! lent to an example is one a frame may have to wait for; this one no frame ever asks
//! for, so the pool keeps its size and frames never wait for an example.
//!
//! It is built at the first example and dropped with the rebuild that asked for it: a
//! rebuild that embeds nothing (photos removed, or all in the cache) builds none, and
//! between rebuilds, which come seconds apart at most, it holds no memory. Building one
//! for `mobilenet` takes a few tens of milliseconds on the rebuild's own thread, which
//! waits 0.3 s for the folder to be quiet anyway (docs/custom-classes.md#live-classes).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ort::session::Session;

use super::session::{SharedModel, release_freed_memory};
use crate::core::backend::{Backend, BackendError, Batch, ModelInfo, Scores};
use crate::core::lock::lock;

static ALIVE: AtomicUsize = AtomicUsize::new(0);
static BUILT: AtomicU64 = AtomicU64::new(0);
static RUNS: AtomicU64 = AtomicU64::new(0);

/// Sessions apart from the pools alive now, built so far, and the inferences they ran
/// (for tests and measurements).
pub fn aside_sessions() -> (usize, u64, u64) {
    (
        ALIVE.load(Ordering::SeqCst),
        BUILT.load(Ordering::SeqCst),
        RUNS.load(Ordering::SeqCst),
    )
}

enum State {
    NotBuilt,
    Built(Session),
    /// ONNX Runtime refused a second session (out of memory, a full GPU): the examples
    /// go through the pool as before, so a rebuild still works, only less smoothly.
    Refused,
}

/// One rebuild's session apart; its inferences run one at a time, on its thread.
pub struct Aside {
    model: Arc<SharedModel>,
    session: Mutex<State>,
}

impl Aside {
    pub fn new(model: Arc<SharedModel>) -> Aside {
        Aside {
            model,
            session: Mutex::new(State::NotBuilt),
        }
    }
}

impl Drop for Aside {
    fn drop(&mut self) {
        let state = self.session.get_mut().unwrap_or_else(|e| e.into_inner());
        if let State::Built(session) = std::mem::replace(state, State::NotBuilt) {
            drop(session);
            ALIVE.fetch_sub(1, Ordering::SeqCst);
            release_freed_memory();
        }
    }
}

impl Backend for Aside {
    fn info(&self) -> &ModelInfo {
        &self.model.info
    }

    fn run(&self, batch: &Batch<'_>) -> Result<Scores, BackendError> {
        let mut state = lock(&self.session);
        if let State::NotBuilt = *state {
            *state = match self.model.aside_session() {
                Ok(session) => {
                    ALIVE.fetch_add(1, Ordering::SeqCst);
                    BUILT.fetch_add(1, Ordering::SeqCst);
                    State::Built(session)
                }
                Err(_) => State::Refused,
            };
        }
        let (rows, embeddings) = match &mut *state {
            State::Built(session) => {
                RUNS.fetch_add(1, Ordering::SeqCst);
                self.model
                    .run_batch_on(session, batch.tensors, batch.images, batch.embed)?
            }
            _ => {
                drop(state);
                let (rows, embeddings, _) =
                    self.model
                        .run_batch(batch.tensors, batch.images, batch.embed)?;
                (rows, embeddings)
            }
        };
        Ok(Scores {
            rows,
            calls: 1,
            provider: None,
            embeddings,
        })
    }
}
