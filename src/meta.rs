//! `ImgClassifyMeta`: the result of one classification, carried on the buffer as a
//! `GstCustomMeta` so C, Python and Rust read it without a header of ours.

use crate::result::{Classification, STRUCTURE_NAME};

/// Name the meta is registered under (`gst_buffer_get_custom_meta(buf, META_NAME)`).
pub const META_NAME: &str = "ImgClassifyMeta";

/// Registers the meta; safe to call more than once.
pub fn register() {
    if !gst::meta::CustomMeta::is_registered(META_NAME) {
        gst::meta::CustomMeta::register(META_NAME, &[]);
    }
}

impl Classification {
    /// Attaches the result to the buffer as `ImgClassifyMeta`, replacing the structure's
    /// fields; with the `analytics` feature also as `GstAnalyticsClsMtd`s (see `analytics`).
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
    use crate::result::RegionResult;

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
            fresh: false,
            source_pts: Some(gst::ClockTime::from_mseconds(40)),
            regions: vec![RegionResult {
                roi_id: 7,
                roi_type: "car".into(),
                rect: (1, 2, 30, 40),
                labels: vec!["sports car".into()],
                class_ids: vec![817],
                scores: vec![0.5],
            }],
        };
        let mut buffer = gst::Buffer::new();
        result.attach(buffer.make_mut()).expect("attach");
        assert_eq!(Classification::from_buffer(&buffer), Some(result));
        let meta = gst::meta::CustomMeta::from_buffer(&buffer, META_NAME).expect("meta");
        assert_eq!(meta.structure().name(), STRUCTURE_NAME);
    }

    #[cfg(feature = "analytics")]
    #[test]
    fn meta_attach_adds_both_metas() {
        gst::init().expect("gstreamer");
        register();
        let r = Classification::for_test(&["espresso"], &[0.99]);
        let mut buffer = gst::Buffer::new();
        r.attach(buffer.make_mut()).expect("attach");
        assert_eq!(Classification::from_buffer(&buffer), Some(r));
        assert_eq!(
            crate::analytics::classifications(&buffer),
            vec![vec![("espresso".to_string(), 0.99f32)]]
        );
    }
}
