//! `ImgClassifyMeta`: the result of one classification, carried on the buffer as a
//! `GstCustomMeta` so C, Python and Rust read it without a header of ours.

/// Name the meta is registered under (`gst_buffer_get_custom_meta(buf, META_NAME)`).
pub const META_NAME: &str = "ImgClassifyMeta";
/// Name of the structure inside the meta and of the element message.
pub const STRUCTURE_NAME: &str = "imgclassify";

/// What one inference found.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub model: String,
    pub labels: Vec<String>,
    pub class_ids: Vec<u32>,
    pub scores: Vec<f64>,
    pub inference_time_ns: u64,
    pub provider: String,
}

/// Registers the meta; safe to call more than once.
pub fn register() {
    if !gst::meta::CustomMeta::is_registered(META_NAME) {
        gst::meta::CustomMeta::register(META_NAME, &[]);
    }
}

impl Classification {
    /// The fields shared by the meta and the element message.
    pub fn to_structure(&self) -> gst::Structure {
        gst::Structure::builder(STRUCTURE_NAME)
            .field("model", &self.model)
            .field("labels", gst::Array::new(&self.labels))
            .field("class-ids", gst::Array::new(&self.class_ids))
            .field("scores", gst::Array::new(&self.scores))
            .field("inference-time", self.inference_time_ns)
            .field("provider", &self.provider)
            .build()
    }

    /// Reads a structure written by `to_structure`.
    pub fn from_structure(s: &gst::StructureRef) -> Option<Classification> {
        let list = |name: &str| s.get::<gst::Array>(name).ok();
        Some(Classification {
            model: s.get("model").ok()?,
            labels: list("labels")?
                .iter()
                .map(|v| v.get::<String>().ok())
                .collect::<Option<_>>()?,
            class_ids: list("class-ids")?
                .iter()
                .map(|v| v.get::<u32>().ok())
                .collect::<Option<_>>()?,
            scores: list("scores")?
                .iter()
                .map(|v| v.get::<f64>().ok())
                .collect::<Option<_>>()?,
            inference_time_ns: s.get("inference-time").ok()?,
            provider: s.get("provider").ok()?,
        })
    }

    /// Attaches the result to the buffer as `ImgClassifyMeta`, replacing the structure's
    /// fields; with the `analytics` feature also as a `GstAnalyticsClsMtd`.
    pub fn attach(&self, buffer: &mut gst::BufferRef) -> Result<(), glib::BoolError> {
        {
            let mut meta = gst::meta::CustomMeta::add(buffer, META_NAME)?;
            let s = meta.mut_structure();
            s.set_name(STRUCTURE_NAME);
            for (name, value) in self.to_structure().iter() {
                s.set_value(name, value.clone());
            }
        }
        #[cfg(feature = "analytics")]
        crate::analytics::attach(self, buffer)?;
        Ok(())
    }

    /// The result carried by `buffer`, if any.
    pub fn from_buffer(buffer: &gst::BufferRef) -> Option<Classification> {
        let meta = gst::meta::CustomMeta::from_buffer(buffer, META_NAME).ok()?;
        Classification::from_structure(meta.structure())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_round_trip_through_a_buffer() {
        gst::init().expect("gstreamer");
        register();
        let result = Classification {
            model: "mobilenet".into(),
            labels: vec!["espresso".into(), "cup \"mug\"".into()],
            class_ids: vec![967, 968],
            scores: vec![0.9, 0.05],
            inference_time_ns: 1234,
            provider: "cpu".into(),
        };
        let mut buffer = gst::Buffer::new();
        result.attach(buffer.make_mut()).expect("attach");
        assert_eq!(Classification::from_buffer(&buffer), Some(result));
        let meta = gst::meta::CustomMeta::from_buffer(&buffer, META_NAME).expect("meta");
        assert_eq!(meta.structure().name(), STRUCTURE_NAME);
    }
}
