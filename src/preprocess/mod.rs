//! Frame → model input tensor in one pass: colour conversion, resize (area average when
//! shrinking, bilinear when enlarging), crop,
//! normalisation and layout happen per output pixel, so the full frame is never
//! converted or scaled.

mod format;
mod geometry;
mod sample;
#[cfg(test)]
mod tests;

pub use format::{FrameError, FrameView, PixelFormat, YuvMatrix};
pub use geometry::{AxisTaps, Placement, Rect, ResizeMode, place};

use sample::{Sampler, SamplerVisitor, with_sampler};

/// Memory order of the model's input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Nchw,
    Nhwc,
}

/// Channel order the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

/// What the model wants: `value = (pixel * scale - mean[c]) / std[c]` for pixels in 0..=255.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    pub width: usize,
    pub height: usize,
    pub layout: Layout,
    pub order: ChannelOrder,
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl TensorSpec {
    pub fn len(&self) -> usize {
        self.width * self.height * 3
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per tensor channel: multiplier and offset applied to the 0..=255 value.
    fn affine(&self) -> ([f32; 3], [f32; 3]) {
        let mut a = [0.0; 3];
        let mut b = [0.0; 3];
        for c in 0..3 {
            a[c] = self.scale / self.std[c];
            b[c] = -self.mean[c] / self.std[c];
        }
        (a, b)
    }
}

/// Turns frames into tensors; keeps the sampling tables between frames of one size.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    spec: TensorSpec,
    mode: ResizeMode,
    crop_fraction: f64,
    cached: Option<(CacheKey, Placement, AxisTaps, AxisTaps)>,
}

/// Frame size and region the sampling tables were built for.
type CacheKey = (usize, usize, Option<Region>);

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
        x: i64,
        y: i64,
        w: i64,
        h: i64,
        frame_w: usize,
        frame_h: usize,
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
        let key = (frame.width, frame.height, region);
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
                r.width,
                r.height,
                self.spec.width,
                self.spec.height,
                fraction,
            );
            p.src.x += r.x as f64;
            p.src.y += r.y as f64;
            let xs = AxisTaps::new(p.src.x, p.src.width, p.dst.2, frame.width);
            let ys = AxisTaps::new(p.src.y, p.src.height, p.dst.3, frame.height);
            self.cached = Some((key, p, xs, ys));
        }
        let Some((_, placement, xs, ys)) = self.cached.as_ref() else {
            return Ok(());
        };
        let (a, b) = self.spec.affine();
        if placement.dst != (0, 0, self.spec.width, self.spec.height) {
            fill_padding(&self.spec, b, out);
        }
        with_sampler(
            frame,
            Fill {
                spec: &self.spec,
                matrix: yuv_coefficients(frame.matrix),
                placement,
                xs,
                ys,
                a,
                b,
                out,
            },
        );
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreprocessError {
    OutputSize { expected: usize, got: usize },
    Region(Region),
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
        }
    }
}

impl std::error::Error for PreprocessError {}

/// Black, normalised: what letterbox bars contain.
fn fill_padding(spec: &TensorSpec, b: [f32; 3], out: &mut [f32]) {
    let plane = spec.width * spec.height;
    match spec.layout {
        Layout::Nchw => {
            for (c, chunk) in out.chunks_exact_mut(plane).enumerate() {
                chunk.fill(b[c]);
            }
        }
        Layout::Nhwc => {
            for px in out.chunks_exact_mut(3) {
                px.copy_from_slice(&b);
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

#[inline(always)]
fn yuv_to_rgb(k: &YuvCoefficients, v: [f32; 3]) -> [f32; 3] {
    let y = (v[0] - k.y_offset) * k.y_gain;
    let cb = v[1] - 128.0;
    let cr = v[2] - 128.0;
    [
        (y + k.cr_to_r * cr).clamp(0.0, 255.0),
        (y - k.cb_to_g * cb - k.cr_to_g * cr).clamp(0.0, 255.0),
        (y + k.cb_to_b * cb).clamp(0.0, 255.0),
    ]
}

struct Fill<'a> {
    spec: &'a TensorSpec,
    matrix: YuvCoefficients,
    placement: &'a Placement,
    xs: &'a AxisTaps,
    ys: &'a AxisTaps,
    a: [f32; 3],
    b: [f32; 3],
    out: &'a mut [f32],
}

impl SamplerVisitor for Fill<'_> {
    type Output = ();

    fn visit<S: Sampler>(self, s: S) -> Self::Output {
        let (dx, dy, dw, dh) = self.placement.dst;
        let (w, h) = (self.spec.width, self.spec.height);
        let plane = w * h;
        // Model channel c takes RGB component src[c].
        let src = match self.spec.order {
            ChannelOrder::Rgb => [0, 1, 2],
            ChannelOrder::Bgr => [2, 1, 0],
        };
        let (tx, ty) = (self.xs.taps, self.ys.taps);
        for oy in 0..dh {
            let yi = &self.ys.index[oy * ty..(oy + 1) * ty];
            let yw = &self.ys.weight[oy * ty..(oy + 1) * ty];
            let row = (dy + oy) * w + dx;
            for ox in 0..dw {
                let xi = &self.xs.index[ox * tx..(ox + 1) * tx];
                let xw = &self.xs.weight[ox * tx..(ox + 1) * tx];
                let mut v = [0.0f32; 3];
                for (&sy, &wy) in yi.iter().zip(yw) {
                    let mut line = [0.0f32; 3];
                    for (&sx, &wx) in xi.iter().zip(xw) {
                        let p = s.fetch(sx as usize, sy as usize);
                        for c in 0..3 {
                            line[c] += p[c] * wx;
                        }
                    }
                    for c in 0..3 {
                        v[c] += line[c] * wy;
                    }
                }
                let rgb = if S::YUV {
                    yuv_to_rgb(&self.matrix, v)
                } else {
                    v
                };
                let idx = row + ox;
                match self.spec.layout {
                    Layout::Nchw => {
                        for c in 0..3 {
                            self.out[c * plane + idx] = rgb[src[c]] * self.a[c] + self.b[c];
                        }
                    }
                    Layout::Nhwc => {
                        for c in 0..3 {
                            self.out[idx * 3 + c] = rgb[src[c]] * self.a[c] + self.b[c];
                        }
                    }
                }
            }
        }
    }
}
