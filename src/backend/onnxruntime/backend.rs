//! One element's handle on a shared ONNX Runtime session: the [`Backend`] the element
//! runs its tensors through.

use std::path::Path;
use std::sync::Arc;

use super::cache;
use super::error::{EngineError, Failure};
use super::provider::{Active, Kind};
use super::session::{EngineOptions, SharedModel, WarmUp};
use crate::backend::{Backend, BackendError, ModelInfo, Scores};

pub struct OnnxRuntime {
    model: Arc<SharedModel>,
}

impl OnnxRuntime {
    /// The shared session for the model and options, loaded if no element holds it.
    pub fn load(path: &Path, options: &EngineOptions) -> Result<OnnxRuntime, EngineError> {
        Ok(OnnxRuntime {
            model: cache::shared(path, options)?,
        })
    }

    /// The provider the session really runs on.
    pub fn active(&self) -> Active {
        self.model.active
    }

    /// The output scores are read from.
    pub fn output_name(&self) -> &str {
        self.model.output_name()
    }

    /// Whether the session runs on ONNX Runtime's CPU provider.
    pub fn on_cpu(&self) -> bool {
        self.model.active.kind == Kind::Cpu
    }

    /// The inference run at load.
    pub fn warm_up(&self) -> &WarmUp {
        &self.model.warm_up
    }

    /// Providers that were tried first and failed, with ONNX Runtime's reasons.
    pub fn failures(&self) -> &[Failure] {
        &self.model.failures
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
        if images <= 1 || self.model.info.batchable {
            let (rows, embeddings) = self.model.run_batch(tensors, images, embed)?;
            return Ok(Scores {
                rows,
                calls: 1,
                provider: None,
                embeddings,
            });
        }
        let len = self.model.info.spec.tensor.len();
        let mut rows = Vec::with_capacity(images * self.model.info.spec.classes);
        let mut embeddings = Vec::new();
        for one in tensors.chunks(len) {
            let (row, embedding) = self.model.run_batch(one, 1, embed)?;
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
        &self.model.info
    }

    fn provider(&self) -> String {
        self.model.active.to_string()
    }

    fn run(&self, tensors: &[f32], images: usize) -> Result<Scores, BackendError> {
        self.run_with(tensors, images, false)
    }

    fn run_embedded(&self, tensors: &[f32], images: usize) -> Result<Scores, BackendError> {
        self.run_with(tensors, images, true)
    }
}
