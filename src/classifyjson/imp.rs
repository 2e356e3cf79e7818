//! GStreamer glue for `classifyjson`: opens the output (a file, standard output or an
//! MQTT broker) at start, writes one line per buffer that carries `ImgClassifyMeta`,
//! flushes at EOS and stop. Every I/O failure is an element error naming the file or
//! broker; nothing here panics.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::home_assistant::{self, HomeAssistant};
use super::mqtt::{self, MqttSink, Stats, TooLarge};
use super::mqtt_location::Broker;
use super::output::Output;
use super::state::{Destination, Filters, State, WriteFailure};
use crate::core::lock::lock;
use crate::jsonlines::Times;
use crate::property;
use crate::result::Classification;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "classifyjson",
        gst::DebugColorFlags::empty(),
        Some("JSON lines writer for ImgClassifyMeta"),
    )
});

use super::settings::{
    DEFAULT_FLUSH_TIMEOUT_S, DEFAULT_QOS, DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_SIZE, Secret, Settings,
};

#[derive(Default)]
pub struct ClassifyJson {
    settings: Mutex<Settings>,
    /// Between start and stop.
    state: Mutex<Option<State>>,
    /// The MQTT counters of the last run, for the read-only properties after stop.
    last_stats: Mutex<Stats>,
    /// The deprecated `qos` was set: warned about once, then applied silently.
    qos_warned: AtomicBool,
}

impl ClassifyJson {
    fn times(&self, buf: &gst::BufferRef) -> Times {
        let segment = self.obj().segment();
        let segment = segment.downcast_ref::<gst::ClockTime>();
        let pts = buf.pts();
        let at = |f: fn(
            &gst::FormattedSegment<gst::ClockTime>,
            gst::ClockTime,
        ) -> Option<gst::ClockTime>| {
            segment
                .zip(pts)
                .and_then(|(s, t)| f(s, t))
                .map(gst::ClockTime::nseconds)
        };
        Times {
            pts: pts.map(gst::ClockTime::nseconds),
            dts: buf.dts().map(gst::ClockTime::nseconds),
            duration: buf.duration().map(gst::ClockTime::nseconds),
            running_time: at(|s, t| s.to_running_time(t)),
            stream_time: at(|s, t| s.to_stream_time(t)),
        }
    }

    /// Writes the line for `buf`, if it carries a classification; with `changes-only`,
    /// a line per change its results bring.
    fn write(&self, buf: &gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let results = Classification::all_from_buffer(buf);
        if results.is_empty() {
            return Ok(gst::FlowSuccess::Ok);
        }
        // Read before the state's lock: the segment is behind the element's own lock.
        let times = self.times(buf);
        let mut state = lock(&self.state);
        let Some(run) = state.as_mut() else {
            drop(state);
            gst::element_imp_error!(self, gst::CoreError::StateChange, ["output not open"]);
            return Err(gst::FlowError::Error);
        };
        let written = run.write(results, &times);
        drop(state);
        match written {
            Ok(None) => Ok(gst::FlowSuccess::Ok),
            Ok(Some(too_large)) => {
                self.warn_too_large(too_large);
                Ok(gst::FlowSuccess::Ok)
            }
            Err(WriteFailure { output, error }) => {
                gst::element_imp_error!(
                    self,
                    gst::ResourceError::Write,
                    ("could not write to {}: {}", output, error),
                    ["check free space and permissions of the location"]
                );
                Err(gst::FlowError::Error)
            }
        }
    }

    /// Once per run: every later line that large is only counted.
    fn warn_too_large(&self, t: TooLarge) {
        gst::element_imp_warning!(
            self,
            gst::ResourceError::Write,
            (
                "a JSON line of {} bytes is too large for an MQTT message to this topic (at most {} bytes): \
                 it was dropped and counted in messages-dropped, as every later one that large will be",
                t.bytes,
                t.limit
            ),
            [
                "lines grow with regions, zones and attach-embedding: classify fewer regions or zones, \
              or leave attach-embedding off"
            ]
        );
    }

    fn flush_output(&self) -> Result<(), gst::ErrorMessage> {
        lock(&self.state).as_mut().map_or(Ok(()), State::flush)
    }

    fn stats(&self) -> Stats {
        let running = lock(&self.state).as_ref().and_then(State::stats);
        running.unwrap_or_else(|| *lock(&self.last_stats))
    }

    fn start_mqtt(
        &self,
        settings: &Settings,
    ) -> Result<(MqttSink, Option<HomeAssistant>), gst::ErrorMessage> {
        let location = settings.location.as_deref().and_then(Path::to_str);
        let Some(location) = location else {
            return Err(gst::error_msg!(
                gst::ResourceError::Settings,
                ("invalid MQTT location: it is not valid UTF-8"),
                ["write the location in UTF-8; other bytes of the topic are written %XX"]
            ));
        };
        let broker = Broker::parse(location).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::Settings,
                ("invalid MQTT location: {}", e),
                ["write location=mqtt://HOST:PORT/TOPIC, or mqtts:// for TLS"]
            )
        })?;
        if !broker.tls && settings.password.0.is_some() && !broker.is_loopback() {
            gst::element_imp_warning!(
                self,
                gst::ResourceError::Settings,
                (
                    "the password for MQTT broker {} travels unencrypted",
                    broker
                ),
                ["use mqtts:// (TLS) for a broker on another machine"]
            );
        }
        let home_assistant = settings.home_assistant(&broker, &self.obj().name());
        let availability = home_assistant
            .as_ref()
            .map(HomeAssistant::availability_topic);
        let element = self.obj().upcast_ref::<gst::Element>().downgrade();
        let config = settings.mqtt_config(broker, availability);
        let sink = MqttSink::connect(config, element).map_err(|f| {
            let domain = if f.refused_credentials {
                gst::ResourceError::NotAuthorized
            } else {
                gst::ResourceError::OpenWrite
            };
            gst::error_msg!(domain, ("{}", f.text), ["{}", f.hint])
        })?;
        gst::debug!(CAT, imp = self, "publishing JSON lines to {}", sink.name);
        *lock(&self.last_stats) = Stats::default();
        Ok((sink, home_assistant))
    }

    /// At EOS: waits (bounded by flush-timeout, ended by a change to NULL) for the broker
    /// to acknowledge the queue.
    fn drain_mqtt(&self) {
        let timeout = Duration::from_secs(lock(&self.settings).flush_timeout_s.into());
        let Some(sink) = lock(&self.state).as_ref().and_then(State::mqtt) else {
            return;
        };
        let drained = sink.drain(timeout);
        if drained.interrupted {
            // The element is stopping, which counts what is left as dropped.
            gst::info!(
                CAT,
                imp = self,
                "stopped waiting at EOS for MQTT broker {}: stopping with {} messages not acknowledged",
                sink.name,
                drained.left
            );
        } else if drained.left > 0 {
            gst::element_imp_warning!(
                self,
                gst::ResourceError::Write,
                (
                    "{} messages were not delivered to MQTT broker {} within {} s of EOS",
                    drained.left,
                    sink.name,
                    timeout.as_secs()
                ),
                [
                    "check the broker; flush-timeout sets how long EOS waits; messages still \
                  unacknowledged when the element stops are counted in messages-dropped"
                ]
            );
        }
    }

    /// On the way down, before the pads are deactivated: an EOS waiting for the broker
    /// holds the stream lock that deactivating them takes.
    fn interrupt_drain(&self) {
        let sink = lock(&self.state).as_ref().and_then(State::mqtt);
        if let Some(sink) = sink {
            sink.interrupt();
        }
    }
}

/// `home-assistant=true` publishes to a broker, under a prefix MQTT can publish to.
fn home_assistant_usable(settings: &Settings) -> Result<(), gst::ErrorMessage> {
    if !settings.is_mqtt() {
        return Err(gst::error_msg!(
            gst::ResourceError::Settings,
            ("home-assistant=true needs an MQTT location"),
            ["set location=mqtt://HOST:PORT/TOPIC"]
        ));
    }
    let prefix = &settings.home_assistant_prefix;
    if prefix.is_empty() || prefix.contains(['+', '#']) {
        return Err(gst::error_msg!(
            gst::ResourceError::Settings,
            (
                "invalid home-assistant-prefix '{}': it must be a topic without '+' or '#'",
                prefix
            ),
            ["leave it unset for Home Assistant's default, homeassistant"]
        ));
    }
    Ok(())
}

#[glib::object_subclass]
impl ObjectSubclass for ClassifyJson {
    const NAME: &'static str = "GstClassifyJson";
    type Type = super::ClassifyJson;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for ClassifyJson {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("location")
                    .nick("Location")
                    .blurb("File to write the JSON lines to; unset or '-' for standard output; \
                            mqtt://HOST:PORT/TOPIC or mqtts://… to publish each line as an MQTT message. Read at start")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("append")
                    .nick("Append")
                    .blurb("Append to the file instead of replacing it. Read at start")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("new-results-only")
                    .nick("New results only")
                    .blurb("One line per inference result instead of one per buffer: buffers that carry an earlier result over (inference-interval, mode=async) write nothing. Read at start")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("changes-only")
                    .nick("Changes only")
                    .blurb("Write only change events: one line (\"event\":\"imgclassify-change\") each time the top-1 label of a zone, or of the whole frame, changes; the first result counts as a change from none. Overrides new-results-only. Read at start")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("change-confirm")
                    .nick("Change confirm")
                    .blurb("Milliseconds of stream time (PTS) a new top-1 label must hold before it is a change \
                            (changes-only, home-assistant); shorter flickers write nothing; 0 = at once. Read at start")
                    .default_value(0)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("home-assistant")
                    .nick("Home Assistant")
                    .blurb("With an mqtt:// location: publish Home Assistant MQTT discovery configs, one sensor per \
                            zone or frame classifier whose state is its label, retained states and an availability \
                            topic with a last will (docs/home-assistant.md). Read at start")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("home-assistant-prefix")
                    .nick("Home Assistant prefix")
                    .blurb("Home Assistant's MQTT discovery prefix. Read at start")
                    .default_value(Some(home_assistant::DEFAULT_PREFIX))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("home-assistant-device")
                    .nick("Home Assistant device")
                    .blurb("The device name the sensors belong to, and the start of their ids; unset: the element's \
                            name. Read at start")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("username")
                    .nick("MQTT user name")
                    .blurb("User name for the MQTT broker. Read at start")
                    .mutable_ready()
                    .build(),
                // Write-only: no getter, gst-inspect or deep-notify can show it.
                glib::ParamSpecString::builder("password")
                    .nick("MQTT password")
                    .blurb("Password for the MQTT broker (write-only). Read at start")
                    .write_only()
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("ca-file")
                    .nick("CA file")
                    .blurb("PEM file with the CA certificate(s) the mqtts:// broker's certificate must verify \
                            against; unset: the system's CAs. Read at start")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("mqtt-qos")
                    .nick("MQTT QoS")
                    .blurb("0: at most once; 1: at least once (acknowledged, sent again after a reconnect). Read at start")
                    .maximum(1)
                    .default_value(DEFAULT_QOS)
                    .mutable_ready()
                    .build(),
                // On imgclassify and classifyoverlay `qos` is GStreamer's QoS; kept here
                // so that pipelines written before mqtt-qos still run.
                glib::ParamSpecUInt::builder("qos")
                    .nick("MQTT QoS (deprecated)")
                    .blurb("Deprecated: use mqtt-qos, of which it is an alias; setting it posts a warning once. Read at start")
                    .maximum(1)
                    .default_value(DEFAULT_QOS)
                    .mutable_ready()
                    .deprecated()
                    .build(),
                glib::ParamSpecString::builder("client-id")
                    .nick("MQTT client id")
                    .blurb("Client id at the broker; must be unique there (the default is). Read at start")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("retain")
                    .nick("Retain")
                    .blurb("Publish with the retain flag, so new subscribers get the last result. Read at start")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("queue-size")
                    .nick("Queue size")
                    .blurb("Messages kept while the MQTT broker is away; beyond that the oldest are dropped \
                            and counted in messages-dropped. Read at start")
                    .minimum(1)
                    .default_value(DEFAULT_QUEUE_SIZE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("queue-bytes")
                    .nick("Queue bytes")
                    .blurb("Bytes of MQTT messages kept, waiting or not yet acknowledged; beyond that the \
                            oldest waiting are dropped and counted in messages-dropped (the newest is always \
                            kept). Read at start")
                    .minimum(1)
                    .default_value(DEFAULT_QUEUE_BYTES)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("flush-timeout")
                    .nick("Flush timeout")
                    .blurb("Seconds EOS waits for the MQTT broker to acknowledge queued messages")
                    .default_value(DEFAULT_FLUSH_TIMEOUT_S)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt64::builder("messages-delivered")
                    .nick("Messages delivered")
                    .blurb("MQTT messages acknowledged by the broker (QoS 1) or sent (QoS 0) since start")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("messages-dropped")
                    .nick("Messages dropped")
                    .blurb("MQTT messages dropped since start: beyond queue-size or queue-bytes, too large for MQTT, \
                            or not acknowledged by the broker when the element stopped")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let name = pspec.name();
        let mut refused = None;
        let mut s = lock(&self.settings);
        // Text properties keep their value when the new one is not UTF-8.
        let mut text = |value: &glib::Value| match property::text(value) {
            Ok(text) => Some(text),
            Err(e) => {
                refused = Some(e.message(name, name == "password"));
                None
            }
        };
        match name {
            "location" => s.location = property::path(value),
            "append" => s.append = value.get().unwrap_or(false),
            "new-results-only" => s.new_results_only = value.get().unwrap_or(false),
            "changes-only" => s.changes_only = value.get().unwrap_or(false),
            "change-confirm" => s.change_confirm_ms = value.get().unwrap_or(0),
            "home-assistant" => s.home_assistant = value.get().unwrap_or(false),
            "home-assistant-prefix" => {
                if let Some(prefix) = text(value) {
                    s.home_assistant_prefix =
                        prefix.unwrap_or_else(|| home_assistant::DEFAULT_PREFIX.into());
                }
            }
            "home-assistant-device" => {
                if let Some(device) = text(value) {
                    s.home_assistant_device = device;
                }
            }
            "username" => {
                if let Some(user) = text(value) {
                    s.username = user;
                }
            }
            "password" => {
                if let Some(password) = text(value) {
                    s.password = Secret(password);
                }
            }
            "ca-file" => s.ca_file = property::path(value),
            "mqtt-qos" | "qos" => s.qos = value.get().unwrap_or(DEFAULT_QOS),
            "client-id" => {
                if let Some(id) = text(value) {
                    s.client_id = id
                        .filter(|id| !id.is_empty())
                        .unwrap_or_else(mqtt::unique_client_id)
                }
            }
            "retain" => s.retain = value.get().unwrap_or(false),
            "queue-size" => s.queue_size = value.get().unwrap_or(DEFAULT_QUEUE_SIZE),
            "queue-bytes" => s.queue_bytes = value.get().unwrap_or(DEFAULT_QUEUE_BYTES),
            "flush-timeout" => s.flush_timeout_s = value.get().unwrap_or(DEFAULT_FLUSH_TIMEOUT_S),
            other => gst::warning!(CAT, imp = self, "unknown property '{}'", other),
        }
        drop(s);
        if let Some(text) = refused {
            property::refuse(self.obj().upcast_ref(), *CAT, &text);
            return;
        }
        if name == "qos" && !self.qos_warned.swap(true, Ordering::Relaxed) {
            property::deprecated(
                self.obj().upcast_ref(),
                *CAT,
                "'qos' is deprecated on classifyjson, where it is the MQTT quality of service: \
                 set mqtt-qos instead (the value was applied). On imgclassify and classifyoverlay, \
                 qos is GStreamer's QoS",
            );
        }
        let running = lock(&self.state).is_some();
        if running && pspec.name() != "flush-timeout" {
            gst::warning!(
                CAT,
                imp = self,
                "'{}' changed while running: it applies from the next start",
                pspec.name()
            );
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "messages-delivered" => return self.stats().delivered.to_value(),
            "messages-dropped" => return self.stats().dropped.to_value(),
            _ => {}
        }
        let s = lock(&self.settings);
        match pspec.name() {
            "location" => s.location.to_value(),
            "append" => s.append.to_value(),
            "new-results-only" => s.new_results_only.to_value(),
            "changes-only" => s.changes_only.to_value(),
            "change-confirm" => s.change_confirm_ms.to_value(),
            "home-assistant" => s.home_assistant.to_value(),
            "home-assistant-prefix" => s.home_assistant_prefix.to_value(),
            "home-assistant-device" => s.home_assistant_device.to_value(),
            "username" => s.username.to_value(),
            "ca-file" => s.ca_file.to_value(),
            "mqtt-qos" | "qos" => s.qos.to_value(),
            "client-id" => s.client_id.to_value(),
            "retain" => s.retain.to_value(),
            "queue-size" => s.queue_size.to_value(),
            "queue-bytes" => s.queue_bytes.to_value(),
            "flush-timeout" => s.flush_timeout_s.to_value(),
            // The password is write-only and never read back.
            _ => pspec.default_value().clone(),
        }
    }
}

impl GstObjectImpl for ClassifyJson {}

impl ElementImpl for ClassifyJson {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Classification JSON lines writer",
                "Filter/Analyzer/Video",
                "Writes one JSON object per buffer carrying ImgClassifyMeta (timestamps, labels, \
                 class ids, scores, provider, inference time) to a file or standard output; \
                 buffers pass through untouched",
                "imgclassify developers",
            )
        });
        Some(&*META)
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::PausedToReady {
            self.interrupt_drain();
        }
        self.parent_change_state(transition)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| crate::pads::src_and_sink(&gst::Caps::new_any()));
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for ClassifyJson {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        if settings.home_assistant {
            home_assistant_usable(&settings)?;
        }
        let (destination, home_assistant) = if settings.is_mqtt() {
            let (sink, home_assistant) = self.start_mqtt(&settings)?;
            (Destination::Mqtt(Arc::new(sink)), home_assistant)
        } else {
            let output = Output::open(settings.path(), settings.append)?;
            gst::debug!(CAT, imp = self, "writing JSON lines to {}", output.name);
            (Destination::Output(output), None)
        };
        let filters = Filters {
            new_results_only: settings.new_results_only,
            changes_only: settings.changes_only,
            change_confirm: Duration::from_millis(settings.change_confirm_ms.into()),
            home_assistant,
        };
        let state = State::new(destination, filters);
        // A state left from an earlier run is dropped (its MQTT thread joined) unlocked.
        let earlier = lock(&self.state).replace(state);
        drop(earlier);
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        // Taken out first: flushing, posting and joining the MQTT thread need no lock.
        let Some(state) = lock(&self.state).take() else {
            return Ok(());
        };
        match state.destination {
            Destination::Output(mut out) => {
                // A failed flush is reported, but the element still stops cleanly.
                if let Err(msg) = out.flush() {
                    self.post_error_message(msg);
                }
                gst::debug!(CAT, imp = self, "wrote {} lines to {}", out.lines, out.name);
            }
            Destination::Mqtt(sink) => {
                // After closing: what the broker never acknowledged counts as dropped.
                sink.close();
                let stats = sink.stats();
                *lock(&self.last_stats) = stats;
                gst::debug!(
                    CAT,
                    imp = self,
                    "{} messages delivered to {}, {} dropped",
                    stats.delivered,
                    sink.name,
                    stats.dropped
                );
            }
        }
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Eos(_) = event.view() {
            if let Err(msg) = self.flush_output() {
                self.post_error_message(msg);
            }
            self.drain_mqtt();
        }
        self.parent_sink_event(event)
    }

    fn transform_ip_passthrough(
        &self,
        buf: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.write(buf)
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        // Only reached if the caps on both sides ever differed; handled the same way.
        self.write(buf)
    }
}
