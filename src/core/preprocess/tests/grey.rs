//! Greyscale (one-channel) tensors: luma from every format, and their normalisation.

use super::*;

fn plain(channels: usize, layout: Layout) -> TensorSpec {
    TensorSpec {
        width: 24,
        height: 16,
        layout,
        channels,
        order: ChannelOrder::Rgb,
        scale: 1.0,
        mean: [0.0; 3],
        std: [1.0; 3],
    }
}

fn tensor(spec: &TensorSpec, frame: &FrameView<'_>, mode: ResizeMode) -> Vec<f32> {
    let mut out = vec![f32::NAN; spec.len()];
    Preprocessor::new(spec.clone(), mode, 0.875)
        .run(frame, &mut out)
        .expect("sizes match");
    out
}

#[test]
fn grey_tensors_are_the_luma_of_the_colour_tensor() {
    for format in PixelFormat::ALL {
        for mode in [ResizeMode::CenterCrop, ResizeMode::Letterbox] {
            let test = TestFrame::new(format, 33, 17, 3);
            let frame = test.view(YuvMatrix::BT709);
            let colour = tensor(&plain(3, Layout::Nchw), &frame, mode);
            let grey = tensor(&plain(1, Layout::Nchw), &frame, mode);
            assert_eq!(grey.len(), 24 * 16);
            // RGB frames: BT.601 luma. Y'CbCr frames: luma of their own matrix, which
            // is Y' itself wherever converting to RGB clamped nothing.
            let (kr, kb) = if format.is_yuv() {
                (YuvMatrix::BT709.kr, YuvMatrix::BT709.kb)
            } else {
                (0.299, 0.114)
            };
            let plane = grey.len();
            let mut compared = 0;
            for (i, g) in grey.iter().enumerate() {
                let [r, gr, b] = [colour[i], colour[plane + i], colour[2 * plane + i]];
                if format.is_yuv() && [r, gr, b].iter().any(|v| *v < 0.5 || *v > 254.5) {
                    continue;
                }
                let luma = kr * r + (1.0 - kr - kb) * gr + kb * b;
                assert!(
                    (g - luma).abs() < 2e-3,
                    "{format} {mode:?} {i}: {g} vs {luma}"
                );
                compared += 1;
            }
            assert!(
                compared * 4 > plane,
                "{format} {mode:?}: {compared} compared"
            );
        }
    }
}

#[test]
fn limited_range_luma_is_expanded_and_full_range_kept() {
    let (w, h) = (4, 4);
    for (luma, limited, expected) in [
        (235u8, true, 255.0),
        (16, true, 0.0),
        (126, true, 128.082),
        (126, false, 126.0),
        (255, false, 255.0),
    ] {
        let y = vec![luma; w * h];
        let c = vec![200u8; w * h / 4];
        let matrix = YuvMatrix {
            limited,
            ..YuvMatrix::BT601
        };
        let frame = FrameView::new(
            PixelFormat::I420,
            (w, h),
            &[&y, &c, &c],
            &[w, w / 2, w / 2],
            matrix,
        )
        .expect("valid");
        for v in tensor(&plain(1, Layout::Nchw), &frame, ResizeMode::Stretch) {
            assert!((v - expected).abs() < 1e-3, "{luma} limited={limited}: {v}");
        }
    }
}

#[test]
fn one_channel_takes_the_average_normalisation_in_either_layout() {
    let (w, h) = (10, 5);
    let white = vec![255u8; w * h];
    let frame = FrameView::new(
        PixelFormat::Gray8,
        (w, h),
        &[&white],
        &[w],
        YuvMatrix::BT601,
    )
    .expect("valid");
    let mut spec = TensorSpec::imagenet(8);
    spec.channels = 1;
    let (mean, std) = ((0.485 + 0.456 + 0.406) / 3.0, (0.229 + 0.224 + 0.225) / 3.0);
    let nchw = tensor(&spec, &frame, ResizeMode::Letterbox);
    spec.layout = Layout::Nhwc;
    let nhwc = tensor(&spec, &frame, ResizeMode::Letterbox);
    assert_eq!(nchw, nhwc, "one channel is laid out alike");
    assert_eq!(nchw.len(), 64);
    // A 10x5 frame letterboxed into 8x8: rows 2 to 5 are the picture, the rest bars.
    for (i, v) in nchw.iter().enumerate() {
        let expected = if (2..6).contains(&(i / 8)) {
            (1.0 - mean) / std
        } else {
            -mean / std
        };
        assert!((v - expected).abs() < 1e-4, "{i}: {v} vs {expected}");
    }
}
