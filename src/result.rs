//! The result of one classification, and its `GstStructure` form shared by the buffer
//! meta and the element message. A leaf: the meta, the analytics meta, the JSON lines and
//! the overlay read it, and it imports none of them.

/// Name of the structure inside the meta and of the element message.
pub const STRUCTURE_NAME: &str = "imgclassify";

/// One classified region of interest (`target=regions`) or zone (`target=zones`).
#[derive(Debug, Clone, PartialEq)]
pub struct RegionResult {
    /// The id of the `GstVideoRegionOfInterestMeta` it belongs to; for a zone, its place
    /// in the `zones` list.
    pub roi_id: i32,
    /// The ROI's type; for a zone, its name.
    pub roi_type: String,
    /// The region as classified, clipped to the frame: x, y, width, height.
    pub rect: (u32, u32, u32, u32),
    pub labels: Vec<String>,
    pub class_ids: Vec<u32>,
    pub scores: Vec<f64>,
    /// With `attach-embedding`: the region's unit-length embedding.
    pub embedding: Option<Vec<f32>>,
    /// With `reclassify-interval`: the object the box belongs to, and where its labels
    /// come from.
    pub track: Option<RegionTrack>,
}

/// A tracked object's part of a region result: its labels may come from an earlier
/// frame than the box.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionTrack {
    /// Stable for the object's life, never reused while the element streams.
    pub object_id: u64,
    /// PTS of the frame the object was first seen on.
    pub first_seen: Option<gst::ClockTime>,
    /// The labels were computed on this very frame.
    pub fresh: bool,
    /// PTS of the frame the labels were computed on, and that result's `seq`.
    pub source_pts: Option<gst::ClockTime>,
    pub seq: u64,
}

impl RegionTrack {
    /// Adds the fields to a region structure or an ROI's `imgclassify` param.
    pub fn write(&self, s: &mut gst::StructureRef) {
        s.set("object-id", self.object_id);
        s.set("first-seen", self.first_seen);
        s.set("fresh", self.fresh);
        s.set("source-pts", self.source_pts);
        s.set("seq", self.seq);
    }

    /// Absent: Some(None); present but malformed: None (the structure is not ours).
    fn read(s: &gst::StructureRef) -> Option<Option<RegionTrack>> {
        if !s.has_field("object-id") {
            return Some(None);
        }
        Some(Some(RegionTrack {
            object_id: s.get("object-id").ok()?,
            first_seen: s.get("first-seen").ok()?,
            fresh: s.get("fresh").ok()?,
            source_pts: s.get("source-pts").ok()?,
            seq: s.get("seq").ok()?,
        }))
    }
}

pub const REGION_STRUCTURE_NAME: &str = "imgclassify-region";

impl RegionResult {
    fn to_structure(&self) -> gst::Structure {
        let builder = gst::Structure::builder(REGION_STRUCTURE_NAME)
            .field("roi-id", self.roi_id)
            .field("roi-type", &self.roi_type)
            .field("x", self.rect.0)
            .field("y", self.rect.1)
            .field("width", self.rect.2)
            .field("height", self.rect.3)
            .field("labels", gst::Array::new(&self.labels))
            .field("class-ids", gst::Array::new(&self.class_ids))
            .field("scores", gst::Array::new(&self.scores));
        let mut s = with_embedding(builder, self.embedding.as_deref()).build();
        if let Some(track) = &self.track {
            track.write(&mut s);
        }
        s
    }

    fn from_structure(s: &gst::StructureRef) -> Option<RegionResult> {
        Some(RegionResult {
            roi_id: s.get("roi-id").ok()?,
            roi_type: s.get("roi-type").ok()?,
            rect: (
                s.get("x").ok()?,
                s.get("y").ok()?,
                s.get("width").ok()?,
                s.get("height").ok()?,
            ),
            labels: array(s, "labels")?,
            class_ids: array(s, "class-ids")?,
            scores: array(s, "scores")?,
            embedding: embedding(s)?,
            track: RegionTrack::read(s)?,
        })
    }
}

/// The `embedding` field, a float array, only when there is one.
fn with_embedding(
    builder: gst::structure::Builder,
    embedding: Option<&[f32]>,
) -> gst::structure::Builder {
    match embedding {
        Some(e) => builder.field("embedding", gst::Array::new(e)),
        None => builder,
    }
}

/// Absent: Some(None); present but not a float array: None (the structure is not ours).
fn embedding(s: &gst::StructureRef) -> Option<Option<Vec<f32>>> {
    if !s.has_field("embedding") {
        return Some(None);
    }
    array(s, "embedding").map(Some)
}

fn array<T: for<'a> glib::value::FromValue<'a> + 'static>(
    s: &gst::StructureRef,
    name: &str,
) -> Option<Vec<T>> {
    s.get::<gst::Array>(name)
        .ok()?
        .iter()
        .map(|v| v.get::<T>().ok())
        .collect()
}

/// What a classifier classified: the whole frame, the regions of interest on it, or the
/// fixed zones drawn by the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Target {
    #[default]
    Frame,
    Regions,
    Zones,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Frame => "frame",
            Target::Regions => "regions",
            Target::Zones => "zones",
        }
    }

    fn from_name(name: &str) -> Option<Target> {
        match name {
            "frame" => Some(Target::Frame),
            "regions" => Some(Target::Regions),
            "zones" => Some(Target::Zones),
            _ => None,
        }
    }
}

/// What one inference found.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Which classifier made it: the element's `classifier-id`, by default its name.
    /// Several classifiers on one stream each add their own result.
    pub classifier: String,
    pub target: Target,
    pub model: String,
    pub labels: Vec<String>,
    pub class_ids: Vec<u32>,
    pub scores: Vec<f64>,
    pub inference_time_ns: u64,
    pub provider: String,
    /// Computed on the very buffer that carries it (not carried over from an earlier frame).
    pub fresh: bool,
    /// PTS of the frame the result was computed on.
    pub source_pts: Option<gst::ClockTime>,
    /// The result's number: 1 for the element's first inference result since NULL→READY,
    /// one more for each one after. Buffers that carry the same result over carry the
    /// same number, so a change means a new result, in every mode.
    pub seq: u64,
    /// Per-region results with `target=regions`, per-zone results with `target=zones`
    /// (the top-level lists are then empty).
    pub regions: Vec<RegionResult>,
    /// With `attach-embedding` and `target=frame`: the frame's unit-length embedding.
    pub embedding: Option<Vec<f32>>,
}

impl Classification {
    /// The fields shared by the meta and the element message.
    pub fn to_structure(&self) -> gst::Structure {
        let builder = gst::Structure::builder(STRUCTURE_NAME)
            .field("classifier", &self.classifier)
            .field("target", self.target.name())
            .field("model", &self.model)
            .field("labels", gst::Array::new(&self.labels))
            .field("class-ids", gst::Array::new(&self.class_ids))
            .field("scores", gst::Array::new(&self.scores))
            .field("inference-time", self.inference_time_ns)
            .field("provider", &self.provider)
            .field("fresh", self.fresh)
            .field("source-pts", self.source_pts)
            .field("seq", self.seq)
            .field(
                "regions",
                gst::Array::new(self.regions.iter().map(RegionResult::to_structure)),
            );
        with_embedding(builder, self.embedding.as_deref()).build()
    }

    /// Reads a structure written by `to_structure`.
    pub fn from_structure(s: &gst::StructureRef) -> Option<Classification> {
        Some(Classification {
            classifier: s.get("classifier").ok()?,
            target: Target::from_name(s.get("target").ok()?)?,
            model: s.get("model").ok()?,
            labels: array(s, "labels")?,
            class_ids: array(s, "class-ids")?,
            scores: array(s, "scores")?,
            inference_time_ns: s.get("inference-time").ok()?,
            provider: s.get("provider").ok()?,
            fresh: s.get("fresh").ok()?,
            source_pts: s.get("source-pts").ok()?,
            seq: s.get("seq").ok()?,
            regions: s
                .get::<gst::Array>("regions")
                .ok()?
                .iter()
                .map(|v| {
                    v.get::<gst::Structure>()
                        .ok()
                        .and_then(|r| RegionResult::from_structure(&r))
                })
                .collect::<Option<_>>()?,
            embedding: embedding(s)?,
        })
    }

    /// A frame result with class ids 0.. for the given labels, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_test(labels: &[&str], scores: &[f64]) -> Classification {
        Classification {
            classifier: "imgclassify0".into(),
            target: Target::Frame,
            model: "mobilenet".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            class_ids: (0..labels.len() as u32).collect(),
            scores: scores.to_vec(),
            inference_time_ns: 5_900_000,
            provider: "cpu".into(),
            fresh: true,
            source_pts: Some(gst::ClockTime::from_mseconds(40)),
            seq: 1,
            regions: Vec::new(),
            embedding: None,
        }
    }
}
