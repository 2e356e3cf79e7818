//! Built-in model names and where their files are found.

use std::path::PathBuf;

/// A model that `models/convert.py` builds from registry weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltIn {
    pub name: &'static str,
    pub file: &'static str,
    pub description: &'static str,
    /// The size the weights were trained and evaluated at.
    pub size: usize,
    /// Square sizes its family was published at, to run it at with `input-size`: the
    /// MobileNet papers' resolution multiplier (128 to 224), and the sizes of
    /// EfficientNet-Lite0 to Lite4 (224 to 300).
    pub family_sizes: &'static [usize],
}

const MOBILENET_SIZES: &[usize] = &[128, 160, 192, 224];
const EFFICIENTNET_LITE_SIZES: &[usize] = &[224, 240, 260, 280, 300];

pub const BUILT_IN: [BuiltIn; 8] = [
    BuiltIn {
        name: "mobilenet",
        file: "mobilenet.onnx",
        description: "MobileNetV2 1.0, 224x224, ImageNet-1k",
        size: 224,
        family_sizes: MOBILENET_SIZES,
    },
    BuiltIn {
        name: "efficientnet",
        file: "efficientnet.onnx",
        description: "EfficientNet-Lite0, 224x224, ImageNet-1k",
        size: 224,
        family_sizes: EFFICIENTNET_LITE_SIZES,
    },
    BuiltIn {
        name: "efficientnet-lite1",
        file: "efficientnet-lite1.onnx",
        description: "EfficientNet-Lite1, 240x240, ImageNet-1k",
        size: 240,
        family_sizes: EFFICIENTNET_LITE_SIZES,
    },
    BuiltIn {
        name: "efficientnet-lite2",
        file: "efficientnet-lite2.onnx",
        description: "EfficientNet-Lite2, 260x260, ImageNet-1k",
        size: 260,
        family_sizes: EFFICIENTNET_LITE_SIZES,
    },
    BuiltIn {
        name: "mobilenet-int8",
        file: "mobilenet-int8.onnx",
        description: "MobileNetV2 1.0, 224x224, ImageNet-1k, int8",
        size: 224,
        family_sizes: MOBILENET_SIZES,
    },
    BuiltIn {
        name: "efficientnet-int8",
        file: "efficientnet-int8.onnx",
        description: "EfficientNet-Lite0, 224x224, ImageNet-1k, int8",
        size: 224,
        family_sizes: EFFICIENTNET_LITE_SIZES,
    },
    BuiltIn {
        name: "efficientnet-lite1-int8",
        file: "efficientnet-lite1-int8.onnx",
        description: "EfficientNet-Lite1, 240x240, ImageNet-1k, int8",
        size: 240,
        family_sizes: EFFICIENTNET_LITE_SIZES,
    },
    BuiltIn {
        name: "efficientnet-lite2-int8",
        file: "efficientnet-lite2-int8.onnx",
        description: "EfficientNet-Lite2, 260x260, ImageNet-1k, int8",
        size: 260,
        family_sizes: EFFICIENTNET_LITE_SIZES,
    },
];

pub fn built_in(name: &str) -> Option<&'static BuiltIn> {
    let name = match name {
        "efficientnet-lite0" => "efficientnet",
        "efficientnet-lite0-int8" => "efficientnet-int8",
        other => other,
    };
    BUILT_IN.iter().find(|m| m.name == name)
}

pub fn names() -> String {
    BUILT_IN.map(|m| m.name).join(", ")
}

/// Folders searched for built-in models, in order: `IMGCLASSIFY_MODEL_PATH`
/// (colon-separated), the installed data folder, then the source checkout's `deps/models`.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("IMGCLASSIFY_MODEL_PATH")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(dir) = option_env!("IMGCLASSIFY_INSTALLED_DATADIR") {
        dirs.push(PathBuf::from(dir).join("models"));
    }
    dirs.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deps/models"
    )));
    dirs
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZooError {
    #[error(
        "unknown model '{name}'; built-in models are: {}; or set model-file to an .onnx file",
        names()
    )]
    Unknown { name: String },
    #[error(
        "built-in model '{name}' is not installed (looked for {}); run scripts/setup.sh \
         to build the models, or set IMGCLASSIFY_MODEL_PATH to the folder holding them",
        shown(tried)
    )]
    NotInstalled { name: String, tried: Vec<PathBuf> },
}

fn shown(paths: &[PathBuf]) -> String {
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    paths.join(", ")
}

/// The file of a built-in model, from the first search folder that has it.
pub fn resolve(name: &str) -> Result<PathBuf, ZooError> {
    let model = built_in(name).ok_or_else(|| ZooError::Unknown {
        name: name.to_string(),
    })?;
    let tried: Vec<PathBuf> = search_dirs()
        .into_iter()
        .map(|d| d.join(model.file))
        .collect();
    tried
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(ZooError::NotInstalled {
            name: model.name.to_string(),
            tried,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = resolve("resnet").expect_err("unknown");
        let text = err.to_string();
        assert!(
            text.contains("'resnet'") && text.contains("mobilenet, efficientnet,"),
            "{text}"
        );
    }

    #[test]
    fn family_sizes_include_the_own_size_and_fit_input_size() {
        for model in BUILT_IN {
            assert!(model.family_sizes.contains(&model.size), "{}", model.name);
            assert!(model.description.contains(&format!("{0}x{0}", model.size)));
            for size in model.family_sizes {
                assert!(
                    crate::core::model::INPUT_SIZE_RANGE.contains(size),
                    "{size}"
                );
            }
        }
    }

    #[test]
    fn lite0_is_an_alias() {
        assert_eq!(
            built_in("efficientnet-lite0").map(|m| m.file),
            Some("efficientnet.onnx")
        );
        assert_eq!(
            built_in("efficientnet-lite0-int8").map(|m| m.file),
            Some("efficientnet-int8.onnx")
        );
    }

    #[test]
    fn every_model_has_an_int8_twin_of_the_same_size() {
        for model in BUILT_IN.iter().filter(|m| !m.name.ends_with("-int8")) {
            let twin = built_in(&format!("{}-int8", model.name)).expect(model.name);
            assert_eq!(twin.size, model.size);
            assert_eq!(twin.family_sizes, model.family_sizes);
        }
    }
}
