//! The part of the plugin that needs no GStreamer element, pad, buffer or bus: models,
//! preprocessing, backends, postprocessing, custom classes, regions, zones, scheduling,
//! the async worker and the classifier that turns prepared tensors into results. The
//! elements feed it frames and write what it returns; nothing in here calls back into
//! an element.

pub mod backend;
pub mod changes;
pub mod classes;
pub mod classifier;
pub mod cpu_load;
pub mod files;
pub mod inbox;
pub mod inflight;
pub mod job;
pub mod loading;
pub mod lock;
pub mod model;
pub mod postprocess;
pub mod preprocess;
pub mod regions;
pub mod report;
pub mod schedule;
pub mod sigpipe;
pub mod stats;
pub mod tracking;
pub mod unchanged;
pub mod worker;
pub mod zones;
