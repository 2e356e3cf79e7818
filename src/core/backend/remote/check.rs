//! Does the server's model take what the element sends and give what it reads? Checked
//! against the model the element took its preprocessing and labels from.

use super::proto::ModelMetadataResponse;
use super::proto::model_metadata_response::TensorMetadata;
use super::tensor::element_type;
use crate::core::backend::{ElementType, ModelInfo, Placement};
use crate::core::model::{Layout, ModelMetadata, model_spec};

/// How to talk to one server's model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wire {
    pub input: String,
    pub input_type: ElementType,
    pub output: String,
    /// The first dimension is -1: several images go in one request.
    pub batchable: bool,
}

/// Scores are read as floats: FP32, FP16 or FP64 (raw or typed contents). Quantised
/// outputs would need their scale, which the protocol does not carry.
fn holds_scores(t: &TensorMetadata) -> bool {
    element_type(&t.datatype).is_some_and(|ty| ty != ElementType::Uint8)
}

fn shape(t: &TensorMetadata) -> String {
    format!("{} {:?}", t.datatype, t.shape)
}

/// The model as the server's metadata describes it, for an element with no local model
/// file: input size and layout from the input's shape (or `input_size` where it is
/// dynamic), the class count from the first output, and normalisation left to the
/// element's defaults and its input-mean, input-std and color-order. No labels.
pub fn describe_served(
    meta: &ModelMetadataResponse,
    input_size: Option<usize>,
) -> Result<ModelInfo, String> {
    let (input, input_type) = image_input(meta)?;
    let output = meta
        .outputs
        .iter()
        .find(|o| holds_scores(o))
        .ok_or_else(|| "it has no FP32, FP16 or FP64 output".to_string())?;
    let spec = model_spec(
        &input.shape,
        &output.shape,
        &ModelMetadata::default(),
        input_size,
    )
    .map_err(|e| format!("input '{}' {}: {e}", input.name, shape(input)))?;
    Ok(ModelInfo {
        name: meta.name.clone(),
        spec,
        input_type,
        labels: None,
        batchable: input.shape.first() == Some(&-1),
        quantization: None,
        embedding: None,
        placement: Placement::default(),
    })
}

/// The served model's one input and its element type, or what is wrong with them.
fn image_input(meta: &ModelMetadataResponse) -> Result<(&TensorMetadata, ElementType), String> {
    let [input] = meta.inputs.as_slice() else {
        return Err(format!(
            "it has {} inputs; an image classifier has one",
            meta.inputs.len()
        ));
    };
    let input_type = element_type(&input.datatype)
        .filter(|t| *t != ElementType::Float64)
        .ok_or_else(|| {
            format!(
                "input '{}' is {}; FP32, FP16 or UINT8 are supported",
                input.name, input.datatype
            )
        })?;
    Ok((input, input_type))
}

/// `Err` says what does not match, for an error naming the endpoint and the model.
pub fn check(meta: &ModelMetadataResponse, local: &ModelInfo) -> Result<Wire, String> {
    let (input, input_type) = image_input(meta)?;
    let t = &local.spec.tensor;
    let want = match t.layout {
        Layout::Nchw => [t.channels, t.height, t.width],
        Layout::Nhwc => [t.height, t.width, t.channels],
    };
    let fits = input.shape.len() == 4
        && matches!(input.shape[0], -1 | 1)
        && input.shape[1..]
            .iter()
            .zip(want)
            .all(|(&got, want)| got == -1 || got == want as i64);
    if !fits {
        return Err(format!(
            "input '{}' is {}; the element sends {} images of {:?} {:?}",
            input.name,
            shape(input),
            match t.layout {
                Layout::Nchw => "NCHW",
                Layout::Nhwc => "NHWC",
            },
            want,
            t.layout
        ));
    }
    let classes = local.spec.classes as i64;
    let per_image = |o: &TensorMetadata| -> Option<i64> {
        let rest = o.shape.get(1..)?;
        if rest.contains(&-1) {
            return None;
        }
        Some(rest.iter().product())
    };
    let sized = |o: &&TensorMetadata| per_image(o) == Some(classes);
    let Some(output) = meta.outputs.iter().find(|o| sized(o) && holds_scores(o)) else {
        // None of the right size holds scores: the first of that size has the wrong type.
        if let Some(o) = meta.outputs.iter().find(sized) {
            return Err(format!(
                "output '{}' is {}; class scores are read as FP32, FP16 or FP64",
                o.name,
                shape(o)
            ));
        }
        return Err(format!(
            "no output has {} class scores per image (outputs: {}); the labels come \
             from a model of {} classes",
            classes,
            meta.outputs
                .iter()
                .map(|o| format!("'{}' {}", o.name, shape(o)))
                .collect::<Vec<_>>()
                .join(", "),
            classes
        ));
    };
    Ok(Wire {
        input: input.name.clone(),
        input_type,
        output: output.name.clone(),
        batchable: input.shape[0] == -1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> ModelInfo {
        let meta = ModelMetadata {
            input_size: Some(224),
            ..Default::default()
        };
        ModelInfo {
            name: "mobilenet".into(),
            spec: model_spec(&[-1, 3, -1, -1], &[-1, 1000], &meta, None).expect("valid"),
            input_type: ElementType::Float32,
            labels: None,
            batchable: true,
            quantization: None,
            embedding: None,
            placement: Placement::default(),
        }
    }

    fn tensor(name: &str, datatype: &str, shape: &[i64]) -> TensorMetadata {
        TensorMetadata {
            name: name.into(),
            datatype: datatype.into(),
            shape: shape.to_vec(),
        }
    }

    fn served(input: TensorMetadata, outputs: Vec<TensorMetadata>) -> ModelMetadataResponse {
        ModelMetadataResponse {
            name: "mobilenet".into(),
            inputs: vec![input],
            outputs,
            ..Default::default()
        }
    }

    #[test]
    fn a_matching_model_is_accepted() {
        let m = served(
            tensor("input", "UINT8", &[-1, 3, 224, 224]),
            vec![
                tensor("extra", "FP32", &[-1, 7]),
                tensor("logits", "FP32", &[-1, 1000]),
            ],
        );
        let wire = check(&m, &local()).expect("matches");
        assert_eq!(wire.output, "logits");
        assert_eq!(wire.input_type, ElementType::Uint8);
        assert!(wire.batchable);
        let dynamic = served(
            tensor("x", "FP32", &[1, 3, -1, -1]),
            vec![tensor("y", "FP16", &[1, 1000, 1, 1])],
        );
        assert!(!check(&dynamic, &local()).expect("matches").batchable);
    }

    #[test]
    fn mismatches_say_what_differs() {
        let size = served(
            tensor("input", "FP32", &[-1, 3, 160, 160]),
            vec![tensor("logits", "FP32", &[-1, 1000])],
        );
        assert!(
            check(&size, &local())
                .expect_err("size")
                .contains("[3, 224, 224]")
        );
        let classes = served(
            tensor("input", "FP32", &[-1, 3, 224, 224]),
            vec![tensor("logits", "FP32", &[-1, 1001])],
        );
        assert!(
            check(&classes, &local())
                .expect_err("classes")
                .contains("1000 class scores")
        );
        let ty = served(
            tensor("input", "INT64", &[-1, 3, 224, 224]),
            vec![tensor("logits", "FP32", &[-1, 1000])],
        );
        assert!(check(&ty, &local()).expect_err("type").contains("INT64"));
        // Quantised scores cannot be read without their scale.
        let quantised = served(
            tensor("input", "FP32", &[-1, 3, 224, 224]),
            vec![tensor("logits", "UINT8", &[-1, 1000])],
        );
        assert_eq!(
            check(&quantised, &local()).expect_err("uint8 scores"),
            "output 'logits' is UINT8 [-1, 1000]; class scores are read as FP32, FP16 or FP64"
        );
        let also_float = served(
            tensor("input", "FP32", &[-1, 3, 224, 224]),
            vec![
                tensor("q", "UINT8", &[-1, 1000]),
                tensor("logits", "FP32", &[-1, 1000]),
            ],
        );
        assert_eq!(
            check(&also_float, &local()).expect("float").output,
            "logits"
        );
    }

    #[test]
    fn a_served_model_describes_itself_where_there_is_no_local_file() {
        use super::super::proto::ModelMetadataResponse;
        let tensor = |name: &str, datatype: &str, shape: &[i64]| TensorMetadata {
            name: name.into(),
            datatype: datatype.into(),
            shape: shape.to_vec(),
        };
        let served = |input: TensorMetadata| ModelMetadataResponse {
            name: "mymodel".into(),
            inputs: vec![input],
            outputs: vec![tensor("scores", "FP32", &[-1, 10])],
            ..Default::default()
        };
        let nhwc = describe_served(&served(tensor("x", "UINT8", &[-1, 192, 192, 3])), None)
            .expect("described");
        assert_eq!(nhwc.name, "mymodel");
        assert_eq!(nhwc.input_type, ElementType::Uint8);
        assert_eq!(nhwc.spec.tensor.layout, Layout::Nhwc);
        assert_eq!((nhwc.spec.tensor.width, nhwc.spec.classes), (192, 10));
        assert!(nhwc.batchable && nhwc.labels.is_none());
        // A dynamic size takes input-size; the description passes its own check.
        let meta = served(tensor("x", "FP32", &[1, 3, -1, -1]));
        let nchw = describe_served(&meta, Some(160)).expect("described");
        assert_eq!(
            (nchw.spec.tensor.layout, nchw.spec.tensor.height),
            (Layout::Nchw, 160)
        );
        assert!(!nchw.batchable);
        assert!(check(&meta, &nchw).is_ok());
        let e = describe_served(&served(tensor("x", "FP32", &[-1, 224, 224])), None)
            .expect_err("not an image");
        assert!(e.starts_with("input 'x' FP32 [-1, 224, 224]"), "{e}");
        let mut quantised = served(tensor("x", "UINT8", &[-1, 192, 192, 3]));
        quantised.outputs = vec![tensor("scores", "UINT8", &[-1, 10])];
        assert_eq!(
            describe_served(&quantised, None).expect_err("uint8 scores"),
            "it has no FP32, FP16 or FP64 output"
        );
    }
}
