//! What a model is, independent of what runs it: its input contract, the metadata it
//! carries, its labels, and the built-in models.

pub mod input;
pub mod labels;
pub mod metadata;
pub mod normalisation;
pub mod tensor;
pub mod zoo;

pub use input::{
    MAX_EMBEDDING_WIDTH, ModelSpec, ShapeError, classes_of, model_spec, requested_input_size,
};
pub use metadata::{MetadataError, ModelMetadata, OutputKind};
pub use tensor::{ChannelOrder, INPUT_SIZE_RANGE, Layout, MAX_INPUT_SIZE, TensorSpec};
