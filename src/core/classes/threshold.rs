//! `min-similarity=-1` (auto): each class's threshold derived from its own examples,
//! since one global value fits tight classes and loose ones badly. Each example is
//! compared with the centroid of the class's other examples (leave one out): that
//! similarity is what a new photo of the class, never seen, would get. The class's
//! threshold is their mean less one standard deviation. Of the rules measured (the
//! lowest, the mean, the mean less one deviation) the lowest lets most unknown photos
//! through and the mean turns about half the right answers `unknown`; this one keeps
//! most right answers and, with 5 or more examples, separates about as well as the best
//! single global value chosen on the test photos (docs/custom-classes.md,
//! "min-similarity=auto").

use super::rule::normalise;

/// What `min-similarity` means below 0: each class its own threshold.
pub fn is_auto(min_similarity: f64) -> bool {
    min_similarity < 0.0
}

/// One threshold per class from unit-length examples given as (class, embedding). A
/// class with a single example has no other example to compare it with: it takes the
/// median of the other classes' thresholds, or 0 (never `unknown`) when no class has
/// two examples.
pub fn derive<'a>(
    examples: impl IntoIterator<Item = (usize, &'a [f32])>,
    classes: usize,
    dim: usize,
) -> Vec<f32> {
    let mut members: Vec<Vec<&[f32]>> = vec![Vec::new(); classes];
    for (class, embedding) in examples {
        if let Some(m) = members.get_mut(class) {
            m.push(embedding);
        }
    }
    let own: Vec<Option<f32>> = members.iter().map(|m| leave_one_out(m, dim)).collect();
    let mut known: Vec<f32> = own.iter().flatten().copied().collect();
    known.sort_by(f32::total_cmp);
    let fallback = match known.len() {
        0 => 0.0,
        n if n % 2 == 1 => known[n / 2],
        n => (known[n / 2 - 1] + known[n / 2]) / 2.0,
    };
    own.into_iter().map(|t| t.unwrap_or(fallback)).collect()
}

/// The mean similarity of an example to the centroid of the others, less their
/// (population) standard deviation; None with fewer than two examples.
fn leave_one_out(examples: &[&[f32]], dim: usize) -> Option<f32> {
    if examples.len() < 2 {
        return None;
    }
    let mut total = vec![0.0f32; dim];
    for e in examples {
        total.iter_mut().zip(e.iter()).for_each(|(t, x)| *t += x);
    }
    let mut similarities = Vec::with_capacity(examples.len());
    for e in examples {
        let mut others: Vec<f32> = total.iter().zip(e.iter()).map(|(t, x)| t - x).collect();
        // Other examples that cancel out have no direction to be similar to.
        let similarity = if normalise(&mut others) {
            others.iter().zip(e.iter()).map(|(a, b)| a * b).sum::<f32>()
        } else {
            0.0
        };
        similarities.push(similarity);
    }
    let n = similarities.len() as f32;
    let mean = similarities.iter().sum::<f32>() / n;
    let variance = similarities.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / n;
    let threshold = mean - variance.sqrt();
    threshold.is_finite().then_some(threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: [f32; 3]) -> Vec<f32> {
        let mut v = v.to_vec();
        normalise(&mut v);
        v
    }

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        let (mut a, mut b) = (a.to_vec(), b.to_vec());
        normalise(&mut a);
        normalise(&mut b);
        a.iter().zip(&b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn each_class_gets_the_mean_less_one_deviation_of_its_leave_one_out_similarities() {
        let tight = [
            unit([1.0, 0.2, 0.0]),
            unit([1.0, 0.0, 0.2]),
            unit([1.0, 0.0, 0.0]),
        ];
        let loose = [unit([0.0, 1.0, 0.0]), unit([0.0, 0.6, 0.8])];
        let examples = tight
            .iter()
            .map(|e| (0, e.as_slice()))
            .chain(loose.iter().map(|e| (1, e.as_slice())));
        let t = derive(examples, 2, 3);
        // Two examples: each one's similarity is the cosine of the two, no deviation.
        assert!((t[1] - 0.6).abs() < 1e-6, "{t:?}");
        let plus =
            |a: &[f32], b: &[f32]| -> Vec<f32> { a.iter().zip(b).map(|(x, y)| x + y).collect() };
        let s = [
            cos(&tight[0], &plus(&tight[1], &tight[2])),
            cos(&tight[1], &plus(&tight[0], &tight[2])),
            cos(&tight[2], &plus(&tight[0], &tight[1])),
        ];
        let mean = s.iter().sum::<f32>() / 3.0;
        let sd = (s.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 3.0).sqrt();
        assert!((t[0] - (mean - sd)).abs() < 1e-5, "{t:?} {s:?}");
        assert!(t[0] > 0.9 && t[0] > t[1]);
    }

    #[test]
    fn a_class_of_one_example_takes_the_median_of_the_others() {
        let a = [unit([1.0, 0.0, 0.0]), unit([1.0, 1.0, 0.0])];
        let b = [
            unit([0.0, 1.0, 0.0]),
            unit([0.0, 1.0, 1.0]),
            unit([0.0, 0.0, 1.0]),
        ];
        let single = unit([0.0, 0.0, 1.0]);
        let all: Vec<(usize, &[f32])> = a
            .iter()
            .map(|e| (0, e.as_slice()))
            .chain(b.iter().map(|e| (1, e.as_slice())))
            .chain([(2, single.as_slice())])
            .collect();
        let t = derive(all.clone(), 3, 3);
        assert_eq!(t[2], (t[0] + t[1]) / 2.0);
        // No class with two examples: never unknown.
        assert_eq!(
            derive([(0, a[0].as_slice()), (1, b[0].as_slice())], 2, 3),
            [0.0, 0.0]
        );
        // Identical examples: similarity 1.
        assert_eq!(
            derive([(0, a[0].as_slice()), (0, a[0].as_slice())], 1, 3),
            [1.0]
        );
    }

    #[test]
    fn auto_is_any_negative_value() {
        assert!(is_auto(-1.0));
        assert!(!is_auto(0.0));
        assert!(!is_auto(0.6));
    }
}
