//! Change events: the moments a zone's, or the whole frame's, top-1 label changes.
//! Results already carry smoothed labels (hysteresis included), so a change here is a
//! change after smoothing. `imgclassify post-changes=true` posts them as bus messages and
//! `classifyjson changes-only=true` writes them; both go through this one tracker, so they
//! agree. Uses `result` only.
//!
//! `change-confirm` adds hysteresis in time: a new label becomes the place's label only
//! once it has been seen for that long without a break. Time is the buffer's PTS, so a
//! file decoded faster than real time confirms after the same stretch of video as a
//! live camera does, and a paused pipeline confirms nothing while paused. A label that
//! appears and goes again within the hold posts nothing.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

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
    /// How long the old label held: from the time it was first seen to the time the new
    /// one was first seen (stream time, not wall time). None for the first result.
    pub old_duration: Option<Duration>,
    /// The wall clock when the change was decided.
    pub wall_time: SystemTime,
}

/// `time` in nanoseconds since 1970-01-01 UTC, as change events carry it; 0 for a clock
/// set before 1970.
pub fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// When a result was seen: its time on the stream (the buffer's PTS) and on the wall.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub at: Duration,
    pub wall: SystemTime,
}

/// What one place showed last: (classifier, target, zone).
type Key = (String, Target, Option<String>);

/// One place's confirmed label, and the label waiting for its hold to pass.
#[derive(Debug, Clone)]
struct Place {
    /// None until a first label is confirmed; Some(None) when no label passed `threshold`.
    shown: Option<Option<String>>,
    /// When `shown` was first seen.
    since: Duration,
    /// Another label and when it was first seen, without a break since.
    pending: Option<(Option<String>, Duration)>,
}

/// The last top-1 label of every zone and frame seen.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    last: HashMap<Key, Place>,
    /// `change-confirm`: how long a new label must hold before it is a change.
    confirm: Duration,
}

impl Tracker {
    pub fn new(confirm: Duration) -> Tracker {
        Tracker {
            confirm,
            ..Tracker::default()
        }
    }

    /// `change-confirm` changed while playing: labels waiting are held to the new value.
    pub fn set_confirm(&mut self, confirm: Duration) {
        self.confirm = confirm;
    }

    /// The changes `result` brings, in the order of its zones. Frame results are
    /// tracked as one place, zone results per zone name; region results (detections)
    /// are not: their ids are not stable names. A zone missing from a zones result
    /// (removed, or outside the frame) is forgotten, so its next result is a change
    /// from "none" again.
    pub fn update(&mut self, result: &Classification, seen: Seen) -> Vec<Change> {
        let mut changes = Vec::new();
        let confirm = self.confirm;
        let mut see = |zone: Option<&str>, labels: &[String], scores: &[f64]| {
            let key = (
                result.classifier.clone(),
                result.target,
                zone.map(str::to_string),
            );
            let top = labels.first().cloned();
            let place = self.last.entry(key).or_insert(Place {
                shown: None,
                since: seen.at,
                pending: None,
            });
            let Some((old, old_duration)) = place.see(top.clone(), seen.at, confirm) else {
                return;
            };
            changes.push(Change {
                classifier: result.classifier.clone(),
                target: result.target,
                zone: zone.map(str::to_string),
                old_label: old,
                score: top.as_ref().and(scores.first().copied()),
                new_label: top,
                old_duration,
                wall_time: seen.wall,
            });
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

impl Place {
    /// Sees `top` at `at`; returns the confirmed label it replaces and how long that
    /// held when `top` becomes the place's label. A PTS that goes back (a seek, a
    /// restarted source) starts the hold afresh from it.
    fn see(
        &mut self,
        top: Option<String>,
        at: Duration,
        confirm: Duration,
    ) -> Option<(Option<String>, Option<Duration>)> {
        if self.shown.as_ref() == Some(&top) {
            self.pending = None;
            return None;
        }
        let from = match &self.pending {
            Some((label, from)) if *label == top && *from <= at => *from,
            _ => at,
        };
        if at.saturating_sub(from) < confirm {
            self.pending = Some((top, from));
            return None;
        }
        let old = self.shown.replace(top);
        let held = old.is_some().then(|| from.saturating_sub(self.since));
        self.since = from;
        self.pending = None;
        Some((old.flatten(), held))
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

    fn at(ms: u64) -> Seen {
        Seen {
            at: Duration::from_millis(ms),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        }
    }

    fn frame(label: &str) -> Classification {
        Classification::for_test(&[label], &[0.9])
    }

    /// (ms, old label, new label, how long the old one held in ms) of each change when
    /// `labels` are seen 100 ms apart.
    fn timeline(
        t: &mut Tracker,
        labels: &[&str],
    ) -> Vec<(u64, Option<String>, String, Option<u64>)> {
        let mut events = Vec::new();
        for (n, label) in labels.iter().enumerate() {
            let ms = n as u64 * 100;
            for c in t.update(&frame(label), at(ms)) {
                let held = c.old_duration.map(|d| d.as_millis() as u64);
                events.push((ms, c.old_label, c.new_label.unwrap_or_default(), held));
            }
        }
        events
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
        let first = t.update(&zones(&[("gate", "open"), ("bay", "empty")]), at(0));
        assert_eq!(
            summary(&first),
            vec![
                (Some("gate"), None, Some("open")),
                (Some("bay"), None, Some("empty"))
            ]
        );
        assert_eq!(first[0].score, Some(0.8));
        assert!(
            t.update(&zones(&[("gate", "open"), ("bay", "empty")]), at(0))
                .is_empty()
        );
        assert_eq!(
            summary(&t.update(&zones(&[("gate", "closed"), ("bay", "empty")]), at(0))),
            vec![(Some("gate"), Some("open"), Some("closed"))]
        );
    }

    #[test]
    fn a_zone_that_goes_away_starts_from_none_when_it_returns() {
        let mut t = Tracker::default();
        t.update(&zones(&[("gate", "open"), ("bay", "empty")]), at(0));
        assert!(t.update(&zones(&[("gate", "open")]), at(0)).is_empty());
        assert_eq!(
            summary(&t.update(&zones(&[("gate", "open"), ("bay", "empty")]), at(0))),
            vec![(Some("bay"), None, Some("empty"))]
        );
    }

    #[test]
    fn frames_are_one_place_and_losing_every_label_is_a_change() {
        let mut t = Tracker::default();
        let cup = Classification::for_test(&["espresso", "cup"], &[0.9, 0.1]);
        assert_eq!(
            summary(&t.update(&cup, at(0))),
            vec![(None, None, Some("espresso"))]
        );
        assert!(t.update(&cup, at(0)).is_empty());
        let nothing = Classification::for_test(&[], &[]);
        let lost = t.update(&nothing, at(0));
        assert_eq!(summary(&lost), vec![(None, Some("espresso"), None)]);
        assert_eq!(lost[0].score, None);
        // Another classifier on the same stream is tracked on its own.
        let other = Classification {
            classifier: "second".into(),
            ..cup
        };
        assert_eq!(t.update(&other, at(0)).len(), 1);
    }

    #[test]
    fn detections_post_no_events() {
        let mut t = Tracker::default();
        let regions = Classification {
            target: Target::Regions,
            ..zones(&[("car", "taxi")])
        };
        assert!(t.update(&regions, at(0)).is_empty());
    }

    #[test]
    fn without_a_hold_every_change_is_an_event_with_how_long_the_old_label_held() {
        let mut t = Tracker::default();
        let s = |l: &str| Some(l.to_string());
        assert_eq!(
            timeline(&mut t, &["cup", "cup", "cat", "cup", "cup", "cup"]),
            vec![
                (0, None, "cup".into(), None),
                (200, s("cup"), "cat".into(), Some(200)),
                (300, s("cat"), "cup".into(), Some(100)),
            ]
        );
    }

    #[test]
    fn a_label_must_hold_for_the_confirm_time_and_flickers_post_nothing() {
        let mut t = Tracker::new(Duration::from_millis(250));
        let s = |l: &str| Some(l.to_string());
        let mut labels = vec!["cup"; 5];
        labels.push("cat"); // 100 ms: a flicker
        labels.extend(["cup"; 4]);
        labels.extend(["cat"; 8]); // from 1000 ms
        labels.extend(["cup"; 2]); // 200 ms, still below the hold
        labels.extend(["cat"; 3]);
        assert_eq!(
            timeline(&mut t, &labels),
            vec![
                (300, None, "cup".into(), None),
                (1300, s("cup"), "cat".into(), Some(1000)),
            ]
        );
    }

    #[test]
    fn a_pts_that_goes_back_starts_the_hold_afresh_and_the_hold_follows_the_property() {
        let mut t = Tracker::new(Duration::from_millis(250));
        assert!(t.update(&frame("cup"), at(5000)).is_empty());
        // A seek back to 0: the hold counts from there, not from 5 s.
        assert!(t.update(&frame("cup"), at(0)).is_empty());
        assert_eq!(t.update(&frame("cup"), at(250)).len(), 1);
        t.set_confirm(Duration::ZERO);
        let now = t.update(&frame("cat"), at(300));
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].old_duration, Some(Duration::from_millis(300)));
        assert_eq!(now[0].wall_time, at(0).wall);
    }
}
