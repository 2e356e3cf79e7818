//! One element's handle on a shared ONNX Runtime session: the [`Backend`] the element
//! runs its tensors through.

use super::aside::Aside;
use super::cache::{self, Held};
use super::error::{EngineError, Failure};
use super::provider::{Active, Kind};
use super::session::{EngineOptions, SharedModel, WarmUp};
use crate::core::backend::{Backend, BackendError, Batch, ModelInfo, Scores, Telemetry};
use crate::core::lock::lock;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct OnnxRuntime {
    held: Held,
    /// A rebuild for `spinning=auto` this element started: waited for when the element
    /// lets go, so no session outlives the pipeline that used it.
    respin: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for OnnxRuntime {
    fn drop(&mut self) {
        if let Some(handle) = lock(&self.respin).take() {
            let _ = handle.join();
        }
    }
}

impl OnnxRuntime {
    /// The shared model for the path and options, loaded if no element holds it, with
    /// the pool of sessions this element asks for (`sessions`, 0 = automatic).
    pub fn load(
        path: &Path,
        options: &EngineOptions,
        sessions: usize,
    ) -> Result<OnnxRuntime, EngineError> {
        Ok(OnnxRuntime {
            held: cache::shared(path, options, sessions)?,
            respin: Mutex::new(None),
        })
    }

    fn model(&self) -> &SharedModel {
        &self.held.model
    }

    /// Sessions in the model's pool, shared with the other elements holding it.
    pub fn pool_size(&self) -> usize {
        self.model().pool_size()
    }

    /// The provider the session really runs on.
    pub fn active(&self) -> Active {
        self.model().active
    }

    /// The output scores are read from.
    pub fn output_name(&self) -> &str {
        self.model().output_name()
    }

    /// Whether the session runs on ONNX Runtime's CPU provider.
    pub fn on_cpu(&self) -> bool {
        self.model().active.kind == Kind::Cpu
    }

    /// The inference run at load.
    pub fn warm_up(&self) -> &WarmUp {
        &self.model().warm_up
    }

    /// Tells `spinning=auto` of an inference; when it switches, the sessions are
    /// rebuilt on a thread of their own, so no frame waits for a model load.
    fn measure_spinning(&self, images: usize, took: Duration) {
        let now = Instant::now();
        let Some((from, to)) = self.model().spinner.ran(now, images as u64, took) else {
            return;
        };
        let model = Arc::clone(&self.held.model);
        let spawned = std::thread::Builder::new()
            .name("imgclassify-spin".into())
            .spawn(move || model.respin(from, to));
        match spawned {
            Ok(handle) => {
                // The one before is done but for freeing memory: the spinner switches
                // again only after it put its sessions in place.
                if let Some(done) = lock(&self.respin).replace(handle) {
                    let _ = done.join();
                }
            }
            Err(_) => self.model().spinner.give_up(from),
        }
    }

    /// Providers that were tried first and failed, with ONNX Runtime's reasons.
    pub fn failures(&self) -> &[Failure] {
        &self.model().failures
    }
}

impl Backend for OnnxRuntime {
    fn info(&self) -> &ModelInfo {
        &self.model().info
    }

    fn run(&self, batch: &Batch<'_>) -> Result<Scores, BackendError> {
        let (rows, embeddings, took) =
            self.model()
                .run_batch(batch.tensors, batch.images, batch.embed)?;
        self.measure_spinning(batch.images, took);
        Ok(Scores {
            rows,
            calls: 1,
            provider: None,
            embeddings,
        })
    }

    /// A session of the same model apart from the pool, built at its first inference.
    fn aside(&self) -> Option<Arc<dyn Backend>> {
        Some(Arc::new(Aside::new(Arc::clone(&self.held.model))))
    }

    fn telemetry(&self) -> Telemetry {
        Telemetry {
            spinning: Some(self.model().spinner.report()),
            ..Telemetry::default()
        }
    }
}
