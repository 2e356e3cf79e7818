//! ONNX Runtime: the process-wide library and one session per loaded model.

pub mod runtime;
pub mod session;

pub use runtime::{Runtime, RuntimeError, runtime};
pub use session::{Engine, EngineError, EngineOptions};
