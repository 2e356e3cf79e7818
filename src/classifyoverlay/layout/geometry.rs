//! Frame pixels: rectangles, even coordinates for subsampled chroma, the font's scale
//! and where the label box of the whole frame goes.

/// Frame corner the label box is anchored to (the `position` property).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Corner {
    #[default]
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

/// Frame height the font size of `font-desc` is meant for; taller frames scale it up.
pub const REFERENCE_HEIGHT: u32 = 480;

/// A rectangle in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    pub fn contains(&self, x: u32, y: u32) -> bool {
        let (x, y) = (i64::from(x), i64::from(y));
        let (left, top) = (i64::from(self.x), i64::from(self.y));
        x >= left
            && y >= top
            && x < left + i64::from(self.width)
            && y < top + i64::from(self.height)
    }
}

/// Factor applied to the font size for a frame `height` lines tall: `height / 480`, but
/// never below 1, so small frames keep the size the user asked for.
pub fn font_scale(height: u32) -> f64 {
    (f64::from(height) / f64::from(REFERENCE_HEIGHT)).max(1.0)
}

/// Distance of the box from the frame edges: 2% of the shorter side, even.
pub fn margin(width: u32, height: u32) -> u32 {
    even_down((f64::from(width.min(height)) * 0.02).round() as u32)
}

pub fn even_down(v: u32) -> u32 {
    v & !1
}

pub fn even_up(v: u32) -> u32 {
    v.saturating_add(1) & !1
}

/// Size of the box around text of `text_width`×`text_height` with `padding` on every side,
/// rounded up to even numbers and clipped to the frame (rounded down to even there).
/// `None` when nothing of it would fit.
pub fn box_size(
    text_width: u32,
    text_height: u32,
    padding: u32,
    frame_width: u32,
    frame_height: u32,
) -> Option<(u32, u32)> {
    let fit = |text: u32, frame: u32| {
        let want = even_up(text.saturating_add(padding.saturating_mul(2)));
        let room = even_down(frame);
        want.min(room)
    };
    let (w, h) = (fit(text_width, frame_width), fit(text_height, frame_height));
    (w > 0 && h > 0).then_some((w, h))
}

/// Where a `box_width`×`box_height` box goes in the frame. Coordinates are even so
/// that subsampled chroma (NV12, I420, YUY2) of the pixels around the box is never
/// shared with pixels inside it; the margin shrinks when the frame is too small for it.
pub fn place(
    corner: Corner,
    frame_width: u32,
    frame_height: u32,
    box_width: u32,
    box_height: u32,
) -> Rect {
    let margin = margin(frame_width, frame_height);
    let start = |frame: u32, size: u32| even_down(margin.min(frame.saturating_sub(size)));
    let end = |frame: u32, size: u32| {
        even_down(
            frame
                .saturating_sub(size)
                .saturating_sub(margin)
                .max(start(frame, size)),
        )
    };
    let (x, y) = match corner {
        Corner::TopLeft => (
            start(frame_width, box_width),
            start(frame_height, box_height),
        ),
        Corner::TopRight => (end(frame_width, box_width), start(frame_height, box_height)),
        Corner::BottomLeft => (start(frame_width, box_width), end(frame_height, box_height)),
        Corner::BottomRight => (end(frame_width, box_width), end(frame_height, box_height)),
    };
    Rect {
        x: i32::try_from(x).unwrap_or(i32::MAX),
        y: i32::try_from(y).unwrap_or(i32::MAX),
        width: box_width,
        height: box_height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_grows_with_the_frame_but_never_shrinks() {
        assert_eq!(font_scale(240), 1.0);
        assert_eq!(font_scale(480), 1.0);
        assert_eq!(font_scale(1080), 2.25);
    }

    #[test]
    fn box_size_is_even_and_fits_the_frame() {
        assert_eq!(box_size(101, 40, 5, 640, 480), Some((112, 50)));
        assert_eq!(box_size(1000, 40, 5, 641, 480), Some((640, 50)));
        assert_eq!(box_size(10, 10, 0, 1, 100), None);
    }

    #[test]
    fn boxes_sit_in_their_corner_on_even_coordinates() {
        // 640×480: margin = round(480 × 0.02) = 10.
        let at = |corner| {
            let r = place(corner, 640, 480, 100, 50);
            (r.x, r.y)
        };
        assert_eq!(at(Corner::TopLeft), (10, 10));
        assert_eq!(at(Corner::TopRight), (530, 10));
        assert_eq!(at(Corner::BottomLeft), (10, 420));
        assert_eq!(at(Corner::BottomRight), (530, 420));
        // Odd frame sizes still give even coordinates.
        let r = place(Corner::BottomRight, 641, 479, 100, 50);
        assert_eq!((r.x, r.y), (530, 418));
        assert_eq!(margin(1920, 1080), 22);
    }

    #[test]
    fn boxes_as_large_as_the_frame_start_at_zero() {
        for corner in [
            Corner::TopLeft,
            Corner::TopRight,
            Corner::BottomLeft,
            Corner::BottomRight,
        ] {
            let r = place(corner, 64, 32, 64, 32);
            assert_eq!((r.x, r.y), (0, 0), "{corner:?}");
            let r = place(corner, 64, 32, 60, 30);
            assert!(r.x >= 0 && r.x as u32 + 60 <= 64, "{corner:?}");
            assert!(r.y >= 0 && r.y as u32 + 30 <= 32, "{corner:?}");
        }
    }

    #[test]
    fn rect_contains_its_pixels_only() {
        let r = Rect {
            x: 2,
            y: 4,
            width: 3,
            height: 2,
        };
        assert!(r.contains(2, 4) && r.contains(4, 5));
        assert!(!r.contains(5, 4) && !r.contains(2, 6) && !r.contains(1, 4));
    }
}
