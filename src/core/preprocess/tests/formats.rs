//! The formats added for cameras and 10-bit decoders: odd sizes, padded strides, long
//! thin frames and the precision of 10-bit samples.

use super::*;

const NEW: [PixelFormat; 9] = [
    PixelFormat::Nv21,
    PixelFormat::Uyvy,
    PixelFormat::Yvyu,
    PixelFormat::Y42b,
    PixelFormat::Y444,
    PixelFormat::I420p10,
    PixelFormat::P010,
    PixelFormat::Y444p10,
    PixelFormat::Yv12,
];

#[test]
fn new_formats_match_the_reference_at_odd_sizes_and_strides() {
    for format in NEW {
        for (w, h, pad) in [
            (1, 1, 0),
            (2, 3, 7),
            (33, 17, 3),
            (4095, 1, 1),
            (3, 4095, 2),
        ] {
            for mode in [ResizeMode::CenterCrop, ResizeMode::Letterbox] {
                check(
                    format,
                    (w, h),
                    pad,
                    &TensorSpec::imagenet(24),
                    (mode, YuvMatrix::BT709),
                );
            }
        }
    }
}

#[test]
fn new_formats_match_the_reference_at_1080p() {
    for format in [
        PixelFormat::Uyvy,
        PixelFormat::P010,
        PixelFormat::Y42b,
        PixelFormat::Y444p10,
    ] {
        check(
            format,
            (1920, 1080),
            32,
            &TensorSpec::imagenet(224),
            (ResizeMode::CenterCrop, YuvMatrix::BT2020),
        );
    }
}

/// A flat 10-bit picture, `luma` everywhere and neutral chroma, in `format`.
fn flat_10bit(format: PixelFormat, luma: u16, w: usize, h: usize) -> Vec<Vec<u8>> {
    let (shift, neutral) = if format == PixelFormat::P010 {
        (6, 512u16)
    } else {
        (0, 512)
    };
    format
        .plane_extents(w, h)
        .iter()
        .enumerate()
        .map(|(i, &(row, rows))| {
            let v = if i == 0 { luma } else { neutral } << shift;
            v.to_le_bytes().repeat(row * rows / 2)
        })
        .collect()
}

#[test]
fn ten_bit_samples_keep_their_two_low_bits() {
    // Full-range grey 401 / 1023 is 100.25 on the 8-bit scale: truncating to 8 bits
    // first would give 100.
    let spec = TensorSpec {
        width: 2,
        height: 2,
        layout: Layout::Nchw,
        channels: 3,
        order: ChannelOrder::Rgb,
        scale: 1.0,
        mean: [0.0; 3],
        std: [1.0; 3],
    };
    let full = YuvMatrix {
        limited: false,
        ..YuvMatrix::BT709
    };
    for format in [
        PixelFormat::I420p10,
        PixelFormat::P010,
        PixelFormat::Y444p10,
    ] {
        let (w, h) = (6, 4);
        let planes = flat_10bit(format, 401, w, h);
        let slices: Vec<&[u8]> = planes.iter().map(|p| p.as_slice()).collect();
        let strides: Vec<usize> = format.plane_extents(w, h).iter().map(|e| e.0).collect();
        let frame = FrameView::new(format, (w, h), &slices, &strides, full).expect("valid");
        let mut out = vec![0.0; spec.len()];
        Preprocessor::new(spec.clone(), ResizeMode::Stretch, 1.0)
            .run(&frame, &mut out)
            .expect("ok");
        for v in out {
            assert!((v - 100.25).abs() < 1e-3, "{format}: {v}");
        }
    }
}

#[test]
fn short_planes_of_new_formats_are_rejected_not_read() {
    for format in NEW {
        let (w, h) = (5, 3);
        let extents = format.plane_extents(w, h);
        for short in 0..extents.len() {
            let planes: Vec<Vec<u8>> = extents
                .iter()
                .enumerate()
                .map(|(i, &(row, rows))| vec![0; row * rows - usize::from(i == short)])
                .collect();
            let slices: Vec<&[u8]> = planes.iter().map(|p| p.as_slice()).collect();
            let strides: Vec<usize> = extents.iter().map(|e| e.0).collect();
            let err = FrameView::new(format, (w, h), &slices, &strides, YuvMatrix::BT601).err();
            assert!(
                matches!(err, Some(FrameError::PlaneTooSmall { plane, .. }) if plane == short),
                "{format} plane {short}: {err:?}"
            );
        }
    }
}
