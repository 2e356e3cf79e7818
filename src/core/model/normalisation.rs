//! `input-mean`, `input-std` and `color-order`: the model's input normalisation given as
//! properties, for files without `imgclassify.*` metadata. A property that is set
//! overrides the metadata, which overrides the ImageNet defaults.

use super::tensor::{ChannelOrder, TensorSpec};

/// Normalisation the properties set; None leaves the model's own.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overrides {
    /// Per channel, in 0–255 pixel units: value = (pixel − mean) / std.
    pub mean: Option<[f32; 3]>,
    pub std: Option<[f32; 3]>,
    pub order: Option<ChannelOrder>,
}

impl Overrides {
    /// Applies the overrides to `spec`. The spec's own normalisation is turned into
    /// pixel units first, so that overriding only the mean keeps the model's std.
    pub fn apply(&self, spec: &mut TensorSpec) {
        if self.mean.is_some() || self.std.is_some() {
            let pixels = |v: [f32; 3]| v.map(|x| x / spec.scale);
            spec.mean = self.mean.unwrap_or(pixels(spec.mean));
            spec.std = self.std.unwrap_or(pixels(spec.std));
            spec.scale = 1.0;
        }
        if let Some(order) = self.order {
            spec.order = order;
        }
    }
}

/// Parses one number, or three comma-separated ones (one per channel); a std must be
/// positive. The error says what is wrong with which part.
pub fn parse_values(text: &str, is_std: bool) -> Result<[f32; 3], String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let values = parts
        .iter()
        .map(|p| {
            p.parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("'{p}' is not a number"))
        })
        .collect::<Result<Vec<f32>, String>>()?;
    if is_std && let Some(bad) = values.iter().find(|&&v| v <= 0.0) {
        return Err(format!("{bad} is not a positive number"));
    }
    match values[..] {
        [v] => Ok([v; 3]),
        [r, g, b] => Ok([r, g, b]),
        _ => Err(format!(
            "{} values given; give one, or three (one per channel)",
            values.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_as_one_or_three() {
        assert_eq!(parse_values("127", false), Ok([127.0; 3]));
        assert_eq!(
            parse_values("123.675, 116.28,103.53", false),
            Ok([123.675, 116.28, 103.53])
        );
        assert_eq!(
            parse_values("1,2", false),
            Err("2 values given; give one, or three (one per channel)".into())
        );
        assert_eq!(
            parse_values("1,x,3", false),
            Err("'x' is not a number".into())
        );
        assert_eq!(
            parse_values("0", true),
            Err("0 is not a positive number".into())
        );
        assert_eq!(parse_values("-1", false), Ok([-1.0; 3]));
    }

    #[test]
    fn a_mean_alone_keeps_the_model_s_std_in_pixel_units() {
        let mut spec = TensorSpec::imagenet(224);
        Overrides {
            mean: Some([127.0; 3]),
            ..Default::default()
        }
        .apply(&mut spec);
        assert_eq!(spec.scale, 1.0);
        assert_eq!(spec.mean, [127.0; 3]);
        assert!((spec.std[0] - 0.229 * 255.0).abs() < 1e-3);
        let mut spec = TensorSpec::imagenet(224);
        Overrides {
            order: Some(ChannelOrder::Bgr),
            ..Default::default()
        }
        .apply(&mut spec);
        assert_eq!(
            spec,
            TensorSpec {
                order: ChannelOrder::Bgr,
                ..TensorSpec::imagenet(224)
            }
        );
    }
}
