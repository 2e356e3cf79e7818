//! The element types a model may take and give. Preprocessing always makes float32
//! tensors; here they become what the model's input wants, and its scores come back as
//! float32 whatever the output's type.

use half::f16;
use ort::session::SessionInputValue;
use ort::value::{DynValue, Tensor, TensorElementType, TensorRef, ValueType};

use super::error::LoadError;
use crate::core::backend::ElementType;

const INPUT_TYPES: &str = "float32, float16 or uint8";
const OUTPUT_TYPES: &str = "float32, float16 or float64";

/// The input's element type and shape, or why it cannot be fed.
pub fn input_type(ty: &ValueType) -> Result<(ElementType, Vec<i64>), LoadError> {
    let (element, shape) = tensor(ty, "input", INPUT_TYPES)?;
    let element = match element {
        TensorElementType::Float32 => ElementType::Float32,
        TensorElementType::Float16 => ElementType::Float16,
        TensorElementType::Uint8 => ElementType::Uint8,
        other => return Err(unsupported("input", type_name(other), INPUT_TYPES)),
    };
    Ok((element, shape))
}

/// An output's element type and shape, or why its scores cannot be read.
pub fn output_type(ty: &ValueType) -> Result<(ElementType, Vec<i64>), LoadError> {
    let (element, shape) = tensor(ty, "output", OUTPUT_TYPES)?;
    let element = match element {
        TensorElementType::Float32 => ElementType::Float32,
        TensorElementType::Float16 => ElementType::Float16,
        TensorElementType::Float64 => ElementType::Float64,
        other => return Err(unsupported("output", type_name(other), OUTPUT_TYPES)),
    };
    Ok((element, shape))
}

fn tensor(
    ty: &ValueType,
    what: &'static str,
    supported: &'static str,
) -> Result<(TensorElementType, Vec<i64>), LoadError> {
    match ty {
        ValueType::Tensor { ty, shape, .. } => Ok((*ty, shape.iter().copied().collect())),
        other => Err(unsupported(what, other.to_string(), supported)),
    }
}

/// ONNX's own names (`int64`, `float64`, `string`), which users see in Netron and in
/// their exporters, rather than Rust's (`i64`).
fn type_name(ty: TensorElementType) -> String {
    format!("{ty:?}").to_lowercase()
}

fn unsupported(what: &'static str, ty: String, supported: &'static str) -> LoadError {
    LoadError::ElementType {
        what,
        ty,
        supported,
    }
}

/// The model input for `tensors` (float32, already normalised for the model).
pub fn input<'a>(
    ty: ElementType,
    shape: [usize; 4],
    tensors: &'a [f32],
) -> ort::Result<SessionInputValue<'a>> {
    Ok(match ty {
        ElementType::Float16 => {
            let half: Vec<f16> = tensors.iter().map(|&v| f16::from_f32(v)).collect();
            Tensor::from_array((shape, half))?.into()
        }
        // Raw pixels: the resampled values are rounded back to 0..=255.
        ElementType::Uint8 => {
            let bytes: Vec<u8> = tensors
                .iter()
                .map(|&v| v.round().clamp(0.0, 255.0) as u8)
                .collect();
            Tensor::from_array((shape, bytes))?.into()
        }
        ElementType::Float32 | ElementType::Float64 => {
            TensorRef::from_array_view((shape, tensors))?.into()
        }
    })
}

/// The output's scores as float32.
pub fn scores(value: &DynValue, ty: ElementType) -> ort::Result<Vec<f32>> {
    Ok(match ty {
        ElementType::Float16 => {
            let (_, v) = value.try_extract_tensor::<f16>()?;
            v.iter().map(|h| h.to_f32()).collect()
        }
        ElementType::Float64 => {
            let (_, v) = value.try_extract_tensor::<f64>()?;
            v.iter().map(|&d| d as f32).collect()
        }
        ElementType::Float32 | ElementType::Uint8 => {
            let (_, v) = value.try_extract_tensor::<f32>()?;
            v.to_vec()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uint8_input_rounds_and_clamps_resampled_values() {
        crate::core::backend::onnxruntime::runtime().expect("ONNX Runtime");
        let values = [-3.0, 0.4, 127.5, 254.6, 300.0];
        let input = input(ElementType::Uint8, [1, 1, 1, 5], &values).expect("tensor");
        let (_, bytes) = input.try_extract_tensor::<u8>().expect("uint8");
        assert_eq!(bytes, &[0, 0, 128, 255, 255]);
    }

    #[test]
    fn float16_input_keeps_normalised_values() {
        crate::core::backend::onnxruntime::runtime().expect("ONNX Runtime");
        let input = input(ElementType::Float16, [1, 1, 1, 2], &[-2.1, 0.5]).expect("tensor");
        let (_, halves) = input.try_extract_tensor::<f16>().expect("float16");
        assert_eq!(halves[1].to_f32(), 0.5);
        assert!((halves[0].to_f32() + 2.1).abs() < 1e-3);
    }
}
