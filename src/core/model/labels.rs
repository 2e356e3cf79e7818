//! Class labels: one per line, index = class id.

use std::path::Path;

/// Larger than any real labels file (ImageNet-21k's is under 1 MiB); what is larger is
/// the wrong file, and `/dev/zero` would otherwise be read until memory runs out.
pub const MAX_LABELS_BYTES: u64 = 16 << 20;

/// Splits text into labels; a byte-order mark, a trailing newline and Windows line ends
/// are tolerated.
pub fn parse_lines(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Vec::new();
    }
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum LabelsError {
    #[error("labels file '{path}' {problem}")]
    File {
        path: String,
        problem: crate::core::files::FileProblem,
    },
    /// `origin` is "labels file 'PATH'" or "the metadata of model 'PATH'".
    #[error("{origin} has a NUL byte in label {line}, which would cut the label short; remove it")]
    Nul { origin: String, line: usize },
    #[error("labels file '{path}' is not UTF-8 text (line {line}); save it as UTF-8")]
    NotUtf8 { path: String, line: usize },
    #[error("labels file '{path}' has no labels; put one label per line")]
    Empty { path: String },
    /// `origin` says where the labels came from: a labels file or the model's metadata.
    #[error(
        "{origin} has {labels} labels but the model outputs {classes} classes; \
         give a labels file with one line per class{hint}"
    )]
    Count {
        origin: String,
        labels: usize,
        classes: usize,
        /// What probably went wrong, starting with "; ", or empty.
        hint: String,
    },
}

/// Reads a labels file: UTF-8, one label per line.
pub fn read_file(path: &Path) -> Result<Vec<String>, LabelsError> {
    let shown = path.display().to_string();
    let bytes = crate::core::files::read_regular(path, MAX_LABELS_BYTES).map_err(|problem| {
        LabelsError::File {
            path: shown.clone(),
            problem,
        }
    })?;
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(LabelsError::Nul {
            origin: format!("labels file '{shown}'"),
            line: bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1,
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        LabelsError::NotUtf8 {
            path: shown.clone(),
            line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
        }
    })?;
    let labels = parse_lines(&text);
    if labels.is_empty() {
        return Err(LabelsError::Empty { path: shown });
    }
    Ok(labels)
}

/// The labels for a model with `classes` outputs: the labels file if given, else the
/// model's own, else `class N`; a count that does not match is an error.
pub fn choose(
    labels_file: Option<&Path>,
    model_labels: Option<&[String]>,
    model_path: &Path,
    classes: usize,
) -> Result<Vec<String>, LabelsError> {
    let (labels, origin) = match (labels_file, model_labels) {
        (Some(file), _) => (
            read_file(file)?,
            format!("labels file '{}'", file.display()),
        ),
        (None, Some(own)) => (
            own.to_vec(),
            format!("the metadata of model '{}'", model_path.display()),
        ),
        (None, None) => (
            (0..classes).map(|i| format!("class {i}")).collect(),
            String::new(),
        ),
    };
    if let Some(at) = labels.iter().position(|l| l.contains('\0')) {
        return Err(LabelsError::Nul {
            origin,
            line: at + 1,
        });
    }
    if labels.len() != classes {
        return Err(LabelsError::Count {
            origin,
            labels: labels.len(),
            classes,
            hint: count_hint(&labels, classes),
        });
    }
    Ok(labels)
}

/// Blank lines at the end are the usual reason for a few labels too many.
fn count_hint(labels: &[String], classes: usize) -> String {
    let blank = labels
        .iter()
        .rev()
        .take_while(|l| l.trim().is_empty())
        .count();
    if blank == 0 || labels.len() <= classes {
        return String::new();
    }
    let left = labels.len() - blank;
    let after = if left == classes {
        String::new()
    } else {
        format!(" (that leaves {left})")
    };
    format!("; its last {blank} line(s) are blank: remove them{after}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_labels() {
        assert_eq!(parse_lines("a\r\nb c\n"), vec!["a", "b c"]);
        assert_eq!(parse_lines("a\n\nc"), vec!["a", "", "c"]);
        assert!(parse_lines("").is_empty());
        assert_eq!(
            parse_lines("\u{feff}tench\ngoldfish\n"),
            vec!["tench", "goldfish"]
        );
    }

    #[test]
    fn a_nul_in_the_model_s_own_labels_is_refused_too() {
        let labels: Vec<String> = ["a", "b\0c"].map(String::from).to_vec();
        let err = choose(None, Some(&labels), Path::new("m.onnx"), 2).expect_err("NUL");
        assert_eq!(
            err.to_string(),
            "the metadata of model 'm.onnx' has a NUL byte in label 2, which would cut the \
             label short; remove it"
        );
    }

    #[test]
    fn trailing_blank_lines_are_named_in_the_count_error() {
        let labels: Vec<String> = ["a", "b", "", ""].map(String::from).to_vec();
        let err = choose(None, Some(&labels), Path::new("m.onnx"), 2).expect_err("count");
        assert!(
            err.to_string()
                .ends_with("one line per class; its last 2 line(s) are blank: remove them"),
            "{err}"
        );
        let err = choose(None, Some(&labels[..3]), Path::new("m.onnx"), 4).expect_err("count");
        assert!(!err.to_string().contains("blank"), "{err}");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let dir = std::env::temp_dir().join(format!("imgclassify-labels-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("bad.txt");
        std::fs::write(&path, b"ok\nstill ok\n\xff\xfe\n").expect("write");
        match read_file(&path) {
            Err(LabelsError::NotUtf8 { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected NotUtf8, got {other:?}"),
        }
        std::fs::write(&path, b"").expect("write");
        assert!(matches!(read_file(&path), Err(LabelsError::File { .. })));
        std::fs::write(&path, b"\n").expect("write");
        assert!(matches!(read_file(&path), Err(LabelsError::Empty { .. })));
        assert!(matches!(
            read_file(&dir.join("missing.txt")),
            Err(LabelsError::File { .. })
        ));
        std::fs::write(&path, b"cat\ndo\0g\n").expect("write");
        assert!(matches!(
            read_file(&path),
            Err(LabelsError::Nul { line: 2, .. })
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
}
