//! A part of the frame as upright 8-bit RGB at its own size, read by the element's own
//! preprocessing (any pixel format it reads, the caps' colour matrix), so the inbox
//! holds the pixels that were classified, not a copy converted another way. The
//! streaming thread only copies the frame's planes ([`OwnedFrame`]); the conversion
//! runs on the writer thread.

use crate::core::model::{ChannelOrder, Layout, TensorSpec};
use crate::core::preprocess::{
    FrameView, PixelFormat, Preprocessor, Region, ResizeMode, YuvMatrix,
};

/// A frame's planes, copied out of the buffer as they are (a memory copy, no
/// conversion), so the buffer goes on at once.
#[derive(Debug, Clone)]
pub struct OwnedFrame {
    format: PixelFormat,
    size: (usize, usize),
    planes: [Vec<u8>; 3],
    strides: [usize; 3],
    matrix: YuvMatrix,
}

impl OwnedFrame {
    pub fn copy(view: &FrameView<'_>) -> OwnedFrame {
        OwnedFrame {
            format: view.format,
            size: (view.width, view.height),
            planes: view.planes.map(<[u8]>::to_vec),
            strides: view.strides,
            matrix: view.matrix,
        }
    }

    /// The copy as a frame to read.
    pub fn view(&self) -> Result<FrameView<'_>, String> {
        let planes = [&self.planes[0][..], &self.planes[1], &self.planes[2]];
        FrameView::new(self.format, self.size, &planes, &self.strides, self.matrix)
            .map_err(|e| e.to_string())
    }
}

/// `rect` (x, y, width, height; None = the whole frame) of `frame` as RGB bytes, with its
/// width and height; clipped to the frame.
pub fn crop_rgb(
    frame: &FrameView<'_>,
    rect: Option<(u32, u32, u32, u32)>,
) -> Result<(u32, u32, Vec<u8>), String> {
    let (x, y, w, h) = rect.unwrap_or((0, 0, frame.width as u32, frame.height as u32));
    let region = Region::clipped(
        (i64::from(x), i64::from(y), i64::from(w), i64::from(h)),
        (frame.width, frame.height),
    )
    .ok_or_else(|| format!("region {x},{y} {w}x{h} is outside the frame"))?;
    let spec = TensorSpec {
        width: region.width,
        height: region.height,
        layout: Layout::Nhwc,
        channels: 3,
        order: ChannelOrder::Rgb,
        scale: 1.0,
        mean: [0.0; 3],
        std: [1.0; 3],
    };
    let mut values = vec![0.0f32; spec.len()];
    // One tensor pixel per frame pixel: the resampler copies, and converts the colour.
    Preprocessor::new(spec, ResizeMode::Stretch, 1.0)
        .run_region(frame, Some(region), &mut values)
        .map_err(|e| e.to_string())?;
    let rgb = values
        .iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    Ok((region.width as u32, region.height as u32, rgb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rgb_region_comes_out_as_it_is() {
        let (w, h) = (7usize, 5usize);
        let pixels: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 256) as u8).collect();
        let view = FrameView::new(
            PixelFormat::Rgb,
            (w, h),
            &[&pixels],
            &[w * 3],
            YuvMatrix::BT601,
        )
        .expect("view");
        let (cw, ch, rgb) = crop_rgb(&view, Some((2, 1, 3, 2))).expect("crop");
        assert_eq!((cw, ch), (3, 2));
        let expected: Vec<u8> = (1..3)
            .flat_map(|row| pixels[(row * w + 2) * 3..(row * w + 5) * 3].to_vec())
            .collect();
        assert_eq!(rgb, expected);
        // The same from a copy of the frame.
        let copy = OwnedFrame::copy(&view);
        let (fw, fh, whole) = crop_rgb(&copy.view().expect("view"), None).expect("frame");
        assert_eq!((fw, fh), (7, 5));
        assert_eq!(whole, pixels);
        // Clipped to the frame; nothing inside is an error.
        assert_eq!(crop_rgb(&view, Some((5, 3, 10, 10))).expect("clip").0, 2);
        assert!(crop_rgb(&view, Some((7, 0, 2, 2))).is_err());
    }
}
