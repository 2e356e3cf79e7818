//! Change events: the moments a zone's, or the whole frame's, top-1 label changes.
//! Results already carry smoothed labels (hysteresis included), so a change here is a
//! change after smoothing. `imgclassify post-changes=true` posts them as bus messages and
//! `classifyjson changes-only=true` writes them; both go through this one tracker, so they
//! agree. Uses `result` only.

use std::collections::HashMap;

use crate::result::{Classification, Target};

/// Name of the element message and of the JSON `event` field.
pub const CHANGE_NAME: &str = "imgclassify-change";

/// A top-1 label that changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub classifier: String,
    pub target: Target,
    /// The zone's name; None for the whole frame.
    pub zone: Option<String>,
    /// None for the first result (a change from "none"), or when no label passed
    /// `threshold` on the result before.
    pub old_label: Option<String>,
    /// None when no label passes `threshold` any more.
    pub new_label: Option<String>,
    /// The new top-1 label's score; None with no label.
    pub score: Option<f64>,
}

/// What one place showed last: (classifier, target, zone).
type Key = (String, Target, Option<String>);

/// The last top-1 label of every zone and frame seen.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    last: HashMap<Key, Option<String>>,
}

impl Tracker {
    /// The changes `result` brings, in the order of its zones. Frame results are
    /// tracked as one place, zone results per zone name; region results (detections)
    /// are not: their ids are not stable names. A zone missing from a zones result
    /// (removed, or outside the frame) is forgotten, so its next result is a change
    /// from "none" again.
    pub fn update(&mut self, result: &Classification) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut see = |zone: Option<&str>, labels: &[String], scores: &[f64]| {
            let key = (
                result.classifier.clone(),
                result.target,
                zone.map(str::to_string),
            );
            let top = labels.first().cloned();
            let old = self.last.insert(key, top.clone());
            match old {
                Some(old) if old == top => {}
                old => changes.push(Change {
                    classifier: result.classifier.clone(),
                    target: result.target,
                    zone: zone.map(str::to_string),
                    old_label: old.flatten(),
                    score: top.as_ref().and(scores.first().copied()),
                    new_label: top,
                }),
            }
        };
        match result.target {
            Target::Frame => see(None, &result.labels, &result.scores),
            Target::Zones => {
                for r in &result.regions {
                    see(Some(&r.roi_type), &r.labels, &r.scores);
                }
                self.last.retain(|(classifier, target, zone), _| {
                    *classifier != result.classifier
                        || *target != Target::Zones
                        || result
                            .regions
                            .iter()
                            .any(|r| Some(&r.roi_type) == zone.as_ref())
                });
            }
            Target::Regions => {}
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::RegionResult;

    fn zones(labels: &[(&str, &str)]) -> Classification {
        Classification {
            target: Target::Zones,
            labels: Vec::new(),
            class_ids: Vec::new(),
            scores: Vec::new(),
            regions: labels
                .iter()
                .enumerate()
                .map(|(i, (zone, label))| RegionResult {
                    roi_id: i as i32,
                    roi_type: zone.to_string(),
                    rect: (0, 0, 10, 10),
                    labels: vec![label.to_string()],
                    class_ids: vec![0],
                    scores: vec![0.8],
                    embedding: None,
                    track: None,
                })
                .collect(),
            ..Classification::for_test(&[], &[])
        }
    }

    fn summary(changes: &[Change]) -> Vec<(Option<&str>, Option<&str>, Option<&str>)> {
        changes
            .iter()
            .map(|c| {
                (
                    c.zone.as_deref(),
                    c.old_label.as_deref(),
                    c.new_label.as_deref(),
                )
            })
            .collect()
    }

    #[test]
    fn the_first_result_and_each_real_change_are_events_a_still_scene_is_not() {
        let mut t = Tracker::default();
        let first = t.update(&zones(&[("gate", "open"), ("bay", "empty")]));
        assert_eq!(
            summary(&first),
            vec![
                (Some("gate"), None, Some("open")),
                (Some("bay"), None, Some("empty"))
            ]
        );
        assert_eq!(first[0].score, Some(0.8));
        assert!(
            t.update(&zones(&[("gate", "open"), ("bay", "empty")]))
                .is_empty()
        );
        assert_eq!(
            summary(&t.update(&zones(&[("gate", "closed"), ("bay", "empty")]))),
            vec![(Some("gate"), Some("open"), Some("closed"))]
        );
    }

    #[test]
    fn a_zone_that_goes_away_starts_from_none_when_it_returns() {
        let mut t = Tracker::default();
        t.update(&zones(&[("gate", "open"), ("bay", "empty")]));
        assert!(t.update(&zones(&[("gate", "open")])).is_empty());
        assert_eq!(
            summary(&t.update(&zones(&[("gate", "open"), ("bay", "empty")]))),
            vec![(Some("bay"), None, Some("empty"))]
        );
    }

    #[test]
    fn frames_are_one_place_and_losing_every_label_is_a_change() {
        let mut t = Tracker::default();
        let cup = Classification::for_test(&["espresso", "cup"], &[0.9, 0.1]);
        assert_eq!(
            summary(&t.update(&cup)),
            vec![(None, None, Some("espresso"))]
        );
        assert!(t.update(&cup).is_empty());
        let nothing = Classification::for_test(&[], &[]);
        let lost = t.update(&nothing);
        assert_eq!(summary(&lost), vec![(None, Some("espresso"), None)]);
        assert_eq!(lost[0].score, None);
        // Another classifier on the same stream is tracked on its own.
        let other = Classification {
            classifier: "second".into(),
            ..cup
        };
        assert_eq!(t.update(&other).len(), 1);
    }

    #[test]
    fn detections_post_no_events() {
        let mut t = Tracker::default();
        let regions = Classification {
            target: Target::Regions,
            ..zones(&[("car", "taxi")])
        };
        assert!(t.update(&regions).is_empty());
    }
}
