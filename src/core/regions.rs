//! Which regions of interest get classified: type filter, minimum size, the largest
//! first up to a maximum, clipped to the frame.

use crate::core::preprocess::Region;
use crate::result::RegionResult;

/// A region of interest to classify, clipped to the frame.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionInput {
    pub roi_id: i32,
    pub roi_type: String,
    pub region: Region,
}

/// A detection as found on the buffer: id, type and its rectangle (x, y, w, h).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub roi_id: i32,
    pub roi_type: String,
    pub rect: (i64, i64, i64, i64),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Classify only these ROI types; empty = all.
    pub types: Vec<String>,
    /// Skip regions narrower or lower than this (after clipping), in pixels.
    pub min_size: (u32, u32),
    /// At most this many per frame, the largest first; 0 = no limit.
    pub max_regions: u32,
}

impl Selection {
    pub fn select(
        &self,
        candidates: &[Candidate],
        frame_w: usize,
        frame_h: usize,
    ) -> Vec<RegionInput> {
        let mut chosen: Vec<RegionInput> = candidates
            .iter()
            .filter(|c| self.types.is_empty() || self.types.contains(&c.roi_type))
            .filter_map(|c| {
                let (x, y, w, h) = c.rect;
                let region = Region::clipped((x, y, w, h), (frame_w, frame_h))?;
                (region.width >= self.min_size.0 as usize
                    && region.height >= self.min_size.1 as usize)
                    .then(|| RegionInput {
                        roi_id: c.roi_id,
                        roi_type: c.roi_type.clone(),
                        region,
                    })
            })
            .collect();
        // Stable: equal areas keep upstream's order.
        chosen.sort_by_key(|r| std::cmp::Reverse(r.region.width * r.region.height));
        if self.max_regions > 0 {
            chosen.truncate(self.max_regions as usize);
        }
        chosen
    }
}

/// Parses "WxH" (e.g. "32x32"); a single number means a square.
pub fn parse_size(text: &str) -> Option<(u32, u32)> {
    let t = text.trim();
    match t.split_once(['x', 'X', '×']) {
        Some((w, h)) => Some((w.trim().parse().ok()?, h.trim().parse().ok()?)),
        None => t.parse().ok().map(|v| (v, v)),
    }
}

/// Parses a comma-separated list of ROI types; blanks are dropped.
pub fn parse_types(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// For each ROI on a buffer (in the order given), the index in `regions` of the result
/// that belongs to it. Detectors often leave every id at 0, so ids alone cannot say.
/// A region belongs to the ROI it was cut from: same id and type, and its rectangle is
/// the ROI's clipped to the frame (exactly, or cut short at the right or bottom edge).
/// A result carried to a later frame, where the object has moved, goes by id alone, and
/// only where that id is on one ROI and one region. Each region goes to one ROI at most.
pub fn owners(rois: &[Candidate], regions: &[RegionResult]) -> Vec<Option<usize>> {
    let mut owner = vec![None; rois.len()];
    let mut taken = vec![false; regions.len()];
    let clipped_from = |roi: &Candidate, r: &RegionResult, exact: bool| {
        let (x, y, w, h) = roi.rect;
        let (rx, ry, rw, rh) = (
            r.rect.0 as i64,
            r.rect.1 as i64,
            r.rect.2 as i64,
            r.rect.3 as i64,
        );
        let (right, bottom) = (x.saturating_add(w), y.saturating_add(h));
        let ends = if exact {
            rx + rw == right && ry + rh == bottom
        } else {
            rx + rw <= right && ry + rh <= bottom
        };
        roi.roi_id == r.roi_id
            && roi.roi_type == r.roi_type
            && rx == x.max(0)
            && ry == y.max(0)
            && ends
    };
    for exact in [true, false] {
        for (i, roi) in rois.iter().enumerate() {
            if owner[i].is_some() {
                continue;
            }
            if let Some(j) =
                (0..regions.len()).find(|&j| !taken[j] && clipped_from(roi, &regions[j], exact))
            {
                owner[i] = Some(j);
                taken[j] = true;
            }
        }
    }
    let once = |id: i32| {
        rois.iter().filter(|r| r.roi_id == id).count() == 1
            && regions.iter().filter(|r| r.roi_id == id).count() == 1
    };
    for (i, roi) in rois.iter().enumerate() {
        if owner[i].is_none()
            && once(roi.roi_id)
            && let Some(j) =
                (0..regions.len()).find(|&j| !taken[j] && regions[j].roi_id == roi.roi_id)
        {
            owner[i] = Some(j);
            taken[j] = true;
        }
    }
    owner
}

/// Whether `id` is on exactly one of `regions`: only then is it a key that follows one
/// object from frame to frame (smoothing, carried results).
pub fn unique_id(regions: &[RegionInput], id: i32) -> bool {
    regions.iter().filter(|r| r.roi_id == id).count() == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: i32, ty: &str, rect: (i64, i64, i64, i64)) -> Candidate {
        Candidate {
            roi_id: id,
            roi_type: ty.into(),
            rect,
        }
    }

    #[test]
    fn filters_clips_and_orders_by_area() {
        let c = [
            cand(1, "car", (10, 10, 20, 20)),
            cand(2, "person", (0, 0, 50, 50)),
            cand(3, "car", (90, 70, 30, 30)), // clipped to 10x10
            cand(4, "car", (5, 5, 0, 10)),    // empty
            cand(5, "car", (500, 5, 10, 10)), // outside
            cand(6, "car", (50, 20, 40, 40)),
        ];
        let all = Selection::default().select(&c, 100, 80);
        assert_eq!(
            all.iter().map(|r| r.roi_id).collect::<Vec<_>>(),
            vec![2, 6, 1, 3]
        );
        assert_eq!(
            all[3].region,
            Region {
                x: 90,
                y: 70,
                width: 10,
                height: 10
            }
        );
        let cars = Selection {
            types: vec!["car".into()],
            min_size: (15, 15),
            max_regions: 1,
        }
        .select(&c, 100, 80);
        assert_eq!(cars.iter().map(|r| r.roi_id).collect::<Vec<_>>(), vec![6]);
    }

    fn result(id: i32, rect: (u32, u32, u32, u32), label: &str) -> RegionResult {
        RegionResult {
            roi_id: id,
            roi_type: "car".into(),
            rect,
            labels: vec![label.into()],
            class_ids: vec![0],
            scores: vec![1.0],
            embedding: None,
            track: None,
        }
    }

    #[test]
    fn results_go_to_the_roi_they_were_cut_from_even_when_ids_repeat() {
        let rois = [
            cand(0, "car", (10, 10, 20, 20)),
            cand(0, "car", (-5, 50, 30, 40)), // clipped at the left and the bottom
            cand(0, "car", (60, 60, 10, 10)), // not classified
        ];
        // Largest first, as classified.
        let regions = [
            result(0, (0, 50, 25, 30), "b"),
            result(0, (10, 10, 20, 20), "a"),
        ];
        assert_eq!(owners(&rois, &regions), vec![Some(1), Some(0), None]);
    }

    #[test]
    fn a_moved_object_keeps_its_result_by_id_only_when_the_id_is_unique() {
        let rois = [
            cand(7, "car", (12, 10, 20, 20)),
            cand(0, "car", (40, 40, 9, 9)),
        ];
        let regions = [
            result(7, (10, 10, 20, 20), "a"),
            result(0, (41, 40, 9, 9), "b"),
        ];
        assert_eq!(owners(&rois, &regions), vec![Some(0), Some(1)]);
        let twice = [
            cand(0, "car", (12, 10, 20, 20)),
            cand(0, "car", (40, 40, 9, 9)),
        ];
        let regions = [
            result(0, (10, 10, 20, 20), "a"),
            result(0, (41, 40, 9, 9), "b"),
        ];
        assert_eq!(owners(&twice, &regions), vec![None, None]);
    }

    #[test]
    fn sizes_and_types_parse() {
        assert_eq!(parse_size("32x24"), Some((32, 24)));
        assert_eq!(parse_size(" 16 "), Some((16, 16)));
        assert_eq!(parse_size("8X9"), Some((8, 9)));
        assert_eq!(parse_size("big"), None);
        assert_eq!(parse_size("-1x3"), None);
        assert_eq!(parse_types(" car, person ,,"), vec!["car", "person"]);
        assert!(parse_types("").is_empty());
    }
}
