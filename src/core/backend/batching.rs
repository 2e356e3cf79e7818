//! The one place that decides how a batch reaches a backend: whole, where the model
//! takes several images per call, else one image per call. Backends never split.

use super::{Backend, BackendError, Batch, Scores};

/// Runs `batch` on `backend`, one call per image when its model has no batch dimension.
pub fn run(backend: &dyn Backend, batch: &Batch<'_>) -> Result<Scores, BackendError> {
    let info = backend.info();
    let len = info.spec.tensor.len();
    if batch.tensors.len() != batch.images * len {
        return Err(BackendError::BatchShape {
            images: batch.images,
            expected: batch.images * len,
            got: batch.tensors.len(),
        });
    }
    if batch.images <= 1 || info.batchable {
        return backend.run(batch);
    }
    let mut all = Scores {
        rows: Vec::with_capacity(batch.images * info.spec.classes),
        calls: 0,
        provider: None,
        embeddings: Vec::new(),
    };
    for one in batch.tensors.chunks(len) {
        if batch.cancelled() {
            return Err(BackendError::Cancelled);
        }
        let scores = backend.run(&Batch {
            tensors: one,
            images: 1,
            ..*batch
        })?;
        all.rows.extend(scores.rows);
        all.embeddings.extend(scores.embeddings);
        all.calls += scores.calls;
        all.provider = scores.provider.or(all.provider);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backend::{ElementType, ModelInfo, Placement};
    use crate::core::model::{ModelSpec, TensorSpec};
    use std::sync::Mutex;

    /// Scores each image with its first value; records the batch sizes it was given.
    struct Echo {
        info: ModelInfo,
        calls: Mutex<Vec<usize>>,
    }

    fn echo(batchable: bool) -> Echo {
        Echo {
            info: ModelInfo {
                name: "echo".into(),
                spec: ModelSpec {
                    tensor: TensorSpec::imagenet(2),
                    crop_fraction: 1.0,
                    classes: 1,
                    output: None,
                },
                input_type: ElementType::Float32,
                labels: None,
                batchable,
                quantization: None,
                embedding: None,
                placement: Placement::default(),
            },
            calls: Mutex::new(Vec::new()),
        }
    }

    impl Backend for Echo {
        fn info(&self) -> &ModelInfo {
            &self.info
        }
        fn run(&self, batch: &Batch<'_>) -> Result<Scores, BackendError> {
            self.calls.lock().unwrap().push(batch.images);
            let len = self.info.spec.tensor.len();
            Ok(Scores {
                rows: batch.tensors.chunks(len).map(|t| t[0]).collect(),
                calls: 1,
                provider: None,
                embeddings: Vec::new(),
            })
        }
    }

    fn three_images(len: usize) -> Vec<f32> {
        (0..3).flat_map(|i| vec![i as f32; len]).collect()
    }

    #[test]
    fn a_batchable_model_gets_the_whole_batch_in_one_call() {
        let backend = echo(true);
        let tensors = three_images(backend.info.spec.tensor.len());
        let scores = run(&backend, &Batch::new(&tensors, 3)).unwrap();
        assert_eq!(scores.rows, vec![0.0, 1.0, 2.0]);
        assert_eq!(scores.calls, 1);
        assert_eq!(*backend.calls.lock().unwrap(), vec![3]);
    }

    #[test]
    fn a_model_without_a_batch_dimension_gets_one_image_per_call_in_order() {
        let backend = echo(false);
        let tensors = three_images(backend.info.spec.tensor.len());
        let scores = run(&backend, &Batch::new(&tensors, 3)).unwrap();
        assert_eq!(scores.rows, vec![0.0, 1.0, 2.0]);
        assert_eq!(scores.calls, 3);
        assert_eq!(*backend.calls.lock().unwrap(), vec![1, 1, 1]);
    }

    #[test]
    fn a_cancelled_batch_stops_between_images() {
        let backend = echo(false);
        let tensors = three_images(backend.info.spec.tensor.len());
        let cancel = std::sync::atomic::AtomicBool::new(true);
        let batch = Batch {
            cancel: Some(&cancel),
            ..Batch::new(&tensors, 3)
        };
        assert!(matches!(
            run(&backend, &batch),
            Err(BackendError::Cancelled)
        ));
        assert!(backend.calls.lock().unwrap().is_empty());
    }

    #[test]
    fn a_batch_of_the_wrong_size_is_refused_before_the_backend_sees_it() {
        let backend = echo(true);
        let err = run(&backend, &Batch::new(&[0.0; 5], 3)).unwrap_err();
        assert!(matches!(
            err,
            BackendError::BatchShape {
                images: 3,
                got: 5,
                ..
            }
        ));
        assert!(backend.calls.lock().unwrap().is_empty());
    }
}
