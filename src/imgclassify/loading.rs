//! NULL→READY for the element: the core loads (`core::loading`); here its notes become
//! bus warnings and debug log lines, and its error a GStreamer error in the domain a
//! user would look in.

use std::sync::Arc;

use gst::prelude::*;

use super::CAT;
use crate::core::backend::onnxruntime::set_log_sink;
use crate::core::loading::request::LoadRequest;
use crate::core::loading::{self, Loaded};
use crate::core::preprocess::ResizeMode;
use crate::core::report::{Kind, LoadError, Note};

/// Loads the model, posting what loading had to say whether it worked or not.
pub fn load(
    element: &super::ImgClassify,
    request: &LoadRequest,
    resize_mode: ResizeMode,
) -> Result<Loaded, gst::ErrorMessage> {
    route_onnxruntime_log();
    let id = request
        .classifier_id
        .clone()
        .unwrap_or_else(|| element.name().to_string());
    let mut notes = Vec::new();
    let loaded = loading::load(request, id, resize_mode, &mut notes);
    for note in notes {
        post(element, note);
    }
    loaded.map_err(error)
}

/// ONNX Runtime's own log lines go to this element's debug category.
fn route_onnxruntime_log() {
    set_log_sink(Arc::new(|level, line| {
        use ort::logging::LogLevel;
        let level = match level {
            LogLevel::Verbose => gst::DebugLevel::Log,
            LogLevel::Info => gst::DebugLevel::Info,
            LogLevel::Warning => gst::DebugLevel::Warning,
            LogLevel::Error | LogLevel::Fatal => gst::DebugLevel::Error,
        };
        gst::log_with_level!(CAT, level, "onnxruntime: {}", line);
    }));
}

/// Runs `$body` with `$d` bound to the GStreamer error domain of each kind of problem.
macro_rules! in_domain {
    ($kind:expr, $d:ident => $body:expr) => {
        match $kind {
            Kind::Settings => {
                let $d = gst::LibraryError::Settings;
                $body
            }
            Kind::NotFound => {
                let $d = gst::ResourceError::NotFound;
                $body
            }
            Kind::OpenRead => {
                let $d = gst::ResourceError::OpenRead;
                $body
            }
            Kind::Unreachable => {
                let $d = gst::ResourceError::OpenReadWrite;
                $body
            }
            Kind::NotAuthorized => {
                let $d = gst::ResourceError::NotAuthorized;
                $body
            }
            Kind::Read => {
                let $d = gst::ResourceError::Read;
                $body
            }
            Kind::Init | Kind::Fallback => {
                let $d = gst::LibraryError::Init;
                $body
            }
            Kind::Failed => {
                let $d = gst::LibraryError::Failed;
                $body
            }
        }
    };
}

pub(super) fn post(element: &super::ImgClassify, note: Note) {
    match note {
        Note::Warning { kind, text, hint } => in_domain!(kind, d => match hint {
            Some(hint) => gst::element_warning!(element, d, ("{}", text), ["{}", hint]),
            None => gst::element_warning!(element, d, ("{}", text)),
        }),
        Note::LogWarning(text) => gst::warning!(CAT, obj = element, "{}", text),
        Note::Info(text) => gst::info!(CAT, obj = element, "{}", text),
        Note::Debug(text) => gst::debug!(CAT, obj = element, "{}", text),
    }
}

fn error(e: LoadError) -> gst::ErrorMessage {
    in_domain!(e.kind, d => gst::error_msg!(d, ("{}", e.message)))
}

/// A load or rebuild that failed while the element runs: a warning, since what is in
/// use goes on; `kept` says what stays.
pub(super) fn warn_kept(element: &super::ImgClassify, e: LoadError, kept: &str) {
    in_domain!(e.kind, d => gst::element_warning!(element, d, ("{}; {}", e.message, kept)));
}
