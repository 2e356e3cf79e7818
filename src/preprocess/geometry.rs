//! Which part of the frame becomes the model's input, and where it lands in the tensor.

/// How the frame is fitted to the model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResizeMode {
    /// Centre crop with the model's evaluation crop fraction: how the weights were evaluated.
    #[default]
    CenterCrop,
    /// The whole frame, aspect ratio not kept.
    Stretch,
    /// The whole frame, aspect ratio kept, black bars around it.
    Letterbox,
}

/// A rectangle in source pixels (fractional: crops need not fall on pixel edges).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// Maps a source rectangle onto a destination rectangle of the tensor; tensor pixels
/// outside `dst` are padding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub src: Rect,
    /// x, y, width, height in tensor pixels.
    pub dst: (usize, usize, usize, usize),
}

/// Decides the placement of a `src_w` x `src_h` frame in an `out_w` x `out_h` tensor.
/// `crop_fraction` (0..=1) is the share of the shorter side kept by `CenterCrop`.
pub fn place(
    mode: ResizeMode,
    src_w: usize,
    src_h: usize,
    out_w: usize,
    out_h: usize,
    crop_fraction: f64,
) -> Placement {
    let (sw, sh, ow, oh) = (src_w as f64, src_h as f64, out_w as f64, out_h as f64);
    match mode {
        ResizeMode::Stretch => Placement {
            src: Rect {
                x: 0.0,
                y: 0.0,
                width: sw,
                height: sh,
            },
            dst: (0, 0, out_w, out_h),
        },
        ResizeMode::CenterCrop => {
            let fraction = if crop_fraction > 0.0 && crop_fraction <= 1.0 {
                crop_fraction
            } else {
                1.0
            };
            // Source pixels per tensor pixel, so that the tensor's aspect ratio fits inside the frame.
            let scale = (sw / ow).min(sh / oh) * fraction;
            let (cw, ch) = (ow * scale, oh * scale);
            Placement {
                src: Rect {
                    x: (sw - cw) / 2.0,
                    y: (sh - ch) / 2.0,
                    width: cw,
                    height: ch,
                },
                dst: (0, 0, out_w, out_h),
            }
        }
        ResizeMode::Letterbox => {
            let scale = (sw / ow).max(sh / oh);
            let dw = ((sw / scale).round() as usize).clamp(1, out_w);
            let dh = ((sh / scale).round() as usize).clamp(1, out_h);
            Placement {
                src: Rect {
                    x: 0.0,
                    y: 0.0,
                    width: sw,
                    height: sh,
                },
                dst: ((out_w - dw) / 2, (out_h - dh) / 2, dw, dh),
            }
        }
    }
}

/// Bilinear taps along one axis: for each output index the two source indices and the
/// weight of the second.
#[derive(Debug, Clone, Default)]
pub struct AxisTaps {
    pub lo: Vec<u32>,
    pub hi: Vec<u32>,
    pub frac: Vec<f32>,
}

impl AxisTaps {
    /// Samples `count` pixel centres spread over `[start, start + length)` of a source axis
    /// of `limit` pixels, clamping at the edges.
    pub fn new(start: f64, length: f64, count: usize, limit: usize) -> AxisTaps {
        let mut taps = AxisTaps {
            lo: Vec::with_capacity(count),
            hi: Vec::with_capacity(count),
            frac: Vec::with_capacity(count),
        };
        let step = length / count.max(1) as f64;
        let last = limit.saturating_sub(1) as f64;
        for i in 0..count {
            let pos = (start + (i as f64 + 0.5) * step - 0.5).clamp(0.0, last);
            let lo = pos.floor();
            let hi = (lo + 1.0).min(last);
            taps.lo.push(lo as u32);
            taps.hi.push(hi as u32);
            taps.frac.push((pos - lo) as f32);
        }
        taps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_crop_keeps_the_middle_of_a_wide_frame() {
        let p = place(ResizeMode::CenterCrop, 1920, 1080, 224, 224, 0.875);
        assert_eq!(p.dst, (0, 0, 224, 224));
        assert!((p.src.width - 945.0).abs() < 1e-9);
        assert!((p.src.height - 945.0).abs() < 1e-9);
        assert!((p.src.x - 487.5).abs() < 1e-9);
        assert!((p.src.y - 67.5).abs() < 1e-9);
    }

    #[test]
    fn center_crop_with_bad_fraction_keeps_full_short_side() {
        let p = place(ResizeMode::CenterCrop, 640, 480, 224, 224, 0.0);
        assert_eq!(p.src.height, 480.0);
        assert_eq!(p.src.x, 80.0);
    }

    #[test]
    fn letterbox_pads_the_short_axis() {
        let p = place(ResizeMode::Letterbox, 1920, 1080, 224, 224, 0.875);
        assert_eq!(p.dst, (0, 49, 224, 126));
        assert_eq!(p.src.width, 1920.0);
    }

    #[test]
    fn letterbox_of_a_single_column_keeps_one_pixel() {
        let p = place(ResizeMode::Letterbox, 1, 4095, 224, 224, 1.0);
        assert_eq!(p.dst.2, 1);
        assert_eq!(p.dst.3, 224);
    }

    #[test]
    fn stretch_uses_everything() {
        let p = place(ResizeMode::Stretch, 33, 17, 224, 224, 0.875);
        assert_eq!(
            p.src,
            Rect {
                x: 0.0,
                y: 0.0,
                width: 33.0,
                height: 17.0
            }
        );
    }

    #[test]
    fn taps_stay_inside_the_frame() {
        let t = AxisTaps::new(0.0, 1.0, 224, 1);
        assert!(t.lo.iter().all(|&v| v == 0) && t.hi.iter().all(|&v| v == 0));
        let t = AxisTaps::new(0.0, 4.0, 2, 4);
        assert_eq!(t.lo, vec![0, 2]);
        assert_eq!(t.hi, vec![1, 3]);
        assert_eq!(t.frac, vec![0.5, 0.5]);
    }
}
