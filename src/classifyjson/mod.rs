//! `classifyjson`: writes one JSON object per classified buffer (JSON lines) to a file
//! or standard output, or publishes it to an MQTT broker, and passes every buffer on
//! untouched.

use gst::glib;
use gst::prelude::*;

mod home_assistant;
mod imp;
mod mqtt;
mod mqtt_location;
mod mqtt_queue;
mod mqtt_tls;
mod mqtt_worker;
mod new_results;
mod output;
mod settings;
mod state;

glib::wrapper! {
    pub struct ClassifyJson(ObjectSubclass<imp::ClassifyJson>)
        @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "classifyjson",
        gst::Rank::NONE,
        ClassifyJson::static_type(),
    )
}
