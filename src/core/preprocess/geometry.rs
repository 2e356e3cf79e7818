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
    (src_w, src_h): (usize, usize),
    (out_w, out_h): (usize, usize),
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

/// Resampling weights along one axis: output index `i` reads source indices
/// `index[i * taps .. (i + 1) * taps]` with the matching `weight`s (which sum to 1).
/// Downscaling averages each output pixel's footprint by area, so fine detail does not
/// alias; upscaling interpolates bilinearly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AxisTaps {
    pub taps: usize,
    pub index: Vec<u32>,
    pub weight: Vec<f32>,
}

impl AxisTaps {
    /// Taps for `count` output pixels covering `[start, start + length)` of a source
    /// axis of `limit` pixels; positions outside the axis are clamped to its edge.
    pub fn new(start: f64, length: f64, count: usize, limit: usize) -> AxisTaps {
        let count = count.max(1);
        let step = length / count as f64;
        let last = limit.saturating_sub(1);
        let mut rows: Vec<Vec<(u32, f32)>> = Vec::with_capacity(count);
        for i in 0..count {
            let lo = start + i as f64 * step;
            rows.push(if step > 1.0 {
                area(lo, lo + step, last)
            } else {
                bilinear(lo + 0.5 * step - 0.5, last)
            });
        }
        let taps = rows.iter().map(Vec::len).max().unwrap_or(1);
        let mut out = AxisTaps {
            taps,
            index: Vec::with_capacity(count * taps),
            weight: Vec::with_capacity(count * taps),
        };
        for row in rows {
            let pad = row.last().map_or(0, |t| t.0);
            for k in 0..taps {
                let (index, weight) = row.get(k).copied().unwrap_or((pad, 0.0));
                out.index.push(index);
                out.weight.push(weight);
            }
        }
        out
    }
}

fn clamp_index(j: f64, last: usize) -> u32 {
    j.clamp(0.0, last as f64) as u32
}

fn bilinear(pos: f64, last: usize) -> Vec<(u32, f32)> {
    let pos = pos.clamp(0.0, last as f64);
    let lo = pos.floor();
    let frac = (pos - lo) as f32;
    vec![(lo as u32, 1.0 - frac), (clamp_index(lo + 1.0, last), frac)]
}

/// Box filter: each source pixel j covers [j, j+1) and weighs by its overlap with [a, b).
fn area(a: f64, b: f64, last: usize) -> Vec<(u32, f32)> {
    let len = b - a;
    let mut taps = Vec::new();
    let mut j = a.floor();
    while j < b {
        let overlap = (b.min(j + 1.0) - a.max(j)) / len;
        if overlap > 1e-9 {
            taps.push((clamp_index(j, last), overlap as f32));
        }
        j += 1.0;
    }
    taps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_crop_keeps_the_middle_of_a_wide_frame() {
        let p = place(ResizeMode::CenterCrop, (1920, 1080), (224, 224), 0.875);
        assert_eq!(p.dst, (0, 0, 224, 224));
        assert!((p.src.width - 945.0).abs() < 1e-9);
        assert!((p.src.height - 945.0).abs() < 1e-9);
        assert!((p.src.x - 487.5).abs() < 1e-9);
        assert!((p.src.y - 67.5).abs() < 1e-9);
    }

    #[test]
    fn center_crop_with_bad_fraction_keeps_full_short_side() {
        let p = place(ResizeMode::CenterCrop, (640, 480), (224, 224), 0.0);
        assert_eq!(p.src.height, 480.0);
        assert_eq!(p.src.x, 80.0);
    }

    #[test]
    fn letterbox_pads_the_short_axis() {
        let p = place(ResizeMode::Letterbox, (1920, 1080), (224, 224), 0.875);
        assert_eq!(p.dst, (0, 49, 224, 126));
        assert_eq!(p.src.width, 1920.0);
    }

    #[test]
    fn letterbox_of_a_single_column_keeps_one_pixel() {
        let p = place(ResizeMode::Letterbox, (1, 4095), (224, 224), 1.0);
        assert_eq!(p.dst.2, 1);
        assert_eq!(p.dst.3, 224);
    }

    #[test]
    fn stretch_uses_everything() {
        let p = place(ResizeMode::Stretch, (33, 17), (224, 224), 0.875);
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
    fn upscaling_is_bilinear_and_stays_inside_the_frame() {
        let t = AxisTaps::new(0.0, 1.0, 224, 1);
        assert_eq!(t.taps, 2);
        assert!(t.index.iter().all(|&v| v == 0));
        let t = AxisTaps::new(0.0, 2.0, 4, 2);
        assert_eq!(t.index, vec![0, 1, 0, 1, 0, 1, 1, 1]);
        assert_eq!(t.weight, vec![1.0, 0.0, 0.75, 0.25, 0.25, 0.75, 1.0, 0.0]);
    }

    #[test]
    fn downscaling_averages_the_footprint() {
        let t = AxisTaps::new(0.0, 4.0, 2, 4);
        assert_eq!(t.taps, 2);
        assert_eq!(t.index, vec![0, 1, 2, 3]);
        assert_eq!(t.weight, vec![0.5, 0.5, 0.5, 0.5]);
        // A footprint of 1.5 pixels starting mid-pixel.
        let t = AxisTaps::new(0.5, 3.0, 2, 4);
        assert_eq!(t.index, vec![0, 1, 2, 3]);
        let third = 1.0 / 3.0;
        for (w, e) in t
            .weight
            .iter()
            .zip([third, 2.0 * third, 2.0 * third, third])
        {
            assert!((w - e).abs() < 1e-6);
        }
    }

    #[test]
    fn weights_sum_to_one() {
        for (len, count) in [(945.0, 224), (1080.0, 260), (17.0, 224), (3.0, 2)] {
            let t = AxisTaps::new(0.25, len, count, len as usize + 1);
            for w in t.weight.chunks(t.taps) {
                assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
    }
}
