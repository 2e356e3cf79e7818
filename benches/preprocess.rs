//! Frame → tensor cost for every input format (`PixelFormat::ALL`, the 10-bit ones
//! included), at camera resolutions, for the tensor sizes of the built-in models.
//! `cargo bench --bench preprocess [-- FILTER]`; the filter is
//! `format/resolution/size/mode`, e.g. `NV12/1920x1080` or, to compare a format with
//! its neighbours in one run, `'^preprocess/(NV12|NV21|P010_10LE)/1920x1080'`.
//! The `unchanged` group is what `unchanged-threshold` adds per due frame at each
//! tensor size: the comparison with the reference, and on a classified frame the copy
//! that becomes the next reference (`-- unchanged`).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gstimgclassify::testing::preprocess::{
    FrameView, PixelFormat, Preprocessor, ResizeMode, Scale, TensorSpec, YuvMatrix,
};
use std::time::Duration;

const RESOLUTIONS: [(usize, usize); 4] = [(640, 480), (1280, 720), (1920, 1080), (3840, 2160)];
const SIZES: [usize; 2] = [224, 260];
const MODES: [(ResizeMode, &str); 2] = [
    (ResizeMode::CenterCrop, "center-crop"),
    (ResizeMode::Stretch, "stretch"),
];

/// Deterministic noise: the loops have no data-dependent branches, so content only
/// needs to defeat nothing, but zeros could flatter a future shortcut.
fn frame_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 56) as u8
        })
        .collect()
}

fn preprocess(c: &mut Criterion) {
    let mut group = c.benchmark_group("preprocess");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for format in PixelFormat::ALL {
        for (width, height) in RESOLUTIONS {
            let extents = format.plane_extents(width, height);
            let data: Vec<Vec<u8>> = extents
                .iter()
                .enumerate()
                .map(|(i, (row, rows))| frame_bytes(row * rows, i as u64 + 1))
                .collect();
            let strides: Vec<usize> = extents.iter().map(|(row, _)| *row).collect();
            let slices: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
            let frame =
                FrameView::new(format, (width, height), &slices, &strides, YuvMatrix::BT709)
                    .expect("benchmark frame matches its format");
            for size in SIZES {
                for (mode, mode_name) in MODES {
                    let mut pre = Preprocessor::new(TensorSpec::imagenet(size), mode, 0.875);
                    let mut out = vec![0.0f32; pre.spec().len()];
                    let id = BenchmarkId::from_parameter(format!(
                        "{}/{width}x{height}/{size}/{mode_name}",
                        format.name()
                    ));
                    group.bench_function(id, |b| {
                        b.iter(|| {
                            pre.run(&frame, &mut out)
                                .expect("tensor buffer has the spec's size")
                        })
                    });
                }
            }
        }
    }
    group.finish();
}

/// Two tensors of one frame size, as two frames of a still camera give: the
/// comparison's cost does not depend on their content, and nothing stops it early.
fn unchanged(c: &mut Criterion) {
    let mut group = c.benchmark_group("unchanged");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for size in SIZES {
        let spec = TensorSpec::imagenet(size);
        let scale = Scale::new(&spec);
        let tensor = |seed| -> Vec<f32> {
            frame_bytes(spec.len(), seed)
                .into_iter()
                .map(|v| f32::from(v) / 255.0)
                .collect()
        };
        let (a, b) = (tensor(1), tensor(2));
        group.bench_function(BenchmarkId::new("difference", size), |bench| {
            bench.iter(|| scale.mean_abs_difference(&a, &b))
        });
        group.bench_function(BenchmarkId::new("copy", size), |bench| {
            bench.iter(|| a.clone())
        });
    }
    group.finish();
}

criterion_group!(benches, preprocess, unchanged);
criterion_main!(benches);
