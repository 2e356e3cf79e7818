//! A backend for the core's unit tests: each image scores one class per value, the
//! class given by the image's first tensor value; it records what it was asked.

use std::sync::Mutex;
use std::time::Duration;

use super::{Backend, BackendError, Batch, ElementType, ModelInfo, Placement, Scores};
use crate::core::model::{ModelSpec, TensorSpec};

pub struct Fake {
    info: ModelInfo,
    /// Each call: its images, and whether it had a deadline.
    pub calls: Mutex<Vec<(usize, bool)>>,
    /// Answer every call with this error instead.
    pub unavailable: Option<String>,
}

impl Fake {
    /// A model of `classes` classes on 2x2 images; `time_limit` as a remote backend's.
    pub fn new(classes: usize, batchable: bool, time_limit: Option<Duration>) -> Fake {
        Fake {
            info: ModelInfo {
                name: "fake".into(),
                spec: ModelSpec {
                    tensor: TensorSpec::imagenet(2),
                    crop_fraction: 1.0,
                    classes,
                    output: None,
                },
                input_type: ElementType::Float32,
                labels: None,
                batchable,
                quantization: None,
                embedding: None,
                placement: Placement {
                    provider: "fake".into(),
                    time_limit,
                    ..Placement::default()
                },
            },
            calls: Mutex::new(Vec::new()),
            unavailable: None,
        }
    }

    /// Tensors for images that score classes `ids`, one after another.
    pub fn images(&self, ids: &[usize]) -> Vec<f32> {
        let len = self.info.spec.tensor.len();
        ids.iter().flat_map(|&id| vec![id as f32; len]).collect()
    }
}

impl Backend for Fake {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn run(&self, batch: &Batch<'_>) -> Result<Scores, BackendError> {
        self.calls
            .lock()
            .unwrap()
            .push((batch.images, batch.deadline.is_some()));
        if let Some(why) = &self.unavailable {
            return Err(BackendError::Unavailable(why.clone()));
        }
        let (len, classes) = (self.info.spec.tensor.len(), self.info.spec.classes);
        let mut rows = vec![0.0; batch.images * classes];
        for (image, row) in batch.tensors.chunks(len).zip(rows.chunks_mut(classes)) {
            row[(image[0] as usize).min(classes - 1)] = 10.0;
        }
        Ok(Scores {
            rows,
            calls: 1,
            provider: None,
            embeddings: Vec::new(),
        })
    }
}
