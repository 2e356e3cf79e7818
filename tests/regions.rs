//! Region mode: detections upstream (ROI metas) are classified in one batch each frame.

use crate::common;

use gst::prelude::*;
use gstimgclassify::Classification;
use gstimgclassify::gst;

const W: usize = 1280;
const H: usize = 720;

/// Coffee at (40, 60), the cat at (760, 300) on grey, with their ROI metas and others.
/// An ROI meta to add: id, type, rectangle.
type Roi<'a> = (i32, &'a str, (u32, u32, u32, u32));

fn composite(extra: &[Roi]) -> gst::Buffer {
    composite_with_ids([1, 2], extra)
}

/// The composite with the ids given to the coffee's and the cat's ROI.
fn composite_with_ids(ids: [i32; 2], extra: &[Roi]) -> gst::Buffer {
    let mut frame = vec![128u8; W * H * 3];
    for (name, x0, y0) in [("coffee.png", 40, 60), ("chelsea.png", 760, 300)] {
        let (w, h, rgb) = common::photo_rgb(name);
        for row in 0..h {
            let at = ((y0 + row) * W + x0) * 3;
            frame[at..at + w * 3].copy_from_slice(&rgb[row * w * 3..(row + 1) * w * 3]);
        }
    }
    let mut buffer = gst::Buffer::from_mut_slice(frame);
    {
        let b = buffer.get_mut().expect("writable");
        b.set_pts(gst::ClockTime::ZERO);
        let rois = [
            (ids[0], "object", (40, 60, 600, 400)),
            (ids[1], "object", (760, 300, 451, 300)),
        ];
        for (id, ty, rect) in rois.iter().chain(extra) {
            let mut roi = gst_video::VideoRegionOfInterestMeta::add(b, ty, *rect);
            roi.set_id(*id);
        }
    }
    buffer
}

fn harness(props: &[(&str, &str)]) -> gst_check::Harness {
    common::regions_harness(props, (W, H))
}

/// The ROI ids listed in the frame meta, in the order classified.
fn region_ids(buffer: &gst::BufferRef) -> Vec<i32> {
    Classification::from_buffer(buffer)
        .expect("meta")
        .regions
        .iter()
        .map(|r| r.roi_id)
        .collect()
}

fn roi_top1(buffer: &gst::BufferRef, id: i32) -> Option<String> {
    let roi = buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .find(|r| r.id() == id)?;
    let param = roi.param("imgclassify")?;
    let labels = param.get::<gst::Array>("labels").ok()?;
    labels.first()?.get::<String>().ok()
}

#[test]
fn two_photos_in_one_frame_are_told_apart_in_one_batch() {
    let mut h = harness(&[]);
    let input = composite(&[]);
    let original = input.copy_deep().expect("copy");
    let out = h.push_and_pull(input).expect("out");
    assert_eq!(roi_top1(&out, 1).as_deref(), Some("espresso"));
    let cat = roi_top1(&out, 2).expect("cat labelled");
    assert!(
        ["Egyptian cat", "tiger cat", "tabby"].contains(&cat.as_str()),
        "{cat}"
    );
    // Pixels untouched.
    assert!(
        original.map_readable().expect("map").as_slice()
            == out.map_readable().expect("map").as_slice()
    );
    // Frame-level meta lists both regions with their ids.
    let meta = Classification::from_buffer(&out).expect("frame meta");
    assert!(meta.labels.is_empty());
    let ids: Vec<i32> = meta.regions.iter().map(|r| r.roi_id).collect();
    assert_eq!(ids, vec![1, 2], "largest first");
    assert_eq!(meta.regions[0].rect, (40, 60, 600, 400));
    let stats = h
        .element()
        .expect("element")
        .property::<gst::Structure>("stats");
    assert_eq!(
        stats.get::<u64>("inference-calls").expect("field"),
        1,
        "one batched call"
    );
    assert_eq!(stats.get::<u64>("regions-classified").expect("field"), 2);
}

#[test]
fn border_empty_and_tiny_regions_are_handled() {
    let mut h = harness(&[]);
    let input = composite(&[
        (3, "object", (1200, 650, 200, 200)), // partly outside: clipped to 80x70
        (4, "object", (100, 100, 0, 0)),      // empty: skipped
        (5, "object", (0, 0, 1, 1)),          // 1x1: classified
        (6, "object", (5000, 5000, 10, 10)),  // outside: skipped
    ]);
    let out = h.push_and_pull(input).expect("out");
    let meta = Classification::from_buffer(&out).expect("meta");
    let mut ids: Vec<i32> = meta.regions.iter().map(|r| r.roi_id).collect();
    ids.sort();
    assert_eq!(ids, vec![1, 2, 3, 5]);
    let clipped = meta
        .regions
        .iter()
        .find(|r| r.roi_id == 3)
        .expect("clipped region");
    assert_eq!(clipped.rect, (1200, 650, 80, 70));
    assert!(roi_top1(&out, 4).is_none() && roi_top1(&out, 6).is_none());
    assert!(roi_top1(&out, 5).is_some());
}

#[test]
fn type_size_and_count_filters_apply() {
    let extra = [
        (3, "face", (300, 500, 64, 64)),
        (4, "face", (900, 100, 16, 16)),
    ];
    let mut h = harness(&[("region-types", "face"), ("min-region-size", "32x32")]);
    let out = h.push_and_pull(composite(&extra)).expect("out");
    assert_eq!(region_ids(&out), vec![3]);
    let mut h = harness(&[("max-regions", "1")]);
    let out = h.push_and_pull(composite(&extra)).expect("out");
    assert_eq!(region_ids(&out), vec![1], "the largest region");
}

#[test]
fn with_an_interval_regions_carry_their_labels_by_id() {
    let mut h = harness(&[("inference-interval", "2")]);
    let first = h.push_and_pull(composite(&[])).expect("out");
    let second = h.push_and_pull(composite(&[])).expect("out");
    assert_eq!(roi_top1(&first, 1).as_deref(), Some("espresso"));
    assert_eq!(roi_top1(&second, 1).as_deref(), Some("espresso"));
    assert!(!Classification::from_buffer(&second).expect("meta").fresh);
    let stats = h
        .element()
        .expect("element")
        .property::<gst::Structure>("stats");
    assert_eq!(stats.get::<u64>("inference-calls").expect("field"), 1);
}

/// `mode=async`: the regions are prepared on the streaming thread and classified on the
/// inference thread; a later buffer carries the answer to its ROIs by id.
#[test]
fn async_regions_are_answered_later_and_carried_to_the_rois_by_id() {
    // `mode` is read when the element starts: set in the launch line, before that.
    let (mut h, bus) = common::harness("imgclassify name=c target=regions mode=async max-batch=1");
    h.play();
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={W},height={H},framerate=30/1"
    ));
    let frame = composite(&[]);
    let out = common::first_answer(&mut h, &bus, 400, || frame.copy())
        .expect("an answer within 400 frames");
    assert_eq!(roi_top1(&out, 1).as_deref(), Some("espresso"));
    let cat = roi_top1(&out, 2).expect("cat labelled");
    assert!(
        ["Egyptian cat", "tiger cat", "tabby"].contains(&cat.as_str()),
        "{cat}"
    );
    assert_eq!(region_ids(&out), vec![1, 2]);
    let stats = common::named(&h, "c").property::<gst::Structure>("stats");
    let calls = stats.get::<u64>("inference-calls").expect("field");
    let regions = stats.get::<u64>("regions-classified").expect("field");
    assert_eq!(calls, regions, "max-batch=1: one call per region; {stats}");
    assert!(regions >= 2 && regions % 2 == 0, "{stats}");
}

/// Top-1 label of the ROI meta with rectangle `rect`.
fn roi_top1_at(buffer: &gst::BufferRef, rect: (u32, u32, u32, u32)) -> Option<String> {
    let roi = buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .find(|r| r.rect() == rect)?;
    let param = roi.param("imgclassify")?;
    let labels = param.get::<gst::Array>("labels").ok()?;
    labels.first()?.get::<String>().ok()
}

const COFFEE: (u32, u32, u32, u32) = (40, 60, 600, 400);
const CAT: (u32, u32, u32, u32) = (760, 300, 451, 300);
const CATS: [&str; 3] = ["Egyptian cat", "tiger cat", "tabby"];

/// Detectors that leave every id at 0: each ROI still gets its own labels, with
/// smoothing too, and nothing is carried to a ROI that cannot be told from the others.
#[test]
fn rois_with_the_same_id_each_get_their_own_labels() {
    let mut h = harness(&[("smoothing", "0.5")]);
    for _ in 0..3 {
        let out = h
            .push_and_pull(composite_with_ids([0, 0], &[]))
            .expect("out");
        assert_eq!(roi_top1_at(&out, COFFEE).as_deref(), Some("espresso"));
        let cat = roi_top1_at(&out, CAT).expect("cat labelled");
        assert!(CATS.contains(&cat.as_str()), "{cat}");
        let meta = Classification::from_buffer(&out).expect("meta");
        let by_rect = |rect| {
            meta.regions
                .iter()
                .find(|r| r.rect == rect)
                .expect("region")
        };
        assert_eq!(by_rect(COFFEE).labels[0], "espresso");
        assert!(CATS.contains(&by_rect(CAT).labels[0].as_str()));
    }
    let mut h = harness(&[("inference-interval", "2")]);
    let first = h
        .push_and_pull(composite_with_ids([0, 0], &[]))
        .expect("out");
    assert_eq!(roi_top1_at(&first, COFFEE).as_deref(), Some("espresso"));
    let second = h
        .push_and_pull(composite_with_ids([0, 0], &[]))
        .expect("out");
    // The same boxes at the same places: still matched by rectangle.
    assert_eq!(roi_top1_at(&second, COFFEE).as_deref(), Some("espresso"));
    assert!(CATS.contains(&roi_top1_at(&second, CAT).expect("cat").as_str()));
}

/// However many regions arrive, one inference takes at most `max-batch` of them, so
/// memory stays bounded; every region is still classified.
#[test]
fn many_regions_are_classified_in_bounded_batches() {
    let extra: Vec<Roi> = (0..18)
        .map(|i| {
            (
                10 + i,
                "object",
                (40 + (i as u32 % 6) * 90, 60 + (i as u32 / 6) * 120, 80, 80),
            )
        })
        .collect();
    let mut h = harness(&[]);
    let element = h.element().expect("element");
    assert_eq!(element.property::<u32>("max-batch"), 8);
    let out = h.push_and_pull(composite(&extra)).expect("out");
    let meta = Classification::from_buffer(&out).expect("meta");
    assert_eq!(meta.regions.len(), 20);
    assert_eq!(roi_top1(&out, 1).as_deref(), Some("espresso"));
    let stats = element.property::<gst::Structure>("stats");
    assert_eq!(
        stats.get::<u64>("inference-calls").expect("field"),
        3,
        "8 + 8 + 4"
    );
    assert_eq!(stats.get::<u64>("regions-classified").expect("field"), 20);
    element.set_property("max-batch", 32u32);
    h.push_and_pull(composite(&extra)).expect("out");
    let stats = element.property::<gst::Structure>("stats");
    assert_eq!(
        stats.get::<u64>("inference-calls").expect("field"),
        4,
        "then all 20 in one"
    );
}

#[test]
fn bad_min_region_size_is_refused_with_a_warning() {
    common::init();
    let element = gst::ElementFactory::make("imgclassify")
        .build()
        .expect("element");
    element.set_property("min-region-size", "big");
    assert_eq!(element.property::<String>("min-region-size"), "0x0");
}

#[cfg(feature = "analytics")]
#[test]
fn each_region_gets_a_cls_mtd_related_to_the_detections_od_mtd() {
    use gst_analytics::prelude::*;
    use gstimgclassify::analytics::{classifications, classified_detections};

    let mut h = harness(&[]);
    let mut input = composite(&[]);
    let ods: Vec<u32> = {
        // What a detector emitting analytics meta adds next to the ROI metas: an ODMtd
        // per box, the cat first, plus one box with no ROI meta.
        let b = input.get_mut().expect("writable");
        let mut meta = gst_analytics::AnalyticsRelationMeta::add(b);
        [
            ("cat", (760, 300, 451, 300)),
            ("object", (40, 60, 600, 400)),
            ("person", (300, 500, 100, 100)),
        ]
        .into_iter()
        .map(|(ty, (x, y, w, hh))| {
            meta.add_od_mtd(glib::Quark::from_str(ty), x, y, w, hh, 0.8)
                .expect("od mtd")
                .id()
        })
        .collect()
    };
    let out = h.push_and_pull(input).expect("out");
    assert_eq!(
        classifications(&out).len(),
        3,
        "one ClsMtd per region (the person's box has no ROI meta and is one too), none \
         for the frame"
    );
    let related = classified_detections(&out);
    let top1 = |od: u32| -> Option<String> {
        let (_, cls) = related.iter().find(|(id, _)| *id == od)?;
        assert_eq!(cls.len(), 1, "one ClsMtd related to detection {od}");
        Some(cls[0][0].0.clone())
    };
    assert_eq!(top1(ods[1]).as_deref(), Some("espresso"));
    let cat = top1(ods[0]).expect("cat labelled");
    assert_eq!(Some(cat.clone()), roi_top1(&out, 2));
    assert!(
        ["Egyptian cat", "tiger cat", "tabby"].contains(&cat.as_str()),
        "{cat}"
    );
    // The detection with no ROI meta is classified too, as a region of type "person"
    // with id 0, and its ClsMtd is related to it.
    let (_, person) = related.iter().find(|(id, _)| *id == ods[2]).expect("od");
    assert_eq!(person.len(), 1, "{person:?}");
    let listed = Classification::from_buffer(&out).expect("meta");
    let region = listed
        .regions
        .iter()
        .find(|r| r.roi_type == "person")
        .expect("the person's region");
    assert_eq!((region.roi_id, region.rect), (0, (300, 500, 100, 100)));
    assert_eq!(person[0][0].0, region.labels[0]);
    // The ClsMtd's levels are the region's scores.
    let meta = Classification::from_buffer(&out).expect("meta");
    let (_, coffee) = related.iter().find(|(id, _)| *id == ods[1]).expect("od");
    let levels: Vec<f32> = coffee[0].iter().map(|(_, l)| *l).collect();
    let scores: Vec<f32> = meta.regions[0].scores.iter().map(|&s| s as f32).collect();
    assert_eq!(levels, scores);
}

/// ROI `id`'s `imgclassify` params: (classifier, top-1 label), one per classifier.
fn roi_params(buffer: &gst::BufferRef, id: i32) -> Vec<(String, String)> {
    let roi = buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .find(|r| r.id() == id)
        .expect("roi");
    roi.params()
        .filter(|p| p.name() == "imgclassify")
        .map(|p| {
            let labels = p.get::<gst::Array>("labels").expect("labels");
            (
                p.get::<String>("classifier").expect("classifier"),
                labels
                    .first()
                    .and_then(|l| l.get::<String>().ok())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Classifiers in a row, as in a launch line, on the composite's caps.
fn chain(launch: &str) -> gst_check::Harness {
    common::init();
    let mut h = gst_check::Harness::new_parse(launch);
    h.play();
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={W},height={H},framerate=30/1"
    ));
    h
}

#[test]
fn region_and_frame_classifiers_in_a_row_each_keep_their_results() {
    let mut h = chain(
        "imgclassify name=a target=regions ! imgclassify name=b target=regions model=efficientnet \
         ! imgclassify name=whole",
    );
    let out = h.push_and_pull(composite(&[])).expect("out");
    let all = Classification::all_from_buffer(&out);
    let named: Vec<(&str, gstimgclassify::Target)> = all
        .iter()
        .map(|r| (r.classifier.as_str(), r.target))
        .collect();
    use gstimgclassify::Target::{Frame, Regions};
    assert_eq!(
        named,
        vec![("a", Regions), ("b", Regions), ("whole", Frame)]
    );
    for r in &all[..2] {
        let ids: Vec<i32> = r.regions.iter().map(|r| r.roi_id).collect();
        assert_eq!(ids, vec![1, 2], "{}", r.classifier);
        assert_eq!(r.regions[0].labels[0], "espresso", "{}", r.classifier);
    }
    assert!(all[2].regions.is_empty() && !all[2].labels.is_empty());
    // One param per region classifier on each ROI, never overwritten.
    assert_eq!(
        roi_params(&out, 1),
        vec![
            ("a".to_string(), "espresso".to_string()),
            ("b".to_string(), "espresso".to_string())
        ]
    );
    let cats = roi_params(&out, 2);
    assert_eq!(cats.len(), 2);
    for (_, label) in &cats {
        assert!(
            ["Egyptian cat", "tiger cat", "tabby"].contains(&label.as_str()),
            "{label}"
        );
    }
}

#[cfg(feature = "analytics")]
#[test]
fn every_region_classifier_relates_its_cls_mtd_to_the_same_od_mtd() {
    use gst_analytics::prelude::*;
    use gstimgclassify::analytics::classified_detections;

    let mut h = chain(
        "imgclassify name=a target=regions ! imgclassify name=b target=regions model=efficientnet",
    );
    let mut input = composite(&[]);
    let coffee_od = {
        let b = input.get_mut().expect("writable");
        let mut meta = gst_analytics::AnalyticsRelationMeta::add(b);
        meta.add_od_mtd(glib::Quark::from_str("object"), 40, 60, 600, 400, 0.8)
            .expect("od mtd")
            .id()
    };
    let out = h.push_and_pull(input).expect("out");
    let related = classified_detections(&out);
    let (_, cls) = related
        .iter()
        .find(|(id, _)| *id == coffee_od)
        .expect("the coffee's detection");
    assert_eq!(cls.len(), 2, "one ClsMtd per classifier");
    assert!(cls.iter().all(|c| c[0].0 == "espresso"), "{cls:?}");
}
