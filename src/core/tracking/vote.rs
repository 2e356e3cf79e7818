//! The labels an object shows: a vote over its results, so one result of many that
//! disagrees does not make the label flicker.
//!
//! Each result is its top-k classes with their scores (classes outside it count 0).
//! The object shows the classes ranked by their mean score over its last [`WINDOW`]
//! results; with `smoothing` s > 0 by an exponential moving average over all of them
//! instead (`avg = s * avg + (1 - s) * new`, as `smoothing` does for whole frames).
//! Once [`LOCK_AFTER`] results in a row agree on the top-1, that class stays first
//! for the object's life.

use std::collections::VecDeque;

use crate::core::postprocess::Labelled;

/// Results the mean is taken over.
pub const WINDOW: usize = 5;
/// Results in a row with the same top-1 that lock it.
pub const LOCK_AFTER: usize = 3;

#[derive(Debug, Clone, Default)]
pub struct Vote {
    /// The last results, newest last (at most `WINDOW`).
    window: VecDeque<Labelled>,
    /// With smoothing: the moving average, by class id (label, score).
    average: Vec<(u32, String, f64)>,
    /// Top-1 class ids of the results in a row that agree, and the locked class.
    agreeing: (Option<u32>, usize),
    locked: Option<u32>,
}

impl Vote {
    /// Folds in one result and returns what the object shows now.
    pub fn add(&mut self, result: Labelled, smoothing: f64) -> Labelled {
        let top = result.class_ids.first().copied();
        self.agreeing = match self.agreeing {
            (Some(c), n) if top == Some(c) => (Some(c), n + 1),
            _ => (top, usize::from(top.is_some())),
        };
        if self.locked.is_none() && self.agreeing.1 >= LOCK_AFTER {
            self.locked = self.agreeing.0;
        }
        let k = result.labels.len().max(1);
        let s = smoothing.clamp(0.0, 0.999);
        let mut ranked = if s > 0.0 {
            self.fold_average(&result, s);
            self.average.clone()
        } else {
            self.window.push_back(result);
            while self.window.len() > WINDOW {
                self.window.pop_front();
            }
            self.mean()
        };
        ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        if let Some(locked) = self.locked
            && let Some(at) = ranked.iter().position(|r| r.0 == locked)
        {
            let held = ranked.remove(at);
            ranked.insert(0, held);
        }
        ranked.truncate(k);
        Labelled {
            labels: ranked.iter().map(|r| r.1.clone()).collect(),
            class_ids: ranked.iter().map(|r| r.0).collect(),
            scores: ranked.iter().map(|r| r.2).collect(),
        }
    }

    /// Mean score of each class over the window.
    fn mean(&self) -> Vec<(u32, String, f64)> {
        let mut sums: Vec<(u32, String, f64)> = Vec::new();
        for result in &self.window {
            for ((id, label), score) in result
                .class_ids
                .iter()
                .zip(&result.labels)
                .zip(&result.scores)
            {
                match sums.iter_mut().find(|s| s.0 == *id) {
                    Some(s) => s.2 += score,
                    None => sums.push((*id, label.clone(), *score)),
                }
            }
        }
        let n = self.window.len().max(1) as f64;
        sums.iter_mut().for_each(|s| s.2 /= n);
        sums
    }

    fn fold_average(&mut self, result: &Labelled, s: f64) {
        let first = self.average.is_empty();
        for entry in &mut self.average {
            entry.2 *= s;
        }
        let weight = if first { 1.0 } else { 1.0 - s };
        for ((id, label), score) in result
            .class_ids
            .iter()
            .zip(&result.labels)
            .zip(&result.scores)
        {
            match self.average.iter_mut().find(|a| a.0 == *id) {
                Some(a) => a.2 += weight * score,
                None => self.average.push((*id, label.clone(), weight * score)),
            }
        }
        // Classes that faded out of sight keep the list short.
        self.average.retain(|a| a.2 > 1e-6);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(top: &[(u32, f64)]) -> Labelled {
        Labelled {
            labels: top.iter().map(|(id, _)| format!("c{id}")).collect(),
            class_ids: top.iter().map(|(id, _)| *id).collect(),
            scores: top.iter().map(|(_, s)| *s).collect(),
        }
    }

    fn top(l: &Labelled) -> u32 {
        l.class_ids[0]
    }

    #[test]
    fn one_disagreeing_result_does_not_flip_the_label() {
        let mut v = Vote::default();
        assert_eq!(top(&v.add(result(&[(1, 0.6), (2, 0.3)]), 0.0)), 1);
        assert_eq!(top(&v.add(result(&[(1, 0.5), (2, 0.4)]), 0.0)), 1);
        // The mean of three: class 1 (0.6 + 0.5 + 0.1) / 3 = 0.4 against class 2's
        // (0.3 + 0.4 + 0.7) / 3 = 0.47, so without a lock class 2 would show.
        let shown = v.add(result(&[(2, 0.7), (1, 0.1)]), 0.0);
        assert_eq!(top(&shown), 2);
        let mut v = Vote::default();
        for _ in 0..LOCK_AFTER {
            v.add(result(&[(1, 0.6), (2, 0.3)]), 0.0);
        }
        let shown = v.add(result(&[(2, 0.9), (1, 0.05)]), 0.0);
        assert_eq!(top(&shown), 1, "locked after {LOCK_AFTER} agreeing results");
        assert_eq!(shown.class_ids, vec![1, 2]);
    }

    #[test]
    fn the_mean_is_over_the_last_window_of_results() {
        let mut v = Vote::default();
        v.add(result(&[(3, 0.9)]), 0.0);
        let mut shown = Labelled::default();
        for _ in 0..WINDOW {
            shown = v.add(result(&[(4, 0.8)]), 0.0);
        }
        assert_eq!(shown.class_ids, vec![4], "class 3 left the window");
        assert!((shown.scores[0] - 0.8).abs() < 1e-12);
    }

    #[test]
    fn smoothing_averages_with_its_weight() {
        let mut v = Vote::default();
        v.add(result(&[(1, 0.8), (2, 0.2)]), 0.5);
        let shown = v.add(result(&[(2, 0.9), (1, 0.1)]), 0.5);
        // Class 1: 0.5 * 0.8 + 0.5 * 0.1 = 0.45; class 2: 0.5 * 0.2 + 0.5 * 0.9 = 0.55.
        assert_eq!(shown.class_ids, vec![2, 1]);
        assert!((shown.scores[0] - 0.55).abs() < 1e-12);
        assert!((shown.scores[1] - 0.45).abs() < 1e-12);
    }
}
