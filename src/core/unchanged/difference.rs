//! The difference `unchanged-threshold` compares: the mean absolute difference of the
//! input two tensors were made from, RGB (or luma) on a 0–1 scale before normalisation.

use multiversion::multiversion;

use crate::core::model::{Layout, TensorSpec};

/// What a tensor difference is on the input's 0–1 scale, per channel, for one tensor
/// layout.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Per tensor channel: the input difference one unit of tensor difference stands for.
    per_unit: [f32; 3],
    channels: usize,
    layout: Layout,
    /// Values in one image's tensor.
    pub(super) len: usize,
}

/// Accumulators per pass: a multiple of 3 (and of 1), so with NHWC each lane always
/// holds one channel; 16 pixels of 3 channels fill the vector registers of AVX-512 and
/// AVX2 without a scalar tail on 224-wide rows.
const LANES: usize = 48;

impl Scale {
    pub fn new(spec: &TensorSpec) -> Scale {
        let (a, _) = spec.affine();
        // The tensor holds v·a + b for inputs v in 0..=255. An `a` of 0 makes every
        // input the same tensor: its weight is then 0, not infinite (0 · ∞ is NaN).
        let per_unit = a.map(|a| {
            let w = 1.0 / (255.0 * a.abs());
            if w.is_finite() { w } else { 0.0 }
        });
        Scale {
            per_unit,
            channels: spec.channels.clamp(1, 3),
            layout: spec.layout,
            len: spec.len(),
        }
    }

    /// The mean absolute difference of the inputs two tensors of this spec were made
    /// from, RGB (or luma) on a 0–1 scale. NaN when the tensors are not one image each,
    /// which no threshold passes.
    pub fn mean_abs_difference(&self, a: &[f32], b: &[f32]) -> f64 {
        if a.len() != self.len || b.len() != self.len || self.len == 0 {
            return f64::NAN;
        }
        let total: f64 = match self.layout {
            Layout::Nchw => {
                let plane = self.len / self.channels;
                a.chunks_exact(plane)
                    .zip(b.chunks_exact(plane))
                    .zip(self.per_unit)
                    .map(|((a, b), w)| {
                        let sum: f64 = lane_sums(a, b).iter().map(|&s| f64::from(s)).sum();
                        sum * f64::from(w)
                    })
                    .sum()
            }
            Layout::Nhwc => lane_sums(a, b)
                .iter()
                .enumerate()
                .map(|(lane, &s)| f64::from(s) * f64::from(self.per_unit[lane % self.channels]))
                .sum(),
        };
        total / self.len as f64
    }
}

/// Sums of |a − b|, element i going to lane i mod `LANES`: independent accumulators,
/// so the loop vectorises (one running sum would have to add in order).
#[multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2+fma", "aarch64+neon"))]
fn lane_sums(a: &[f32], b: &[f32]) -> [f32; LANES] {
    let mut acc = [0.0f32; LANES];
    let (a_chunks, a_rest) = a.as_chunks::<LANES>();
    let (b_chunks, b_rest) = b.as_chunks::<LANES>();
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for i in 0..LANES {
            acc[i] += (x[i] - y[i]).abs();
        }
    }
    for (i, (x, y)) in a_rest.iter().zip(b_rest).enumerate() {
        acc[i] += (x - y).abs();
    }
    acc
}

/// A square test spec in `layout`, ImageNet's normalisation.
#[cfg(test)]
pub(super) fn spec(size: usize, layout: Layout) -> TensorSpec {
    TensorSpec {
        layout,
        ..TensorSpec::imagenet(size)
    }
}

/// The tensor `spec` holds for an image of RGB inputs `rgb` (0..=255) everywhere.
#[cfg(test)]
pub(super) fn tensor(spec: &TensorSpec, rgb: [f32; 3]) -> Vec<f32> {
    let (a, b) = spec.affine();
    let plane = spec.width * spec.height;
    (0..spec.len())
        .map(|i| {
            let c = match spec.layout {
                Layout::Nchw => i / plane,
                Layout::Nhwc => i % spec.channels,
            };
            let c = if spec.channels == 1 { 0 } else { c };
            rgb[c] * a[c] + b[c]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::ChannelOrder;

    #[test]
    fn the_difference_is_of_the_input_before_normalisation_on_a_0_to_1_scale() {
        for layout in [Layout::Nchw, Layout::Nhwc] {
            let spec = spec(7, layout);
            let scale = Scale::new(&spec);
            let grey = tensor(&spec, [100.0; 3]);
            assert_eq!(scale.mean_abs_difference(&grey, &grey), 0.0);
            // Red up by 51 (0.2 of the scale), green and blue the same: 0.2 / 3.
            let redder = tensor(&spec, [151.0, 100.0, 100.0]);
            let d = scale.mean_abs_difference(&grey, &redder);
            assert!((d - 0.2 / 3.0).abs() < 1e-5, "{layout:?}: {d}");
            // The sign does not matter, nor the order; each channel's std does not either.
            let mixed = tensor(&spec, [49.0, 151.0, 100.0]);
            let d = scale.mean_abs_difference(&mixed, &grey);
            assert!((d - 0.4 / 3.0).abs() < 1e-5, "{layout:?}: {d}");
            // White against black is the whole scale.
            let d = scale.mean_abs_difference(&tensor(&spec, [0.0; 3]), &tensor(&spec, [255.0; 3]));
            assert!((d - 1.0).abs() < 1e-5, "{layout:?}: {d}");
        }
    }

    #[test]
    fn one_changed_pixel_counts_for_its_share_and_tails_are_summed() {
        // 13 x 13 x 3 = 507 values: not a multiple of the lanes, so the tail is counted.
        for layout in [Layout::Nchw, Layout::Nhwc] {
            let spec = spec(13, layout);
            let scale = Scale::new(&spec);
            let a = tensor(&spec, [10.0; 3]);
            let mut b = a.clone();
            let (unit, _) = spec.affine();
            // The very last value: blue of the last pixel, up by the whole scale.
            *b.last_mut().unwrap() += 255.0 * unit[2];
            let d = scale.mean_abs_difference(&a, &b);
            assert!((d - 1.0 / 507.0).abs() < 1e-7, "{layout:?}: {d}");
        }
    }

    #[test]
    fn greyscale_and_other_normalisations_measure_the_same_input() {
        let grey = TensorSpec {
            channels: 1,
            ..TensorSpec::imagenet(5)
        };
        let scale = Scale::new(&grey);
        let d = scale.mean_abs_difference(&tensor(&grey, [0.0; 3]), &tensor(&grey, [51.0; 3]));
        assert!((d - 0.2).abs() < 1e-5, "{d}");
        let raw = TensorSpec {
            scale: 1.0,
            mean: [127.0; 3],
            std: [128.0; 3],
            order: ChannelOrder::Bgr,
            ..TensorSpec::imagenet(5)
        };
        let scale = Scale::new(&raw);
        let d = scale.mean_abs_difference(&tensor(&raw, [0.0; 3]), &tensor(&raw, [51.0; 3]));
        assert!((d - 0.2).abs() < 1e-5, "{d}");
    }

    #[test]
    fn tensors_of_another_size_are_never_unchanged() {
        let spec = spec(4, Layout::Nchw);
        let scale = Scale::new(&spec);
        let a = tensor(&spec, [1.0; 3]);
        assert!(scale.mean_abs_difference(&a, &a[1..]).is_nan());
        let flat = TensorSpec {
            std: [f32::INFINITY; 3],
            ..spec.clone()
        };
        assert_eq!(Scale::new(&flat).mean_abs_difference(&a, &a), 0.0);
    }
}
