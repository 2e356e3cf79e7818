//! `new-results-only`: a line per inference result rather than per buffer. Buffers
//! between inferences (`inference-interval`, `mode=async`) carry the last result over
//! with the same `seq`; only a `seq` not yet written for its classifier is new.

use std::collections::HashMap;

use crate::result::{Classification, Target};

#[derive(Debug, Default)]
pub struct NewResults {
    last: HashMap<(String, Target), u64>,
}

impl NewResults {
    /// The results of `all` not written before; remembers them as written.
    pub fn keep(&mut self, all: Vec<Classification>) -> Vec<Classification> {
        all.into_iter()
            .filter(|r| {
                let key = (r.classifier.clone(), r.target);
                self.last.insert(key, r.seq) != Some(r.seq)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(classifier: &str, seq: u64) -> Classification {
        Classification {
            classifier: classifier.into(),
            seq,
            ..Classification::for_test(&["espresso"], &[0.9])
        }
    }

    #[test]
    fn each_result_is_kept_once_per_classifier() {
        let mut new = NewResults::default();
        let seqs = |v: Vec<Classification>| {
            v.iter()
                .map(|r| (r.classifier.clone(), r.seq))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            seqs(new.keep(vec![result("a", 1), result("b", 1)])),
            vec![("a".into(), 1), ("b".into(), 1)]
        );
        assert_eq!(seqs(new.keep(vec![result("a", 1), result("b", 1)])), vec![]);
        assert_eq!(
            seqs(new.keep(vec![result("a", 1), result("b", 2)])),
            vec![("b".into(), 2)]
        );
    }
}
