//! The model zoo, the metadata models carry, their labels and input shapes.

pub mod input;
pub mod labels;
pub mod metadata;
pub mod zoo;

pub use input::{ModelSpec, ShapeError, model_spec};
pub use metadata::{MetadataError, ModelMetadata};
