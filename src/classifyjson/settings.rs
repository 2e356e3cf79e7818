//! What `classifyjson`'s properties hold, and what a run needs from them: the file to
//! write or the broker's configuration. Kept apart from the GStreamer glue in `imp`.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::home_assistant::{self, HomeAssistant};
use super::mqtt;
use super::mqtt_location::{self, Broker};
use super::mqtt_queue::Bounds;

/// `location` values that mean standard output.
const STDOUT: &str = "-";

pub const DEFAULT_QOS: u32 = 1;
pub const DEFAULT_QUEUE_SIZE: u32 = 1000;
/// 16 of the largest messages, or 1000 lines with a 1280-float embedding each.
pub const DEFAULT_QUEUE_BYTES: u32 = 64 << 20;
pub const DEFAULT_FLUSH_TIMEOUT_S: u32 = 5;

/// The password: kept out of `Debug` so that no log line can show it.
#[derive(Clone, Default)]
pub struct Secret(pub Option<String>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(<hidden>)"
        } else {
            "None"
        })
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub location: Option<PathBuf>,
    pub append: bool,
    pub new_results_only: bool,
    pub changes_only: bool,
    pub username: Option<String>,
    pub password: Secret,
    pub ca_file: Option<PathBuf>,
    pub qos: u32,
    pub client_id: String,
    pub retain: bool,
    pub queue_size: u32,
    pub queue_bytes: u32,
    pub flush_timeout_s: u32,
    pub change_confirm_ms: u32,
    pub home_assistant: bool,
    pub home_assistant_prefix: String,
    /// None: the element's name.
    pub home_assistant_device: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            location: None,
            append: false,
            new_results_only: false,
            changes_only: false,
            username: None,
            password: Secret::default(),
            ca_file: None,
            qos: DEFAULT_QOS,
            client_id: mqtt::unique_client_id(),
            retain: false,
            queue_size: DEFAULT_QUEUE_SIZE,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            flush_timeout_s: DEFAULT_FLUSH_TIMEOUT_S,
            change_confirm_ms: 0,
            home_assistant: false,
            home_assistant_prefix: home_assistant::DEFAULT_PREFIX.into(),
            home_assistant_device: None,
        }
    }
}

impl Settings {
    /// The file to write, or `None` for standard output.
    pub fn path(&self) -> Option<&Path> {
        self.location
            .as_deref()
            .filter(|l| !l.as_os_str().is_empty() && *l != Path::new(STDOUT))
    }

    /// Whether the location names an MQTT broker. Decided on its bytes: one that is not
    /// UTF-8 must still be refused as a URL, not opened as a file named after it (whose
    /// error would repeat it, credentials and all).
    pub fn is_mqtt(&self) -> bool {
        self.location
            .as_deref()
            .is_some_and(|l| mqtt_location::is_mqtt(l.as_os_str().as_bytes()))
    }

    /// Home Assistant's sensors for an element named `element` publishing to `broker`.
    pub fn home_assistant(&self, broker: &Broker, element: &str) -> Option<HomeAssistant> {
        let device = self
            .home_assistant_device
            .as_deref()
            .filter(|d| !d.is_empty())
            .unwrap_or(element);
        self.home_assistant
            .then(|| HomeAssistant::new(&self.home_assistant_prefix, device, &broker.topic))
    }

    pub fn mqtt_config(&self, broker: Broker, availability: Option<String>) -> mqtt::Config {
        mqtt::Config {
            broker,
            username: self.username.clone().filter(|u| !u.is_empty()),
            password: self.password.0.clone(),
            ca_file: self.ca_file.clone(),
            qos: if self.qos == 0 {
                rumqttc::QoS::AtMostOnce
            } else {
                rumqttc::QoS::AtLeastOnce
            },
            client_id: self.client_id.clone(),
            retain: self.retain,
            queue: Bounds {
                messages: self.queue_size as usize,
                bytes: self.queue_bytes as usize,
            },
            availability,
        }
    }
}
