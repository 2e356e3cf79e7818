//! Raw model output → class probabilities: softmax for logits, nothing for a model that
//! already ends in a softmax.

/// What turns a model's raw output row into probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Softmax,
    /// The output already is a probability distribution.
    None,
    /// No metadata says, and the warm-up output was a distribution: most likely the
    /// model ends in a softmax, but a logits model can give one output that looks like
    /// a distribution by chance. `Postprocessor` switches to softmax for good at the
    /// first row that is not a distribution.
    Guessed,
}

impl Activation {
    /// The model's metadata decides (`imgclassify.output`); without it, a model whose
    /// output for the warm-up tensor already is a distribution ends in a softmax, which
    /// must not be applied a second time.
    pub fn decide(outputs_probabilities: Option<bool>, warm_up_row: &[f32]) -> Activation {
        match outputs_probabilities {
            Some(true) => Activation::None,
            Some(false) => Activation::Softmax,
            None if is_probability_vector(warm_up_row) => Activation::Guessed,
            None => Activation::Softmax,
        }
    }

    pub fn apply(self, row: &[f32]) -> Vec<f64> {
        match self {
            Activation::Softmax => softmax(row),
            Activation::None | Activation::Guessed => row.iter().map(|&v| v as f64).collect(),
        }
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
    fn metadata_wins_over_the_warm_up_row() {
        assert_eq!(
            Activation::decide(Some(false), &[0.5, 0.5]),
            Activation::Softmax
        );
        assert_eq!(
            Activation::decide(Some(true), &[3.0, -1.0]),
            Activation::None
        );
        assert_eq!(Activation::decide(None, &[0.5, 0.5]), Activation::Guessed);
        assert_eq!(Activation::decide(None, &[3.0, -1.0]), Activation::Softmax);
    }
}
