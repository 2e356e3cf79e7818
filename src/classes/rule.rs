//! The few-shot rule: how example embeddings become per-class scores for one frame.
//! Nearest class centroid: each class is the mean of its unit-length examples, scaled
//! back to unit length, and a frame's score for a class is the cosine similarity of its
//! unit-length embedding with that centroid, clamped to [0, 1]. Swapping the rule (e.g.
//! k nearest examples) means changing `Rule::fit` and `Rule::scores` only.

/// Scales `v` to unit length; false (and `v` untouched) for a zero or non-finite vector.
pub fn normalise(v: &mut [f32]) -> bool {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    true
}

/// The fitted rule: one unit-length centroid per class, rows of `dim` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    dim: usize,
    centroids: Vec<f32>,
}

impl Rule {
    /// Fits the rule to unit-length examples, given as (class, embedding); `classes`
    /// is the number of classes, each of which must have at least one example.
    pub fn fit<'a>(
        examples: impl IntoIterator<Item = (usize, &'a [f32])>,
        classes: usize,
        dim: usize,
    ) -> Rule {
        let mut centroids = vec![0.0f32; classes * dim];
        for (class, embedding) in examples {
            let row = &mut centroids[class * dim..(class + 1) * dim];
            row.iter_mut().zip(embedding).for_each(|(c, e)| *c += e);
        }
        for row in centroids.chunks_mut(dim.max(1)) {
            normalise(row);
        }
        Rule { dim, centroids }
    }

    pub fn classes(&self) -> usize {
        self.centroids.len() / self.dim.max(1)
    }

    /// Each class's score for one unit-length embedding, in [0, 1], into `out`.
    pub fn scores(&self, embedding: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            self.centroids
                .chunks(self.dim.max(1))
                .map(|c| dot(c, embedding).clamp(0.0, 1.0)),
        );
    }
}

/// Eight partial sums, so the compiler vectorises the loop without fast-math.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            sums[i] += x[i] * y[i];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_gives_unit_length_and_refuses_zero() {
        let mut v = vec![3.0, 4.0];
        assert!(normalise(&mut v));
        assert_eq!(v, vec![0.6, 0.8]);
        let mut zero = vec![0.0; 3];
        assert!(!normalise(&mut zero));
        let mut nan = vec![f32::NAN, 1.0];
        assert!(!normalise(&mut nan));
    }

    #[test]
    fn the_nearest_centroid_scores_highest_and_scores_stay_in_range() {
        let a1 = [1.0, 0.0, 0.0];
        let a2 = [0.8, 0.6, 0.0];
        let b1 = [0.0, 0.0, 1.0];
        let rule = Rule::fit([(0, &a1[..]), (0, &a2[..]), (1, &b1[..])], 2, 3);
        assert_eq!(rule.classes(), 2);
        let mut out = Vec::new();
        rule.scores(&a1, &mut out);
        // Centroid of a: (1.8, 0.6, 0) / |.| = (0.9487, 0.3162, 0).
        assert!((out[0] - 0.948_683).abs() < 1e-5, "{out:?}");
        assert_eq!(out[1], 0.0);
        // Opposite directions clamp to 0, never negative.
        rule.scores(&[0.0, 0.0, -1.0], &mut out);
        assert_eq!(out, vec![0.0, 0.0]);
        rule.scores(&b1, &mut out);
        assert_eq!(out[1], 1.0);
    }

    #[test]
    fn dot_matches_the_plain_sum_for_odd_lengths() {
        let a: Vec<f32> = (0..1283).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..1283).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }
}
