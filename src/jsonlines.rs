//! JSON lines: one JSON object per classified frame, built from the same
//! [`Classification`] that `ImgClassifyMeta` carries.
//!
//! The text is produced by `serde_json`, so it is valid JSON for any label: quotes,
//! backslashes and control characters are escaped, non-ASCII is written as UTF-8.
//! Scores that are not finite (NaN, ±infinity) are written as `null`: JSON has no
//! number for them, and `null` keeps the arrays aligned with `labels` and `class-ids`.
//! Timestamps are integers in nanoseconds, `null` when unknown. Names and labels are cut
//! to [`MAX_TEXT_BYTES`], so that a 2.5 MB model name cannot make a line no MQTT broker
//! takes.

use std::borrow::Cow;

use serde::{Serialize, Serializer};

use crate::core::changes::{CHANGE_NAME, Change, unix_nanos};
use crate::result::{Classification, RegionResult};

/// The longest model, classifier, provider or region name (zone or ROI type) and the
/// longest label a line holds, in bytes of UTF-8: far beyond any real one (ImageNet's
/// longest label is under 100). A longer one is cut at a character boundary and ends
/// with [`CUT`], within the limit.
pub const MAX_TEXT_BYTES: usize = 256;
/// Ends a text that was cut.
pub const CUT: &str = "…";

/// `text`, or its start and [`CUT`] if it is longer than [`MAX_TEXT_BYTES`].
fn capped(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_TEXT_BYTES {
        return Cow::Borrowed(text);
    }
    let mut end = MAX_TEXT_BYTES - CUT.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{CUT}", &text[..end]))
}

/// A name or label as written: [`capped`].
struct Text<'a>(&'a str);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&capped(self.0))
    }
}

/// Labels as written: each [`capped`].
struct Texts<'a>(&'a [String]);

impl Serialize for Texts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|l| capped(l)))
    }
}

/// Where the frame sits in time; every field is nanoseconds, `None` when unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Times {
    pub pts: Option<u64>,
    pub dts: Option<u64>,
    pub duration: Option<u64>,
    pub running_time: Option<u64>,
    pub stream_time: Option<u64>,
}

/// The object written for one frame. Field names follow the meta's structure. The
/// first classifier's result stays at the top level, as with one classifier, so filters
/// such as `jq .labels[0]` keep working; `classifications` holds every classifier's
/// result, the first included, for consumers of several.
#[derive(Serialize)]
struct Line<'a> {
    pts: Option<u64>,
    dts: Option<u64>,
    duration: Option<u64>,
    #[serde(rename = "running-time")]
    running_time: Option<u64>,
    #[serde(rename = "stream-time")]
    stream_time: Option<u64>,
    #[serde(flatten)]
    first: Entry<'a>,
    classifications: Vec<Entry<'a>>,
}

/// One classifier's result.
#[derive(Serialize)]
struct Entry<'a> {
    classifier: Text<'a>,
    target: &'static str,
    model: Text<'a>,
    labels: Texts<'a>,
    #[serde(rename = "class-ids")]
    class_ids: &'a [u32],
    scores: Vec<Option<f64>>,
    provider: Text<'a>,
    #[serde(rename = "inference-time")]
    inference_time: u64,
    fresh: bool,
    #[serde(rename = "source-pts")]
    source_pts: Option<u64>,
    seq: u64,
    regions: Vec<Region<'a>>,
    /// With `attach-embedding` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    embedding: Option<&'a [f32]>,
}

impl<'a> From<&'a Classification> for Entry<'a> {
    fn from(result: &'a Classification) -> Self {
        Entry {
            classifier: Text(&result.classifier),
            target: result.target.name(),
            model: Text(&result.model),
            labels: Texts(&result.labels),
            class_ids: &result.class_ids,
            scores: finite(&result.scores),
            provider: Text(&result.provider),
            inference_time: result.inference_time_ns,
            fresh: result.fresh,
            source_pts: result.source_pts.map(|t| t.nseconds()),
            seq: result.seq,
            regions: result.regions.iter().map(Region::from).collect(),
            embedding: result.embedding.as_deref(),
        }
    }
}

/// One classified region (`target=regions`); names follow the `imgclassify-region` structure.
#[derive(Serialize)]
struct Region<'a> {
    #[serde(rename = "roi-id")]
    roi_id: i32,
    #[serde(rename = "roi-type")]
    roi_type: Text<'a>,
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    labels: Texts<'a>,
    #[serde(rename = "class-ids")]
    class_ids: &'a [u32],
    scores: Vec<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    embedding: Option<&'a [f32]>,
    /// With `reclassify-interval` only.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    track: Option<Track>,
}

/// A tracked object's fields, named as in the `imgclassify-region` structure.
#[derive(Serialize)]
struct Track {
    #[serde(rename = "object-id")]
    object_id: u64,
    #[serde(rename = "first-seen")]
    first_seen: Option<u64>,
    fresh: bool,
    #[serde(rename = "source-pts")]
    source_pts: Option<u64>,
    seq: u64,
}

fn finite(scores: &[f64]) -> Vec<Option<f64>> {
    scores.iter().map(|&s| s.is_finite().then_some(s)).collect()
}

impl<'a> From<&'a RegionResult> for Region<'a> {
    fn from(r: &'a RegionResult) -> Self {
        Region {
            roi_id: r.roi_id,
            roi_type: Text(&r.roi_type),
            x: r.rect.0,
            y: r.rect.1,
            width: r.rect.2,
            height: r.rect.3,
            labels: Texts(&r.labels),
            class_ids: &r.class_ids,
            scores: finite(&r.scores),
            embedding: r.embedding.as_deref(),
            track: r.track.as_ref().map(|t| Track {
                object_id: t.object_id,
                first_seen: t.first_seen.map(|t| t.nseconds()),
                fresh: t.fresh,
                source_pts: t.source_pts.map(|t| t.nseconds()),
                seq: t.seq,
            }),
        }
    }
}

/// One JSON object on one line, without the trailing newline, for the results of every
/// classifier on one buffer (upstream first); None when there are none.
pub fn line(results: &[Classification], times: &Times) -> Option<String> {
    let first = results.first()?;
    let line = Line {
        pts: times.pts,
        dts: times.dts,
        duration: times.duration,
        running_time: times.running_time,
        stream_time: times.stream_time,
        first: Entry::from(first),
        classifications: results.iter().map(Entry::from).collect(),
    };
    // Serialising plain strings, integers, finite floats and nulls cannot fail.
    Some(serde_json::to_string(&line).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("cannot serialise result: {e}") }).to_string()
    }))
}

/// The object written for one change event (`classifyjson changes-only=true`); field
/// names follow the `imgclassify-change` element message.
#[derive(Serialize)]
struct ChangeLine<'a> {
    event: &'static str,
    pts: Option<u64>,
    #[serde(rename = "running-time")]
    running_time: Option<u64>,
    #[serde(rename = "stream-time")]
    stream_time: Option<u64>,
    classifier: Text<'a>,
    target: &'static str,
    zone: Option<Text<'a>>,
    #[serde(rename = "old-label")]
    old_label: Option<Text<'a>>,
    #[serde(rename = "new-label")]
    new_label: Option<Text<'a>>,
    score: Option<f64>,
    #[serde(rename = "previous-label")]
    previous_label: Option<Text<'a>>,
    /// Nanoseconds the old label held; null for the first result.
    #[serde(rename = "previous-duration")]
    previous_duration: Option<u64>,
    /// Nanoseconds since 1970-01-01 UTC when the change was decided.
    #[serde(rename = "wall-time")]
    wall_time: u64,
}

/// One JSON object on one line, without the trailing newline, for one change event seen
/// on a buffer at `times`.
pub fn change_line(change: &Change, times: &Times) -> String {
    let line = ChangeLine {
        event: CHANGE_NAME,
        pts: times.pts,
        running_time: times.running_time,
        stream_time: times.stream_time,
        classifier: Text(&change.classifier),
        target: change.target.name(),
        zone: change.zone.as_deref().map(Text),
        old_label: change.old_label.as_deref().map(Text),
        new_label: change.new_label.as_deref().map(Text),
        score: change.score.filter(|s| s.is_finite()),
        previous_label: change.old_label.as_deref().map(Text),
        previous_duration: change
            .old_duration
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        wall_time: unix_nanos(change.wall_time),
    };
    serde_json::to_string(&line).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("cannot serialise change: {e}") }).to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn result(labels: &[&str], scores: &[f64]) -> Classification {
        Classification::for_test(labels, scores)
    }

    fn one(result: &Classification, times: &Times) -> String {
        line(std::slice::from_ref(result), times).expect("a line")
    }

    fn parse(text: &str) -> Value {
        assert!(!text.contains('\n'), "one line: {text}");
        serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON {text}: {e}"))
    }

    #[test]
    fn a_change_is_one_line_with_nulls_for_none() {
        let change = Change {
            classifier: "doors".into(),
            target: crate::result::Target::Zones,
            zone: Some("back \"door\"".into()),
            old_label: None,
            new_label: Some("espresso".into()),
            score: Some(0.75),
            old_duration: None,
            wall_time: std::time::SystemTime::UNIX_EPOCH
                + std::time::Duration::from_millis(1_800_000_000_123),
        };
        let times = Times {
            pts: Some(40_000_000),
            running_time: Some(40_000_000),
            ..Times::default()
        };
        assert_eq!(
            change_line(&change, &times),
            concat!(
                r#"{"event":"imgclassify-change","pts":40000000,"running-time":40000000,"stream-time":null,"#,
                r#""classifier":"doors","target":"zones","zone":"back \"door\"","old-label":null,"new-label":"espresso","score":0.75,"#,
                r#""previous-label":null,"previous-duration":null,"wall-time":1800000000123000000}"#
            )
        );
    }

    #[test]
    fn has_every_field_in_order() {
        let times = Times {
            pts: Some(40_000_000),
            dts: None,
            duration: Some(40_000_000),
            running_time: Some(40_000_000),
            stream_time: Some(40_000_000),
        };
        let text = one(&result(&["espresso", "cup"], &[0.99, 0.01]), &times);
        assert_eq!(
            text,
            concat!(
                r#"{"pts":40000000,"dts":null,"duration":40000000,"running-time":40000000,"stream-time":40000000,"#,
                r#""classifier":"imgclassify0","target":"frame","model":"mobilenet","labels":["espresso","cup"],"class-ids":[0,1],"scores":[0.99,0.01],"provider":"cpu","inference-time":5900000,"fresh":true,"source-pts":40000000,"seq":1,"regions":[],"#,
                r#""classifications":[{"classifier":"imgclassify0","target":"frame","model":"mobilenet","labels":["espresso","cup"],"class-ids":[0,1],"scores":[0.99,0.01],"provider":"cpu","inference-time":5900000,"fresh":true,"source-pts":40000000,"seq":1,"regions":[]}]}"#
            )
        );
    }

    #[test]
    fn regions_are_listed_with_their_rectangles() {
        let mut r = result(&[], &[]);
        r.regions.push(RegionResult {
            roi_id: 3,
            roi_type: "face".into(),
            rect: (10, 20, 30, 40),
            labels: vec!["suit".into()],
            class_ids: vec![834],
            scores: vec![0.25],
            embedding: None,
            track: None,
        });
        let v = parse(&one(&r, &Times::default()));
        assert_eq!(
            v["regions"],
            serde_json::json!([{"roi-id": 3, "roi-type": "face", "x": 10, "y": 20, "width": 30,
                "height": 40, "labels": ["suit"], "class-ids": [834], "scores": [0.25]}])
        );
    }

    #[test]
    fn a_tracked_region_says_its_object_and_where_its_labels_come_from() {
        let mut r = result(&[], &[]);
        r.regions.push(RegionResult {
            roi_id: 0,
            roi_type: "face".into(),
            rect: (10, 20, 30, 40),
            labels: vec!["suit".into()],
            class_ids: vec![834],
            scores: vec![0.25],
            embedding: None,
            track: Some(crate::result::RegionTrack {
                object_id: 4,
                first_seen: Some(gst::ClockTime::from_mseconds(40)),
                fresh: false,
                source_pts: None,
                seq: 2,
            }),
        });
        let v = parse(&one(&r, &Times::default()));
        let region = &v["regions"][0];
        assert_eq!(region["object-id"], 4);
        assert_eq!(region["first-seen"], 40_000_000);
        assert_eq!(region["fresh"], false);
        assert_eq!(region["source-pts"], serde_json::Value::Null);
        assert_eq!(region["seq"], 2);
    }

    #[test]
    fn escapes_quotes_backslashes_and_control_characters() {
        let labels = [
            "say \"cheese\"",
            r"C:\path\to",
            "tab\there\nnew line\u{1}\u{7f}",
        ];
        let v = parse(&one(&result(&labels, &[0.5, 0.3, 0.2]), &Times::default()));
        let back: Vec<&str> = v["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert_eq!(back, labels);
    }

    #[test]
    fn long_names_and_labels_are_cut_at_a_character_with_a_marker() {
        let mut r = result(&["ł".repeat(5000).as_str(), "cup"], &[0.6, 0.4]);
        r.model = "m".repeat(2_500_000);
        r.classifier = "c".repeat(256);
        r.provider = "p".repeat(257);
        let v = parse(&one(&r, &Times::default()));
        for entry in [&v, &v["classifications"][0]] {
            assert_eq!(entry["model"], format!("{}{CUT}", "m".repeat(253)));
            // 126 two-byte characters and the marker: 255 bytes, the cut between two.
            assert_eq!(entry["labels"][0], format!("{}{CUT}", "ł".repeat(126)));
            assert_eq!(entry["labels"][1], "cup");
            assert_eq!(entry["classifier"], "c".repeat(256), "at the limit: whole");
            assert_eq!(entry["provider"], format!("{}{CUT}", "p".repeat(253)));
        }
        assert_eq!(capped("").len(), 0);
        assert_eq!(capped(&"é".repeat(1000)).len(), 255);
    }

    #[test]
    fn keeps_non_ascii_as_utf8() {
        let labels = [
            "café crème",
            "日本語のラベル",
            "emoji 🐈",
            "\u{2028}separator",
        ];
        let text = one(&result(&labels, &[0.4, 0.3, 0.2, 0.1]), &Times::default());
        assert!(text.contains("café crème") && text.contains("🐈"), "{text}");
        let v = parse(&text);
        assert_eq!(v["labels"][1], "日本語のラベル");
        assert_eq!(v["labels"][3], "\u{2028}separator");
    }

    #[test]
    fn writes_non_finite_scores_as_null_never_nan() {
        let scores = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.25];
        let text = one(&result(&["a", "b", "c", "d"], &scores), &Times::default());
        for bad in ["NaN", "nan", "Infinity", ":inf", "[inf", ",inf", "-inf"] {
            assert!(!text.contains(bad), "{bad} in {text}");
        }
        let v = parse(&text);
        assert_eq!(
            v["scores"],
            serde_json::json!([null, null, null, 0.25]),
            "{text}"
        );
    }

    #[test]
    fn unknown_times_are_null_and_empty_results_are_empty_arrays() {
        let v = parse(&one(&result(&[], &[]), &Times::default()));
        for field in ["pts", "dts", "duration", "running-time", "stream-time"] {
            assert!(v[field].is_null(), "{field}");
        }
        assert_eq!(v["labels"], serde_json::json!([]));
        assert_eq!(v["scores"], serde_json::json!([]));
    }

    #[test]
    fn large_timestamps_and_scores_round_trip_exactly() {
        let times = Times {
            pts: Some(u64::MAX - 1),
            ..Times::default()
        };
        let r = result(&["x"], &[0.123_456_789_012_345_67]);
        let v = parse(&one(&r, &times));
        assert_eq!(v["pts"].as_u64(), Some(u64::MAX - 1));
        assert_eq!(v["scores"][0].as_f64(), Some(r.scores[0]));
    }

    #[test]
    fn several_classifiers_share_one_line_first_at_the_top() {
        let first = Classification {
            classifier: "vehicle".into(),
            ..result(&["car"], &[0.9])
        };
        let second = Classification {
            classifier: "colour".into(),
            model: "efficientnet".into(),
            ..result(&["red"], &[0.7])
        };
        let v = parse(&line(&[first, second], &Times::default()).expect("a line"));
        assert_eq!(v["classifier"], "vehicle");
        assert_eq!(v["labels"], serde_json::json!(["car"]));
        let all = v["classifications"].as_array().expect("array");
        assert_eq!(all.len(), 2);
        assert_eq!(
            (&all[0]["classifier"], &all[0]["labels"][0]),
            (&"vehicle".into(), &"car".into())
        );
        assert_eq!(
            (
                &all[1]["classifier"],
                &all[1]["model"],
                &all[1]["labels"][0]
            ),
            (&"colour".into(), &"efficientnet".into(), &"red".into())
        );
        assert_eq!(line(&[], &Times::default()), None);
    }
}
