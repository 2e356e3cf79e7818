//! One element's handle on a shared ONNX Runtime session: the [`Backend`] the element
//! runs its tensors through.

use super::cache::{self, Held};
use super::error::{EngineError, Failure};
use super::provider::{Active, Kind};
use super::session::{EngineOptions, SharedModel, WarmUp};
use crate::backend::{Backend, BackendError, ModelInfo, Scores};
use std::path::Path;

pub struct OnnxRuntime {
    held: Held,
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

    /// Providers that were tried first and failed, with ONNX Runtime's reasons.
    pub fn failures(&self) -> &[Failure] {
        &self.model().failures
    }
}

impl OnnxRuntime {
    /// One call where the model takes a batch, else one call per image.
    fn run_with(
        &self,
        tensors: &[f32],
        images: usize,
        embed: bool,
    ) -> Result<Scores, BackendError> {
        if images <= 1 || self.model().info.batchable {
            let (rows, embeddings) = self.model().run_batch(tensors, images, embed)?;
            return Ok(Scores {
                rows,
                calls: 1,
                provider: None,
                embeddings,
            });
        }
        let len = self.model().info.spec.tensor.len();
        let mut rows = Vec::with_capacity(images * self.model().info.spec.classes);
        let mut embeddings = Vec::new();
        for one in tensors.chunks(len) {
            let (row, embedding) = self.model().run_batch(one, 1, embed)?;
            rows.extend(row);
            embeddings.extend(embedding);
        }
        Ok(Scores {
            rows,
            calls: images,
            provider: None,
            embeddings,
        })
    }
}

impl Backend for OnnxRuntime {
    fn info(&self) -> &ModelInfo {
        &self.model().info
    }

    fn provider(&self) -> String {
        self.model().active.to_string()
    }

    fn run(&self, tensors: &[f32], images: usize) -> Result<Scores, BackendError> {
        self.run_with(tensors, images, false)
    }

    fn run_embedded(&self, tensors: &[f32], images: usize) -> Result<Scores, BackendError> {
        self.run_with(tensors, images, true)
    }
}
