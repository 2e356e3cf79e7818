//! Class labels: one per line, index = class id.

use std::path::Path;

/// Splits text into labels; a trailing newline and Windows line ends are tolerated.
pub fn parse_lines(text: &str) -> Vec<String> {
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
    #[error("cannot read labels file '{path}': {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("labels file '{path}' is not UTF-8 text (line {line}); save it as UTF-8")]
    NotUtf8 { path: String, line: usize },
    #[error("labels file '{path}' has no labels; put one label per line")]
    Empty { path: String },
    /// `origin` says where the labels came from: a labels file or the model's metadata.
    #[error(
        "{origin} has {labels} labels but the model outputs {classes} classes; \
         give a labels file with one line per class"
    )]
    Count {
        origin: String,
        labels: usize,
        classes: usize,
    },
}

/// Reads a labels file: UTF-8, one label per line.
pub fn read_file(path: &Path) -> Result<Vec<String>, LabelsError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| LabelsError::Read {
        path: shown.clone(),
        source: e,
    })?;
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
    if labels.len() != classes {
        return Err(LabelsError::Count {
            origin,
            labels: labels.len(),
            classes,
        });
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_labels() {
        assert_eq!(parse_lines("a\r\nb c\n"), vec!["a", "b c"]);
        assert_eq!(parse_lines("a\n\nc"), vec!["a", "", "c"]);
        assert!(parse_lines("").is_empty());
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
        assert!(matches!(read_file(&path), Err(LabelsError::Empty { .. })));
        assert!(matches!(
            read_file(&dir.join("missing.txt")),
            Err(LabelsError::Read { .. })
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
}
