//! The remote backend: a model served by an inference server speaking the KServe v2 /
//! Open Inference Protocol over gRPC (Triton, KServe, MLServer, OpenVINO Model Server).
//! Preprocessing, labels and postprocessing stay in the element; only tensors travel.
//! Several endpoints share the load, and one that fails is retried with backoff.

mod backend;
mod check;
mod client;
mod endpoint;
mod error;
mod failover;
mod pool;
mod probe;
mod proto;
mod task;
mod tensor;

/// The most `server-timeout` may be, in milliseconds. In `sync` mode the stream stands
/// still while a frame waits, and a minute is already far past any live use; a state
/// change no longer waits for it, but a stalled server would still hold every frame that
/// long.
pub const MAX_TIMEOUT_MS: u32 = 60_000;

pub use backend::{Remote, RemoteOptions};
pub use endpoint::{Endpoint, parse_endpoints, unencrypted};
pub use error::RemoteError;
