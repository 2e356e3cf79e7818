//! What loading tells the user, without GStreamer: errors and warnings carry the kind of
//! problem, which the element maps to the GStreamer error domain a user would look in.

/// The kind of problem, as GStreamer's error domains tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A property's value is wrong, or the model does not fit it.
    Settings,
    /// A file or folder does not exist.
    NotFound,
    /// A file exists but cannot be read or used.
    OpenRead,
    /// No inference server can be reached.
    Unreachable,
    /// A server refused the client's credentials.
    NotAuthorized,
    /// Reading failed: an example photo, or the first answer of a server.
    Read,
    /// A library (ONNX Runtime) or a thread could not be started.
    Init,
    /// Running the model failed.
    Failed,
    /// Another execution provider than the one asked for runs the model.
    Fallback,
}

/// Why loading failed: the message names the thing and says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LoadError {
    pub kind: Kind,
    pub message: String,
}

impl LoadError {
    pub fn new(kind: Kind, message: impl std::fmt::Display) -> LoadError {
        LoadError {
            kind,
            message: message.to_string(),
        }
    }
}

/// Something loading says on the way, posted or logged by the element once loading is
/// done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A bus warning: worth fixing, but the element runs.
    Warning {
        kind: Kind,
        text: String,
        hint: Option<&'static str>,
    },
    /// The debug log at WARNING: not worth a bus message.
    LogWarning(String),
    /// The debug log at INFO: what was loaded, where, how fast.
    Info(String),
    /// The debug log at DEBUG.
    Debug(String),
}

impl Note {
    pub fn warning(kind: Kind, text: impl Into<String>) -> Note {
        Note::Warning {
            kind,
            text: text.into(),
            hint: None,
        }
    }
}
