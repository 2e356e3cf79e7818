//! Where each format keeps its three components: which plane, how far apart along a
//! row, and whether the plane is subsampled. The resampler only needs this table.

use super::format::PixelFormat;

/// Components that share a plane, a sample spacing and a horizontal subsampling, so
/// one horizontal pass with one kernel serves them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Group {
    /// Bytes from one sample of a component to the next along a row.
    pub step: usize,
    /// Whether a sample covers two pixels horizontally.
    pub halved: bool,
    /// (component slot 0..3, byte offset within the sample) for each component here.
    pub components: &'static [(usize, usize)],
}

/// One plane's rows, weighted vertically once and then read by its groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pass {
    pub plane: usize,
    /// Whether a row covers two pixel rows.
    pub halved: bool,
    pub groups: &'static [Group],
}

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
    Pass {
        plane: 0,
        halved: false,
        groups,
    }
}

const fn subsampled(plane: usize, groups: &'static [Group]) -> Pass {
    Pass {
        plane,
        halved: true,
        groups,
    }
}

const LUMA: Pass = packed(&[group(1, &[(0, 0)])]);
const NV12: &[Pass] = &[LUMA, subsampled(1, &[chroma(2, &[(1, 0), (2, 1)])])];
const I420: &[Pass] = &[
    LUMA,
    subsampled(1, &[chroma(1, &[(1, 0)])]),
    subsampled(2, &[chroma(1, &[(2, 0)])]),
];
// Y0 U Y1 V: luma every 2 bytes, chroma every 4 bytes covering two pixels.
const YUY2: &[Pass] = &[packed(&[group(2, &[(0, 0)]), chroma(4, &[(1, 1), (2, 3)])])];
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
        F::Yuy2 => YUY2,
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
