//! The fused path checked against a slow, obvious reference for every format.

use super::*;

mod formats;
mod grey;
mod reference;

use reference::{TestFrame, check, max_difference};

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
                    (w, h),
                    pad,
                    &TensorSpec::imagenet(24),
                    (mode, YuvMatrix::BT601),
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
            (1920, 1080),
            64,
            &TensorSpec::imagenet(224),
            (ResizeMode::CenterCrop, YuvMatrix::BT709),
        );
    }
}

#[test]
fn nhwc_bgr_full_range_matches_the_reference() {
    let spec = TensorSpec {
        width: 16,
        height: 12,
        layout: Layout::Nhwc,
        channels: 3,
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
        check(format, (40, 30), 2, &spec, (ResizeMode::Letterbox, full));
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
        (w, h),
        &[&y, &u, &v],
        &[w, w / 2, w / 2],
        YuvMatrix::BT601,
    )
    .expect("valid");
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
        FrameView::new(PixelFormat::Rgb, (4, 1), &[&data], &[12], YuvMatrix::BT601).err(),
        Some(FrameError::PlaneTooSmall {
            plane: 0,
            len: 10,
            needed: 12
        })
    );
    assert_eq!(
        FrameView::new(PixelFormat::Rgb, (4, 1), &[&data], &[8], YuvMatrix::BT601).err(),
        Some(FrameError::StrideTooSmall {
            plane: 0,
            stride: 8,
            needed: 12
        })
    );
    assert_eq!(
        FrameView::new(PixelFormat::Nv12, (2, 2), &[&data], &[2], YuvMatrix::BT601).err(),
        Some(FrameError::MissingPlane {
            format: PixelFormat::Nv12,
            plane: 1
        })
    );
    assert_eq!(
        FrameView::new(PixelFormat::Gray8, (0, 2), &[&data], &[2], YuvMatrix::BT601).err(),
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
        (40, 30),
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
        Region::clipped((-10, -5, 30, 20), (100, 80)),
        Some(Region {
            x: 0,
            y: 0,
            width: 20,
            height: 15
        })
    );
    assert_eq!(
        Region::clipped((90, 70, 30, 20), (100, 80)),
        Some(Region {
            x: 90,
            y: 70,
            width: 10,
            height: 10
        })
    );
    assert_eq!(Region::clipped((5, 5, 0, 10), (100, 80)), None);
    assert_eq!(Region::clipped((5, 5, -3, 10), (100, 80)), None);
    assert_eq!(Region::clipped((200, 5, 10, 10), (100, 80)), None);
    assert_eq!(
        Region::clipped((99, 79, 1, 1), (100, 80)),
        Some(Region {
            x: 99,
            y: 79,
            width: 1,
            height: 1
        })
    );
    assert_eq!(
        Region::clipped((i64::MAX - 1, 0, i64::MAX, 5), (100, 80)),
        None
    );
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
