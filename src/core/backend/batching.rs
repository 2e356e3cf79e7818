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
        return call(backend, batch);
    }
    let mut all = Scores {
        rows: Vec::with_capacity(batch.images * info.spec.classes),
        calls: 0,
        provider: None,
        embeddings: Vec::new(),
    };
    for one in batch.tensors.chunks(len) {
        let scores = call(
            backend,
            &Batch {
                tensors: one,
                images: 1,
                ..*batch
            },
        )?;
        all.rows.extend(scores.rows);
        all.embeddings.extend(scores.embeddings);
        all.calls += scores.calls;
        all.provider = scores.provider.or(all.provider);
    }
    Ok(all)
}

/// One backend call, unless the batch was cancelled before it: the one place the cancel
/// flag is checked, so a frame ends between any two calls.
fn call(backend: &dyn Backend, batch: &Batch<'_>) -> Result<Scores, BackendError> {
    if batch.cancelled() {
        return Err(BackendError::Cancelled);
    }
    backend.run(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backend::fake::Fake;

    #[test]
    fn a_batchable_model_gets_the_whole_batch_in_one_call() {
        let backend = Fake::new(3, true, None);
        let tensors = backend.images(&[0, 1, 2]);
        let scores = run(&backend, &Batch::new(&tensors, 3)).unwrap();
        assert_eq!(scores.rows.len(), 9);
        assert_eq!(scores.calls, 1);
        assert_eq!(*backend.calls.lock().unwrap(), vec![(3, false)]);
    }

    #[test]
    fn a_model_without_a_batch_dimension_gets_one_image_per_call_in_order() {
        let backend = Fake::new(3, false, None);
        let tensors = backend.images(&[2, 0, 1]);
        let scores = run(&backend, &Batch::new(&tensors, 3)).unwrap();
        let top: Vec<usize> = scores
            .rows
            .chunks(3)
            .map(|r| r.iter().position(|&v| v > 0.0).unwrap())
            .collect();
        assert_eq!(top, vec![2, 0, 1]);
        assert_eq!(scores.calls, 3);
        assert_eq!(*backend.calls.lock().unwrap(), vec![(1, false); 3]);
    }

    #[test]
    fn a_cancelled_batch_stops_between_images() {
        let backend = Fake::new(3, false, None);
        let tensors = backend.images(&[0, 1, 2]);
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
        let backend = Fake::new(3, true, None);
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
