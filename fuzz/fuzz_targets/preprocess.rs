//! Frame → tensor with everything the element can be handed: any pixel format, frame
//! shape (thin ones too), stride padding, resize mode, crop fraction, tensor size,
//! layout, channel order, YUV matrix and detection region.
//!
//! Input layout (fuzz/seeds.py writes the seeds in it):
//!
//! | byte(s) | meaning                                                                 |
//! |---------|-------------------------------------------------------------------------|
//! | 0       | pixel format, index into `PixelFormat::ALL` (modulo its length)         |
//! | 1       | bits 0-1 resize mode, 2 NHWC, 3 BGR, 4 region, 5-6 YUV matrix, 7 full range |
//! | 2       | bits 0-1 normalisation, 2-4 plane layout (see `Planes`), 5 rerun, 6 grey |
//! | 3-4     | frame width (u16 LE, see `side`: up to 64, or 4096 with the top bit)    |
//! | 5-6     | frame height (the same)                                                 |
//! | 7       | stride padding in bytes (modulo 64)                                     |
//! | 8       | crop fraction selector (see `crop_fraction`)                            |
//! | 9-10    | tensor width (u16 LE, see `side`: 1 to 32, or 300 with the top bit)     |
//! | 11-12   | tensor height (the same)                                                |
//! | 13-44   | with the region bit: x, y, width, height as i64 LE                      |
//! | rest    | pixel bytes, repeated to fill the planes                                |
#![no_main]

use gstimgclassify::testing::preprocess::{
    ChannelOrder, FrameView, Layout, PixelFormat, Preprocessor, Region, ResizeMode, TensorSpec,
    YuvMatrix,
};
use libfuzzer_sys::fuzz_target;

const HEADER: usize = 13;
/// Frames up to 512x512 pixels, or as many pixels in a thin strip (4096x64, 4095x1...):
/// large enough for every sampling path, small enough for thousands of runs a second.
const MAX_PIXELS: usize = 512 * 512;

/// How the planes are laid out relative to what the format needs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Planes {
    /// As GStreamer lays them out: the last row without stride padding.
    Tight,
    /// Every row padded to the stride, the last one too.
    Padded,
    /// Each plane one byte shorter than needed.
    Short,
    /// Strides one byte shorter than a row.
    NarrowStride,
    /// The format's last plane missing.
    Missing,
}

impl Planes {
    fn from_bits(b: u8) -> Planes {
        match b & 7 {
            0 | 5 => Planes::Tight,
            1 | 6 => Planes::Padded,
            2 => Planes::Short,
            3 => Planes::NarrowStride,
            _ => Planes::Missing,
        }
    }

    fn valid(self) -> bool {
        matches!(self, Planes::Tight | Planes::Padded)
    }
}

/// Bytes per row and rows of each plane, as GStreamer's video-info computes them.
/// Written out here rather than taken from the crate so the fuzzer checks the crate's
/// own plane validation against it.
fn extents(format: PixelFormat, width: usize, height: usize) -> Vec<(usize, usize)> {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    match format {
        PixelFormat::Nv12 | PixelFormat::Nv21 => vec![(width, height), (cw * 2, ch)],
        PixelFormat::I420 | PixelFormat::Yv12 => vec![(width, height), (cw, ch), (cw, ch)],
        PixelFormat::Yuy2 | PixelFormat::Uyvy | PixelFormat::Yvyu => vec![(cw * 4, height)],
        PixelFormat::Y42b => vec![(width, height), (cw, height), (cw, height)],
        PixelFormat::Y444 => vec![(width, height); 3],
        // 16-bit words: twice the bytes of their 8-bit counterparts.
        PixelFormat::I420p10 => vec![(width * 2, height), (cw * 2, ch), (cw * 2, ch)],
        PixelFormat::P010 => vec![(width * 2, height), (cw * 4, ch)],
        PixelFormat::Y444p10 => vec![(width * 2, height); 3],
        PixelFormat::Gray8 => vec![(width, height)],
        PixelFormat::Rgb | PixelFormat::Bgr => vec![(width * 3, height)],
        _ => vec![(width * 4, height)],
    }
}

/// Out-of-range fractions are in the list on purpose: the element must fall back, not fail.
fn crop_fraction(b: u8) -> f64 {
    match b {
        0 => 0.0,
        1 => f64::NAN,
        2 => -1.0,
        3 => f64::INFINITY,
        4 => 1e-300,
        5 => 1.5,
        6 => 1.0,
        7 => 0.875,
        _ => f64::from(b) / 255.0,
    }
}

/// The normalisations the built-in models use, plus plain ones.
fn normalisation(b: u8) -> (f32, [f32; 3], [f32; 3]) {
    match b & 3 {
        0 => (1.0 / 255.0, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        1 => (1.0, [127.0; 3], [128.0; 3]),
        2 => (1.0, [0.0; 3], [1.0; 3]),
        _ => (1.0 / 255.0, [0.0; 3], [1.0; 3]),
    }
}

/// A side from `small` to `large`: without the top bit only small sizes, which run many
/// times faster, and most edge cases (odd sizes, single rows, 2:1 chroma) show there.
fn side(raw: u16, min: usize, small: usize, large: usize) -> usize {
    let max = if raw & 0x8000 != 0 { large } else { small };
    min + usize::from(raw & 0x7fff) % (max - min + 1)
}

fn frame_shape(raw_w: u16, raw_h: u16) -> (usize, usize) {
    let (mut w, mut h) = (side(raw_w, 0, 64, 4096), side(raw_h, 0, 64, 4096));
    if w * h > MAX_PIXELS {
        if w >= h {
            h = (MAX_PIXELS / w).max(1);
        } else {
            w = (MAX_PIXELS / h).max(1);
        }
    }
    (w, h)
}

fn u16_at(data: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([data[i], data[i + 1]])
}

fn i64_at(data: &[u8], i: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&data[i..i + 8]);
    i64::from_le_bytes(b)
}

/// `pattern` repeated to exactly `len` bytes (zeros when it is empty).
fn repeat_to(pattern: &[u8], len: usize) -> Vec<u8> {
    if pattern.is_empty() {
        return vec![0; len];
    }
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let n = pattern.len().min(len - v.len());
        v.extend_from_slice(&pattern[..n]);
    }
    v
}

/// Every value must be finite and, mapped back through the normalisation, a pixel value
/// in 0..=255 (resampling weights sum to one and YUV is clamped), give or take rounding.
fn check_output(spec: &TensorSpec, out: &[f32]) {
    let plane = spec.width * spec.height;
    // A greyscale tensor's one channel is normalised with the channels' averages.
    let average = |v: [f32; 3]| [(v[0] + v[1] + v[2]) / 3.0; 3];
    let (mean, std) = if spec.channels == 1 {
        (average(spec.mean), average(spec.std))
    } else {
        (spec.mean, spec.std)
    };
    for (i, &v) in out.iter().enumerate() {
        assert!(v.is_finite(), "value {i} of {} is {v}", out.len());
        let c = match spec.layout {
            Layout::Nchw => i / plane,
            Layout::Nhwc => i % spec.channels,
        };
        let a = spec.scale / std[c];
        let b = -mean[c] / std[c];
        let pixel = (v - b) / a;
        assert!(
            (-1.0..=256.0).contains(&pixel),
            "value {i} is {v}: pixel value {pixel} is outside 0..=255"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < HEADER {
        return;
    }
    let format = PixelFormat::ALL[usize::from(data[0]) % PixelFormat::ALL.len()];
    let flags = data[1];
    let options = data[2];
    let mode = match flags & 3 {
        1 => ResizeMode::Stretch,
        2 => ResizeMode::Letterbox,
        _ => ResizeMode::CenterCrop,
    };
    let layout = if flags & 4 != 0 {
        Layout::Nhwc
    } else {
        Layout::Nchw
    };
    let order = if flags & 8 != 0 {
        ChannelOrder::Bgr
    } else {
        ChannelOrder::Rgb
    };
    let mut matrix = match (flags >> 5) & 3 {
        1 => YuvMatrix::BT709,
        2 => YuvMatrix::BT2020,
        _ => YuvMatrix::BT601,
    };
    matrix.limited = flags & 0x80 == 0;
    let (scale, mean, std) = normalisation(options);
    let planes_kind = Planes::from_bits(options >> 2);
    let rerun = options & 0x20 != 0;
    let (width, height) = frame_shape(u16_at(data, 3), u16_at(data, 5));
    let padding = usize::from(data[7] % 64);
    let fraction = crop_fraction(data[8]);
    let spec = TensorSpec {
        width: side(u16_at(data, 9), 1, 32, 300),
        height: side(u16_at(data, 11), 1, 32, 300),
        layout,
        channels: if options & 0x40 != 0 { 1 } else { 3 },
        order,
        scale,
        mean,
        std,
    };
    let mut rest = &data[HEADER..];
    let rect = if flags & 0x10 != 0 {
        if rest.len() < 32 {
            return;
        }
        let r = [0, 8, 16, 24].map(|i| i64_at(rest, i));
        rest = &rest[32..];
        Some(r)
    } else {
        None
    };

    // One allocation per plane, exactly as long as claimed, so the address sanitizer
    // sees any read past a plane's end.
    let mut plane_data: Vec<Vec<u8>> = Vec::new();
    let mut strides = Vec::new();
    for (row_bytes, rows) in extents(format, width, height) {
        let stride = match planes_kind {
            Planes::NarrowStride => row_bytes.saturating_sub(1),
            _ => row_bytes + padding,
        };
        let len = match planes_kind {
            Planes::Padded => stride * rows,
            Planes::Short => (stride * rows.saturating_sub(1) + row_bytes).saturating_sub(1),
            _ => stride * rows.saturating_sub(1) + row_bytes,
        };
        plane_data.push(repeat_to(rest, len));
        strides.push(stride);
    }
    if planes_kind == Planes::Missing {
        plane_data.pop();
        strides.pop();
    }
    let planes: Vec<&[u8]> = plane_data.iter().map(Vec::as_slice).collect();

    let frame = match FrameView::new(format, (width, height), &planes, &strides, matrix) {
        Ok(frame) => frame,
        Err(e) => {
            let _ = e.to_string();
            // A frame laid out the way GStreamer lays it out must be accepted.
            assert!(
                !(planes_kind.valid() && width > 0 && height > 0),
                "{format} {width}x{height} {planes_kind:?} rejected: {e}"
            );
            return;
        }
    };
    // Anything smaller than the format needs must be rejected: the sampling loops rely on it.
    assert!(
        planes_kind.valid(),
        "{format} {width}x{height} {planes_kind:?} accepted"
    );

    let region = rect.and_then(|[x, y, w, h]| Region::clipped((x, y, w, h), (width, height)));
    let mut pre = Preprocessor::new(spec.clone(), mode, fraction);
    // NaN is what an unwritten value would keep, and the finiteness check catches it.
    let mut out = vec![f32::NAN; spec.len()];
    pre.run_region(&frame, region, &mut out)
        .expect("a clipped region is inside the frame");
    check_output(&spec, &out);

    if rerun {
        // Switch the cached sampling tables to the whole frame and back: the second
        // result must be the first, bit for bit.
        let mut whole = vec![f32::NAN; spec.len()];
        pre.run(&frame, &mut whole).expect("whole frame");
        check_output(&spec, &whole);
        let mut again = vec![f32::NAN; spec.len()];
        pre.run_region(&frame, region, &mut again)
            .expect("a clipped region is inside the frame");
        assert!(
            out.iter()
                .zip(&again)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "second run differs"
        );
    }
});
