//! Scores → the `k` best classes.

/// One reported class.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub class_id: u32,
    pub score: f64,
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
