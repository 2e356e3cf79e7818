//! Model output → ranked classes: softmax where the model gives logits, then top-k.

/// One reported class.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub class_id: u32,
    pub score: f64,
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

/// The `k` best classes with a score of at least `threshold`, best first; ties keep
/// the lower class id first. NaN scores are never reported.
pub fn top_k(scores: &[f64], k: usize, threshold: f64) -> Vec<Ranked> {
    let mut ranked: Vec<Ranked> = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_nan() && **s >= threshold)
        .map(|(i, &score)| Ranked {
            class_id: i as u32,
            score,
        })
        .collect();
    let by_score = |a: &Ranked, b: &Ranked| {
        b.score
            .total_cmp(&a.score)
            .then(a.class_id.cmp(&b.class_id))
    };
    if k < ranked.len() {
        ranked.select_nth_unstable_by(k, by_score);
        ranked.truncate(k);
    }
    ranked.sort_by(by_score);
    ranked
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
    fn top_k_orders_best_first_and_applies_threshold() {
        let scores = [0.1, 0.4, 0.05, 0.4, 0.05];
        let r = top_k(&scores, 3, 0.0);
        let ids: Vec<u32> = r.iter().map(|r| r.class_id).collect();
        assert_eq!(ids, vec![1, 3, 0]);
        assert_eq!(top_k(&scores, 10, 0.3).len(), 2);
        assert!(top_k(&scores, 0, 0.0).is_empty());
    }

    #[test]
    fn top_k_skips_nan() {
        let r = top_k(&[f64::NAN, 0.5, 0.2], 3, 0.0);
        assert_eq!(r.iter().map(|r| r.class_id).collect::<Vec<_>>(), vec![1, 2]);
    }
}
