//! What `classifyoverlay` draws and where, decided without GStreamer, pango or cairo:
//! the text lines for a classification, the label box placement, colours and the key
//! that says whether the last rendering can be reused.

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

/// Text of one entry: the label, and the score as a whole percentage when `show_scores`.
pub fn entry_text(label: &str, score: f64, show_scores: bool) -> String {
    // One entry is one line: control characters (a newline in a labels file) become spaces.
    // Bidi controls go: an override in a label would reverse the score after it.
    let label: String = label
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string();
    let label = match label.as_str() {
        "" => "?".to_string(),
        // A right-to-left label would also make its line right-to-left and put the score
        // first; in an isolate its direction stays its own. ASCII has no right-to-left
        // letters, so the usual labels are drawn as they are.
        l if !l.is_ascii() => format!("{FSI}{l}{PDI}"),
        l => l.to_string(),
    };
    if show_scores {
        format!("{label}  {:.0}%", (score * 100.0).clamp(0.0, 100.0))
    } else {
        label.to_string()
    }
}

/// Unicode's first strong isolate and pop directional isolate.
const FSI: char = '\u{2068}';
const PDI: char = '\u{2069}';

/// The characters that change the direction of the text after them: embeddings and
/// overrides (U+202A–U+202E), isolates (U+2066–U+2069) and the marks (U+200E, U+200F,
/// U+061C).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The lines to draw for one classification, best first: entries scoring below
/// `min_score` (or not a number) are left out. Empty when there is nothing to show.
pub fn lines(labels: &[String], scores: &[f64], show_scores: bool, min_score: f64) -> Vec<String> {
    labels
        .iter()
        .zip(scores)
        .filter(|(_, score)| score.is_finite() && **score >= min_score)
        .map(|(label, &score)| entry_text(label, score, show_scores))
        .collect()
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

/// Width of a region's outline on a `frame_height`-line frame: 2 pixels on 480 lines,
/// growing like the font (4 at 1080p), always even so that the outline covers whole
/// chroma samples.
pub fn outline_width(frame_height: u32) -> u32 {
    even_down((2.0 * font_scale(frame_height)).round() as u32).max(2)
}

/// The rectangle to outline for a region `(x, y, width, height)` of a
/// `frame_width`×`frame_height` frame: clipped to the frame and widened to even
/// coordinates and an even size (left and top edges rounded down, right and bottom edges
/// rounded up, never past the even part of the frame). `None` when nothing is left.
pub fn region_rect(
    (x, y, width, height): (u32, u32, u32, u32),
    frame_width: u32,
    frame_height: u32,
) -> Option<Rect> {
    let span = |start: u32, size: u32, frame: u32| {
        let room = even_down(frame);
        let end = even_up(start.saturating_add(size).min(frame)).min(room);
        let start = even_down(start).min(room);
        (size > 0 && end > start).then_some((start, end - start))
    };
    let (x, width) = span(x, width, frame_width)?;
    let (y, height) = span(y, height, frame_height)?;
    Some(Rect {
        x: i32::try_from(x).ok()?,
        y: i32::try_from(y).ok()?,
        width,
        height,
    })
}

/// The outline of `rect` as up to four filled bands `thickness` wide: top and bottom
/// across the whole width, left and right between them. A rectangle too small for a
/// hollow outline is one filled band.
pub fn outline(rect: Rect, thickness: u32) -> Vec<Rect> {
    let t = thickness.max(1);
    if rect.width <= 2 * t || rect.height <= 2 * t {
        return vec![rect];
    }
    let (right, bottom) = (
        rect.x + (rect.width - t) as i32,
        rect.y + (rect.height - t) as i32,
    );
    let side = rect.height - 2 * t;
    vec![
        Rect { height: t, ..rect },
        Rect {
            y: bottom,
            height: t,
            ..rect
        },
        Rect {
            y: rect.y + t as i32,
            width: t,
            height: side,
            ..rect
        },
        Rect {
            x: right,
            y: rect.y + t as i32,
            width: t,
            height: side,
        },
    ]
}

/// Where the label box of a region outlined at `region` goes: at the region's top-left
/// corner (over the outline's corner), moved left or up where it would leave the frame,
/// on even coordinates. `box_width`/`box_height` come from [`box_size`], so they fit.
pub fn place_region_label(
    region: Rect,
    box_width: u32,
    box_height: u32,
    frame_width: u32,
    frame_height: u32,
) -> Rect {
    let fit = |start: i32, size: u32, frame: u32| {
        let start = u32::try_from(start).unwrap_or(0);
        let last = even_down(frame.saturating_sub(size));
        i32::try_from(even_down(start.min(last))).unwrap_or(0)
    };
    Rect {
        x: fit(region.x, box_width, frame_width),
        y: fit(region.y, box_height, frame_height),
        width: box_width,
        height: box_height,
    }
}

/// One classified region as drawn: its outline and the text of its best label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionBox {
    pub rect: Rect,
    pub label: String,
}

/// The box to draw for a region with `labels`/`scores` (best first): `None` when its best
/// label scores below `min_score` (the region is not drawn at all then), or when the
/// region has no labels or no pixel in the frame.
pub fn region_box(
    rect: (u32, u32, u32, u32),
    labels: &[String],
    scores: &[f64],
    show_scores: bool,
    min_score: f64,
    frame_width: u32,
    frame_height: u32,
) -> Option<RegionBox> {
    let label = lines(
        labels.get(..1).unwrap_or_default(),
        scores.get(..1).unwrap_or_default(),
        show_scores,
        min_score,
    )
    .pop()?;
    Some(RegionBox {
        rect: region_rect(rect, frame_width, frame_height)?,
        label,
    })
}

/// The box to draw for a zone (`target=zones`): labelled with its name, then its best
/// label as `region_box` shows it. Unlike a detection, a zone is a place the user drew,
/// so it is outlined with its name even when no label is shown (none passed
/// `threshold` or `min-score`): an empty place is news too.
#[allow(clippy::too_many_arguments)]
pub fn zone_box(
    name: &str,
    rect: (u32, u32, u32, u32),
    labels: &[String],
    scores: &[f64],
    show_scores: bool,
    min_score: f64,
    frame_width: u32,
    frame_height: u32,
) -> Option<RegionBox> {
    match region_box(
        rect,
        labels,
        scores,
        show_scores,
        min_score,
        frame_width,
        frame_height,
    ) {
        Some(b) => Some(RegionBox {
            label: format!("{name}: {}", b.label),
            ..b
        }),
        None => Some(RegionBox {
            rect: region_rect(rect, frame_width, frame_height)?,
            label: name.to_string(),
        }),
    }
}

/// The top-level lines for the results of several classifiers, each `(id, lines)` in the
/// order the classifiers ran. With more than one classifier showing lines, each block
/// starts with a line naming its classifier, so the stacked labels can be told apart.
pub fn stacked_lines(blocks: &[(String, Vec<String>)]) -> Vec<String> {
    let shown: Vec<&(String, Vec<String>)> = blocks.iter().filter(|(_, l)| !l.is_empty()).collect();
    if shown.len() <= 1 {
        return shown.first().map(|(_, l)| l.clone()).unwrap_or_default();
    }
    shown
        .iter()
        .flat_map(|(id, lines)| {
            std::iter::once(format!("{}:", entry_text(id, 0.0, false))).chain(lines.iter().cloned())
        })
        .collect()
}

/// Separates the best labels of several classifiers in one region's label.
pub const REGION_LABEL_SEPARATOR: &str = "  |  ";

/// One box per region from the boxes of several classifiers, keyed by the ROI id and
/// the classified rectangle (ids alone may repeat): a region classified twice gets one
/// outline whose label joins every classifier's best label, in classifier order.
pub fn merged_regions(boxes: impl IntoIterator<Item = (i32, RegionBox)>) -> Vec<RegionBox> {
    let mut merged: Vec<(i32, RegionBox)> = Vec::new();
    for (id, b) in boxes {
        match merged
            .iter_mut()
            .find(|(i, m)| *i == id && m.rect == b.rect)
        {
            Some((_, m)) => {
                m.label.push_str(REGION_LABEL_SEPARATOR);
                m.label.push_str(&b.label);
            }
            None => merged.push((id, b)),
        }
    }
    merged.into_iter().map(|(_, b)| b).collect()
}

/// Everything a rendering depends on. When the key of a frame equals the key of the
/// last rendering, the last overlay is reused as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderKey {
    pub lines: Vec<String>,
    pub font_desc: String,
    pub corner: Corner,
    pub text_color: u32,
    pub background_color: u32,
    pub frame_width: u32,
    pub frame_height: u32,
    /// One per classified region shown, in the order of the meta (drawn in that order).
    pub regions: Vec<RegionBox>,
}

impl RenderKey {
    /// Nothing to draw: no top-level line and no region.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.regions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lines_show_percentages_best_first() {
        let got = lines(
            &strings(&["espresso", "cup", "soup bowl"]),
            &[0.994, 0.0051, 0.0004],
            true,
            0.0,
        );
        assert_eq!(got, strings(&["espresso  99%", "cup  1%", "soup bowl  0%"]));
    }

    #[test]
    fn lines_without_scores_are_just_labels() {
        let got = lines(&strings(&["espresso", "cup"]), &[0.9, 0.1], false, 0.0);
        assert_eq!(got, strings(&["espresso", "cup"]));
    }

    #[test]
    fn min_score_hides_entries_below_it_but_keeps_equal_ones() {
        let got = lines(&strings(&["a", "b", "c"]), &[0.5, 0.25, 0.2499], true, 0.25);
        assert_eq!(got, strings(&["a  50%", "b  25%"]));
        assert!(lines(&strings(&["a"]), &[0.1], true, 0.5).is_empty());
    }

    #[test]
    fn broken_entries_are_safe() {
        // NaN scores are hidden, mismatched lengths stop at the shorter list, empty or
        // multi-line labels stay on one line.
        let got = lines(
            &strings(&["", "two\nlines", "nan", "extra"]),
            &[0.5, 1.5, f64::NAN],
            true,
            0.0,
        );
        assert_eq!(got, strings(&["?  50%", "two lines  100%"]));
    }

    #[test]
    fn labels_cannot_change_the_direction_of_their_line() {
        // The override, embedding, isolate and mark characters are dropped; what is left
        // of a label that is not ASCII is isolated.
        let controls = "\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}\u{200E}\u{200F}\u{061C}";
        assert_eq!(
            entry_text(&format!("cup{controls}"), 0.62, true),
            "cup  62%"
        );
        assert_eq!(entry_text(controls, 0.62, true), "?  62%");
        assert_eq!(
            entry_text("\u{202E}\u{5e7}\u{5e4}\u{5d4} ", 0.62, true),
            "\u{2068}\u{5e7}\u{5e4}\u{5d4}\u{2069}  62%"
        );
        assert_eq!(
            entry_text("caf\u{e9}", 0.5, false),
            "\u{2068}caf\u{e9}\u{2069}"
        );
    }

    #[test]
    fn rounding_decides_whether_the_text_changes() {
        // Scores that differ only below the shown precision give the same text, so the
        // overlay is not re-rendered for them.
        assert_eq!(entry_text("x", 0.9912, true), entry_text("x", 0.9938, true));
        assert_ne!(entry_text("x", 0.9912, true), entry_text("x", 0.9951, true));
    }

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

    fn rect(x: i32, y: i32, width: u32, height: u32) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    fn even(r: Rect) -> bool {
        [r.x.unsigned_abs(), r.y.unsigned_abs(), r.width, r.height]
            .iter()
            .all(|v| v.is_multiple_of(2))
    }

    #[test]
    fn outlines_grow_with_the_frame_and_stay_even() {
        assert_eq!(outline_width(240), 2);
        assert_eq!(outline_width(480), 2);
        assert_eq!(outline_width(720), 2);
        assert_eq!(outline_width(1080), 4);
        assert_eq!(outline_width(2160), 8);
    }

    #[test]
    fn region_rects_are_clipped_and_widened_to_even_pixels() {
        assert_eq!(
            region_rect((100, 80, 200, 150), 640, 480),
            Some(rect(100, 80, 200, 150))
        );
        // Odd edges widen outwards: 101..=301 becomes 100..302.
        assert_eq!(
            region_rect((101, 81, 201, 149), 640, 480),
            Some(rect(100, 80, 202, 150))
        );
        // Past the border: clipped to the frame, and to its even part on odd frames.
        assert_eq!(
            region_rect((600, 440, 100, 100), 640, 480),
            Some(rect(600, 440, 40, 40))
        );
        assert_eq!(
            region_rect((600, 440, 100, 100), 641, 479),
            Some(rect(600, 440, 40, 38))
        );
        // A single pixel becomes the 2×2 block it lies in.
        assert_eq!(region_rect((5, 5, 1, 1), 640, 480), Some(rect(4, 4, 2, 2)));
        // Nothing left: empty, outside, or only in the odd last column.
        assert_eq!(region_rect((10, 10, 0, 5), 640, 480), None);
        assert_eq!(region_rect((700, 10, 5, 5), 640, 480), None);
        assert_eq!(region_rect((640, 10, 1, 5), 641, 480), None);
        assert_eq!(region_rect((u32::MAX, 0, u32::MAX, 5), 640, 480), None);
    }

    #[test]
    fn outlines_are_four_even_bands_on_the_rectangle_edge() {
        let r = rect(100, 80, 200, 150);
        let bands = outline(r, 2);
        assert_eq!(
            bands,
            vec![
                rect(100, 80, 200, 2),
                rect(100, 228, 200, 2),
                rect(100, 82, 2, 146),
                rect(298, 82, 2, 146),
            ]
        );
        assert!(bands.iter().all(|&b| even(b)));
        // Every pixel of the edge is covered once; the inside is not.
        let covered = |x, y| bands.iter().filter(|b| b.contains(x, y)).count();
        for x in 100..300 {
            assert_eq!((covered(x, 80), covered(x, 229)), (1, 1));
        }
        for y in 80..230 {
            assert_eq!((covered(100, y), covered(299, y)), (1, 1));
        }
        assert_eq!(covered(102, 82) + covered(200, 150) + covered(297, 227), 0);
        // Too small to be hollow: one filled band.
        assert_eq!(outline(rect(4, 4, 4, 40), 2), vec![rect(4, 4, 4, 40)]);
        assert_eq!(outline(rect(4, 4, 2, 2), 2), vec![rect(4, 4, 2, 2)]);
    }

    #[test]
    fn region_labels_sit_at_the_top_left_inside_the_frame() {
        let at = |region, w, h| {
            let r = place_region_label(region, w, h, 640, 480);
            assert!(even(r), "{r:?}");
            assert!(r.x >= 0 && r.x as u32 + w <= 640, "{r:?}");
            assert!(r.y >= 0 && r.y as u32 + h <= 480, "{r:?}");
            (r.x, r.y)
        };
        assert_eq!(at(rect(100, 80, 200, 150), 120, 30), (100, 80));
        // At the right and bottom borders the label moves left and up.
        assert_eq!(at(rect(600, 440, 40, 40), 120, 50), (520, 430));
        assert_eq!(at(rect(638, 478, 2, 2), 120, 30), (520, 450));
        // A label as large as the frame starts at 0.
        assert_eq!(at(rect(300, 300, 20, 20), 640, 480), (0, 0));
        // Odd frames: still even, still inside.
        let r = place_region_label(rect(600, 440, 40, 38), 120, 40, 641, 479);
        assert_eq!((r.x, r.y), (520, 438));
    }

    #[test]
    fn region_boxes_show_the_best_label_above_min_score_only() {
        let labels = strings(&["tabby", "tiger cat"]);
        let b = region_box(
            (101, 80, 50, 50),
            &labels,
            &[0.62, 0.3],
            true,
            0.5,
            640,
            480,
        )
        .expect("shown");
        assert_eq!(b.label, "tabby  62%");
        assert_eq!(b.rect, rect(100, 80, 52, 50));
        let b = region_box((0, 0, 8, 8), &labels, &[0.62, 0.3], false, 0.0, 640, 480);
        assert_eq!(b.map(|b| b.label).as_deref(), Some("tabby"));
        // Below min-score, without labels, or outside the frame: not drawn at all.
        assert_eq!(
            region_box((0, 0, 8, 8), &labels, &[0.62, 0.3], true, 0.7, 640, 480),
            None
        );
        assert_eq!(
            region_box((0, 0, 8, 8), &[], &[], true, 0.0, 640, 480),
            None
        );
        assert_eq!(
            region_box((0, 0, 8, 8), &labels, &[f64::NAN, 0.3], true, 0.0, 640, 480),
            None
        );
        assert_eq!(
            region_box((900, 0, 8, 8), &labels, &[0.62, 0.3], true, 0.0, 640, 480),
            None
        );
    }

    #[test]
    fn one_classifier_is_drawn_as_before_several_are_named() {
        let one = vec![("mobilenet".to_string(), vec!["espresso  90%".to_string()])];
        assert_eq!(stacked_lines(&one), vec!["espresso  90%"]);
        let two = vec![
            ("vehicle".to_string(), vec!["car  80%".to_string()]),
            ("empty".to_string(), vec![]),
            (
                "colour".to_string(),
                vec!["red  70%".to_string(), "blue  20%".to_string()],
            ),
        ];
        assert_eq!(
            stacked_lines(&two),
            vec!["vehicle:", "car  80%", "colour:", "red  70%", "blue  20%"]
        );
        assert!(stacked_lines(&[]).is_empty());
    }

    #[test]
    fn a_zone_box_is_labelled_with_its_name_and_drawn_even_without_a_label() {
        let labels = strings(&["espresso", "cup"]);
        let zone = |labels: &[String], min_score| {
            zone_box(
                "counter",
                (0, 0, 8, 8),
                labels,
                &[0.62, 0.3],
                true,
                min_score,
                640,
                480,
            )
            .map(|b| b.label)
        };
        assert_eq!(
            zone(&labels, 0.0),
            Some(format!("counter: {}", entry_text("espresso", 0.62, true)))
        );
        // An empty zone is still outlined, with its name alone; one outside is not.
        assert_eq!(zone(&labels, 0.7), Some("counter".to_string()));
        assert_eq!(zone(&[], 0.0), Some("counter".to_string()));
        assert_eq!(
            zone_box("far", (900, 0, 8, 8), &labels, &[0.62], true, 0.0, 640, 480),
            None
        );
    }

    #[test]
    fn regions_classified_twice_get_one_box_with_both_labels() {
        let rect = Rect {
            x: 10,
            y: 10,
            width: 20,
            height: 20,
        };
        let other = Rect { x: 40, ..rect };
        let b = |rect, label: &str| RegionBox {
            rect,
            label: label.into(),
        };
        let merged = merged_regions([
            (0, b(rect, "car")),
            (0, b(other, "cat")),
            (0, b(rect, "red")),
            (0, b(other, "grey")),
        ]);
        assert_eq!(
            merged,
            vec![b(rect, "car  |  red"), b(other, "cat  |  grey")]
        );
    }
}
