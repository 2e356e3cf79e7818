//! Reads the model's input and output shapes into a tensor spec, with metadata and
//! ImageNet defaults filling what the shapes leave open.

use std::fmt;

use super::metadata::ModelMetadata;
use crate::preprocess::{ChannelOrder, Layout, TensorSpec};

/// Size used when a model has dynamic spatial dims and no `input_size` metadata.
pub const DEFAULT_INPUT_SIZE: usize = 224;

/// Largest height or width taken from a model's shape or `input_size` metadata: the
/// element allocates width x height x 3 floats per image, which must neither overflow
/// nor exhaust memory for a model that merely declares a huge input.
pub const MAX_INPUT_SIZE: usize = 8192;

/// Everything needed to feed the model and read its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub tensor: TensorSpec,
    pub crop_fraction: f64,
    /// Number of classes in the output.
    pub classes: usize,
    pub outputs_probabilities: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    InputCount(usize),
    OutputCount(usize),
    NotImage(Vec<i64>),
    NotFloat { what: &'static str, ty: String },
    Output(Vec<i64>),
    TooLarge(Vec<i64>),
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::InputCount(n) => write!(
                f,
                "the model has {n} inputs; imgclassify needs exactly one image input"
            ),
            ShapeError::OutputCount(n) => write!(
                f,
                "the model has {n} outputs; imgclassify needs at least one class-score output"
            ),
            ShapeError::NotImage(shape) => write!(
                f,
                "the model input has shape {shape:?}; imgclassify needs [N,3,H,W] or [N,H,W,3]"
            ),
            ShapeError::NotFloat { what, ty } => {
                write!(
                    f,
                    "the model {what} is of type {ty}; imgclassify needs float32"
                )
            }
            ShapeError::Output(shape) => write!(
                f,
                "the model output has shape {shape:?}; imgclassify needs [N,classes] or [classes] \
                 with a fixed number of classes"
            ),
            ShapeError::TooLarge(shape) => write!(
                f,
                "the model input has shape {shape:?}; imgclassify takes heights and widths up to {MAX_INPUT_SIZE}"
            ),
        }
    }
}

impl std::error::Error for ShapeError {}

fn fixed(dim: i64) -> Option<usize> {
    (dim > 0).then_some(dim as usize)
}

/// Builds the spec from the input and output shapes (-1 = dynamic) and the metadata.
pub fn model_spec(
    input: &[i64],
    output: &[i64],
    meta: &ModelMetadata,
) -> Result<ModelSpec, ShapeError> {
    let [_, a, b, c] = input else {
        return Err(ShapeError::NotImage(input.to_vec()));
    };
    let (layout, h, w) = match (*a, *c) {
        (3, last) if last != 3 || meta.layout != Some(Layout::Nhwc) => (Layout::Nchw, *b, last),
        (_, 3) => (Layout::Nhwc, *a, *b),
        _ => return Err(ShapeError::NotImage(input.to_vec())),
    };
    let default = meta.input_size.unwrap_or(DEFAULT_INPUT_SIZE);
    let height = fixed(h).unwrap_or(default);
    let width = fixed(w).unwrap_or(default);
    if height > MAX_INPUT_SIZE || width > MAX_INPUT_SIZE {
        return Err(ShapeError::TooLarge(input.to_vec()));
    }
    let classes = match output {
        [n] | [_, n] => fixed(*n),
        [_, n, 1, 1] => fixed(*n),
        _ => None,
    }
    .ok_or_else(|| ShapeError::Output(output.to_vec()))?;
    let imagenet = meta.scale.is_none() && meta.mean.is_none() && meta.std.is_none();
    Ok(ModelSpec {
        tensor: TensorSpec {
            width,
            height,
            layout,
            order: meta.order.unwrap_or(ChannelOrder::Rgb),
            scale: meta
                .scale
                .unwrap_or(if imagenet { 1.0 / 255.0 } else { 1.0 }),
            mean: meta.mean.unwrap_or(if imagenet {
                [0.485, 0.456, 0.406]
            } else {
                [0.0; 3]
            }),
            std: meta.std.unwrap_or(if imagenet {
                [0.229, 0.224, 0.225]
            } else {
                [1.0; 3]
            }),
        },
        crop_fraction: meta.crop_fraction.unwrap_or(1.0),
        classes,
        outputs_probabilities: meta.outputs_probabilities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_nchw_takes_the_metadata_size() {
        let meta = ModelMetadata {
            input_size: Some(260),
            ..Default::default()
        };
        let spec = model_spec(&[-1, 3, -1, -1], &[-1, 1000], &meta).expect("valid");
        assert_eq!((spec.tensor.width, spec.tensor.height), (260, 260));
        assert_eq!(spec.tensor.layout, Layout::Nchw);
        assert_eq!(spec.classes, 1000);
    }

    #[test]
    fn fixed_nhwc_without_metadata_gets_imagenet_defaults() {
        let spec =
            model_spec(&[1, 192, 160, 3], &[1, 10], &ModelMetadata::default()).expect("valid");
        assert_eq!((spec.tensor.width, spec.tensor.height), (160, 192));
        assert_eq!(spec.tensor.layout, Layout::Nhwc);
        assert_eq!(spec.tensor.mean, [0.485, 0.456, 0.406]);
        assert_eq!(spec.crop_fraction, 1.0);
    }

    #[test]
    fn three_by_three_images_follow_the_layout_metadata() {
        let meta = ModelMetadata {
            layout: Some(Layout::Nhwc),
            ..Default::default()
        };
        let spec = model_spec(&[1, 3, 3, 3], &[1, 2], &meta).expect("valid");
        assert_eq!(spec.tensor.layout, Layout::Nhwc);
    }

    #[test]
    fn non_image_inputs_and_bad_outputs_are_rejected() {
        let meta = ModelMetadata::default();
        assert_eq!(
            model_spec(&[1, 10], &[1, 2], &meta),
            Err(ShapeError::NotImage(vec![1, 10]))
        );
        assert_eq!(
            model_spec(&[1, 4, 8, 8], &[1, 2], &meta),
            Err(ShapeError::NotImage(vec![1, 4, 8, 8]))
        );
        assert_eq!(
            model_spec(&[1, 3, 8, 8], &[1, 2, 3], &meta),
            Err(ShapeError::Output(vec![1, 2, 3]))
        );
        assert_eq!(
            model_spec(&[1, 3, 8, 8], &[1, -1], &meta),
            Err(ShapeError::Output(vec![1, -1]))
        );
    }

    #[test]
    fn fixed_sides_beyond_the_limit_are_rejected() {
        let meta = ModelMetadata::default();
        let side = MAX_INPUT_SIZE as i64;
        assert!(model_spec(&[1, 3, side, side], &[1, 2], &meta).is_ok());
        for input in [
            vec![1, 3, side + 1, side],
            vec![1, side, side + 1, 3],
            vec![1, 3, i64::MAX, i64::MAX],
        ] {
            assert_eq!(
                model_spec(&input, &[1, 2], &meta),
                Err(ShapeError::TooLarge(input.clone()))
            );
        }
    }
}
