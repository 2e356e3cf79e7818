//! A real Triton server (`triton/server.rs`) and the gateway in front of it that slows,
//! spoils or renames its answers (`triton/gateway.rs`), for `remote.rs` and
//! `remote_limits.rs`.

pub mod gateway;
pub mod server;
