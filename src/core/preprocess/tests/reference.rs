//! The slow, obvious reference: textbook sample positions and conversion, weights
//! from first principles.

use super::super::*;

/// A frame in `format` with padded strides and pseudo-random content.
pub(super) struct TestFrame {
    pub format: PixelFormat,
    pub width: usize,
    pub height: usize,
    pub planes: Vec<Vec<u8>>,
    pub strides: Vec<usize>,
}

fn noise(seed: &mut u64) -> u8 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 56) as u8
}

impl TestFrame {
    pub fn new(format: PixelFormat, width: usize, height: usize, padding: usize) -> TestFrame {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let extents: Vec<(usize, usize)> = match format {
            PixelFormat::Nv12 | PixelFormat::Nv21 => vec![(width, height), (cw * 2, ch)],
            PixelFormat::I420 | PixelFormat::Yv12 => vec![(width, height), (cw, ch), (cw, ch)],
            PixelFormat::Yuy2 | PixelFormat::Uyvy | PixelFormat::Yvyu => vec![(cw * 4, height)],
            PixelFormat::Y42b => vec![(width, height), (cw, height), (cw, height)],
            PixelFormat::Y444 => vec![(width, height); 3],
            PixelFormat::I420p10 => vec![(width * 2, height), (cw * 2, ch), (cw * 2, ch)],
            PixelFormat::P010 => vec![(width * 2, height), (cw * 4, ch)],
            PixelFormat::Y444p10 => vec![(width * 2, height); 3],
            PixelFormat::Gray8 => vec![(width, height)],
            PixelFormat::Rgb | PixelFormat::Bgr => vec![(width * 3, height)],
            _ => vec![(width * 4, height)],
        };
        let mut seed = (width * 31 + height) as u64;
        let mut planes = Vec::new();
        let mut strides = Vec::new();
        for (row, rows) in extents {
            let stride = row + padding;
            planes.push((0..stride * rows).map(|_| noise(&mut seed)).collect());
            strides.push(stride);
        }
        TestFrame {
            format,
            width,
            height,
            planes,
            strides,
        }
    }

    pub fn view(&self, matrix: YuvMatrix) -> FrameView<'_> {
        let planes: Vec<&[u8]> = self.planes.iter().map(|p| p.as_slice()).collect();
        FrameView::new(
            self.format,
            (self.width, self.height),
            &planes,
            &self.strides,
            matrix,
        )
        .expect("test frame is valid")
    }

    /// Components at (x, y) read the textbook way: RGB, or Y'CbCr for YUV formats, on
    /// the 8-bit scale (a 10-bit sample v reads as v / 4).
    fn native(&self, x: usize, y: usize) -> [f64; 3] {
        let p = &self.planes;
        let s = &self.strides;
        let at = |plane: usize, i: usize| p[plane][i] as f64;
        let word = |plane: usize, i: usize| u16::from_le_bytes([p[plane][i], p[plane][i + 1]]);
        // Noise fills all 16 bits; only the format's 10 count.
        let low = |plane: usize, i: usize| (word(plane, i) & 0x3ff) as f64 / 4.0;
        let high = |plane: usize, i: usize| (word(plane, i) >> 6) as f64 / 4.0;
        match self.format {
            PixelFormat::Nv21 => {
                let c = (y / 2) * s[1] + (x / 2) * 2;
                [at(0, y * s[0] + x), at(1, c + 1), at(1, c)]
            }
            PixelFormat::Uyvy => {
                let base = y * s[0] + (x / 2) * 4;
                let luma = if x.is_multiple_of(2) {
                    base + 1
                } else {
                    base + 3
                };
                [at(0, luma), at(0, base), at(0, base + 2)]
            }
            PixelFormat::Yvyu => {
                let base = y * s[0] + (x / 2) * 4;
                let luma = if x.is_multiple_of(2) { base } else { base + 2 };
                [at(0, luma), at(0, base + 3), at(0, base + 1)]
            }
            PixelFormat::Y42b => [
                at(0, y * s[0] + x),
                at(1, y * s[1] + x / 2),
                at(2, y * s[2] + x / 2),
            ],
            PixelFormat::Y444 => [
                at(0, y * s[0] + x),
                at(1, y * s[1] + x),
                at(2, y * s[2] + x),
            ],
            PixelFormat::I420p10 => [
                low(0, y * s[0] + 2 * x),
                low(1, (y / 2) * s[1] + 2 * (x / 2)),
                low(2, (y / 2) * s[2] + 2 * (x / 2)),
            ],
            PixelFormat::P010 => {
                let c = (y / 2) * s[1] + (x / 2) * 4;
                [high(0, y * s[0] + 2 * x), high(1, c), high(1, c + 2)]
            }
            PixelFormat::Y444p10 => [
                low(0, y * s[0] + 2 * x),
                low(1, y * s[1] + 2 * x),
                low(2, y * s[2] + 2 * x),
            ],
            PixelFormat::Nv12 => {
                let c = (y / 2) * s[1] + (x / 2) * 2;
                [at(0, y * s[0] + x), at(1, c), at(1, c + 1)]
            }
            PixelFormat::I420 => [
                at(0, y * s[0] + x),
                at(1, (y / 2) * s[1] + x / 2),
                at(2, (y / 2) * s[2] + x / 2),
            ],
            PixelFormat::Yv12 => [
                at(0, y * s[0] + x),
                at(2, (y / 2) * s[2] + x / 2),
                at(1, (y / 2) * s[1] + x / 2),
            ],
            PixelFormat::Yuy2 => {
                let base = y * s[0] + (x / 2) * 4;
                let luma = if x.is_multiple_of(2) { base } else { base + 2 };
                [at(0, luma), at(0, base + 1), at(0, base + 3)]
            }
            PixelFormat::Gray8 => {
                let v = at(0, y * s[0] + x);
                [v, v, v]
            }
            f => {
                let name = f.name();
                let px = name.len().min(4);
                let base = y * s[0] + x * px;
                let pos = |ch: char| name.find(ch).map(|i| at(0, base + i)).unwrap_or(0.0);
                [pos('R'), pos('G'), pos('B')]
            }
        }
    }
}

fn reference_rgb(native: [f64; 3], format: PixelFormat, m: YuvMatrix) -> [f64; 3] {
    if !format.is_yuv() {
        return native;
    }
    let (kr, kb) = (m.kr as f64, m.kb as f64);
    let kg = 1.0 - kr - kb;
    let (y, cb, cr) = if m.limited {
        (
            (native[0] - 16.0) * 255.0 / 219.0,
            (native[1] - 128.0) * 255.0 / 224.0,
            (native[2] - 128.0) * 255.0 / 224.0,
        )
    } else {
        (native[0], native[1] - 128.0, native[2] - 128.0)
    };
    let r = y + 2.0 * (1.0 - kr) * cr;
    let b = y + 2.0 * (1.0 - kb) * cb;
    let g = (y - kr * r - kb * b) / kg;
    [
        r.clamp(0.0, 255.0),
        g.clamp(0.0, 255.0),
        b.clamp(0.0, 255.0),
    ]
}

/// Source weights along one axis for output pixel `i`, computed from first principles:
/// area overlap when shrinking, bilinear when enlarging.
fn reference_weights(
    start: f64,
    length: f64,
    count: usize,
    i: usize,
    limit: usize,
) -> Vec<(usize, f64)> {
    let step = length / count as f64;
    let clamp = |j: f64| j.clamp(0.0, (limit - 1) as f64) as usize;
    if step > 1.0 {
        let (a, b) = (start + i as f64 * step, start + (i + 1) as f64 * step);
        let mut out = Vec::new();
        let mut j = a.floor();
        while j < b {
            out.push((clamp(j), (b.min(j + 1.0) - a.max(j)) / step));
            j += 1.0;
        }
        out
    } else {
        let pos = (start + (i as f64 + 0.5) * step - 0.5).clamp(0.0, (limit - 1) as f64);
        let f = pos - pos.floor();
        vec![(clamp(pos.floor()), 1.0 - f), (clamp(pos.floor() + 1.0), f)]
    }
}

/// Slow reference: weights per output pixel, resampling in native space.
fn reference(
    frame: &TestFrame,
    spec: &TensorSpec,
    mode: ResizeMode,
    fraction: f64,
    m: YuvMatrix,
) -> Vec<f32> {
    let p = place(
        mode,
        (frame.width, frame.height),
        (spec.width, spec.height),
        fraction,
    );
    let (dx, dy, dw, dh) = p.dst;
    let mut rgb_image = vec![[0.0f64; 3]; spec.width * spec.height];
    for oy in 0..dh {
        let wy = reference_weights(p.src.y, p.src.height, dh, oy, frame.height);
        for ox in 0..dw {
            let wx = reference_weights(p.src.x, p.src.width, dw, ox, frame.width);
            let mut v = [0.0f64; 3];
            for &(sy, fy) in &wy {
                for &(sx, fx) in &wx {
                    let n = frame.native(sx, sy);
                    for c in 0..3 {
                        v[c] += n[c] * fx * fy;
                    }
                }
            }
            rgb_image[(dy + oy) * spec.width + dx + ox] = reference_rgb(v, frame.format, m);
        }
    }
    let inside = |x: usize, y: usize| x >= dx && x < dx + dw && y >= dy && y < dy + dh;
    let mut out = vec![0.0f32; spec.len()];
    for y in 0..spec.height {
        for x in 0..spec.width {
            let rgb = if inside(x, y) {
                rgb_image[y * spec.width + x]
            } else {
                [0.0; 3]
            };
            for c in 0..3 {
                let component = match spec.order {
                    ChannelOrder::Rgb => rgb[c],
                    ChannelOrder::Bgr => rgb[2 - c],
                };
                let value =
                    (component * spec.scale as f64 - spec.mean[c] as f64) / spec.std[c] as f64;
                let idx = match spec.layout {
                    Layout::Nchw => c * spec.width * spec.height + y * spec.width + x,
                    Layout::Nhwc => (y * spec.width + x) * 3 + c,
                };
                out[idx] = value as f32;
            }
        }
    }
    out
}

pub(super) fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

pub(super) fn check(
    format: PixelFormat,
    (w, h): (usize, usize),
    pad: usize,
    spec: &TensorSpec,
    (mode, m): (ResizeMode, YuvMatrix),
) {
    let frame = TestFrame::new(format, w, h, pad);
    let mut pre = Preprocessor::new(spec.clone(), mode, 0.875);
    let mut out = vec![f32::NAN; spec.len()];
    pre.run(&frame.view(m), &mut out).expect("sizes match");
    let expected = reference(&frame, spec, mode, 0.875, m);
    // 1/255 of a level after normalisation by std ~0.22 is ~0.02; stay well below.
    let diff = max_difference(&out, &expected);
    assert!(
        diff < 2e-3,
        "{format} {w}x{h} pad {pad} {mode:?}: max difference {diff}"
    );
}
