//! Boxes, their overlap, and the one-to-one assignment of a frame's boxes to the
//! objects of the frames before, best total overlap first (Hungarian method).

use pathfinding::prelude::{Matrix, kuhn_munkres};

/// A box in frame pixels: x, y, width, height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn new(x: f64, y: f64, w: f64, h: f64) -> Rect {
        Rect { x, y, w, h }
    }

    pub fn area(&self) -> f64 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    /// Intersection over union, 0 for boxes that do not overlap or have no area.
    pub fn iou(&self, other: &Rect) -> f64 {
        let w = (self.x + self.w).min(other.x + other.w) - self.x.max(other.x);
        let h = (self.y + self.h).min(other.y + other.h) - self.y.max(other.y);
        if w <= 0.0 || h <= 0.0 {
            return 0.0;
        }
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    /// The box moved by (dx, dy).
    pub fn shifted(&self, dx: f64, dy: f64) -> Rect {
        Rect {
            x: self.x + dx,
            y: self.y + dy,
            ..*self
        }
    }
}

/// Overlap is compared in steps of one millionth: the assignment works on integers.
const SCALE: f64 = 1_000_000.0;

/// For each of `boxes`, the index in `objects` it is assigned to: the assignment with
/// the largest total IoU, where a pair overlapping less than `min_iou` (or that
/// `allowed` refuses) counts as no pair.
pub fn associate(
    objects: &[Rect],
    boxes: &[Rect],
    min_iou: f64,
    allowed: impl Fn(usize, usize) -> bool,
) -> Vec<Option<usize>> {
    let mut assigned = vec![None; boxes.len()];
    if objects.is_empty() || boxes.is_empty() {
        return assigned;
    }
    let weight = |o: usize, b: usize| {
        let iou = objects[o].iou(&boxes[b]);
        if iou >= min_iou && allowed(o, b) {
            (iou * SCALE).round() as i64
        } else {
            0
        }
    };
    // The method wants no more rows than columns: the shorter list goes in rows.
    let by_box = boxes.len() <= objects.len();
    let (rows, cols) = if by_box {
        (boxes.len(), objects.len())
    } else {
        (objects.len(), boxes.len())
    };
    let weights = Matrix::from_fn(
        rows,
        cols,
        |(r, c)| {
            if by_box { weight(c, r) } else { weight(r, c) }
        },
    );
    let (_, columns) = kuhn_munkres(&weights);
    for (r, &c) in columns.iter().enumerate() {
        let (o, b) = if by_box { (c, r) } else { (r, c) };
        // Zero-weight pairs fill the assignment up; they are no match.
        if weight(o, b) > 0 {
            assigned[b] = Some(o);
        }
    }
    assigned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap() {
        let a = Rect::new(0.0, 0.0, 10.0, 10.0);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&Rect::new(10.0, 0.0, 10.0, 10.0)), 0.0);
        let half = a.iou(&Rect::new(5.0, 0.0, 10.0, 10.0));
        assert!((half - 50.0 / 150.0).abs() < 1e-12);
        assert_eq!(a.iou(&Rect::new(0.0, 0.0, 0.0, 0.0)), 0.0);
    }

    #[test]
    fn the_best_total_overlap_wins_over_the_greedy_choice() {
        // Box 0 overlaps object 0 a little more than object 1, but giving it object 0
        // would leave box 1 with nothing: the assignment gives each its own.
        let objects = [
            Rect::new(0.0, 0.0, 10.0, 10.0),
            Rect::new(4.0, 0.0, 10.0, 10.0),
        ];
        let boxes = [
            Rect::new(2.0, 0.0, 10.0, 10.0),
            Rect::new(-3.0, 0.0, 10.0, 10.0),
        ];
        assert_eq!(
            associate(&objects, &boxes, 0.1, |_, _| true),
            vec![Some(1), Some(0)]
        );
    }

    #[test]
    fn more_boxes_than_objects_and_too_little_overlap() {
        let objects = [Rect::new(0.0, 0.0, 10.0, 10.0)];
        let boxes = [
            Rect::new(50.0, 50.0, 10.0, 10.0),
            Rect::new(1.0, 1.0, 10.0, 10.0),
            Rect::new(8.0, 8.0, 10.0, 10.0),
        ];
        assert_eq!(
            associate(&objects, &boxes, 0.3, |_, _| true),
            vec![None, Some(0), None]
        );
        assert_eq!(
            associate(&objects, &boxes, 0.3, |_, b| b != 1),
            vec![None, None, None]
        );
        assert_eq!(associate(&[], &boxes, 0.3, |_, _| true), vec![None; 3]);
    }
}
