//! The fused path checked against a slow, obvious reference for every format.

use super::*;

/// A frame in `format` with padded strides and pseudo-random content.
struct TestFrame {
    format: PixelFormat,
    width: usize,
    height: usize,
    planes: Vec<Vec<u8>>,
    strides: Vec<usize>,
}

fn noise(seed: &mut u64) -> u8 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 56) as u8
}

impl TestFrame {
    fn new(format: PixelFormat, width: usize, height: usize, padding: usize) -> TestFrame {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let extents: Vec<(usize, usize)> = match format {
            PixelFormat::Nv12 => vec![(width, height), (cw * 2, ch)],
            PixelFormat::I420 => vec![(width, height), (cw, ch), (cw, ch)],
            PixelFormat::Yuy2 => vec![(cw * 4, height)],
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

    fn view(&self, matrix: YuvMatrix) -> FrameView<'_> {
        let planes: Vec<&[u8]> = self.planes.iter().map(|p| p.as_slice()).collect();
        FrameView::new(
            self.format,
            self.width,
            self.height,
            &planes,
            &self.strides,
            matrix,
        )
        .expect("test frame is valid")
    }

    /// Components at (x, y) read the textbook way: RGB, or Y'CbCr for YUV formats.
    fn native(&self, x: usize, y: usize) -> [f64; 3] {
        let p = &self.planes;
        let s = &self.strides;
        let at = |plane: usize, i: usize| p[plane][i] as f64;
        match self.format {
            PixelFormat::Nv12 => {
                let c = (y / 2) * s[1] + (x / 2) * 2;
                [at(0, y * s[0] + x), at(1, c), at(1, c + 1)]
            }
            PixelFormat::I420 => [
                at(0, y * s[0] + x),
                at(1, (y / 2) * s[1] + x / 2),
                at(2, (y / 2) * s[2] + x / 2),
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
        frame.width,
        frame.height,
        spec.width,
        spec.height,
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

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn check(
    format: PixelFormat,
    w: usize,
    h: usize,
    pad: usize,
    spec: &TensorSpec,
    mode: ResizeMode,
    m: YuvMatrix,
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

#[test]
fn every_format_matches_the_reference() {
    for format in PixelFormat::ALL {
        for (w, h, pad) in [(64, 48, 0), (33, 17, 5), (1, 1, 3), (2, 3, 1), (250, 7, 0)] {
            for mode in [
                ResizeMode::CenterCrop,
                ResizeMode::Stretch,
                ResizeMode::Letterbox,
            ] {
                check(
                    format,
                    w,
                    h,
                    pad,
                    &TensorSpec::imagenet(24),
                    mode,
                    YuvMatrix::BT601,
                );
            }
        }
    }
}

#[test]
fn large_frames_match_the_reference() {
    for format in [PixelFormat::Nv12, PixelFormat::Rgbx, PixelFormat::Yuy2] {
        check(
            format,
            1920,
            1080,
            64,
            &TensorSpec::imagenet(224),
            ResizeMode::CenterCrop,
            YuvMatrix::BT709,
        );
    }
}

#[test]
fn nhwc_bgr_full_range_matches_the_reference() {
    let spec = TensorSpec {
        width: 16,
        height: 12,
        layout: Layout::Nhwc,
        order: ChannelOrder::Bgr,
        scale: 1.0,
        mean: [127.0; 3],
        std: [128.0; 3],
    };
    let full = YuvMatrix {
        limited: false,
        ..YuvMatrix::BT709
    };
    for format in PixelFormat::ALL {
        check(format, 40, 30, 2, &spec, ResizeMode::Letterbox, full);
    }
}

#[test]
fn pure_red_in_yuv_comes_out_red() {
    // BT.601 limited-range red: Y 81, Cb 90, Cr 240.
    let (w, h) = (8, 8);
    let y = vec![81u8; w * h];
    let u = vec![90u8; w * h / 4];
    let v = vec![240u8; w * h / 4];
    let frame = FrameView::new(
        PixelFormat::I420,
        w,
        h,
        &[&y, &u, &v],
        &[w, w / 2, w / 2],
        YuvMatrix::BT601,
    )
    .expect("valid");
    let spec = TensorSpec {
        width: 2,
        height: 2,
        layout: Layout::Nchw,
        order: ChannelOrder::Rgb,
        scale: 1.0,
        mean: [0.0; 3],
        std: [1.0; 3],
    };
    let mut out = vec![0.0; spec.len()];
    Preprocessor::new(spec, ResizeMode::Stretch, 1.0)
        .run(&frame, &mut out)
        .expect("ok");
    assert!(out[0..4].iter().all(|&r| r > 252.0), "red {:?}", &out[0..4]);
    assert!(
        out[4..12].iter().all(|&gb| gb < 3.0),
        "green/blue {:?}",
        &out[4..12]
    );
}

#[test]
fn short_planes_and_strides_are_rejected() {
    let data = vec![0u8; 10];
    assert_eq!(
        FrameView::new(PixelFormat::Rgb, 4, 1, &[&data], &[12], YuvMatrix::BT601).err(),
        Some(FrameError::PlaneTooSmall {
            plane: 0,
            len: 10,
            needed: 12
        })
    );
    assert_eq!(
        FrameView::new(PixelFormat::Rgb, 4, 1, &[&data], &[8], YuvMatrix::BT601).err(),
        Some(FrameError::StrideTooSmall {
            plane: 0,
            stride: 8,
            needed: 12
        })
    );
    assert_eq!(
        FrameView::new(PixelFormat::Nv12, 2, 2, &[&data], &[2], YuvMatrix::BT601).err(),
        Some(FrameError::MissingPlane {
            format: PixelFormat::Nv12,
            plane: 1
        })
    );
    assert_eq!(
        FrameView::new(PixelFormat::Gray8, 0, 2, &[&data], &[2], YuvMatrix::BT601).err(),
        Some(FrameError::Empty {
            width: 0,
            height: 2
        })
    );
}

#[test]
fn wrong_output_size_is_an_error_not_a_panic() {
    let frame = TestFrame::new(PixelFormat::Gray8, 4, 4, 0);
    let mut pre = Preprocessor::new(TensorSpec::imagenet(8), ResizeMode::Stretch, 1.0);
    let mut out = vec![0.0; 5];
    assert_eq!(
        pre.run(&frame.view(YuvMatrix::BT601), &mut out),
        Err(PreprocessError::OutputSize {
            expected: 192,
            got: 5
        })
    );
}

#[test]
fn a_region_equals_the_same_pixels_as_a_frame_of_their_own() {
    let big = TestFrame::new(PixelFormat::Rgbx, 100, 80, 4);
    let region = Region {
        x: 30,
        y: 20,
        width: 40,
        height: 30,
    };
    let stride = big.strides[0];
    let mut small = Vec::new();
    for row in region.y..region.y + region.height {
        small.extend_from_slice(
            &big.planes[0]
                [row * stride + region.x * 4..row * stride + (region.x + region.width) * 4],
        );
    }
    let small_view = FrameView::new(
        PixelFormat::Rgbx,
        40,
        30,
        &[&small],
        &[160],
        YuvMatrix::BT601,
    )
    .expect("valid");
    for mode in [
        ResizeMode::CenterCrop,
        ResizeMode::Stretch,
        ResizeMode::Letterbox,
    ] {
        // Regions skip the evaluation crop, so compare with a crop fraction of 1.
        let mut whole = Preprocessor::new(TensorSpec::imagenet(16), mode, 1.0);
        let mut expected = vec![0.0; 768];
        whole.run(&small_view, &mut expected).expect("ok");
        let mut pre = Preprocessor::new(TensorSpec::imagenet(16), mode, 0.875);
        let mut got = vec![0.0; 768];
        pre.run_region(&big.view(YuvMatrix::BT601), Some(region), &mut got)
            .expect("ok");
        assert!(max_difference(&got, &expected) < 1e-4, "{mode:?}");
    }
}

#[test]
fn regions_are_clipped_to_the_frame() {
    assert_eq!(
        Region::clipped(-10, -5, 30, 20, 100, 80),
        Some(Region {
            x: 0,
            y: 0,
            width: 20,
            height: 15
        })
    );
    assert_eq!(
        Region::clipped(90, 70, 30, 20, 100, 80),
        Some(Region {
            x: 90,
            y: 70,
            width: 10,
            height: 10
        })
    );
    assert_eq!(Region::clipped(5, 5, 0, 10, 100, 80), None);
    assert_eq!(Region::clipped(5, 5, -3, 10, 100, 80), None);
    assert_eq!(Region::clipped(200, 5, 10, 10, 100, 80), None);
    assert_eq!(
        Region::clipped(99, 79, 1, 1, 100, 80),
        Some(Region {
            x: 99,
            y: 79,
            width: 1,
            height: 1
        })
    );
    assert_eq!(Region::clipped(i64::MAX - 1, 0, i64::MAX, 5, 100, 80), None);
}

#[test]
fn a_region_outside_the_frame_is_an_error() {
    let frame = TestFrame::new(PixelFormat::Gray8, 10, 10, 0);
    let mut pre = Preprocessor::new(TensorSpec::imagenet(4), ResizeMode::Stretch, 1.0);
    let mut out = vec![0.0; 48];
    let r = Region {
        x: 8,
        y: 0,
        width: 5,
        height: 5,
    };
    assert_eq!(
        pre.run_region(&frame.view(YuvMatrix::BT601), Some(r), &mut out),
        Err(PreprocessError::Region(r))
    );
}

#[test]
fn chunk_starts_cover_every_index_once_or_with_one_overlap() {
    use super::resample::chunk_starts;
    let starts = |n| chunk_starts(n, 16).collect::<Vec<_>>();
    assert_eq!(starts(0), Vec::<usize>::new());
    assert_eq!(starts(15), Vec::<usize>::new());
    assert_eq!(starts(16), vec![0]);
    assert_eq!(starts(17), vec![0, 1]);
    assert_eq!(starts(32), vec![0, 16]);
    assert_eq!(starts(224), (0..14).map(|i| i * 16).collect::<Vec<_>>());
    assert_eq!(starts(945), {
        let mut v: Vec<usize> = (0..59).map(|i| i * 16).collect();
        v.push(945 - 16);
        v
    });
}
