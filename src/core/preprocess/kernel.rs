//! One axis of the separable resize in the shape the inner loops want: every output
//! sample reads the same number of consecutive source samples, so the loops need no
//! per-tap index and the vertical pass can weight whole rows at once.

use super::geometry::AxisTaps;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Kernel {
    /// Consecutive source samples each output reads.
    pub taps: usize,
    /// First source sample of output `i`.
    pub start: Vec<u32>,
    /// `weight[i * taps + k]` applies to source sample `start[i] + k`.
    pub weight: Vec<f32>,
}

impl Kernel {
    /// Rewrites `axis` for a plane whose samples cover `1 << shift` pixels along this
    /// axis (shift 1 for subsampled chroma) and which has `limit` samples. A pixel
    /// reads the chroma sample that covers it, so a pixel's weight goes to that sample.
    pub fn new(axis: &AxisTaps, shift: u32, limit: usize) -> Kernel {
        let stride = axis.taps.max(1);
        let rows: Vec<(u32, u32)> = axis
            .index
            .chunks(stride)
            .zip(axis.weight.chunks(stride))
            .map(|(index, weight)| {
                let used = index
                    .iter()
                    .zip(weight)
                    .filter(|(_, w)| **w != 0.0)
                    .map(|(j, _)| j >> shift);
                let lo = used.clone().min().unwrap_or(index[0] >> shift);
                let hi = used.max().unwrap_or(lo);
                (lo, hi)
            })
            .collect();
        let taps = rows
            .iter()
            .map(|(lo, hi)| (hi - lo + 1) as usize)
            .max()
            .unwrap_or(1);
        // Every run lies inside the plane, so `limit >= taps`; moving a short run's start
        // back keeps its padded tail inside too.
        let latest = limit.saturating_sub(taps) as u32;
        let mut kernel = Kernel {
            taps,
            start: Vec::with_capacity(rows.len()),
            weight: vec![0.0; rows.len() * taps],
        };
        for (i, ((lo, _), (index, weight))) in rows
            .iter()
            .zip(axis.index.chunks(stride).zip(axis.weight.chunks(stride)))
            .enumerate()
        {
            let start = (*lo).min(latest);
            kernel.start.push(start);
            // Zero-weight taps may lie outside the run (bilinear pads with a neighbour).
            for (j, w) in index.iter().zip(weight).filter(|(_, w)| **w != 0.0) {
                let k = ((j >> shift) - start) as usize;
                if let Some(slot) = kernel.weight.get_mut(i * taps + k) {
                    *slot += w;
                }
            }
        }
        kernel
    }

    /// Source samples [first, end) that some output reads.
    pub fn span(&self) -> (usize, usize) {
        let first = self.start.iter().min().copied().unwrap_or(0) as usize;
        let last = self.start.iter().max().copied().unwrap_or(0) as usize;
        (first, last + self.taps)
    }

    pub fn weights(&self, i: usize) -> &[f32] {
        &self.weight[i * self.taps..(i + 1) * self.taps]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconstruct(k: &Kernel, i: usize, samples: usize) -> Vec<f32> {
        let mut dense = vec![0.0; samples];
        for (t, w) in k.weights(i).iter().enumerate() {
            dense[k.start[i] as usize + t] += w;
        }
        dense
    }

    #[test]
    fn area_taps_become_consecutive_runs_with_the_same_weights() {
        let axis = AxisTaps::new(0.5, 945.0, 224, 1920);
        let k = Kernel::new(&axis, 0, 1920);
        assert_eq!(k.start.len(), 224);
        for i in 0..224 {
            let dense = reconstruct(&k, i, 1920);
            let row = &axis.index[i * axis.taps..(i + 1) * axis.taps];
            let w = &axis.weight[i * axis.taps..(i + 1) * axis.taps];
            let mut expected = vec![0.0; 1920];
            for (j, w) in row.iter().zip(w) {
                expected[*j as usize] += w;
            }
            assert_eq!(dense, expected, "output {i}");
        }
    }

    #[test]
    fn halving_gives_each_pixel_weight_to_its_covering_chroma_sample() {
        // Pixels 0..4 average into one output: chroma samples 0 and 1 get half each.
        let axis = AxisTaps::new(0.0, 4.0, 1, 4);
        let k = Kernel::new(&axis, 1, 2);
        assert_eq!((k.taps, k.start[0]), (2, 0));
        assert_eq!(k.weights(0), &[0.5, 0.5]);
        // Pixels 1 and 2 belong to different samples: half each again.
        let axis = AxisTaps::new(1.0, 2.0, 1, 4);
        let k = Kernel::new(&axis, 1, 2);
        assert_eq!(k.weights(0), &[0.5, 0.5]);
    }

    #[test]
    fn short_runs_at_the_far_edge_start_earlier_and_stay_inside() {
        // Bilinear upscaling clamps the last outputs to the last pixel: one-sample runs.
        let axis = AxisTaps::new(0.0, 2.0, 4, 2);
        let k = Kernel::new(&axis, 0, 2);
        assert_eq!(k.taps, 2);
        for i in 0..4 {
            assert!(k.start[i] as usize + k.taps <= 2);
            let sum: f32 = k.weights(i).iter().sum();
            assert!((sum - 1.0).abs() < 1e-6);
        }
        assert_eq!(k.weights(3), &[0.0, 1.0]);
        assert_eq!(k.span(), (0, 2));
    }

    #[test]
    fn zero_weight_taps_before_the_run_are_ignored() {
        // Bilinear at an exact pixel position: weight 0 on the left neighbour.
        let axis = AxisTaps {
            taps: 2,
            index: vec![3, 4],
            weight: vec![0.0, 1.0],
        };
        let k = Kernel::new(&axis, 0, 8);
        assert_eq!((k.taps, k.start[0]), (1, 4));
        assert_eq!(k.weights(0), &[1.0]);
    }

    #[test]
    fn a_one_pixel_axis_has_one_tap() {
        let axis = AxisTaps::new(0.0, 1.0, 224, 1);
        let k = Kernel::new(&axis, 0, 1);
        assert_eq!(k.taps, 1);
        assert!(k.start.iter().all(|&s| s == 0));
        let k = Kernel::new(&axis, 1, 1);
        assert_eq!(k.taps, 1);
    }
}
