//! `classifyjson home-assistant=true`: Home Assistant's MQTT discovery. Each place whose
//! label changes (the whole frame of a classifier, or one of its zones) becomes a sensor
//! whose state is the label: its discovery config, its state and its attributes (the
//! change event's JSON) are published retained, so Home Assistant shows the current
//! label after either side restarts. All sensors of one element share one device and
//! one availability topic, which the broker sets to "offline" (the last will) when the
//! pipeline dies without saying goodbye.
//!
//! Names are made stable from what the user chose: the device name (the
//! `home-assistant-device` property, or the element's name), the classifier id and the
//! zone name, each lowercased with anything but ASCII letters, digits, '-' and '_'
//! written '_' (Home Assistant's rule for object ids, and safe in a topic level).

use std::collections::HashSet;

use serde_json::json;

use crate::core::changes::Change;

pub const DEFAULT_PREFIX: &str = "homeassistant";
pub const ONLINE: &str = "online";
pub const OFFLINE: &str = "offline";
/// The state of a sensor when no label passes `threshold`: Home Assistant's MQTT sensor
/// shows this payload as "unknown".
pub const NO_LABEL: &str = "None";

/// One retained MQTT message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    pub topic: String,
    pub payload: String,
}

/// The sensors of one element, and which of them were announced since start.
#[derive(Debug, Clone)]
pub struct HomeAssistant {
    prefix: String,
    device: String,
    /// The topic the JSON lines go to; state and availability topics sit below it.
    base: String,
    announced: HashSet<(String, Option<String>)>,
}

/// `text` as an object id or topic level: lowercase ASCII letters, digits, '-' and '_'.
pub fn slug(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect();
    if s.is_empty() { "_".into() } else { s }
}

impl HomeAssistant {
    /// `prefix` is Home Assistant's discovery prefix, `device` the device's name and
    /// `base` the topic the element publishes its lines to.
    pub fn new(prefix: &str, device: &str, base: &str) -> HomeAssistant {
        HomeAssistant {
            prefix: prefix.trim_end_matches('/').to_string(),
            device: device.to_string(),
            base: base.trim_end_matches('/').to_string(),
            announced: HashSet::new(),
        }
    }

    /// Where "online" and "offline" go: retained, "offline" also as the last will.
    pub fn availability_topic(&self) -> String {
        format!("{}/availability", self.base)
    }

    fn state_topic(&self, classifier: &str, zone: Option<&str>) -> String {
        match zone {
            None => format!("{}/state/{}", self.base, slug(classifier)),
            Some(z) => format!("{}/state/{}/{}", self.base, slug(classifier), slug(z)),
        }
    }

    /// The sensor's unique id, also its object id in the discovery topic.
    fn unique_id(&self, classifier: &str, zone: Option<&str>) -> String {
        let mut id = format!("{}_{}", slug(&self.device), slug(classifier));
        if let Some(z) = zone {
            id = format!("{id}_{}", slug(z));
        }
        id
    }

    /// The discovery config of a sensor: its topic and Home Assistant's MQTT sensor
    /// schema.
    pub fn discovery(&self, classifier: &str, zone: Option<&str>) -> Retained {
        let id = self.unique_id(classifier, zone);
        let state = self.state_topic(classifier, zone);
        let config = json!({
            "name": zone.unwrap_or(classifier),
            "unique_id": id,
            "state_topic": state,
            "json_attributes_topic": format!("{state}/attributes"),
            "availability_topic": self.availability_topic(),
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "icon": "mdi:eye",
            "device": {
                "identifiers": [format!("imgclassify_{}", slug(&self.device))],
                "name": self.device,
                "model": "imgclassify",
                "manufacturer": "imgclassify",
                "sw_version": env!("CARGO_PKG_VERSION"),
            },
        });
        Retained {
            topic: format!(
                "{}/sensor/{}/{}/config",
                self.prefix,
                slug(&self.device),
                id
            ),
            payload: config.to_string(),
        }
    }

    /// What a change publishes: the sensor's discovery config the first time its place
    /// changes since start, then its state (the new label) and its attributes (`line`,
    /// the change event's JSON).
    pub fn on_change(&mut self, change: &Change, line: &str) -> Vec<Retained> {
        let zone = change.zone.as_deref();
        let mut out = Vec::with_capacity(3);
        if self
            .announced
            .insert((change.classifier.clone(), change.zone.clone()))
        {
            out.push(self.discovery(&change.classifier, zone));
        }
        let state = self.state_topic(&change.classifier, zone);
        out.push(Retained {
            topic: format!("{state}/attributes"),
            payload: line.to_string(),
        });
        out.push(Retained {
            topic: state,
            payload: change.new_label.as_deref().unwrap_or(NO_LABEL).to_string(),
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::result::Target;

    fn change(zone: Option<&str>, new: Option<&str>) -> Change {
        Change {
            classifier: "Gate Cam/1".into(),
            target: if zone.is_some() {
                Target::Zones
            } else {
                Target::Frame
            },
            zone: zone.map(str::to_string),
            old_label: None,
            new_label: new.map(str::to_string),
            score: Some(0.5),
            old_duration: None,
            wall_time: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn names_become_object_ids_and_topic_levels() {
        assert_eq!(slug("Gate Cam/1"), "gate_cam_1");
        assert_eq!(slug("back+door#"), "back_door_");
        assert_eq!(slug("café"), "caf_");
        assert_eq!(slug(""), "_");
        assert_eq!(slug("ok-name_2"), "ok-name_2");
    }

    #[test]
    fn a_zone_is_announced_once_then_only_its_state_and_attributes_follow() {
        let mut ha = HomeAssistant::new("homeassistant/", "Garden", "cams/garden");
        let first = ha.on_change(&change(Some("Back door"), Some("open")), "{}");
        let topics: Vec<&str> = first.iter().map(|r| r.topic.as_str()).collect();
        assert_eq!(
            topics,
            vec![
                "homeassistant/sensor/garden/garden_gate_cam_1_back_door/config",
                "cams/garden/state/gate_cam_1/back_door/attributes",
                "cams/garden/state/gate_cam_1/back_door",
            ]
        );
        let config: serde_json::Value = serde_json::from_str(&first[0].payload).expect("JSON");
        assert_eq!(config["name"], "Back door");
        assert_eq!(config["unique_id"], "garden_gate_cam_1_back_door");
        assert_eq!(config["availability_topic"], "cams/garden/availability");
        assert_eq!(config["device"]["identifiers"][0], "imgclassify_garden");
        assert_eq!(first[2].payload, "open");
        let next = ha.on_change(&change(Some("Back door"), None), "{}");
        assert_eq!(next.len(), 2);
        assert_eq!(next[1].payload, NO_LABEL);
        // The whole frame is its own sensor, named after the classifier.
        let frame = ha.on_change(&change(None, Some("cat")), "{}");
        assert_eq!(frame.len(), 3);
        assert_eq!(frame[2].topic, "cams/garden/state/gate_cam_1");
    }
}
