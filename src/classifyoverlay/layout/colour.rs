//! The colours of the `text-color` and `background-color` properties, as cairo takes
//! them.

/// A colour with straight (not premultiplied) alpha, each channel in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgba {
    pub r: f64,
    pub g: f64,
    pub b: f64,
    pub a: f64,
}

impl Rgba {
    /// From a GStreamer-style 0xAARRGGBB value.
    pub fn from_argb(argb: u32) -> Rgba {
        let channel = |shift: u32| f64::from((argb >> shift) & 0xff) / 255.0;
        Rgba {
            r: channel(16),
            g: channel(8),
            b: channel(0),
            a: channel(24),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argb_colours() {
        assert_eq!(
            Rgba::from_argb(0xff_ff_00_00),
            Rgba {
                r: 1.0,
                g: 0.0,
                b: 0.0,
                a: 1.0
            }
        );
        let c = Rgba::from_argb(0x80_00_ff_40);
        assert_eq!((c.r, c.g), (0.0, 1.0));
        assert!((c.b - 64.0 / 255.0).abs() < 1e-12);
        assert!((c.a - 128.0 / 255.0).abs() < 1e-12);
        assert_eq!(Rgba::from_argb(0).a, 0.0);
    }
}
