//! The model zoo, the metadata models carry, their labels and input shapes.

pub mod input;
pub mod labels;
pub mod metadata;
pub mod zoo;

pub use input::{
    INPUT_SIZE_RANGE, InputSizeError, ModelSpec, ShapeError, model_spec, requested_input_size,
};
pub use metadata::{MetadataError, ModelMetadata};
