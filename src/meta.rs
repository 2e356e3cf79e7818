//! `ImgClassifyMeta`: the result of one classification, carried on the buffer as a
//! `GstCustomMeta` so C, Python and Rust read it without a header of ours.

use crate::result::{Classification, STRUCTURE_NAME, Target};

mod transform;

/// Name the meta is registered under (`gst_buffer_get_custom_meta(buf, META_NAME)`).
pub const META_NAME: &str = "ImgClassifyMeta";

/// Layout version of the meta's structure, in its `meta-version` field (uint). It goes up
/// when a field is removed, renamed or changes type or meaning; fields may be added
/// without a change, so readers check it and ignore fields they do not know.
/// 1: the fields listed in docs/consumers.md as of 0.1.0.
pub const META_VERSION: u32 = 1;

/// Name of the structure field that carries [`META_VERSION`].
pub const META_VERSION_FIELD: &str = "meta-version";

/// Registers the meta; safe to call more than once.
///
/// Its API carries the tags `video` and `size`, as `GstVideoRegionOfInterestMeta` does, so
/// that scalers call it to scale the region rectangles; elements that keep only untagged
/// metas drop it (see docs/consumers.md).
pub fn register() {
    // Two threads that both found it unregistered would register it twice, and the
    // second registration leaves the meta unusable: check and register under one lock.
    static REGISTERING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = REGISTERING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if gst::meta::CustomMeta::is_registered(META_NAME) {
        return;
    }
    let name = glib::GString::from(META_NAME);
    let mut tags = [
        gst_video::ffi::GST_META_TAG_VIDEO_STR.as_ptr().cast(),
        gst_video::ffi::GST_META_TAG_VIDEO_SIZE_STR.as_ptr().cast(),
        std::ptr::null(),
    ];
    // gstreamer-rs's `register_with_transform` does not hand the transform its data
    // (the copied range, the scale's video infos), which this one needs.
    unsafe {
        gst::ffi::gst_meta_register_custom(
            name.as_ptr(),
            tags.as_mut_ptr(),
            Some(transform_meta),
            std::ptr::null_mut(),
            None,
        );
    }
}

/// The meta's `GstCustomMetaTransformFunction`: copies and scales (see `transform`).
/// Returns FALSE for transforms it does not know, which then leave the meta behind.
unsafe extern "C" fn transform_meta(
    dest: *mut gst::ffi::GstBuffer,
    meta: *mut gst::ffi::GstCustomMeta,
    _src: *mut gst::ffi::GstBuffer,
    kind: glib::ffi::GQuark,
    data: glib::ffi::gpointer,
    _user_data: glib::ffi::gpointer,
) -> glib::ffi::gboolean {
    // A panic must not unwind into GStreamer's C code.
    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
        transform_meta_checked(dest, meta, kind, data)
    }));
    glib::translate::IntoGlib::into_glib(done.unwrap_or(false))
}

/// # Safety
/// The arguments are those of a `GstCustomMetaTransformFunction`: `dest` a writable
/// buffer, `meta` one of ours, `data` what `kind` says it is.
unsafe fn transform_meta_checked(
    dest: *mut gst::ffi::GstBuffer,
    meta: *mut gst::ffi::GstCustomMeta,
    kind: glib::ffi::GQuark,
    data: glib::ffi::gpointer,
) -> bool {
    use gst::meta::MetaTransform;
    use transform::Transform;
    if dest.is_null() || meta.is_null() || data.is_null() {
        return false;
    }
    let kind: glib::Quark = unsafe { glib::translate::from_glib(kind) };
    let transform = if kind == gst::meta::MetaTransformCopy::quark() {
        let copy = unsafe { &*(data as *const gst::meta::MetaTransformCopy) };
        match copy.range() {
            None => Transform::Copy,
            Some(_) => Transform::PartialCopy,
        }
    } else if kind == gst_video::video_meta::VideoMetaTransformScale::quark() {
        let scale = unsafe { &*(data as *const gst_video::video_meta::VideoMetaTransformScale) };
        let (from, to) = (scale.in_info(), scale.out_info());
        Transform::Scale {
            from: (from.width(), from.height()),
            to: (to.width(), to.height()),
        }
    } else {
        return false;
    };
    let meta = unsafe { &*(meta as *const gst::meta::CustomMeta) };
    let Some(structure) = transform::transformed(meta.structure(), transform) else {
        // Like GstVideoMeta: a byte range of a frame is not that frame, and the copy
        // itself must not fail for it.
        return transform == Transform::PartialCopy;
    };
    let dest = unsafe { gst::BufferRef::from_mut_ptr(dest) };
    add_structure(dest, &structure).is_ok()
}

/// Adds an `ImgClassifyMeta` holding `structure`'s fields to `buffer`.
fn add_structure(
    buffer: &mut gst::BufferRef,
    structure: &gst::StructureRef,
) -> Result<(), glib::BoolError> {
    let mut meta = gst::meta::CustomMeta::add(buffer, META_NAME)?;
    let s = meta.mut_structure();
    s.set_name(STRUCTURE_NAME);
    for (name, value) in structure.iter() {
        s.set_value(name, value.clone());
    }
    Ok(())
}

impl Classification {
    /// Attaches the result to the buffer as `ImgClassifyMeta`, replacing the structure's
    /// fields; with the `analytics` feature also as `GstAnalyticsClsMtd`s (see `analytics`).
    pub fn attach(&self, buffer: &mut gst::BufferRef) -> Result<(), glib::BoolError> {
        let mut structure = gst::Structure::new_empty(STRUCTURE_NAME);
        structure.set(META_VERSION_FIELD, META_VERSION);
        for (name, value) in self.to_structure().iter() {
            structure.set_value(name, value.clone());
        }
        add_structure(buffer, &structure)?;
        #[cfg(feature = "analytics")]
        crate::analytics::attach(self, buffer)?;
        Ok(())
    }

    /// The first result carried by `buffer`, if any: with one classifier, its result.
    /// Use [`Classification::all_from_buffer`] where several classifiers may run.
    pub fn from_buffer(buffer: &gst::BufferRef) -> Option<Classification> {
        let meta = gst::meta::CustomMeta::from_buffer(buffer, META_NAME).ok()?;
        Classification::from_structure(meta.structure())
    }

    /// Every result carried by `buffer`, one per classifier, in the order they were added
    /// (upstream first).
    pub fn all_from_buffer(buffer: &gst::BufferRef) -> Vec<Classification> {
        let mut all = Vec::new();
        for_each_ours(buffer, |s| all.extend(Classification::from_structure(s)));
        all
    }
}

/// Whether `buffer` already carries a result of classifier `id` for `target`: a second
/// element with the same id would make the two indistinguishable downstream.
pub fn carries(buffer: &gst::BufferRef, id: &str, target: Target) -> bool {
    let mut found = false;
    for_each_ours(buffer, |s| {
        found |= s.get::<&str>("classifier").is_ok_and(|c| c == id)
            && s.get::<&str>("target").is_ok_and(|t| t == target.name());
    });
    found
}

/// Calls `f` with the structure of every `ImgClassifyMeta` on `buffer`, in the order
/// they were added.
/// They are told from other custom metas by the API type of the first one found by
/// name: `gst_custom_meta_has_name` answers false for them on GStreamer 1.22.
fn for_each_ours(buffer: &gst::BufferRef, mut f: impl FnMut(&gst::StructureRef)) {
    let Ok(first) = gst::meta::CustomMeta::from_buffer(buffer, META_NAME) else {
        return;
    };
    let api = first.api();
    for meta in buffer.iter_meta::<gst::Meta>() {
        if meta.api() == api
            && let Some(custom) = meta.try_as_custom_meta()
        {
            f(custom.structure());
        }
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
            classifier: "imgclassify0".into(),
            target: Target::Regions,
            model: "mobilenet".into(),
            labels: vec!["espresso".into(), "cup \"mug\"".into()],
            class_ids: vec![967, 968],
            scores: vec![0.9, 0.05],
            inference_time_ns: 1234,
            provider: "cpu".into(),
            fresh: false,
            source_pts: Some(gst::ClockTime::from_mseconds(40)),
            seq: 0,
            regions: vec![RegionResult {
                roi_id: 7,
                roi_type: "car".into(),
                rect: (1, 2, 30, 40),
                labels: vec!["sports car".into()],
                class_ids: vec![817],
                scores: vec![0.5],
                embedding: None,
                track: None,
            }],
            embedding: None,
        };
        // A tracked object's region carries where its labels come from.
        let mut tracked = result.regions[0].clone();
        tracked.track = Some(crate::result::RegionTrack {
            object_id: 12,
            first_seen: Some(gst::ClockTime::from_mseconds(8)),
            fresh: false,
            source_pts: None,
            seq: 3,
        });
        let mut result = result;
        result.regions.push(tracked);
        let mut buffer = gst::Buffer::new();
        result.attach(buffer.make_mut()).expect("attach");
        assert_eq!(Classification::from_buffer(&buffer), Some(result));
        let meta = gst::meta::CustomMeta::from_buffer(&buffer, META_NAME).expect("meta");
        assert_eq!(meta.structure().name(), STRUCTURE_NAME);
    }

    #[test]
    fn the_meta_says_its_layout_version() {
        gst::init().expect("gstreamer");
        register();
        let mut buffer = gst::Buffer::new();
        Classification::for_test(&["espresso"], &[0.9])
            .attach(buffer.make_mut())
            .expect("attach");
        let meta = gst::meta::CustomMeta::from_buffer(&buffer, META_NAME).expect("meta");
        assert_eq!(
            meta.structure().get::<u32>(META_VERSION_FIELD),
            Ok(META_VERSION)
        );
    }

    #[test]
    fn every_classifier_on_a_buffer_is_read_in_order() {
        gst::init().expect("gstreamer");
        register();
        let mut buffer = gst::Buffer::new();
        let results: Vec<Classification> = ["first", "second", "third"]
            .into_iter()
            .map(|id| Classification {
                classifier: id.into(),
                ..Classification::for_test(&[id], &[0.5])
            })
            .collect();
        for r in &results {
            r.attach(buffer.make_mut()).expect("attach");
        }
        assert_eq!(Classification::all_from_buffer(&buffer), results);
        assert_eq!(
            Classification::from_buffer(&buffer).as_ref(),
            results.first()
        );
        assert!(carries(&buffer, "second", Target::Frame));
        assert!(!carries(&buffer, "second", Target::Regions));
        assert!(!carries(&buffer, "fourth", Target::Frame));
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
