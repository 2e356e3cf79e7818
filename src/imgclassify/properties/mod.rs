//! Every property of `imgclassify`: its spec, where its value lives in the settings and
//! how it is parsed, in one table built from the sibling files, one per subject. A new
//! property is one entry there, one field and one use. The long explanations are in
//! docs/properties.md.

use std::sync::{Arc, LazyLock};

use gst::glib;

use super::settings::Settings;
use super::{ColorOrder, ExecutionProvider, Mode, OutputActivation, ResizeMode, Spinning, Target};
use crate::core::backend::onnxruntime::Requested;
use crate::core::backend::remote::{MAX_TIMEOUT_MS, parse_endpoints};
use crate::core::model::{self, normalisation, zoo};
use crate::core::postprocess::RequestedActivation;
use crate::core::regions::{Selection, parse_size, parse_types};
use crate::core::zones::{MAX_ZONES, Zones};
use crate::property::{self, excerpt};

mod classes;
mod engine;
mod inbox;
mod input;
mod regions;
mod remote;
mod schedule;
mod tracking;

type Get = fn(&Settings) -> glib::Value;
/// Err: why the value was refused, naming the property and the value; the old value
/// stays.
type Set = fn(&mut Settings, &glib::Value) -> Result<(), String>;

pub enum Access {
    Settings {
        get: Get,
        set: Set,
    },
    /// Read-only, from the loaded model.
    Stats,
    ActiveProvider,
}

pub struct Property {
    pub spec: glib::ParamSpec,
    pub access: Access,
}

fn prop(spec: glib::ParamSpec, get: Get, set: Set) -> Property {
    Property {
        spec,
        access: Access::Settings { get, set },
    }
}

fn put<T>(field: &mut T, value: T) -> Result<(), String> {
    *field = value;
    Ok(())
}

fn get<T: for<'a> glib::value::FromValue<'a> + 'static>(v: &glib::Value) -> Result<T, String> {
    v.get::<T>().map_err(|e| e.to_string())
}

/// A text value: None for NULL; not UTF-8 is refused.
fn text(name: &str, v: &glib::Value) -> Result<Option<String>, String> {
    property::text(v).map_err(|e| e.message(name, false))
}

/// Text where empty means unset.
fn optional(name: &str, v: &glib::Value) -> Result<Option<String>, String> {
    Ok(text(name, v)?.filter(|t| !t.is_empty()))
}

fn read_at_ready(blurb: &str) -> String {
    format!("{blurb}. Read at NULL→READY")
}

/// A property whose change while running loads a new model in the background (`swap`).
fn reloaded(blurb: &str) -> String {
    format!(
        "{blurb}. Set while running: the new model loads in the background and replaces the one in use"
    )
}

fn requested_provider(r: Requested) -> ExecutionProvider {
    match r {
        Requested::Auto => ExecutionProvider::Auto,
        Requested::TensorRt => ExecutionProvider::TensorRt,
        Requested::Cuda => ExecutionProvider::Cuda,
        Requested::Cpu => ExecutionProvider::Cpu,
    }
}

fn requested_activation(a: RequestedActivation) -> OutputActivation {
    match a {
        RequestedActivation::Auto => OutputActivation::Auto,
        RequestedActivation::Softmax => OutputActivation::Softmax,
        RequestedActivation::Sigmoid => OutputActivation::Sigmoid,
        RequestedActivation::None => OutputActivation::None,
    }
}

fn color_order(order: Option<model::ChannelOrder>) -> ColorOrder {
    match order {
        None => ColorOrder::Auto,
        Some(model::ChannelOrder::Rgb) => ColorOrder::Rgb,
        Some(model::ChannelOrder::Bgr) => ColorOrder::Bgr,
    }
}

fn reselect(s: &mut Settings, max_regions: Option<u32>) {
    let r = &mut s.regions;
    r.selection = Arc::new(Selection {
        types: parse_types(&r.types),
        min_size: parse_size(&r.min_size).unwrap_or((0, 0)),
        max_regions: max_regions.unwrap_or(r.selection.max_regions),
    });
}

/// `input-mean` or `input-std`: one number, or three.
fn set_normalisation(s: &mut Settings, v: &glib::Value, is_std: bool) -> Result<(), String> {
    let name = if is_std { "input-std" } else { "input-mean" };
    let given = text(name, v)?.unwrap_or_default();
    let parsed = if given.trim().is_empty() {
        None
    } else {
        let kept = if is_std {
            &s.written.input_std
        } else {
            &s.written.input_mean
        };
        Some(
            normalisation::parse_values(&given, is_std)
                .map_err(|why| format!("{name} '{given}': {why}; keeping '{kept}'"))?,
        )
    };
    let n = &mut s.load.model.normalisation;
    if is_std {
        (s.written.input_std, n.std) = (given, parsed);
    } else {
        (s.written.input_mean, n.mean) = (given, parsed);
    }
    Ok(())
}

pub fn all() -> &'static [Property] {
    static PROPERTIES: LazyLock<Vec<Property>> = LazyLock::new(table);
    PROPERTIES.as_ref()
}

pub fn find(name: &str) -> Option<&'static Property> {
    all().iter().find(|p| p.spec.name() == name)
}

/// The settings every property's default gives.
pub fn defaults() -> Settings {
    let mut s = Settings::default();
    for p in all() {
        if let Access::Settings { set, .. } = p.access {
            // A spec's own default is always valid.
            let _ = set(&mut s, p.spec.default_value());
        }
    }
    s
}

fn table() -> Vec<Property> {
    [
        engine::properties(),
        input::properties(),
        schedule::properties(),
        regions::properties(),
        tracking::properties(),
        remote::properties(),
        classes::properties(),
        inbox::properties(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use gst::prelude::*;

    use super::*;

    #[test]
    fn defaults_come_from_the_specs() {
        gst::init().unwrap();
        let s = defaults();
        assert_eq!(s.load.model.name, "mobilenet");
        assert_eq!(s.frame.params.top_k, 3);
        assert_eq!(s.frame.interval, 1);
        assert_eq!(s.frame.max_batch, 8);
        assert_eq!(s.load.server.timeout_ms, 1000);
        assert_eq!(s.load.server.max_in_flight, 4);
        assert!(s.load.engine.provider.fallback);
        assert_eq!(s.regions.min_size, "0x0");
        assert!(s.refused.is_empty());
    }

    #[test]
    fn every_settable_property_reads_back_what_was_set() {
        gst::init().unwrap();
        let mut s = defaults();
        for (name, value) in [
            ("top-k", 5u32.to_value()),
            ("zones", "a:0,0,10,10".to_value()),
            ("input-mean", "127".to_value()),
            ("inference-server", "grpc://127.0.0.1:8001".to_value()),
            ("min-region-size", "32x32".to_value()),
            ("max-regions", 4u32.to_value()),
            ("color-order", ColorOrder::Bgr.to_value()),
            ("output-activation", OutputActivation::Sigmoid.to_value()),
            ("execution-provider", ExecutionProvider::Cpu.to_value()),
        ] {
            let Access::Settings { get, set } = find(name).unwrap().access else {
                panic!("{name} is a setting")
            };
            set(&mut s, &value).unwrap();
            let back = get(&s);
            assert_eq!(format!("{back:?}"), format!("{value:?}"), "{name}");
        }
        assert_eq!(s.regions.selection.min_size, (32, 32));
        assert_eq!(s.regions.selection.max_regions, 4);
        assert_eq!(s.load.server.endpoints.len(), 1);
        assert_eq!(s.load.model.normalisation.mean, Some([127.0; 3]));
    }

    #[test]
    fn a_bad_value_is_refused_and_the_old_one_kept() {
        gst::init().unwrap();
        let mut s = defaults();
        let Access::Settings { set, .. } = find("input-mean").unwrap().access else {
            unreachable!()
        };
        let why = set(&mut s, &"127,127".to_value()).unwrap_err();
        assert!(why.starts_with("input-mean '127,127': "), "{why}");
        assert_eq!(s.load.model.normalisation.mean, None);
    }
}
