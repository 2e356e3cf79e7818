//! The weights (initializers) of an ONNX model, read once so that every session of a
//! pool can be given the same tensors (ONNX Runtime's `AddInitializer`).

use std::path::Path;
use std::sync::Arc;

use ort::value::{DynValue, Tensor};
use prost::Message;

/// Measuring only: `1` gives every session of a pool the same initializer tensors.
pub const SHARED_INITIALIZERS_ENV: &str = "IMGCLASSIFY_SHARED_INITIALIZERS";

pub fn shared_initializers() -> bool {
    std::env::var(SHARED_INITIALIZERS_ENV).is_ok_and(|v| v.trim() == "1")
}

// The few fields of onnx.proto that hold the initializers.
#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(int32, repeated, tag = "5")]
    int32_data: Vec<i32>,
    #[prost(int64, repeated, tag = "7")]
    int64_data: Vec<i64>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
}

pub type Initializers = Vec<(String, Arc<DynValue>)>;

/// The model's initializers as tensors; those of a type not handled here are left to
/// each session's own copy.
pub fn read(path: &Path) -> Result<Initializers, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let model = ModelProto::decode(bytes.as_slice()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for t in model.graph.map(|g| g.initializer).unwrap_or_default() {
        let value = match tensor(&t) {
            Some(v) => v.map_err(|e| e.to_string())?,
            None => continue,
        };
        out.push((t.name, Arc::new(value)));
    }
    Ok(out)
}

fn le<const N: usize, T>(raw: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
    raw.chunks_exact(N)
        .map(|c| f(c.try_into().unwrap_or([0; N])))
        .collect()
}

fn tensor(t: &TensorProto) -> Option<ort::Result<DynValue>> {
    let dims = t.dims.clone();
    let raw = !t.raw_data.is_empty();
    Some(match t.data_type {
        1 => Tensor::from_array((
            dims,
            if raw {
                le(&t.raw_data, f32::from_le_bytes)
            } else {
                t.float_data.clone()
            },
        ))
        .map(|v| v.into_dyn()),
        2 if raw => Tensor::from_array((dims, t.raw_data.clone())).map(|v| v.into_dyn()),
        3 if raw => Tensor::from_array((dims, le(&t.raw_data, |b: [u8; 1]| b[0] as i8)))
            .map(|v| v.into_dyn()),
        6 => Tensor::from_array((
            dims,
            if raw {
                le(&t.raw_data, i32::from_le_bytes)
            } else {
                t.int32_data.clone()
            },
        ))
        .map(|v| v.into_dyn()),
        7 => Tensor::from_array((
            dims,
            if raw {
                le(&t.raw_data, i64::from_le_bytes)
            } else {
                t.int64_data.clone()
            },
        ))
        .map(|v| v.into_dyn()),
        _ => return None,
    })
}
