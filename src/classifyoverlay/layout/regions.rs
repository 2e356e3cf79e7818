//! Classified regions and zones: their outlines, where their labels go, and one box per
//! region when several classifiers classified it.

use super::geometry::{Rect, even_down, even_up, font_scale};
use super::text::lines;

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
/// on even coordinates. `box_width`/`box_height` come from
/// [`box_size`](super::geometry::box_size), so they fit.
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

/// What every region of a frame is drawn with: whether labels show their score, the
/// lowest score shown (`min-score`), and the frame the outlines are clipped to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionSettings {
    pub show_scores: bool,
    pub min_score: f64,
    pub frame_width: u32,
    pub frame_height: u32,
}

impl RegionSettings {
    fn region_rect(&self, rect: (u32, u32, u32, u32)) -> Option<Rect> {
        region_rect(rect, self.frame_width, self.frame_height)
    }
}

/// The box to draw for a region with `labels`/`scores` (best first): `None` when its best
/// label scores below `min_score` (the region is not drawn at all then), or when the
/// region has no labels or no pixel in the frame.
pub fn region_box(
    rect: (u32, u32, u32, u32),
    labels: &[String],
    scores: &[f64],
    settings: &RegionSettings,
) -> Option<RegionBox> {
    let label = lines(
        labels.get(..1).unwrap_or_default(),
        scores.get(..1).unwrap_or_default(),
        settings.show_scores,
        settings.min_score,
    )
    .pop()?;
    Some(RegionBox {
        rect: settings.region_rect(rect)?,
        label,
    })
}

/// The box to draw for a zone (`target=zones`): labelled with its name, then its best
/// label as `region_box` shows it. Unlike a detection, a zone is a place the user drew,
/// so it is outlined with its name even when no label is shown (none passed
/// `threshold` or `min-score`): an empty place is news too.
pub fn zone_box(
    name: &str,
    rect: (u32, u32, u32, u32),
    labels: &[String],
    scores: &[f64],
    settings: &RegionSettings,
) -> Option<RegionBox> {
    match region_box(rect, labels, scores, settings) {
        Some(b) => Some(RegionBox {
            label: format!("{name}: {}", b.label),
            ..b
        }),
        None => Some(RegionBox {
            rect: settings.region_rect(rect)?,
            label: name.to_string(),
        }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifyoverlay::layout::text::entry_text;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Region settings for a 640×480 frame.
    fn vga(show_scores: bool, min_score: f64) -> RegionSettings {
        RegionSettings {
            show_scores,
            min_score,
            frame_width: 640,
            frame_height: 480,
        }
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
        let b =
            region_box((101, 80, 50, 50), &labels, &[0.62, 0.3], &vga(true, 0.5)).expect("shown");
        assert_eq!(b.label, "tabby  62%");
        assert_eq!(b.rect, rect(100, 80, 52, 50));
        let b = region_box((0, 0, 8, 8), &labels, &[0.62, 0.3], &vga(false, 0.0));
        assert_eq!(b.map(|b| b.label).as_deref(), Some("tabby"));
        // Below min-score, without labels, or outside the frame: not drawn at all.
        assert_eq!(
            region_box((0, 0, 8, 8), &labels, &[0.62, 0.3], &vga(true, 0.7)),
            None
        );
        assert_eq!(region_box((0, 0, 8, 8), &[], &[], &vga(true, 0.0)), None);
        assert_eq!(
            region_box((0, 0, 8, 8), &labels, &[f64::NAN, 0.3], &vga(true, 0.0)),
            None
        );
        assert_eq!(
            region_box((900, 0, 8, 8), &labels, &[0.62, 0.3], &vga(true, 0.0)),
            None
        );
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
                &vga(true, min_score),
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
            zone_box("far", (900, 0, 8, 8), &labels, &[0.62], &vga(true, 0.0)),
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
