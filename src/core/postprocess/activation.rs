//! Raw model output → class scores: softmax for logits, a sigmoid per class for
//! multi-label logits, nothing for a model that already outputs scores.

use crate::core::model::OutputKind;

/// What the user asks for (`output-activation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Requested {
    /// The model's metadata, else a guess from the warm-up output (see `decide`).
    #[default]
    Auto,
    Softmax,
    Sigmoid,
    None,
}

/// What turns a model's raw output row into scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Softmax,
    /// Multi-label logits: each class on its own.
    Sigmoid,
    /// The output already is a probability distribution.
    None,
    /// No metadata says, and the warm-up output was a distribution: most likely the
    /// model ends in a softmax, but a logits model can give one output that looks like
    /// a distribution by chance. `Postprocessor` switches to softmax for good at the
    /// first row that is not a distribution.
    Guessed,
}

impl Activation {
    /// For the log: what the model's output is taken to be.
    pub fn describe(self) -> &'static str {
        match self {
            Activation::Sigmoid => "multi-label logits (sigmoid per class)",
            Activation::None => "scores as they are",
            Activation::Guessed => {
                "probabilities, as the warm-up output looked; softmax from the first output \
                 that is not"
            }
            Activation::Softmax => "logits",
        }
    }

    /// The property decides when set; else the model's metadata (`imgclassify.output`);
    /// else the warm-up output: a distribution means the model ends in a softmax (which
    /// must not be applied twice, see `Guessed`), anything else is taken as logits. A
    /// model with one class cannot be softmaxed (it would always score 1): its one
    /// output is a score if it lies in [0, 1], else a logit for a sigmoid.
    pub fn decide(
        requested: Requested,
        output: Option<OutputKind>,
        warm_up_row: &[f32],
    ) -> Result<Activation, String> {
        let one_class = warm_up_row.len() == 1;
        let chosen = match (requested, output) {
            (Requested::Softmax, _) => Activation::Softmax,
            (Requested::Sigmoid, _) => Activation::Sigmoid,
            (Requested::None, _) => Activation::None,
            (Requested::Auto, Some(OutputKind::Logits)) => Activation::Softmax,
            (Requested::Auto, Some(OutputKind::MultiLabelLogits)) => Activation::Sigmoid,
            (Requested::Auto, Some(OutputKind::Probabilities | OutputKind::Scores)) => {
                Activation::None
            }
            (Requested::Auto, None) if one_class => {
                if (0.0..=1.0).contains(&warm_up_row[0]) {
                    Activation::None
                } else {
                    Activation::Sigmoid
                }
            }
            (Requested::Auto, None) if is_probability_vector(warm_up_row) => Activation::Guessed,
            (Requested::Auto, None) => Activation::Softmax,
        };
        if chosen == Activation::Softmax && one_class {
            return Err(
                "the model has one class, and a softmax over one class always gives 1: \
                        set output-activation=sigmoid for a yes/no logit, or none for a score"
                    .into(),
            );
        }
        Ok(chosen)
    }

    pub fn apply(self, row: &[f32]) -> Vec<f64> {
        match self {
            Activation::Softmax => softmax(row),
            Activation::Sigmoid => row.iter().map(|&v| sigmoid(v as f64)).collect(),
            Activation::None | Activation::Guessed => row.iter().map(|&v| v as f64).collect(),
        }
    }
}

/// The logistic function, without overflow for large negative logits.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Numerically stable softmax (the largest logit is subtracted first).
pub fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exps: Vec<f64> = logits.iter().map(|&v| (v as f64 - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Whether a vector already is a probability distribution: a custom model that ends
/// in Softmax must not be softmaxed a second time.
pub fn is_probability_vector(values: &[f32]) -> bool {
    !values.is_empty()
        && values.iter().all(|v| (0.0..=1.0).contains(v))
        && (values.iter().map(|&v| v as f64).sum::<f64>() - 1.0).abs() < 1e-3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_survives_huge_logits() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((p[0] - 0.5).abs() < 1e-12 && p[2] == 0.0);
    }

    #[test]
    fn softmax_matches_hand_computation() {
        let p = softmax(&[0.0, (2.0f32).ln()]);
        assert!((p[0] - 1.0 / 3.0).abs() < 1e-7 && (p[1] - 2.0 / 3.0).abs() < 1e-7);
    }

    #[test]
    fn probability_vectors_are_recognised() {
        assert!(is_probability_vector(&[0.25, 0.75]));
        assert!(!is_probability_vector(&[2.0, -1.0]));
        assert!(!is_probability_vector(&[0.2, 0.2]));
        assert!(!is_probability_vector(&[]));
        assert!(!is_probability_vector(&[f32::NAN, 1.0]));
    }

    #[test]
    fn the_property_wins_over_metadata_which_wins_over_the_warm_up_row() {
        use OutputKind::*;
        let decide = |r, o, row: &[f32]| Activation::decide(r, o, row).expect("valid");
        assert_eq!(
            decide(Requested::Auto, Some(Logits), &[0.5, 0.5]),
            Activation::Softmax
        );
        assert_eq!(
            decide(Requested::Auto, Some(Probabilities), &[3.0, -1.0]),
            Activation::None
        );
        assert_eq!(
            decide(Requested::Auto, Some(Scores), &[0.9, 0.8]),
            Activation::None
        );
        assert_eq!(
            decide(Requested::Auto, Some(MultiLabelLogits), &[3.0, -1.0]),
            Activation::Sigmoid
        );
        assert_eq!(
            decide(Requested::Auto, None, &[0.5, 0.5]),
            Activation::Guessed
        );
        assert_eq!(
            decide(Requested::Auto, None, &[3.0, -1.0]),
            Activation::Softmax
        );
        assert_eq!(
            decide(Requested::Sigmoid, Some(Logits), &[3.0, -1.0]),
            Activation::Sigmoid
        );
        assert_eq!(
            decide(Requested::None, None, &[3.0, -1.0]),
            Activation::None
        );
        // Independent scores that do not sum to 1, sigmoid inside the model: not softened.
        assert_eq!(decide(Requested::None, None, &[0.9, 0.8]), Activation::None);
    }

    #[test]
    fn one_class_is_never_softmaxed() {
        let err = Activation::decide(Requested::Softmax, None, &[2.0]).expect_err("one class");
        assert!(err.contains("output-activation=sigmoid"), "{err}");
        assert_eq!(
            Activation::decide(Requested::Auto, None, &[2.0]),
            Ok(Activation::Sigmoid)
        );
        assert_eq!(
            Activation::decide(Requested::Auto, None, &[0.3]),
            Ok(Activation::None)
        );
    }

    #[test]
    fn sigmoid_is_stable_at_both_ends() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(1000.0) == 1.0);
        assert!((sigmoid(2.0) - 0.880_797_077_977_882_3).abs() < 1e-12);
    }
}
