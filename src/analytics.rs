//! GStreamer ≥ 1.24 analytics meta (cargo feature `analytics`): every classification is
//! also added to the buffer's `GstAnalyticsRelationMeta` as one `GstAnalyticsClsMtd`
//! whose confidence levels are the top-k scores and whose class quarks are the labels,
//! best first — the form GStreamer's own analytics elements read.
//!
//! The classification covers the whole frame, so it is not related to any
//! `GstAnalyticsODMtd` an upstream detector may have put into the same meta.

use gst_analytics::prelude::*;
use gst_analytics::{AnalyticsClassificationMtd, AnalyticsRelationMeta};

use crate::meta::Classification;

/// Adds `result` as a `GstAnalyticsClsMtd`, to the buffer's relation meta when it
/// already has one, otherwise to a new one. Returns the mtd's id within that meta.
pub fn attach(
    result: &Classification,
    buffer: &mut gst::BufferRef,
) -> Result<u32, glib::BoolError> {
    let levels: Vec<f32> = result.scores.iter().map(|&s| s as f32).collect();
    let quarks: Vec<glib::Quark> = result
        .labels
        .iter()
        .map(|label| glib::Quark::from_str(label.as_str()))
        .collect();
    let mut meta = if buffer.meta::<AnalyticsRelationMeta>().is_some() {
        buffer
            .meta_mut::<AnalyticsRelationMeta>()
            .ok_or_else(|| glib::bool_error!("relation meta vanished"))?
    } else {
        AnalyticsRelationMeta::add(buffer)
    };
    let mtd = meta.add_cls_mtd(&levels, &quarks)?;
    Ok(mtd.id())
}

/// Every `GstAnalyticsClsMtd` on the buffer as (label, confidence) lists, in the order
/// they were added.
pub fn classifications(buffer: &gst::BufferRef) -> Vec<Vec<(String, f32)>> {
    let Some(meta) = buffer.meta::<AnalyticsRelationMeta>() else {
        return Vec::new();
    };
    meta.iter::<AnalyticsClassificationMtd>()
        .map(|mtd| {
            (0..mtd.len())
                .map(|i| (mtd.quark(i).as_str().to_string(), mtd.level(i)))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(labels: &[&str], scores: &[f64]) -> Classification {
        Classification {
            model: "mobilenet".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            class_ids: (0..labels.len() as u32).collect(),
            scores: scores.to_vec(),
            inference_time_ns: 1,
            provider: "cpu".into(),
            fresh: true,
            source_pts: None,
            regions: Vec::new(),
        }
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

    #[test]
    fn meta_attach_adds_both_metas() {
        gst::init().expect("gstreamer");
        crate::meta::register();
        let r = result(&["espresso"], &[0.99]);
        let mut buffer = gst::Buffer::new();
        r.attach(buffer.make_mut()).expect("attach");
        assert_eq!(Classification::from_buffer(&buffer), Some(r));
        assert_eq!(
            classifications(&buffer),
            vec![vec![("espresso".to_string(), 0.99f32)]]
        );
    }
}
