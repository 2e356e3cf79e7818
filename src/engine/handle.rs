//! `Engine`: one element's handle on a shared session, with that element's labels.

use std::path::Path;
use std::sync::Arc;

use super::cache;
use super::provider::{Active, Failure};
use super::session::{EngineError, EngineOptions, SharedModel};
use crate::model::{ModelSpec, labels};

pub struct Engine {
    model: Arc<SharedModel>,
    labels: Vec<String>,
}

impl Engine {
    /// Gets the shared session for the model and options, and picks the labels: the
    /// labels file if given, else the model's own, else `class N`.
    pub fn load(
        path: &Path,
        labels_file: Option<&Path>,
        options: &EngineOptions,
    ) -> Result<Engine, EngineError> {
        let model = cache::shared(path, options)?;
        let classes = model.info.spec.classes;
        let (labels, source) = match labels_file {
            Some(file) => (
                labels::read_file(file).map_err(|e| EngineError::Labels(e.to_string()))?,
                format!("labels file '{}'", file.display()),
            ),
            None => match model.info.labels.clone() {
                Some(l) => (l, format!("the metadata of model '{}'", path.display())),
                None => (
                    (0..classes).map(|i| format!("class {i}")).collect(),
                    String::new(),
                ),
            },
        };
        if labels.len() != classes {
            return Err(EngineError::LabelCount {
                source,
                labels: labels.len(),
                classes,
            });
        }
        Ok(Engine { model, labels })
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.model.info.spec
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn name(&self) -> &str {
        &self.model.info.name
    }

    /// Whether `run` returns probabilities (else logits that need a softmax).
    pub fn outputs_probabilities(&self) -> bool {
        self.model.info.outputs_probabilities
    }

    /// The provider the session really runs on.
    pub fn active(&self) -> Active {
        self.model.active
    }

    /// Providers that were tried first and failed, with ONNX Runtime's reasons.
    pub fn failures(&self) -> &[Failure] {
        &self.model.failures
    }

    pub fn run(&self, tensor: &[f32]) -> Result<Vec<f32>, EngineError> {
        self.model.run(tensor)
    }

    /// Runs `n` tensors in one call where the model allows, else one by one; either way
    /// returns `n` rows of class scores and how many inference calls it took.
    pub fn run_many(&self, tensors: &[f32], n: usize) -> Result<(Vec<f32>, usize), EngineError> {
        if n <= 1 || self.model.info.batchable {
            return Ok((self.model.run_batch(tensors, n)?, 1));
        }
        let len = self.spec().tensor.len();
        let mut scores = Vec::with_capacity(n * self.spec().classes);
        for one in tensors.chunks(len) {
            scores.extend(self.model.run(one)?);
        }
        Ok((scores, n))
    }

    /// Whether the model takes several images per call.
    pub fn batchable(&self) -> bool {
        self.model.info.batchable
    }
}
