//! Raw score rows → labelled classes: activation, smoothing, top-k, labels. The one
//! place between a backend's output and a result, whatever the backend.

mod activation;
mod smoothing;
mod topk;

use std::sync::atomic::{AtomicBool, Ordering};

use activation::is_probability_vector;
pub use activation::{Activation, Requested as RequestedActivation};
pub use smoothing::Smoother;

/// The per-frame settings postprocessing reads, so changes while playing apply from the
/// next frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Params {
    pub top_k: usize,
    pub threshold: f64,
    pub smoothing: f64,
    /// With `classes-dir`: a best class below this is reported as `unknown`.
    pub min_similarity: f64,
}

/// One image's reported classes, best first: the meta's three parallel lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labelled {
    pub labels: Vec<String>,
    pub class_ids: Vec<u32>,
    pub scores: Vec<f64>,
}

/// The model's activation and the labels in use, fixed from NULL→READY.
#[derive(Debug)]
pub struct Postprocessor {
    activation: Activation,
    /// Set once an `Activation::Guessed` model gave a row that is not a distribution.
    guessed_wrong: AtomicBool,
    labels: Vec<String>,
}

impl Postprocessor {
    pub fn new(activation: Activation, labels: Vec<String>) -> Postprocessor {
        Postprocessor {
            activation,
            guessed_wrong: AtomicBool::new(false),
            labels,
        }
    }

    /// The activation for `row`: a guess that a row disproves becomes softmax for good,
    /// so scores stay comparable from then on.
    fn activation_for(&self, row: &[f32]) -> Activation {
        if self.activation != Activation::Guessed {
            return self.activation;
        }
        if self.guessed_wrong.load(Ordering::Relaxed) || !is_probability_vector(row) {
            self.guessed_wrong.store(true, Ordering::Relaxed);
            return Activation::Softmax;
        }
        Activation::Guessed
    }

    pub fn classes(&self) -> usize {
        self.labels.len()
    }

    /// One image's raw row through the activation, `smoother` and top-k, labelled.
    pub fn process(&self, row: &[f32], smoother: &mut Smoother, params: Params) -> Labelled {
        let ranked = smoother.update(
            &self.activation_for(row).apply(row),
            params.smoothing,
            params.top_k,
            params.threshold,
        );
        Labelled {
            labels: ranked
                .iter()
                .map(|r| {
                    self.labels
                        .get(r.class_id as usize)
                        .cloned()
                        .unwrap_or_default()
                })
                .collect(),
            class_ids: ranked.iter().map(|r| r.class_id).collect(),
            scores: ranked.iter().map(|r| r.score).collect(),
        }
    }
}

/// Whether every score is a number: NaN or infinity means the model is broken and the
/// frame gets no labels rather than wrong ones.
pub fn all_finite(rows: &[f32]) -> bool {
    rows.iter().all(|v| v.is_finite())
}

/// What a frame whose scores are not all finite gets instead of labels.
pub const NON_FINITE: &str = "the model produced NaN or infinite scores; no labels for this frame";

#[cfg(test)]
mod tests {
    use super::*;

    fn params(top_k: usize) -> Params {
        Params {
            top_k,
            threshold: 0.0,
            smoothing: 0.0,
            min_similarity: 0.0,
        }
    }

    #[test]
    fn logits_are_softmaxed_ranked_and_labelled() {
        let post = Postprocessor::new(Activation::Softmax, vec!["a".into(), "b".into()]);
        let out = post.process(&[0.0, (2.0f32).ln()], &mut Smoother::new(), params(2));
        assert_eq!(out.labels, vec!["b", "a"]);
        assert_eq!(out.class_ids, vec![1, 0]);
        assert!((out.scores[0] - 2.0 / 3.0).abs() < 1e-7);
    }

    #[test]
    fn probabilities_pass_as_they_are() {
        let post = Postprocessor::new(Activation::None, vec!["a".into(), "b".into()]);
        let out = post.process(&[0.25, 0.75], &mut Smoother::new(), params(1));
        assert_eq!(out.scores, vec![0.75]);
    }

    #[test]
    fn a_guess_of_probabilities_that_a_row_disproves_becomes_softmax_for_good() {
        let post = Postprocessor::new(Activation::Guessed, vec!["a".into(), "b".into()]);
        let out = post.process(&[0.25, 0.75], &mut Smoother::new(), params(2));
        assert_eq!(out.scores, vec![0.75, 0.25]);
        let out = post.process(&[3.0, 1.0], &mut Smoother::new(), params(2));
        assert!((out.scores.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // A later row that looks like a distribution is softmaxed too.
        let out = post.process(&[0.25, 0.75], &mut Smoother::new(), params(1));
        assert!((out.scores[0] - softmax_of_second()).abs() < 1e-12);
    }

    fn softmax_of_second() -> f64 {
        let (a, b) = (0.25f64.exp(), 0.75f64.exp());
        b / (a + b)
    }

    #[test]
    fn non_finite_rows_are_caught() {
        assert!(all_finite(&[0.0, 1.0]));
        assert!(!all_finite(&[0.0, f32::NAN]));
        assert!(!all_finite(&[f32::INFINITY]));
    }
}
