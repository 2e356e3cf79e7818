//! The `imgclassify.*` metadata keys a model carries (see models/README.md), parsed
//! into what preprocessing and postprocessing need.

use super::tensor::{ChannelOrder, INPUT_SIZE_RANGE, Layout};

pub const PREFIX: &str = "imgclassify.";

/// The labels, one per line.
pub const LABELS_KEY: &str = "imgclassify.labels";

/// What a model's output holds, and so which activation turns it into scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// One class per image: softmax.
    Logits,
    /// Already a distribution.
    Probabilities,
    /// Independent labels (multi-label): a sigmoid per class.
    MultiLabelLogits,
    /// Already scores, e.g. a sigmoid inside the model: used as they are.
    Scores,
}

/// What the model's own metadata says; every field is optional so models without our
/// keys still load with ImageNet defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelMetadata {
    pub name: Option<String>,
    pub description: Option<String>,
    pub input_size: Option<usize>,
    pub order: Option<ChannelOrder>,
    pub layout: Option<Layout>,
    pub scale: Option<f32>,
    pub mean: Option<[f32; 3]>,
    pub std: Option<[f32; 3]>,
    pub crop_fraction: Option<f64>,
    /// What the output holds (`imgclassify.output`).
    pub output: Option<OutputKind>,
    pub labels: Option<Vec<String>>,
    /// `imgclassify.quantization`: how the weights were quantised, e.g. `int8`; absent
    /// for a float model.
    pub quantization: Option<String>,
    /// `imgclassify.embedding`: the output holding each image's pooled features, read
    /// only when `classes-dir` or `attach-embedding` asks for them.
    pub embedding: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "model metadata key '{key}' has value '{}', expected {expected}",
    shortened(value)
)]
pub struct MetadataError {
    pub key: String,
    pub value: String,
    pub expected: &'static str,
}

/// A value cut to 60 characters: metadata can hold a whole labels list.
fn shortened(value: &str) -> String {
    let mut shown: String = value.chars().take(60).collect();
    if shown.len() < value.len() {
        shown.push('…');
    }
    shown
}

fn bad(key: &str, value: &str, expected: &'static str) -> MetadataError {
    MetadataError {
        key: format!("{PREFIX}{key}"),
        value: value.to_string(),
        expected,
    }
}

fn triple(key: &str, value: &str, positive: bool) -> Result<[f32; 3], MetadataError> {
    let expected = if positive {
        "three positive numbers separated by commas, or one"
    } else {
        "three numbers separated by commas, or one"
    };
    let parts: Vec<f32> = value
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad(key, value, expected))?;
    match parts.as_slice() {
        [a, b, c]
            if parts
                .iter()
                .all(|v| v.is_finite() && (!positive || *v > 0.0)) =>
        {
            Ok([*a, *b, *c])
        }
        // One value for every channel, as a greyscale model would give it.
        [a] if a.is_finite() && (!positive || *a > 0.0) => Ok([*a; 3]),
        _ => Err(bad(key, value, expected)),
    }
}

impl ModelMetadata {
    /// Parses the `imgclassify.*` entries of a model's custom metadata; other keys are ignored.
    pub fn parse<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ModelMetadata, MetadataError> {
        let mut m = ModelMetadata::default();
        for (full_key, value) in entries {
            let Some(key) = full_key.strip_prefix(PREFIX) else {
                continue;
            };
            let v = value.trim();
            match key {
                "name" => m.name = Some(v.to_string()),
                "description" => m.description = Some(v.to_string()),
                "input_size" => {
                    let size = v
                        .parse::<usize>()
                        .ok()
                        .filter(|s| INPUT_SIZE_RANGE.contains(s))
                        .ok_or_else(|| {
                            bad(
                                key,
                                value,
                                "a size in pixels from 32 to 1024, the range of input-size",
                            )
                        })?;
                    m.input_size = Some(size);
                }
                "color_order" => {
                    m.order = Some(match v.to_ascii_uppercase().as_str() {
                        "RGB" => ChannelOrder::Rgb,
                        "BGR" => ChannelOrder::Bgr,
                        _ => return Err(bad(key, value, "RGB or BGR")),
                    })
                }
                "layout" => {
                    m.layout = Some(match v.to_ascii_uppercase().as_str() {
                        "NCHW" => Layout::Nchw,
                        "NHWC" => Layout::Nhwc,
                        _ => return Err(bad(key, value, "NCHW or NHWC")),
                    })
                }
                "scale" => {
                    m.scale = Some(
                        v.parse::<f32>()
                            .ok()
                            .filter(|s| s.is_finite() && *s > 0.0)
                            .ok_or_else(|| bad(key, value, "a positive number"))?,
                    )
                }
                "mean" => m.mean = Some(triple(key, v, false)?),
                "std" => m.std = Some(triple(key, v, true)?),
                "crop_fraction" => {
                    m.crop_fraction = Some(
                        v.parse::<f64>()
                            .ok()
                            .filter(|f| *f > 0.0 && *f <= 1.0)
                            .ok_or_else(|| bad(key, value, "a number in (0, 1]"))?,
                    )
                }
                "output" => {
                    m.output = Some(match v {
                        "logits" => OutputKind::Logits,
                        "probabilities" => OutputKind::Probabilities,
                        "multilabel-logits" => OutputKind::MultiLabelLogits,
                        "scores" => OutputKind::Scores,
                        _ => {
                            return Err(bad(
                                key,
                                value,
                                "'logits', 'probabilities', 'multilabel-logits' or 'scores'",
                            ));
                        }
                    })
                }
                "labels" => m.labels = Some(super::labels::parse_lines(value)),
                "quantization" if !v.is_empty() => m.quantization = Some(v.to_string()),
                "embedding" if !v.is_empty() => m.embedding = Some(v.to_string()),
                // Provenance and future keys are informational.
                _ => {}
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_built_in_keys() {
        let m = ModelMetadata::parse([
            ("imgclassify.name", "mobilenet"),
            ("imgclassify.input_size", "224"),
            ("imgclassify.color_order", "RGB"),
            ("imgclassify.layout", "NCHW"),
            ("imgclassify.scale", "0.00392156862745098"),
            ("imgclassify.mean", "0.485,0.456,0.406"),
            ("imgclassify.std", "0.229, 0.224, 0.225"),
            ("imgclassify.crop_fraction", "0.875"),
            ("imgclassify.output", "logits"),
            ("imgclassify.labels", "tench\ngoldfish\n"),
            ("imgclassify.source", "whatever"),
            ("imgclassify.quantization", "int8 static QDQ"),
            ("producer", "ignored"),
        ])
        .expect("valid");
        assert_eq!(m.name.as_deref(), Some("mobilenet"));
        assert_eq!(m.input_size, Some(224));
        assert_eq!(m.order, Some(ChannelOrder::Rgb));
        assert_eq!(m.layout, Some(Layout::Nchw));
        assert_eq!(m.std, Some([0.229, 0.224, 0.225]));
        assert_eq!(m.crop_fraction, Some(0.875));
        assert_eq!(m.output, Some(OutputKind::Logits));
        assert_eq!(m.quantization.as_deref(), Some("int8 static QDQ"));
        assert_eq!(
            m.labels,
            Some(vec!["tench".to_string(), "goldfish".to_string()])
        );
    }

    #[test]
    fn empty_metadata_is_fine() {
        assert_eq!(
            ModelMetadata::parse([]).expect("valid"),
            ModelMetadata::default()
        );
    }

    #[test]
    fn one_mean_or_std_serves_every_channel() {
        let m = ModelMetadata::parse([("imgclassify.mean", "0.5"), ("imgclassify.std", " 0.25 ")])
            .expect("valid");
        assert_eq!((m.mean, m.std), (Some([0.5; 3]), Some([0.25; 3])));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (key, value) in [
            ("imgclassify.input_size", "0"),
            ("imgclassify.input_size", "1"),
            ("imgclassify.input_size", "8192"),
            ("imgclassify.input_size", "big"),
            ("imgclassify.color_order", "YUV"),
            ("imgclassify.layout", "CHW"),
            ("imgclassify.scale", "-1"),
            ("imgclassify.mean", "1,2"),
            ("imgclassify.std", "1,0,1"),
            ("imgclassify.std", "1,NaN,1"),
            ("imgclassify.std", "0"),
            ("imgclassify.mean", "inf"),
            ("imgclassify.crop_fraction", "1.5"),
            ("imgclassify.output", "softmax"),
        ] {
            let err = ModelMetadata::parse([(key, value)]).expect_err(value);
            assert_eq!(err.key, key);
            assert!(err.to_string().contains(key), "{err}");
        }
    }
}
