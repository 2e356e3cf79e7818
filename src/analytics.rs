//! GStreamer ≥ 1.24 analytics meta (cargo feature `analytics`): every classification is
//! also added to the buffer's `GstAnalyticsRelationMeta` as `GstAnalyticsClsMtd`s whose
//! confidence levels are the top-k scores and whose class quarks are the labels, best
//! first — the form GStreamer's own analytics elements read.
//!
//! - `target=frame`: one ClsMtd for the frame, related to nothing (it covers the whole
//!   frame, not one detection).
//! - `target=regions`: one ClsMtd per classified region (none for the frame-level lists,
//!   which are empty there). Each is related to the `GstAnalyticsODMtd` of the same
//!   object, when the relation meta holds one, with `RELATE_TO` in both directions
//!   (ClsMtd → ODMtd and ODMtd → ClsMtd), so readers that start from the detection find
//!   its classification with `gst_analytics_relation_meta_get_direct_related`.
//! - `target=zones`: one ClsMtd per zone, related to nothing: a zone is a fixed place
//!   drawn by the user, not a detection, even where a detector's box covers it.
//!
//! ROI meta ids and analytics mtd ids are different id spaces, so the ODMtd is found by
//! location ([`matching_detection`]): the region's box is the rectangle of the buffer's
//! `GstVideoRegionOfInterestMeta` with the region's `roi_id` (the box as the detector gave
//! it, before clipping to the frame), or the classified rectangle when that ROI meta is
//! gone. The ODMtd whose box overlaps it best wins — intersection over union, at least
//! [`MIN_IOU`]; on a tie, one whose object type equals the ROI type, then the one added
//! first. An equal box (IoU 1) always wins; a region with no ODMtd overlapping that much
//! gets a ClsMtd related to nothing.

use gst_analytics::prelude::*;
use gst_analytics::{
    AnalyticsClassificationMtd, AnalyticsODMtd, AnalyticsRelationMeta, AnalyticsTrackingMtd,
    RelTypes,
};

use crate::core::regions::Candidate;
use crate::result::{Classification, RegionResult, Target};

/// One ClsMtd's (label, confidence) pairs, best first.
pub type Labels = Vec<(String, f32)>;

/// The least intersection over union for an ODMtd to count as the region's detection.
pub const MIN_IOU: f64 = 0.5;

/// A detection's box and object type, as read from its ODMtd.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub id: u32,
    pub obj_type: Option<String>,
    /// x, y, width, height; x and y may be negative.
    pub rect: (i64, i64, i64, i64),
}

/// Intersection over union of two x, y, width, height boxes (0 for empty ones).
pub fn iou(a: (i64, i64, i64, i64), b: (i64, i64, i64, i64)) -> f64 {
    let w = (a.0 + a.2).min(b.0 + b.2) - a.0.max(b.0);
    let h = (a.1 + a.3).min(b.1 + b.3) - a.1.max(b.1);
    if w <= 0 || h <= 0 || a.2 <= 0 || a.3 <= 0 || b.2 <= 0 || b.3 <= 0 {
        return 0.0;
    }
    let inter = (w * h) as f64;
    inter / ((a.2 * a.3 + b.2 * b.3) as f64 - inter)
}

/// The detection of the object in `rect` (type `roi_type`), by the rule in the module
/// documentation: best IoU ≥ [`MIN_IOU`], then same type, then the first.
pub fn matching_detection<'d>(
    detections: &'d [Detection],
    rect: (i64, i64, i64, i64),
    roi_type: &str,
) -> Option<&'d Detection> {
    let mut best: Option<(&Detection, f64, bool)> = None;
    for d in detections {
        let overlap = iou(d.rect, rect);
        if overlap < MIN_IOU {
            continue;
        }
        let same_type = d.obj_type.as_deref() == Some(roi_type);
        let better = match best {
            None => true,
            Some((_, o, t)) => overlap > o || (overlap == o && same_type && !t),
        };
        if better {
            best = Some((d, overlap, same_type));
        }
    }
    best.map(|(d, _, _)| d)
}

/// Every `GstAnalyticsODMtd` on the buffer, in the order they were added.
pub fn detections(buffer: &gst::BufferRef) -> Vec<Detection> {
    let Some(meta) = buffer.meta::<AnalyticsRelationMeta>() else {
        return Vec::new();
    };
    meta.iter::<AnalyticsODMtd>()
        .filter_map(|od| {
            let loc = od.location().ok()?;
            Some(Detection {
                id: od.id(),
                obj_type: od.obj_type().map(|q| q.as_str().to_string()),
                rect: (loc.x.into(), loc.y.into(), loc.w.into(), loc.h.into()),
            })
        })
        .collect()
}

/// A tracker's id as a region's `roi_id`: negative, so that it never equals a detector's
/// ROI id, and never 0, which means "no id" to the tracking of `reclassify-interval`.
pub fn tracked_roi_id(tracking_id: u64) -> i32 {
    -1 - (tracking_id % i32::MAX as u64) as i32
}

/// The detections that come only as a `GstAnalyticsODMtd` (GStreamer 1.26's tensor
/// decoders add no ROI meta), as regions to classify: every ODMtd that no ROI meta in
/// `rois` covers (IoU below [`MIN_IOU`]). The type is the ODMtd's object type, so
/// `region-types` matches it. A `GstAnalyticsTrackingMtd` related to the ODMtd (either
/// way) gives the object its identity through [`tracked_roi_id`]; without one the
/// region's id is 0 and the element's own tracker follows it.
pub fn detection_candidates(buffer: &gst::BufferRef, rois: &[Candidate]) -> Vec<Candidate> {
    let Some(meta) = buffer.meta::<AnalyticsRelationMeta>() else {
        return Vec::new();
    };
    let tracks: Vec<(u32, u64)> = meta
        .iter::<AnalyticsTrackingMtd>()
        .map(|t| (t.id(), t.info().0))
        .collect();
    let related = |a: u32, b: u32| meta.relation(a, b) != RelTypes::NONE;
    detections(buffer)
        .into_iter()
        .filter(|d| rois.iter().all(|r| iou(r.rect, d.rect) < MIN_IOU))
        .map(|d| {
            let track = tracks
                .iter()
                .find(|(t, _)| related(d.id, *t) || related(*t, d.id))
                .map(|(_, id)| *id);
            Candidate {
                roi_id: track.map_or(0, tracked_roi_id),
                roi_type: d.obj_type.unwrap_or_default(),
                rect: d.rect,
            }
        })
        .collect()
}

/// The regions of `buffer` to classify: its ROI metas in their order, then the ODMtds
/// none of them covers ([`detection_candidates`]). The ROI metas come first, so the
/// n-th candidate is the n-th ROI meta wherever results go back onto those.
pub fn candidates(buffer: &gst::BufferRef) -> Vec<Candidate> {
    let mut all = crate::roi::candidates(buffer);
    let detections = detection_candidates(buffer, &all);
    all.extend(detections);
    all
}

/// The box to match each region by: the rectangle of the ROI meta it belongs to on this
/// buffer (see `regions::owners`), else the rectangle it was classified in.
fn region_boxes(buffer: &gst::BufferRef, regions: &[RegionResult]) -> Vec<(i64, i64, i64, i64)> {
    let rois = candidates(buffer);
    let owners = crate::core::regions::owners(&rois, regions);
    regions
        .iter()
        .enumerate()
        .map(|(j, region)| {
            owners
                .iter()
                .position(|&o| o == Some(j))
                .map(|i| rois[i].rect)
                .unwrap_or_else(|| {
                    let (x, y, w, h) = region.rect;
                    (x.into(), y.into(), w.into(), h.into())
                })
        })
        .collect()
}

/// One ClsMtd to add: levels, quarks and the ODMtd to relate it to.
struct Pending {
    levels: Vec<f32>,
    quarks: Vec<glib::Quark>,
    detection: Option<u32>,
}

fn pending(labels: &[String], scores: &[f64], detection: Option<u32>) -> Option<Pending> {
    if labels.is_empty() {
        return None;
    }
    Some(Pending {
        levels: scores.iter().map(|&s| s as f32).collect(),
        quarks: labels
            .iter()
            .map(|label| glib::Quark::from_str(label.as_str()))
            .collect(),
        detection,
    })
}

/// Adds `result` as `GstAnalyticsClsMtd`s — one for the frame's labels when there are
/// any, one per region — to the buffer's relation meta when it already has one,
/// otherwise to a new one, and relates each region's to its ODMtd. Returns the ids of
/// the ClsMtds added, frame first, then the regions in order.
pub fn attach(
    result: &Classification,
    buffer: &mut gst::BufferRef,
) -> Result<Vec<u32>, glib::BoolError> {
    let found = if result.target == Target::Zones {
        Vec::new()
    } else {
        detections(buffer)
    };
    let boxes = region_boxes(buffer, &result.regions);
    let todo: Vec<Pending> = pending(&result.labels, &result.scores, None)
        .into_iter()
        .chain(
            result
                .regions
                .iter()
                .zip(boxes)
                .filter_map(|(region, rect)| {
                    let detection =
                        matching_detection(&found, rect, &region.roi_type).map(|d| d.id);
                    pending(&region.labels, &region.scores, detection)
                }),
        )
        .collect();
    if todo.is_empty() {
        return Ok(Vec::new());
    }
    let mut meta = if buffer.meta::<AnalyticsRelationMeta>().is_some() {
        buffer
            .meta_mut::<AnalyticsRelationMeta>()
            .ok_or_else(|| glib::bool_error!("relation meta vanished"))?
    } else {
        AnalyticsRelationMeta::add(buffer)
    };
    let mut ids = Vec::with_capacity(todo.len());
    for p in todo {
        let id = meta.add_cls_mtd(&p.levels, &p.quarks)?.id();
        if let Some(od) = p.detection {
            meta.set_relation(RelTypes::RELATE_TO, id, od)?;
            meta.set_relation(RelTypes::RELATE_TO, od, id)?;
        }
        ids.push(id);
    }
    Ok(ids)
}

fn labels_of(mtd: &gst_analytics::AnalyticsMtdRef<'_, AnalyticsClassificationMtd>) -> Labels {
    (0..mtd.len())
        .map(|i| (mtd.quark(i).as_str().to_string(), mtd.level(i)))
        .collect()
}

/// Every `GstAnalyticsClsMtd` on the buffer as (label, confidence) lists, in the order
/// they were added.
pub fn classifications(buffer: &gst::BufferRef) -> Vec<Labels> {
    let Some(meta) = buffer.meta::<AnalyticsRelationMeta>() else {
        return Vec::new();
    };
    meta.iter::<AnalyticsClassificationMtd>()
        .map(|mtd| labels_of(&mtd))
        .collect()
}

/// For every `GstAnalyticsODMtd` on the buffer, its id and the (label, confidence) lists
/// of the ClsMtds it is related to (`RELATE_TO`, from the detection), as GStreamer's
/// readers walk it.
pub fn classified_detections(buffer: &gst::BufferRef) -> Vec<(u32, Vec<Labels>)> {
    let Some(meta) = buffer.meta::<AnalyticsRelationMeta>() else {
        return Vec::new();
    };
    meta.iter::<AnalyticsODMtd>()
        .map(|od| {
            let cls = meta
                .iter_direct_related::<AnalyticsClassificationMtd>(od.id(), RelTypes::RELATE_TO)
                .map(|mtd| labels_of(&mtd))
                .collect();
            (od.id(), cls)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(labels: &[&str], scores: &[f64]) -> Classification {
        Classification::for_test(labels, scores)
    }

    #[test]
    fn top_k_becomes_one_cls_mtd_with_levels_and_quarks() {
        gst::init().expect("gstreamer");
        let mut buffer = gst::Buffer::new();
        attach(
            &result(&["espresso", "cup \"mug\"", "café"], &[0.9, 0.06, 0.01]),
            buffer.make_mut(),
        )
        .expect("attach");
        let found = classifications(&buffer);
        assert_eq!(
            found,
            vec![vec![
                ("espresso".to_string(), 0.9f32),
                ("cup \"mug\"".to_string(), 0.06f32),
                ("café".to_string(), 0.01f32),
            ]]
        );
    }

    #[test]
    fn a_second_classification_joins_the_same_relation_meta() {
        gst::init().expect("gstreamer");
        let mut buffer = gst::Buffer::new();
        attach(&result(&["a"], &[1.0]), buffer.make_mut()).expect("first");
        attach(&result(&["b", "c"], &[0.7, 0.3]), buffer.make_mut()).expect("second");
        assert_eq!(buffer.iter_meta::<AnalyticsRelationMeta>().count(), 1);
        assert_eq!(classifications(&buffer).len(), 2);
    }

    fn region(
        roi_id: i32,
        roi_type: &str,
        rect: (u32, u32, u32, u32),
        labels: &[&str],
        scores: &[f64],
    ) -> RegionResult {
        RegionResult {
            roi_id,
            roi_type: roi_type.into(),
            rect,
            labels: labels.iter().map(|l| l.to_string()).collect(),
            class_ids: (0..labels.len() as u32).collect(),
            scores: scores.to_vec(),
            embedding: None,
            track: None,
        }
    }

    /// ROI id, type, rectangle.
    type DetectedBox<'a> = (i32, &'a str, (i32, i32, i32, i32));

    /// A buffer with a detector's output: per box an ODMtd and an ROI meta with the same
    /// rectangle (the ROI ids deliberately differ from the mtd ids). Returns the ODMtd ids.
    fn detected(buffer: &mut gst::BufferRef, boxes: &[DetectedBox]) -> Vec<u32> {
        let mut ids = Vec::new();
        {
            let mut meta = AnalyticsRelationMeta::add(buffer);
            for (_, ty, (x, y, w, h)) in boxes {
                let od = meta
                    .add_od_mtd(glib::Quark::from_str(*ty), *x, *y, *w, *h, 0.9)
                    .expect("od mtd");
                ids.push(od.id());
            }
        }
        for (roi_id, ty, (x, y, w, h)) in boxes {
            let mut roi = gst_video::VideoRegionOfInterestMeta::add(
                buffer,
                ty,
                (*x as u32, *y as u32, *w as u32, *h as u32),
            );
            roi.set_id(*roi_id);
        }
        ids
    }

    fn regions_result(regions: Vec<RegionResult>) -> Classification {
        let mut r = result(&[], &[]);
        r.regions = regions;
        r
    }

    #[test]
    fn each_region_gets_a_cls_mtd_related_both_ways_to_its_od_mtd() {
        gst::init().expect("gstreamer");
        let mut buffer = gst::Buffer::new();
        let b = buffer.make_mut();
        let ods = detected(
            b,
            &[
                (41, "cup", (40, 60, 600, 400)),
                (42, "cat", (760, 300, 451, 300)),
            ],
        );
        // Regions listed in the other order than the detections were added.
        let r = regions_result(vec![
            region(
                42,
                "cat",
                (760, 300, 451, 300),
                &["tabby", "tiger cat"],
                &[0.6, 0.3],
            ),
            region(41, "cup", (40, 60, 600, 400), &["espresso"], &[0.9]),
        ]);
        let cls = attach(&r, b).expect("attach");
        assert_eq!(
            cls.len(),
            2,
            "one per region, none for the empty frame lists"
        );
        let meta = buffer
            .meta::<AnalyticsRelationMeta>()
            .expect("relation meta");
        for (c, od) in cls.iter().zip([ods[1], ods[0]]) {
            assert_eq!(meta.relation(*c, od), RelTypes::RELATE_TO);
            assert_eq!(meta.relation(od, *c), RelTypes::RELATE_TO);
        }
        assert_eq!(meta.relation(cls[0], ods[0]), RelTypes::NONE);
        assert_eq!(
            classified_detections(&buffer),
            vec![
                (ods[0], vec![vec![("espresso".to_string(), 0.9f32)]]),
                (
                    ods[1],
                    vec![vec![
                        ("tabby".to_string(), 0.6f32),
                        ("tiger cat".to_string(), 0.3f32)
                    ]]
                ),
            ]
        );
    }

    #[test]
    fn zones_are_related_to_no_detection_even_one_on_the_same_box() {
        gst::init().expect("gstreamer");
        let mut buffer = gst::Buffer::new();
        let b = buffer.make_mut();
        let ods = detected(b, &[(0, "gate", (40, 60, 600, 400))]);
        let mut r = regions_result(vec![region(
            0,
            "gate",
            (40, 60, 600, 400),
            &["espresso"],
            &[0.9],
        )]);
        r.target = Target::Zones;
        let cls = attach(&r, b).expect("attach");
        assert_eq!(cls.len(), 1);
        let meta = buffer
            .meta::<AnalyticsRelationMeta>()
            .expect("relation meta");
        assert_eq!(meta.relation(cls[0], ods[0]), RelTypes::NONE);
        assert_eq!(meta.relation(ods[0], cls[0]), RelTypes::NONE);
    }

    #[test]
    fn a_clipped_region_still_finds_its_detection_by_the_roi_box() {
        gst::init().expect("gstreamer");
        let mut buffer = gst::Buffer::new();
        let b = buffer.make_mut();
        // The detector's box runs past a 1280x720 frame; the region was clipped to 80x70.
        let ods = detected(b, &[(3, "object", (1200, 650, 200, 200))]);
        let r = regions_result(vec![region(
            3,
            "object",
            (1200, 650, 80, 70),
            &["a"],
            &[1.0],
        )]);
        attach(&r, b).expect("attach");
        assert_eq!(
            classified_detections(&buffer),
            vec![(ods[0], vec![vec![("a".to_string(), 1.0f32)]])]
        );
    }

    #[test]
    fn a_region_without_a_matching_detection_is_related_to_nothing() {
        gst::init().expect("gstreamer");
        let mut buffer = gst::Buffer::new();
        let b = buffer.make_mut();
        let ods = detected(b, &[(1, "object", (0, 0, 100, 100))]);
        // An ROI meta of its own, far from the detection.
        gst_video::VideoRegionOfInterestMeta::add(b, "object", (500, 500, 50, 50)).set_id(9);
        let r = regions_result(vec![region(
            9,
            "object",
            (500, 500, 50, 50),
            &["b"],
            &[1.0],
        )]);
        let cls = attach(&r, b).expect("attach");
        assert_eq!(
            classifications(&buffer),
            vec![vec![("b".to_string(), 1.0f32)]]
        );
        let meta = buffer
            .meta::<AnalyticsRelationMeta>()
            .expect("relation meta");
        assert_eq!(meta.relation(cls[0], ods[0]), RelTypes::NONE);
        assert_eq!(classified_detections(&buffer), vec![(ods[0], vec![])]);
    }

    #[test]
    fn regions_without_any_relation_meta_get_a_new_one() {
        gst::init().expect("gstreamer");
        let mut buffer = gst::Buffer::new();
        let r = regions_result(vec![region(1, "face", (0, 0, 8, 8), &["x"], &[0.5])]);
        attach(&r, buffer.make_mut()).expect("attach");
        assert_eq!(
            classifications(&buffer),
            vec![vec![("x".to_string(), 0.5f32)]]
        );
    }

    #[test]
    fn matching_takes_the_best_overlap_then_the_type_then_the_first() {
        let d = |id, ty: &str, rect| Detection {
            id,
            obj_type: Some(ty.to_string()),
            rect,
        };
        assert_eq!(iou((0, 0, 10, 10), (0, 0, 10, 10)), 1.0);
        assert_eq!(iou((0, 0, 10, 10), (10, 0, 10, 10)), 0.0);
        assert_eq!(iou((0, 0, 10, 10), (5, 0, 10, 10)), 50.0 / 150.0);
        let found = [
            d(0, "car", (0, 0, 100, 100)),
            d(1, "car", (10, 0, 100, 100)),
            d(2, "face", (10, 0, 100, 100)),
            d(3, "face", (10, 0, 100, 100)),
        ];
        let id = |rect, ty| matching_detection(&found, rect, ty).map(|d| d.id);
        assert_eq!(
            id((0, 0, 100, 100), "face"),
            Some(0),
            "equal box beats type"
        );
        assert_eq!(
            id((10, 0, 100, 100), "face"),
            Some(2),
            "same type, first added"
        );
        assert_eq!(
            id((10, 0, 100, 100), "person"),
            Some(1),
            "no type match: first"
        );
        assert_eq!(id((60, 0, 100, 100), "car"), None, "IoU below MIN_IOU");
    }
}
