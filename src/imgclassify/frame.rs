//! Reading a buffer as a frame: the negotiated video, the read-only map handed to
//! preprocessing, and the regions of interest upstream put on it.

use gst_video::prelude::*;

use crate::core::preprocess::{FrameView, PixelFormat, YuvMatrix};
use crate::core::regions::{RegionInput, Selection};

/// The negotiated video, as preprocessing needs it.
#[derive(Debug, Clone)]
pub struct VideoInput {
    pub info: gst_video::VideoInfo,
    pub format: PixelFormat,
    pub matrix: YuvMatrix,
}

#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("caps {0} are not raw video")]
    NotVideo(gst::Caps),
    #[error("format {0} is not supported")]
    Format(String),
}

impl VideoInput {
    pub fn from_caps(caps: &gst::Caps) -> Result<VideoInput, CapsError> {
        let info =
            gst_video::VideoInfo::from_caps(caps).map_err(|_| CapsError::NotVideo(caps.clone()))?;
        let format = PixelFormat::from_name(info.format().to_str())
            .ok_or_else(|| CapsError::Format(info.format().to_string()))?;
        let matrix = yuv_matrix(&info);
        Ok(VideoInput {
            info,
            format,
            matrix,
        })
    }

    /// Maps the frame read-only and hands it to `body`; the map is released before
    /// inference.
    pub fn with_frame<R>(
        &self,
        buf: &gst::BufferRef,
        body: impl FnOnce(&FrameView<'_>) -> Result<R, String>,
    ) -> Result<R, String> {
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, &self.info)
            .map_err(|_| "the buffer could not be mapped as a video frame".to_string())?;
        let n = frame.n_planes() as usize;
        let mut planes: Vec<&[u8]> = Vec::with_capacity(n);
        for i in 0..n {
            planes.push(frame.plane_data(i as u32).map_err(|e| e.to_string())?);
        }
        let strides: Vec<usize> = frame.plane_stride()[..n]
            .iter()
            .map(|&s| {
                usize::try_from(s).map_err(|_| format!("negative stride {s} is not supported"))
            })
            .collect::<Result<_, _>>()?;
        let view = FrameView::new(
            self.format,
            (self.info.width() as usize, self.info.height() as usize),
            &planes,
            &strides,
            self.matrix,
        )
        .map_err(|e| e.to_string())?;
        body(&view)
    }

    /// The regions of interest on the buffer that `selection` picks.
    pub fn regions(&self, buf: &gst::BufferRef, selection: &Selection) -> Vec<RegionInput> {
        selection.select(
            &candidates(buf),
            self.info.width() as usize,
            self.info.height() as usize,
        )
    }
}

/// The regions on a buffer: its ROI metas, and with the `analytics` feature the
/// detections that come only as a `GstAnalyticsODMtd`.
#[cfg(feature = "analytics")]
pub fn candidates(buf: &gst::BufferRef) -> Vec<crate::core::regions::Candidate> {
    crate::analytics::candidates(buf)
}

#[cfg(not(feature = "analytics"))]
pub fn candidates(buf: &gst::BufferRef) -> Vec<crate::core::regions::Candidate> {
    crate::roi::candidates(buf)
}

/// The caps' colorimetry as the Y'CbCr → RGB matrix; BT.601 unless they say otherwise.
fn yuv_matrix(info: &gst_video::VideoInfo) -> YuvMatrix {
    let c = info.colorimetry();
    let base = match c.matrix() {
        gst_video::VideoColorMatrix::Bt709 => YuvMatrix::BT709,
        gst_video::VideoColorMatrix::Bt2020 => YuvMatrix::BT2020,
        _ => YuvMatrix::BT601,
    };
    YuvMatrix {
        limited: c.range() != gst_video::VideoColorRange::Range0_255,
        ..base
    }
}

/// The same caps on both pads: every pixel format the preprocessing reads, any size.
pub fn pad_templates() -> &'static [gst::PadTemplate] {
    static TEMPLATES: std::sync::LazyLock<Vec<gst::PadTemplate>> =
        std::sync::LazyLock::new(|| crate::pads::src_and_sink(&crate::pads::raw_video(None)));
    TEMPLATES.as_ref()
}
