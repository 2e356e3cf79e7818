//! Reads the model's input and output shapes into a tensor spec, with metadata and
//! ImageNet defaults filling what the shapes leave open.

use super::metadata::{ModelMetadata, OutputKind};
use super::tensor::{
    ChannelOrder, DEFAULT_INPUT_SIZE, IMAGENET_MEAN, IMAGENET_STD, INPUT_SIZE_RANGE, Layout,
    MAX_INPUT_SIZE, TensorSpec,
};

/// An `input-size` outside 0 and [`INPUT_SIZE_RANGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "input-size={0} is out of range; set input-size=0 for the model's own size, \
     or a square size from {start} to {end} pixels",
    start = INPUT_SIZE_RANGE.start(),
    end = INPUT_SIZE_RANGE.end()
)]
pub struct InputSizeError(pub u64);

/// The size an `input-size` value asks for: None for 0 (the model's own size).
pub fn requested_input_size(value: u64) -> Result<Option<usize>, InputSizeError> {
    match usize::try_from(value) {
        Ok(0) => Ok(None),
        Ok(size) if INPUT_SIZE_RANGE.contains(&size) => Ok(Some(size)),
        _ => Err(InputSizeError(value)),
    }
}

/// The most classes a model may output. The largest real label sets (ImageNet-21k,
/// 21 843 classes) are far below; a model declaring more is broken or hostile, and the
/// labels, scores and `class N` names its count sizes must stay bounded.
pub const MAX_CLASSES: usize = 1_000_000;

/// The most values an embedding output may have per image (2048 for ResNet-50, 25 088
/// for VGG's flattened features): each example photo's embedding is kept in memory and
/// in the cache.
pub const MAX_EMBEDDING_WIDTH: usize = 1_000_000;

/// The class count of a class-score output shape: `[N,C]`, `[N,C,1,1]` (Caffe and
/// SqueezeNet), `[N,1,C]` or `[C]`, with C fixed.
pub fn classes_of(output: &[i64]) -> Option<usize> {
    let fixed = |n: i64| usize::try_from(n).ok().filter(|&n| n > 0);
    match output {
        [n] | [_, n] | [_, n, 1, 1] | [_, 1, n] => fixed(*n),
        _ => None,
    }
}

/// Everything needed to feed the model and read its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub tensor: TensorSpec,
    pub crop_fraction: f64,
    /// Number of classes in the output.
    pub classes: usize,
    pub output: Option<OutputKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("the model has {0} inputs; imgclassify needs exactly one image input")]
    InputCount(usize),
    #[error("the model has {0} outputs; imgclassify needs at least one class-score output")]
    OutputCount(usize),
    #[error(
        "the model input has shape {0:?}; imgclassify needs [N,3,H,W] or [N,H,W,3] \
         (or [N,1,H,W] or [N,H,W,1] for greyscale)"
    )]
    NotImage(Vec<i64>),
    #[error("the model {what} is of type {ty}; imgclassify needs float32")]
    NotFloat { what: &'static str, ty: String },
    #[error(
        "the model output has shape {0:?}; imgclassify needs [N,C], [N,C,1,1], [N,1,C] or [C] \
         with a fixed number of classes C"
    )]
    Output(Vec<i64>),
    #[error(
        "the model input has shape {0:?}; imgclassify takes heights and widths up to {MAX_INPUT_SIZE}"
    )]
    TooLarge(Vec<i64>),
    #[error(
        "the model outputs {0} classes; imgclassify takes at most {MAX_CLASSES}: is the \
         output's shape right?"
    )]
    TooManyClasses(usize),
    /// The model's height or width is fixed and differs from the requested size.
    #[error("{}", fixed_size_text(*width, *height, *requested))]
    FixedSize {
        width: usize,
        height: usize,
        requested: usize,
    },
}

fn fixed_size_text(width: usize, height: usize, requested: usize) -> String {
    let mut text = format!(
        "its input size is fixed at {width}x{height} pixels, so it cannot run at \
         input-size={requested} ({requested}x{requested}); set input-size=0 (the model's own size)"
    );
    if width == height {
        text.push_str(&format!(" or input-size={width}"));
    }
    text + ", or use a model whose height and width are dynamic"
}

fn fixed(dim: i64) -> Option<usize> {
    (dim > 0).then_some(dim as usize)
}

/// Builds the spec from the input and output shapes (-1 = dynamic) and the metadata.
/// `requested` (from `input-size`) replaces the size of dynamic height and width; a
/// fixed one must already equal it.
pub fn model_spec(
    input: &[i64],
    output: &[i64],
    meta: &ModelMetadata,
    requested: Option<usize>,
) -> Result<ModelSpec, ShapeError> {
    let [_, a, b, c] = input else {
        return Err(ShapeError::NotImage(input.to_vec()));
    };
    // Three channels before one: [N,1,W,3] is a one-row colour image. Where both ends
    // could be the channels, the layout metadata decides, NCHW by default.
    let nhwc = meta.layout == Some(Layout::Nhwc);
    let (layout, channels, h, w) = match (*a, *c) {
        (3, last) if last != 3 || !nhwc => (Layout::Nchw, 3, *b, last),
        (_, 3) => (Layout::Nhwc, 3, *a, *b),
        (1, last) if last != 1 || !nhwc => (Layout::Nchw, 1, *b, last),
        (_, 1) => (Layout::Nhwc, 1, *a, *b),
        _ => return Err(ShapeError::NotImage(input.to_vec())),
    };
    let default = requested.or(meta.input_size).unwrap_or(DEFAULT_INPUT_SIZE);
    let height = fixed(h).unwrap_or(default);
    let width = fixed(w).unwrap_or(default);
    if height > MAX_INPUT_SIZE || width > MAX_INPUT_SIZE {
        return Err(ShapeError::TooLarge(input.to_vec()));
    }
    if let Some(requested) = requested
        && (height != requested || width != requested)
    {
        return Err(ShapeError::FixedSize {
            width,
            height,
            requested,
        });
    }
    let classes = classes_of(output).ok_or_else(|| ShapeError::Output(output.to_vec()))?;
    if classes > MAX_CLASSES {
        return Err(ShapeError::TooManyClasses(classes));
    }
    let imagenet = meta.scale.is_none() && meta.mean.is_none() && meta.std.is_none();
    Ok(ModelSpec {
        tensor: TensorSpec {
            width,
            height,
            layout,
            channels,
            order: meta.order.unwrap_or(ChannelOrder::Rgb),
            scale: meta
                .scale
                .unwrap_or(if imagenet { 1.0 / 255.0 } else { 1.0 }),
            mean: meta
                .mean
                .unwrap_or(if imagenet { IMAGENET_MEAN } else { [0.0; 3] }),
            std: meta
                .std
                .unwrap_or(if imagenet { IMAGENET_STD } else { [1.0; 3] }),
        },
        crop_fraction: meta.crop_fraction.unwrap_or(1.0),
        classes,
        output: meta.output,
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
        let spec = model_spec(&[-1, 3, -1, -1], &[-1, 1000], &meta, None).expect("valid");
        assert_eq!((spec.tensor.width, spec.tensor.height), (260, 260));
        assert_eq!(spec.tensor.layout, Layout::Nchw);
        assert_eq!(spec.classes, 1000);
    }

    #[test]
    fn fixed_nhwc_without_metadata_gets_imagenet_defaults() {
        let spec = model_spec(&[1, 192, 160, 3], &[1, 10], &ModelMetadata::default(), None)
            .expect("valid");
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
        let spec = model_spec(&[1, 3, 3, 3], &[1, 2], &meta, None).expect("valid");
        assert_eq!(spec.tensor.layout, Layout::Nhwc);
    }

    #[test]
    fn one_channel_inputs_are_greyscale_in_either_layout() {
        let meta = ModelMetadata::default();
        let nchw = model_spec(&[-1, 1, -1, -1], &[-1, 2], &meta, Some(96)).expect("valid");
        assert_eq!(
            (nchw.tensor.layout, nchw.tensor.channels, nchw.tensor.len()),
            (Layout::Nchw, 1, 96 * 96)
        );
        let nhwc = model_spec(&[1, 28, 20, 1], &[1, 10], &meta, None).expect("valid");
        assert_eq!(
            (nhwc.tensor.layout, nhwc.tensor.channels),
            (Layout::Nhwc, 1)
        );
        assert_eq!((nhwc.tensor.height, nhwc.tensor.width), (28, 20));
        // Colour wins where both readings fit: a one-row RGB image.
        let row = model_spec(&[1, 1, 64, 3], &[1, 10], &meta, None).expect("valid");
        assert_eq!((row.tensor.channels, row.tensor.height), (3, 1));
        let square = model_spec(&[1, 1, 8, 1], &[1, 10], &meta, None).expect("valid");
        assert_eq!(
            (square.tensor.layout, square.tensor.width),
            (Layout::Nchw, 1)
        );
        let tagged = ModelMetadata {
            layout: Some(Layout::Nhwc),
            ..Default::default()
        };
        let square = model_spec(&[1, 1, 8, 1], &[1, 10], &tagged, None).expect("valid");
        assert_eq!(
            (square.tensor.layout, square.tensor.width),
            (Layout::Nhwc, 8)
        );
    }

    #[test]
    fn non_image_inputs_and_bad_outputs_are_rejected() {
        let meta = ModelMetadata::default();
        assert_eq!(
            model_spec(&[1, 10], &[1, 2], &meta, None),
            Err(ShapeError::NotImage(vec![1, 10]))
        );
        assert_eq!(
            model_spec(&[1, 4, 8, 8], &[1, 2], &meta, None),
            Err(ShapeError::NotImage(vec![1, 4, 8, 8]))
        );
        assert_eq!(
            model_spec(&[1, 3, 8, 8], &[1, 2, 3], &meta, None),
            Err(ShapeError::Output(vec![1, 2, 3]))
        );
        assert_eq!(
            model_spec(&[1, 3, 8, 8], &[1, -1], &meta, None),
            Err(ShapeError::Output(vec![1, -1]))
        );
    }

    #[test]
    fn input_size_replaces_dynamic_dims_and_keeps_the_crop() {
        let meta = ModelMetadata {
            input_size: Some(224),
            crop_fraction: Some(0.875),
            ..Default::default()
        };
        let spec = model_spec(&[-1, 3, -1, -1], &[-1, 1000], &meta, Some(160)).expect("valid");
        assert_eq!((spec.tensor.width, spec.tensor.height), (160, 160));
        assert_eq!(spec.tensor.len(), 3 * 160 * 160);
        assert_eq!(spec.crop_fraction, 0.875);
        let nhwc = model_spec(&[1, -1, -1, 3], &[1, 10], &meta, Some(300)).expect("valid");
        assert_eq!((nhwc.tensor.width, nhwc.tensor.height), (300, 300));
        assert_eq!(nhwc.tensor.layout, Layout::Nhwc);
    }

    #[test]
    fn fixed_dims_accept_only_their_own_size() {
        let meta = ModelMetadata::default();
        let spec = model_spec(&[1, 3, 64, 64], &[1, 4], &meta, Some(64)).expect("same size");
        assert_eq!((spec.tensor.width, spec.tensor.height), (64, 64));
        let err = model_spec(&[1, 3, 64, 64], &[1, 4], &meta, Some(224)).expect_err("fixed");
        assert_eq!(
            err,
            ShapeError::FixedSize {
                width: 64,
                height: 64,
                requested: 224
            }
        );
        let text = err.to_string();
        for needle in ["64x64", "input-size=224", "input-size=0", "input-size=64"] {
            assert!(text.contains(needle), "'{needle}' missing in: {text}");
        }
        // One fixed dim is enough to refuse, and a non-square model has no one size to suggest.
        let err = model_spec(&[1, 3, 192, -1], &[1, 4], &meta, Some(160)).expect_err("fixed H");
        assert_eq!(
            err,
            ShapeError::FixedSize {
                width: 160,
                height: 192,
                requested: 160
            }
        );
        let err = model_spec(&[1, 192, 160, 3], &[1, 4], &meta, Some(160)).expect_err("non-square");
        assert!(!err.to_string().contains("or input-size=160"), "{err}");
    }

    #[test]
    fn input_size_bounds() {
        assert_eq!(requested_input_size(0), Ok(None));
        assert_eq!(requested_input_size(32), Ok(Some(32)));
        assert_eq!(requested_input_size(160), Ok(Some(160)));
        assert_eq!(requested_input_size(1024), Ok(Some(1024)));
        for bad in [1, 31, 1025, u64::from(u32::MAX)] {
            let err = requested_input_size(bad).expect_err("out of range");
            let text = err.to_string();
            assert!(
                text.contains(&format!("input-size={bad}"))
                    && text.contains("input-size=0")
                    && text.contains("32 to 1024"),
                "{text}"
            );
        }
    }

    #[test]
    fn fixed_sides_beyond_the_limit_are_rejected() {
        let meta = ModelMetadata::default();
        let side = MAX_INPUT_SIZE as i64;
        assert!(model_spec(&[1, 3, side, side], &[1, 2], &meta, None).is_ok());
        for input in [
            vec![1, 3, side + 1, side],
            vec![1, side, side + 1, 3],
            vec![1, 3, i64::MAX, i64::MAX],
        ] {
            assert_eq!(
                model_spec(&input, &[1, 2], &meta, None),
                Err(ShapeError::TooLarge(input.clone()))
            );
        }
    }

    #[test]
    fn a_class_count_over_the_limit_is_refused() {
        let meta = ModelMetadata::default();
        let at_limit = model_spec(&[1, 3, 8, 8], &[1, MAX_CLASSES as i64], &meta, None);
        assert_eq!(at_limit.map(|s| s.classes), Ok(MAX_CLASSES));
        assert_eq!(
            model_spec(&[1, 3, 8, 8], &[1, 100_000_000], &meta, None),
            Err(ShapeError::TooManyClasses(100_000_000))
        );
        assert_eq!(
            ShapeError::TooManyClasses(100_000_000).to_string(),
            "the model outputs 100000000 classes; imgclassify takes at most 1000000: is the \
             output's shape right?"
        );
    }
}
