//! Frame → model input tensor: crop and resize (area average when shrinking, bilinear
//! when enlarging) straight from the camera's planes, then colour conversion,
//! normalisation and layout at the model's size, so the full frame is never converted.
//! Resizing Y'CbCr before converting is exact: the conversion is affine, and each
//! pixel reads the chroma sample that covers it, as a full-size conversion would.

mod format;
mod geometry;
mod kernel;
mod layout;
mod resample;
#[cfg(test)]
mod tests;

#[cfg(test)]
use format::FrameError;
pub use format::{FrameView, PixelFormat, YuvMatrix};
pub use geometry::{AxisTaps, Placement, ResizeMode, place};

use multiversion::multiversion;
use resample::{Components, Plan, chunk_starts};

use crate::core::model::{ChannelOrder, Layout, TensorSpec};

/// Turns frames into tensors; keeps the sampling tables between frames of one size.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    spec: TensorSpec,
    mode: ResizeMode,
    crop_fraction: f64,
    cached: Option<(CacheKey, Placement, Plan)>,
    components: Components,
}

/// Frame format, size and region the sampling tables were built for.
type CacheKey = (PixelFormat, usize, usize, Option<Region>);

/// A rectangle of whole pixels inside the frame (e.g. a detection to classify).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

impl Region {
    /// Clips a rectangle given in (possibly negative or oversized) pixel coordinates to
    /// a `frame_w` x `frame_h` frame; None when nothing of it is inside.
    pub fn clipped(
        (x, y, w, h): (i64, i64, i64, i64),
        (frame_w, frame_h): (usize, usize),
    ) -> Option<Region> {
        let x0 = x.max(0);
        let y0 = y.max(0);
        let x1 = x.saturating_add(w.max(0)).min(frame_w as i64);
        let y1 = y.saturating_add(h.max(0)).min(frame_h as i64);
        (x1 > x0 && y1 > y0).then(|| Region {
            x: x0 as usize,
            y: y0 as usize,
            width: (x1 - x0) as usize,
            height: (y1 - y0) as usize,
        })
    }
}

impl Preprocessor {
    pub fn new(spec: TensorSpec, mode: ResizeMode, crop_fraction: f64) -> Preprocessor {
        Preprocessor {
            spec,
            mode,
            crop_fraction,
            cached: None,
            components: Components::default(),
        }
    }

    pub fn spec(&self) -> &TensorSpec {
        &self.spec
    }

    /// Writes the tensor for `frame` into `out`, which must hold `spec().len()` values.
    pub fn run(&mut self, frame: &FrameView<'_>, out: &mut [f32]) -> Result<(), PreprocessError> {
        self.run_region(frame, None, out)
    }

    /// Like `run`, for one region of the frame (which `Region::clipped` keeps inside it).
    /// A region is fitted by the resize mode without the evaluation crop: it already is
    /// the object.
    pub fn run_region(
        &mut self,
        frame: &FrameView<'_>,
        region: Option<Region>,
        out: &mut [f32],
    ) -> Result<(), PreprocessError> {
        if out.len() != self.spec.len() {
            return Err(PreprocessError::OutputSize {
                expected: self.spec.len(),
                got: out.len(),
            });
        }
        if let Some(r) = region
            && (r.width == 0
                || r.height == 0
                || r.x + r.width > frame.width
                || r.y + r.height > frame.height)
        {
            return Err(PreprocessError::Region(r));
        }
        let key = (frame.format, frame.width, frame.height, region);
        if self.cached.as_ref().map(|c| c.0) != Some(key) {
            let r = region.unwrap_or(Region {
                x: 0,
                y: 0,
                width: frame.width,
                height: frame.height,
            });
            let fraction = if region.is_some() {
                1.0
            } else {
                self.crop_fraction
            };
            let mut p = place(
                self.mode,
                (r.width, r.height),
                (self.spec.width, self.spec.height),
                fraction,
            );
            p.src.x += r.x as f64;
            p.src.y += r.y as f64;
            let xs = AxisTaps::new(p.src.x, p.src.width, p.dst.2, frame.width);
            let ys = AxisTaps::new(p.src.y, p.src.height, p.dst.3, frame.height);
            // A greyscale tensor of Y'CbCr needs the luma alone: the chroma is not read.
            let luma_only = self.spec.is_grey() && !frame.format.is_rgb();
            let plan = Plan::new(frame, &xs, &ys, luma_only);
            self.cached = Some((key, p, plan));
        }
        let Some((_, placement, plan)) = self.cached.as_ref() else {
            return Ok(());
        };
        plan.run(frame, &mut self.components)
            .ok_or(PreprocessError::Frame)?;
        let (_, b) = self.spec.affine();
        if placement.dst != (0, 0, self.spec.width, self.spec.height) {
            fill_padding(&self.spec, b, out);
        }
        write_tensor(
            &self.spec,
            placement.dst,
            &self.components.planes,
            &ChannelMaps::new(&self.spec, frame),
            out,
        );
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreprocessError {
    OutputSize {
        expected: usize,
        got: usize,
    },
    Region(Region),
    /// The frame's planes are smaller than its size needs; `FrameView::new` rules it out.
    Frame,
}

impl std::fmt::Display for PreprocessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PreprocessError::OutputSize { expected, got } => {
                write!(
                    f,
                    "tensor buffer holds {got} values, the model needs {expected}"
                )
            }
            PreprocessError::Region(r) => write!(
                f,
                "region {}x{} at {},{} is empty or outside the frame",
                r.width, r.height, r.x, r.y
            ),
            PreprocessError::Frame => f.write_str("frame planes are smaller than its size"),
        }
    }
}

impl std::error::Error for PreprocessError {}

/// Black, normalised: what letterbox bars contain.
fn fill_padding(spec: &TensorSpec, b: [f32; 3], out: &mut [f32]) {
    let plane = spec.width * spec.height;
    let b = &b[..spec.channels];
    match spec.layout {
        Layout::Nchw => {
            for (chunk, &b) in out.chunks_exact_mut(plane).zip(b) {
                chunk.fill(b);
            }
        }
        Layout::Nhwc => {
            for px in out.chunks_exact_mut(b.len()) {
                px.copy_from_slice(b);
            }
        }
    }
}

/// Y'CbCr → RGB: offsets and the matrix, with the range expansion folded in.
#[derive(Debug, Clone, Copy)]
struct YuvCoefficients {
    y_offset: f32,
    y_gain: f32,
    cr_to_r: f32,
    cb_to_g: f32,
    cr_to_g: f32,
    cb_to_b: f32,
}

fn yuv_coefficients(m: YuvMatrix) -> YuvCoefficients {
    let (y_offset, y_gain, c_gain) = if m.limited {
        (16.0, 255.0 / 219.0, 255.0 / 224.0)
    } else {
        (0.0, 1.0, 1.0)
    };
    let kg = 1.0 - m.kr - m.kb;
    YuvCoefficients {
        y_offset,
        y_gain,
        cr_to_r: 2.0 * (1.0 - m.kr) * c_gain,
        cb_to_g: 2.0 * m.kb * (1.0 - m.kb) / kg * c_gain,
        cr_to_g: 2.0 * m.kr * (1.0 - m.kr) / kg * c_gain,
        cb_to_b: 2.0 * (1.0 - m.kb) * c_gain,
    }
}

/// Tensor channel c = clamp(m[c] · components + k[c], 0, 255) * a[c] + b[c]: colour
/// conversion, channel order and normalisation folded into one affine map per channel.
/// A greyscale tensor's one channel is luma on the 0..=255 scale: for Y'CbCr frames
/// the Y' plane with the range expansion (what converting to RGB and back to luma with
/// the same matrix gives, without reading the chroma), for RGB frames BT.601's
/// 0.299 R + 0.587 G + 0.114 B (what PIL, OpenCV and torchvision's greyscale give).
#[derive(Debug, Clone, Copy)]
struct ChannelMaps {
    m: [[f32; 3]; 3],
    k: [f32; 3],
    a: [f32; 3],
    b: [f32; 3],
}

impl ChannelMaps {
    fn new(spec: &TensorSpec, frame: &FrameView<'_>) -> ChannelMaps {
        // RGB component r, g, b as a linear function of the three components.
        let rgb: [([f32; 3], f32); 3] = match frame.format {
            PixelFormat::Gray8 => [([1.0, 0.0, 0.0], 0.0); 3],
            f if f.is_yuv() => {
                let c = yuv_coefficients(frame.matrix);
                let y0 = -c.y_gain * c.y_offset;
                [
                    ([c.y_gain, 0.0, c.cr_to_r], y0 - 128.0 * c.cr_to_r),
                    (
                        [c.y_gain, -c.cb_to_g, -c.cr_to_g],
                        y0 + 128.0 * (c.cb_to_g + c.cr_to_g),
                    ),
                    ([c.y_gain, c.cb_to_b, 0.0], y0 - 128.0 * c.cb_to_b),
                ]
            }
            _ => [
                ([1.0, 0.0, 0.0], 0.0),
                ([0.0, 1.0, 0.0], 0.0),
                ([0.0, 0.0, 1.0], 0.0),
            ],
        };
        let (a, b) = spec.affine();
        if spec.is_grey() {
            let luma = match frame.format {
                PixelFormat::Gray8 => ([1.0, 0.0, 0.0], 0.0),
                f if f.is_yuv() => {
                    let c = yuv_coefficients(frame.matrix);
                    ([c.y_gain, 0.0, 0.0], -c.y_gain * c.y_offset)
                }
                _ => ([0.299, 0.587, 0.114], 0.0),
            };
            return ChannelMaps {
                m: [luma.0; 3],
                k: [luma.1; 3],
                a,
                b,
            };
        }
        // Model channel c takes RGB component src[c].
        let src = match spec.order {
            ChannelOrder::Rgb => [0, 1, 2],
            ChannelOrder::Bgr => [2, 1, 0],
        };
        ChannelMaps {
            m: src.map(|s| rgb[s].0),
            k: src.map(|s| rgb[s].1),
            a,
            b,
        }
    }

    #[inline(always)]
    fn apply(&self, c: usize, p: [f32; 3]) -> f32 {
        let m = self.m[c];
        let v = m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + self.k[c];
        v.clamp(0.0, 255.0) * self.a[c] + self.b[c]
    }
}

/// Writes the resized components, mapped to model channels, into the `dst` rectangle
/// of the tensor in its layout.
#[multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2+fma", "aarch64+neon"))]
fn write_tensor(
    spec: &TensorSpec,
    dst: (usize, usize, usize, usize),
    planes: &[Vec<f32>; 3],
    maps: &ChannelMaps,
    out: &mut [f32],
) {
    let (dx, dy, dw, dh) = dst;
    let (w, h) = (spec.width, spec.height);
    let plane = w * h;
    let channels = spec.channels;
    for oy in 0..dh {
        let src = oy * dw..(oy + 1) * dw;
        let (p0, p1, p2) = (
            &planes[0][src.clone()],
            &planes[1][src.clone()],
            &planes[2][src],
        );
        let first = (dy + oy) * w + dx;
        match spec.layout {
            Layout::Nchw => {
                // Fixed-size chunks so that every pixel takes the vector path: the
                // compiler's own loop left up to 63 of 224 pixels to a scalar tail.
                const CHUNK: usize = 16;
                for c in 0..channels {
                    let row = &mut out[c * plane + first..c * plane + first + dw];
                    if dw < CHUNK {
                        for (x, o) in row.iter_mut().enumerate() {
                            *o = maps.apply(c, [p0[x], p1[x], p2[x]]);
                        }
                        continue;
                    }
                    for base in chunk_starts(dw, CHUNK) {
                        let o = &mut row[base..base + CHUNK];
                        let (a, b, d) = (
                            &p0[base..base + CHUNK],
                            &p1[base..base + CHUNK],
                            &p2[base..base + CHUNK],
                        );
                        for x in 0..CHUNK {
                            o[x] = maps.apply(c, [a[x], b[x], d[x]]);
                        }
                    }
                }
            }
            Layout::Nhwc => {
                let row = &mut out[first * channels..(first + dw) * channels];
                for (x, px) in row.chunks_exact_mut(channels).enumerate() {
                    for (c, o) in px.iter_mut().enumerate() {
                        *o = maps.apply(c, [p0[x], p1[x], p2[x]]);
                    }
                }
            }
        }
    }
}
