//! Tensors on the wire: the element's f32 values in the element type the server's
//! model declares, and score rows back from raw bytes or typed contents.

use super::proto::InferTensorContents;
use crate::core::backend::ElementType;

/// The protocol's name for an element type, and back.
pub fn datatype(ty: ElementType) -> &'static str {
    match ty {
        ElementType::Float32 => "FP32",
        ElementType::Float16 => "FP16",
        ElementType::Uint8 => "UINT8",
        ElementType::Float64 => "FP64",
    }
}

pub fn element_type(datatype: &str) -> Option<ElementType> {
    match datatype {
        "FP32" => Some(ElementType::Float32),
        "FP16" => Some(ElementType::Float16),
        "UINT8" => Some(ElementType::Uint8),
        "FP64" => Some(ElementType::Float64),
        _ => None,
    }
}

pub fn bytes_per_value(ty: ElementType) -> usize {
    match ty {
        ElementType::Float32 => 4,
        ElementType::Float16 => 2,
        ElementType::Uint8 => 1,
        ElementType::Float64 => 8,
    }
}

/// Little-endian row-major bytes, as `raw_input_contents` carries them.
pub fn encode(ty: ElementType, values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * bytes_per_value(ty));
    match ty {
        ElementType::Float32 => values.iter().for_each(|v| out.extend(v.to_le_bytes())),
        ElementType::Float16 => values
            .iter()
            .for_each(|v| out.extend(half::f16::from_f32(*v).to_le_bytes())),
        // Raw pixels: the resampled values are rounded back to 0..=255.
        ElementType::Uint8 => out.extend(values.iter().map(|v| v.round().clamp(0.0, 255.0) as u8)),
        ElementType::Float64 => values
            .iter()
            .for_each(|v| out.extend(f64::from(*v).to_le_bytes())),
    }
    out
}

/// Scores from `raw_output_contents`.
pub fn decode_raw(datatype: &str, raw: &[u8]) -> Result<Vec<f32>, String> {
    let ty = element_type(datatype)
        .filter(|t| *t != ElementType::Uint8)
        .ok_or_else(|| format!("the server answered scores of type '{datatype}'"))?;
    let width = bytes_per_value(ty);
    if !raw.len().is_multiple_of(width) {
        return Err(format!(
            "the server answered {} bytes of {datatype}, not a whole number of values",
            raw.len()
        ));
    }
    Ok(raw
        .chunks_exact(width)
        .map(|b| match ty {
            ElementType::Float16 => half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
            ElementType::Float64 => {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }
            _ => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        })
        .collect())
}

/// Scores from typed `contents`, for servers that answer that way.
pub fn decode_contents(datatype: &str, contents: &InferTensorContents) -> Result<Vec<f32>, String> {
    match datatype {
        "FP32" => Ok(contents.fp32_contents.clone()),
        "FP64" => Ok(contents.fp64_contents.iter().map(|&v| v as f32).collect()),
        _ => Err(format!(
            "the server answered scores of type '{datatype}' without raw contents"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_the_wire_types() {
        let values = [0.5f32, -1.25, 3.0];
        assert_eq!(
            decode_raw("FP32", &encode(ElementType::Float32, &values)).expect("fp32"),
            values
        );
        assert_eq!(
            decode_raw("FP16", &encode(ElementType::Float16, &values)).expect("fp16"),
            values
        );
        assert_eq!(
            decode_raw("FP64", &encode(ElementType::Float64, &values)).expect("fp64"),
            values
        );
        assert_eq!(
            encode(ElementType::Uint8, &[-3.0, 12.4, 300.0]),
            vec![0, 12, 255]
        );
        assert!(decode_raw("FP32", &[0, 0, 0]).is_err());
        assert!(decode_raw("UINT8", &[0]).is_err());
        let typed = InferTensorContents {
            fp32_contents: values.to_vec(),
            ..Default::default()
        };
        assert_eq!(decode_contents("FP32", &typed).expect("typed"), values);
        assert!(decode_contents("FP16", &typed).is_err());
    }
}
