//! The `GstVideoRegionOfInterestMeta`s on a buffer, as the plain `Candidate`s that
//! region selection and result matching (`regions`) work on. With the `analytics`
//! feature, `analytics::candidates` adds the detections that come only as a
//! `GstAnalyticsODMtd`.

use crate::core::regions::Candidate;

/// The regions of interest on `buf`, in the order of their metas.
pub fn candidates(buf: &gst::BufferRef) -> Vec<Candidate> {
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
