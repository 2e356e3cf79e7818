//! GStreamer glue for `classifyjson`: opens the output at start, writes one line per
//! buffer that carries `ImgClassifyMeta`, flushes at EOS and stop. Every I/O failure
//! is an element error naming the file; nothing here panics.

use std::io;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::output::Output;
use crate::jsonlines::{self, Times};
use crate::lock::lock;
use crate::result::Classification;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "classifyjson",
        gst::DebugColorFlags::empty(),
        Some("JSON lines writer for ImgClassifyMeta"),
    )
});

/// `location` values that mean standard output.
const STDOUT: &str = "-";

#[derive(Debug, Clone, Default)]
struct Settings {
    location: Option<String>,
    append: bool,
}

impl Settings {
    /// The file to write, or `None` for standard output.
    fn path(&self) -> Option<&str> {
        self.location
            .as_deref()
            .filter(|l| !l.is_empty() && *l != STDOUT)
    }
}

#[derive(Default)]
pub struct ClassifyJson {
    settings: Mutex<Settings>,
    output: Mutex<Option<Output>>,
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

    /// Writes the line for `buf`, if it carries a classification.
    fn write(&self, buf: &gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let Some(line) = jsonlines::line(&Classification::all_from_buffer(buf), &self.times(buf))
        else {
            return Ok(gst::FlowSuccess::Ok);
        };
        let mut output = lock(&self.output);
        let Some(out) = output.as_mut() else {
            gst::element_imp_error!(self, gst::CoreError::StateChange, ["output not open"]);
            return Err(gst::FlowError::Error);
        };
        if let Err(e) = out.write_line(&line) {
            let name = out.name.clone();
            // What could not be written is dropped, so stopping does not fail on it again.
            out.writer = Box::new(io::sink());
            drop(output);
            gst::element_imp_error!(
                self,
                gst::ResourceError::Write,
                ("could not write to {}: {}", name, e),
                ["check free space and permissions of the location"]
            );
            return Err(gst::FlowError::Error);
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush_output(&self) -> Result<(), gst::ErrorMessage> {
        match lock(&self.output).as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
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
                    .blurb("File to write the JSON lines to; unset or '-' for standard output. Read at start")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("append")
                    .nick("Append")
                    .blurb("Append to the file instead of replacing it. Read at start")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "location" => s.location = value.get().unwrap_or(None),
            "append" => s.append = value.get().unwrap_or(false),
            other => gst::warning!(CAT, imp = self, "unknown property '{}'", other),
        }
        if lock(&self.output).is_some() {
            gst::warning!(
                CAT,
                imp = self,
                "'{}' changed while running: it applies from the next start",
                pspec.name()
            );
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        match pspec.name() {
            "location" => s.location.to_value(),
            "append" => s.append.to_value(),
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

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst::Caps::new_any();
            [
                ("src", gst::PadDirection::Src),
                ("sink", gst::PadDirection::Sink),
            ]
            .into_iter()
            .filter_map(|(name, dir)| {
                gst::PadTemplate::new(name, dir, gst::PadPresence::Always, &caps).ok()
            })
            .collect()
        });
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
        let output = Output::open(settings.path(), settings.append)?;
        gst::debug!(CAT, imp = self, "writing JSON lines to {}", output.name);
        *lock(&self.output) = Some(output);
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        // A failed flush is reported, but the element still stops cleanly.
        if let Err(msg) = self.flush_output() {
            self.post_error_message(msg);
        }
        if let Some(out) = lock(&self.output).take() {
            gst::debug!(CAT, imp = self, "wrote {} lines to {}", out.lines, out.name);
        }
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Eos(_) = event.view()
            && let Err(msg) = self.flush_output()
        {
            self.post_error_message(msg);
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
