//! The `GstVideoRegionOfInterestMeta`s on a buffer, as the plain `Candidate`s that
//! region selection and result matching (`regions`) work on. With the `analytics`
//! feature, detections that come only as a `GstAnalyticsODMtd` follow them.

use crate::core::regions::Candidate;

/// The regions of interest on `buf`: its ROI metas in their order, then (feature
/// `analytics`) the ODMtds no ROI meta covers. The ROI metas come first, so the n-th
/// candidate is the n-th ROI meta wherever results go back onto those.
pub fn candidates(buf: &gst::BufferRef) -> Vec<Candidate> {
    #[allow(unused_mut)]
    let mut all = roi_metas(buf);
    #[cfg(feature = "analytics")]
    {
        let detections = crate::analytics::detection_candidates(buf, &all);
        all.extend(detections);
    }
    all
}

fn roi_metas(buf: &gst::BufferRef) -> Vec<Candidate> {
    buf.iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .map(|roi| {
            let (x, y, w, h) = roi.rect();
            Candidate {
                roi_id: roi.id(),
                roi_type: roi.roi_type().to_string(),
                rect: (x.into(), y.into(), w.into(), h.into()),
            }
        })
        .collect()
}
