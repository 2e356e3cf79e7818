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
    /// 3 (red, green and blue in `order`) or 1 (greyscale: luma, see `affine`).
    pub channels: usize,
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
            channels: 3,
            order: ChannelOrder::Rgb,
            scale: 1.0 / 255.0,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        }
    }

    pub fn len(&self) -> usize {
        self.width * self.height * self.channels
    }

    pub fn is_grey(&self) -> bool {
        self.channels == 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per tensor channel: multiplier and offset applied to the 0..=255 value.
    /// A greyscale tensor's one channel takes the average of the three means and of the
    /// three standard deviations: metadata written for one channel repeats its value
    /// (or gives it once), and ImageNet's defaults become 0.449 and 0.226, what their
    /// channels have in common, rather than red's alone.
    pub(crate) fn affine(&self) -> ([f32; 3], [f32; 3]) {
        let (mean, std) = if self.is_grey() {
            let average = |v: [f32; 3]| [(v[0] + v[1] + v[2]) / 3.0; 3];
            (average(self.mean), average(self.std))
        } else {
            (self.mean, self.std)
        };
        let mut a = [0.0; 3];
        let mut b = [0.0; 3];
        for c in 0..3 {
            a[c] = self.scale / std[c];
            b[c] = -mean[c] / std[c];
        }
        (a, b)
    }
}
