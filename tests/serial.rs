//! The tests that count process-wide things (ONNX Runtime sessions, threads, file
//! descriptors) or time the element, in a test binary of their own: each of those holds
//! `common::serial()`, so they run one at a time; beside them run only
//! `properties.rs`'s documentation checks, which start no pipeline.
//!
//! One file's tests: `cargo test --test serial sessions::`.

mod common;

mod int8;
mod live;
mod live_embedding;
mod properties;
mod robustness;
mod sessions;
mod spinning;
mod streams;
