//! The in-process ONNX Runtime backend: the process-wide library, execution providers
//! with explicit fallback, and sessions shared between elements through a cache.

mod aside;
mod backend;
mod cache;
mod chooser;
mod error;
mod inspect;
mod int8;
mod io;
mod pool;
mod props;
mod provider;
mod runtime;
mod session;
mod spin_mode;
mod spinning;
mod threads;

pub use aside::aside_sessions;
pub use backend::OnnxRuntime;
pub use cache::SESSIONS_ENV;
pub use error::EngineError;
pub use int8::{Int8Kernels, int8_kernels};
pub use pool::{pool_lends, pooled_sessions};
pub use provider::{ProviderOptions, Requested};
pub use runtime::{runtime, set_log_sink};
pub use session::{EngineOptions, SHARED_PREPACK_ENV, describe, live_sessions};
pub use spin_mode::{SpinMode, Spinning};
pub use threads::{
    PINNED_THREADS_ENV, THREADS_PER_CORE, capped as capped_threads, default_threads,
};
