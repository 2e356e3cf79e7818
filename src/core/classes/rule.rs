//! The few-shot rule: how example embeddings become per-class scores for one frame.
//! Nearest class centroid: each class is the mean of its unit-length examples, scaled
//! back to unit length; a frame's similarity to a class is the cosine of its unit-length
//! embedding with that centroid, and the scores are a softmax over the similarities at
//! temperature [`TEMPERATURE`] (measured in docs/custom-classes.md, "The score").
//! Swapping the rule (e.g. k nearest examples) means changing `Rule::fit` and
//! `Rule::scores` only.

/// The softmax temperature over the classes' cosine similarities: the one whose scores
/// were best calibrated across the built-in models and 2 to 9 classes.
pub const TEMPERATURE: f32 = 0.025;

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

    /// Each class's score for one unit-length embedding into `out` (in [0, 1], summing
    /// to 1); returns the best class's cosine similarity, which `min-similarity` is
    /// compared with. A zero embedding has similarity 0 to every class; a non-finite one
    /// gives NaN scores, which the caller treats as a broken model.
    pub fn scores(&self, embedding: &[f32], out: &mut Vec<f32>) -> f32 {
        out.clear();
        out.extend(
            self.centroids
                .chunks(self.dim.max(1))
                .map(|c| dot(c, embedding)),
        );
        if !out.iter().all(|s| s.is_finite()) {
            out.iter_mut().for_each(|s| *s = f32::NAN);
            return f32::NAN;
        }
        let best = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // Less the best, so the exponentials stay finite; the result is the same.
        out.iter_mut()
            .for_each(|s| *s = ((*s - best) / TEMPERATURE).exp());
        let sum: f32 = out.iter().sum();
        out.iter_mut().for_each(|s| *s /= sum);
        best
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
    fn the_nearest_centroid_scores_highest_as_a_softmax_of_the_cosines() {
        let a1 = [1.0, 0.0, 0.0];
        let a2 = [0.8, 0.6, 0.0];
        let b1 = [0.0, 0.6, 0.8];
        let rule = Rule::fit([(0, &a1[..]), (0, &a2[..]), (1, &b1[..])], 2, 3);
        assert_eq!(rule.classes(), 2);
        let mut out = Vec::new();
        // Centroid of a: (1.8, 0.6, 0) / |.| = (0.9487, 0.3162, 0); b is b1.
        let best = rule.scores(&a1, &mut out);
        assert!((best - 0.948_683).abs() < 1e-5, "{best}");
        let second = (-0.948_683f32 / TEMPERATURE).exp();
        assert!((out[0] - 1.0 / (1.0 + second)).abs() < 1e-6, "{out:?}");
        assert!((out[0] + out[1] - 1.0).abs() < 1e-6);
        // Equally near both: an even split, similarity as it is.
        let mid = [0.6, 0.0, 0.8];
        let rule = Rule::fit([(0, &a1[..]), (1, &mid[..])], 2, 3);
        let best = rule.scores(&[1.0, 0.0, 0.0], &mut out);
        assert_eq!(best, 1.0);
        assert!(out[0] > 0.99999);
        // A zero embedding is equally far from all; a NaN one is flagged.
        assert_eq!(rule.scores(&[0.0; 3], &mut out), 0.0);
        assert_eq!(out, vec![0.5, 0.5]);
        assert!(rule.scores(&[f32::NAN, 0.0, 0.0], &mut out).is_nan());
        assert!(out.iter().all(|s| s.is_nan()));
    }

    #[test]
    fn dot_matches_the_plain_sum_for_odd_lengths() {
        let a: Vec<f32> = (0..1283).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..1283).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }
}
