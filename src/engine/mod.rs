//! ONNX Runtime: the process-wide library, execution providers, and sessions shared
//! between elements through a cache.

pub mod cache;
pub mod handle;
pub mod provider;
pub mod runtime;
pub mod session;

pub use handle::Engine;
pub use provider::{Active, Failure, Kind, ProviderOptions, Requested};
pub use runtime::{Runtime, RuntimeError, runtime};
pub use session::{EngineError, EngineOptions, live_sessions};
