//! The model's input contract: size, memory layout, channel order and normalisation.
//! Preprocessing writes to it and every backend reads it.

use std::ops::RangeInclusive;

/// Size used when a model has dynamic spatial dims and no `input_size` metadata.
pub const DEFAULT_INPUT_SIZE: usize = 224;

/// Largest height or width taken from a model's shape or `input_size` metadata: the
/// element allocates width x height x 3 floats per image, which must neither overflow
/// nor exhaust memory for a model that merely declares a huge input.
pub const MAX_INPUT_SIZE: usize = 8192;

/// Square sizes a dynamic model may be run at (`input-size`). MobileNet and
/// EfficientNet halve the image five times, so below 32 the last feature map is empty;
/// above 1024 the tensor alone passes 12 MB per image and no ImageNet model gains.
pub const INPUT_SIZE_RANGE: RangeInclusive<usize> = 32..=1024;

/// Memory order of the model's input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Nchw,
    Nhwc,
}

/// Channel order the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

/// What the model wants: `value = (pixel * scale - mean[c]) / std[c]` for pixels in 0..=255.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    pub width: usize,
    pub height: usize,
    pub layout: Layout,
    pub order: ChannelOrder,
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// ImageNet's RGB mean and standard deviation of 0..1 pixels: the normalisation a model
/// gets when its metadata names none.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

impl TensorSpec {
    /// A square NCHW RGB tensor with ImageNet normalisation.
    pub fn imagenet(size: usize) -> TensorSpec {
        TensorSpec {
            width: size,
            height: size,
            layout: Layout::Nchw,
            order: ChannelOrder::Rgb,
            scale: 1.0 / 255.0,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        }
    }

    pub fn len(&self) -> usize {
        self.width * self.height * 3
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per tensor channel: multiplier and offset applied to the 0..=255 value.
    pub(crate) fn affine(&self) -> ([f32; 3], [f32; 3]) {
        let mut a = [0.0; 3];
        let mut b = [0.0; 3];
        for c in 0..3 {
            a[c] = self.scale / self.std[c];
            b[c] = -self.mean[c] / self.std[c];
        }
        (a, b)
    }
}
