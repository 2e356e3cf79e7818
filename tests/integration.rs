//! The integration tests, one module per file, linked into one test binary: one link
//! instead of one per file is most of what `cargo test` costs in time and disk. The
//! tests that count process-wide things (sessions, threads, file descriptors) or time
//! the element are in `serial.rs`, where they run one at a time.
//!
//! One file's tests: `cargo test --test integration zones::`.

mod common;
mod triton;

mod accuracy;
mod byom;
mod caps;
mod change_confirm;
mod classifiers;
mod consumers;
mod conversion;
mod custom_classes;
mod custom_models;
mod documented_examples;
mod element;
mod errors;
mod home_assistant;
mod inbox;
mod input_size;
mod json_new_results;
mod kserve;
mod live_classes;
mod mqtt;
mod non_utf8;
mod overlap;
mod overlay;
mod overlay_regions;
mod providers;
mod region_transforms;
mod regions;
mod remote;
mod remote_limits;
mod scripts;
mod slow_model;
mod tracking;
mod unchanged;
mod zones;
