//! Class labels: one per line, index = class id.

use std::fmt;
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

#[derive(Debug)]
pub enum LabelsError {
    Read { path: String, reason: String },
    NotUtf8 { path: String, line: usize },
    Empty { path: String },
}

impl fmt::Display for LabelsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelsError::Read { path, reason } => {
                write!(f, "cannot read labels file '{path}': {reason}")
            }
            LabelsError::NotUtf8 { path, line } => write!(
                f,
                "labels file '{path}' is not UTF-8 text (line {line}); save it as UTF-8"
            ),
            LabelsError::Empty { path } => {
                write!(
                    f,
                    "labels file '{path}' has no labels; put one label per line"
                )
            }
        }
    }
}

impl std::error::Error for LabelsError {}

/// Reads a labels file: UTF-8, one label per line.
pub fn read_file(path: &Path) -> Result<Vec<String>, LabelsError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| LabelsError::Read {
        path: shown.clone(),
        reason: e.to_string(),
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
