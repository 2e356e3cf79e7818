//! The element's settings as nested plain values: what NULL→READY reads is a
//! `LoadRequest` as it is (asking for a load is a clone), what every frame reads is a
//! small `Copy` value, and what needs parsing is parsed once, when it is set. Defaults
//! come from the property specs (`properties.rs`), so each is written once.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Mode, ResizeMode, Target};
use crate::core::loading::request::LoadRequest;
use crate::core::postprocess::Params;
use crate::core::regions::Selection;
use crate::core::tracking::Reclassify;
use crate::core::zones::Zones;

/// The settings read for every frame: small and `Copy`, so taking them costs nothing
/// and they never hold the settings lock during inference.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameSettings {
    pub params: Params,
    pub interval: u32,
    /// `unchanged-threshold`: 0 = off.
    pub unchanged_threshold: f64,
    pub target: Target,
    pub resize_mode: ResizeMode,
    pub post_messages: bool,
    /// Most regions in one inference (`max-batch`).
    pub max_batch: usize,
    /// Post an element message when a top-1 label changes (`post-changes`).
    pub post_changes: bool,
    /// `reclassify-interval`, `reclassify-growth`, `object-timeout`.
    pub reclassify: Reclassify,
    /// How long a new top-1 label must hold before it is a change (`change-confirm`).
    pub change_confirm_ms: u32,
}

/// Which ROIs `target=regions` classifies: the properties as set, and the filter parsed
/// from them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionSettings {
    pub types: String,
    pub min_size: String,
    pub selection: Arc<Selection>,
}

/// `zones` as set, for the getter, and parsed; a new `Arc` tells the stream they
/// changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZoneSettings {
    pub text: String,
    pub zones: Arc<Zones>,
}

/// Values kept as the user wrote them, for the getters; their parsed form is in `load`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Written {
    pub input_mean: String,
    pub input_std: String,
    pub inference_server: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub load: LoadRequest,
    pub frame: FrameSettings,
    /// Applied at READY→PAUSED.
    pub mode: Mode,
    /// `in-flight`, applied at READY→PAUSED: 0 = auto.
    pub in_flight: u32,
    pub regions: RegionSettings,
    pub zones: ZoneSettings,
    pub written: Written,
    /// `inbox-*`, applied at READY→PAUSED.
    pub inbox: crate::core::inbox::Config,
    /// Values refused since the property was last set well, by property name: NULL→READY
    /// fails while any is left, so a typo on a gst-launch line cannot go unseen.
    pub refused: BTreeMap<String, String>,
}

/// The snapshot a frame takes under a short lock.
pub struct FrameInputs {
    pub settings: FrameSettings,
    pub selection: Arc<Selection>,
    pub zones: Arc<Zones>,
}

impl Settings {
    pub fn frame_inputs(&self) -> FrameInputs {
        FrameInputs {
            settings: self.frame,
            selection: Arc::clone(&self.regions.selection),
            zones: Arc::clone(&self.zones.zones),
        }
    }

    /// The error that fails NULL→READY while a refused value is left.
    pub fn refusals(&self) -> Option<String> {
        if self.refused.is_empty() {
            return None;
        }
        let listed: Vec<&str> = self.refused.values().map(String::as_str).collect();
        Some(format!(
            "{}; set a valid value (gst-inspect-1.0 imgclassify, docs/properties.md)",
            listed.join("; ")
        ))
    }
}
