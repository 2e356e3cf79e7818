//! Where each format keeps its three components: which plane, how far apart along a
//! row, whether the plane is subsampled, and how a sample is stored. The resampler
//! only needs this table.

use super::format::PixelFormat;

/// How one sample is stored; steps and offsets below count samples, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sample {
    /// One byte.
    U8,
    /// A little-endian 16-bit word with 10 bits in its low bits (I420_10LE, Y444_10LE).
    Low10,
    /// A little-endian 16-bit word with 10 bits in its high bits (P010_10LE).
    High10,
}

impl Sample {
    pub fn bytes(self) -> usize {
        match self {
            Sample::U8 => 1,
            Sample::Low10 | Sample::High10 => 2,
        }
    }
}

/// Components that share a plane, a sample spacing and a horizontal subsampling, so
/// one horizontal pass with one kernel serves them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Group {
    /// Samples from one sample of a component to the next along a row.
    pub step: usize,
    /// Whether a sample covers two pixels horizontally.
    pub halved: bool,
    /// (component slot 0..3, offset in samples within the step) for each component here.
    pub components: &'static [(usize, usize)],
}

/// One plane's rows, weighted vertically once and then read by its groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pass {
    pub plane: usize,
    /// Whether planes `plane`, `plane + 1` and `plane + 2`, of the same size, are
    /// weighted together into one line of `INTERLEAVED` values per sample (the fourth
    /// unused), which the groups then read like a packed RGBx row: one horizontal pass
    /// with one set of taps for the three, and no gathers (see `resample`).
    pub interleaved: bool,
    /// Whether a row covers two pixel rows.
    pub halved: bool,
    pub sample: Sample,
    pub groups: &'static [Group],
}

/// Values per sample in the line of an interleaved pass.
pub(crate) const INTERLEAVED: usize = 4;

const fn group(step: usize, components: &'static [(usize, usize)]) -> Group {
    Group {
        step,
        halved: false,
        components,
    }
}

const fn chroma(step: usize, components: &'static [(usize, usize)]) -> Group {
    Group {
        step,
        halved: true,
        components,
    }
}

const fn packed(groups: &'static [Group]) -> Pass {
    plane(0, groups)
}

/// A plane with one row per pixel row (4:4:4 and 4:2:2 planes, packed formats).
const fn plane(plane: usize, groups: &'static [Group]) -> Pass {
    Pass {
        plane,
        interleaved: false,
        halved: false,
        sample: Sample::U8,
        groups,
    }
}

const fn subsampled(plane: usize, groups: &'static [Group]) -> Pass {
    Pass {
        plane,
        interleaved: false,
        halved: true,
        sample: Sample::U8,
        groups,
    }
}

/// The same pass over 16-bit words.
const fn words(pass: Pass, sample: Sample) -> Pass {
    Pass { sample, ..pass }
}

const LUMA: Pass = packed(&[group(1, &[(0, 0)])]);
const NV12: &[Pass] = &[LUMA, subsampled(1, &[chroma(2, &[(1, 0), (2, 1)])])];
const I420: &[Pass] = &[
    LUMA,
    subsampled(1, &[chroma(1, &[(1, 0)])]),
    subsampled(2, &[chroma(1, &[(2, 0)])]),
];
// Plane 1 holds Cr, plane 2 Cb.
const YV12: &[Pass] = &[
    LUMA,
    subsampled(1, &[chroma(1, &[(2, 0)])]),
    subsampled(2, &[chroma(1, &[(1, 0)])]),
];
const NV21: &[Pass] = &[LUMA, subsampled(1, &[chroma(2, &[(2, 0), (1, 1)])])];
// Y0 U Y1 V: luma every 2 bytes, chroma every 4 bytes covering two pixels.
const YUY2: &[Pass] = &[packed(&[group(2, &[(0, 0)]), chroma(4, &[(1, 1), (2, 3)])])];
// U Y0 V Y1.
const UYVY: &[Pass] = &[packed(&[group(2, &[(0, 1)]), chroma(4, &[(1, 0), (2, 2)])])];
// Y0 V Y1 U.
const YVYU: &[Pass] = &[packed(&[group(2, &[(0, 0)]), chroma(4, &[(2, 1), (1, 3)])])];
// 4:2:2 planar: chroma rows are full height, samples cover two pixels across.
const Y42B: &[Pass] = &[
    LUMA,
    plane(1, &[chroma(1, &[(1, 0)])]),
    plane(2, &[chroma(1, &[(2, 0)])]),
];
// 4:4:4 planar: the three planes share every tap, so they are read as one RGBx-like
// line (see docs/performance.md for what that saves).
const Y444: &[Pass] = &[Pass {
    interleaved: true,
    ..packed(&[group(INTERLEAVED, &[(0, 0), (1, 1), (2, 2)])])
}];
const I420_10: &[Pass] = &[
    words(I420[0], Sample::Low10),
    words(I420[1], Sample::Low10),
    words(I420[2], Sample::Low10),
];
const P010: &[Pass] = &[
    words(NV12[0], Sample::High10),
    words(NV12[1], Sample::High10),
];
const Y444_10: &[Pass] = &[words(Y444[0], Sample::Low10)];
const GRAY8: &[Pass] = &[LUMA];
const RGB: &[Pass] = &[packed(&[group(3, &[(0, 0), (1, 1), (2, 2)])])];
const BGR: &[Pass] = &[packed(&[group(3, &[(0, 2), (1, 1), (2, 0)])])];
const RGBX: &[Pass] = &[packed(&[group(4, &[(0, 0), (1, 1), (2, 2)])])];
const BGRX: &[Pass] = &[packed(&[group(4, &[(0, 2), (1, 1), (2, 0)])])];
const XRGB: &[Pass] = &[packed(&[group(4, &[(0, 1), (1, 2), (2, 3)])])];
const XBGR: &[Pass] = &[packed(&[group(4, &[(0, 3), (1, 2), (2, 1)])])];

/// The passes that fill component slots 0, 1, 2 (Y', Cb, Cr for YUV formats, R, G, B
/// otherwise; GRAY8 fills only slot 0).
pub(crate) fn passes(format: PixelFormat) -> &'static [Pass] {
    use PixelFormat as F;
    match format {
        F::Nv12 => NV12,
        F::I420 => I420,
        F::Yv12 => YV12,
        F::Yuy2 => YUY2,
        F::Nv21 => NV21,
        F::Uyvy => UYVY,
        F::Yvyu => YVYU,
        F::Y42b => Y42B,
        F::Y444 => Y444,
        F::I420p10 => I420_10,
        F::P010 => P010,
        F::Y444p10 => Y444_10,
        F::Gray8 => GRAY8,
        F::Rgb => RGB,
        F::Bgr => BGR,
        F::Rgba | F::Rgbx => RGBX,
        F::Bgra | F::Bgrx => BGRX,
        F::Argb | F::Xrgb => XRGB,
        F::Abgr | F::Xbgr => XBGR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_fills_its_components_once() {
        for format in PixelFormat::ALL {
            let mut filled = [0; 3];
            for pass in passes(format) {
                for group in pass.groups {
                    for (slot, offset) in group.components {
                        filled[*slot] += 1;
                        assert!(*offset < group.step, "{format}");
                    }
                }
            }
            let expected = if format == PixelFormat::Gray8 {
                [1, 0, 0]
            } else {
                [1, 1, 1]
            };
            assert_eq!(filled, expected, "{format}");
        }
    }

    #[test]
    fn word_formats_are_the_10bit_ones() {
        for format in PixelFormat::ALL {
            for pass in passes(format) {
                assert_eq!(pass.sample != Sample::U8, format.is_10bit(), "{format}");
            }
        }
    }

    #[test]
    fn packed_rgb_offsets_agree_with_the_format_table() {
        for format in PixelFormat::ALL {
            let Some((offsets, pixel)) = format.rgb_layout() else {
                continue;
            };
            let [pass] = passes(format) else {
                panic!("{format} is one plane");
            };
            let [group] = pass.groups else {
                panic!("{format} is one group");
            };
            assert_eq!(group.step, pixel, "{format}");
            for (slot, offset) in group.components {
                assert_eq!(offsets[*slot], *offset, "{format}");
            }
        }
    }
}
