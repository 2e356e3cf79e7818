//! A classes folder: each sub-folder is one class named after it, and the files in it
//! are its examples. Hidden entries (names starting with '.') are left out, so a
//! desktop's `.DS_Store` or a `.git` folder is not taken for a class or an example.

use std::path::{Path, PathBuf};

/// The classes found, sorted by name, each with its files sorted by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Folder {
    pub classes: Vec<ClassFiles>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassFiles {
    pub label: String,
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error(
        "classes-dir '{0}' does not exist; make a folder with one sub-folder of example photos per class"
    )]
    Missing(PathBuf),
    #[error(
        "classes-dir '{0}' is not a folder; give a folder with one sub-folder of example photos per class"
    )]
    NotFolder(PathBuf),
    #[error("classes-dir '{path}' cannot be read: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn visible(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| !n.as_encoded_bytes().starts_with(b"."))
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.retain(|p| visible(p));
    entries.sort();
    Ok(entries)
}

/// Lists the classes of `dir` and their files (folders and files that symbolic links
/// point to count as such). A class folder that cannot be listed has no files.
pub fn scan(dir: &Path) -> Result<Folder, FolderError> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FolderError::Missing(dir.to_path_buf()));
        }
        Err(source) => {
            return Err(FolderError::Unreadable {
                path: dir.to_path_buf(),
                source,
            });
        }
        Ok(m) if !m.is_dir() => return Err(FolderError::NotFolder(dir.to_path_buf())),
        Ok(_) => {}
    }
    let entries = sorted_entries(dir).map_err(|source| FolderError::Unreadable {
        path: dir.to_path_buf(),
        source,
    })?;
    let classes = entries
        .into_iter()
        .filter(|p| p.is_dir())
        .map(|class_dir| ClassFiles {
            label: class_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            files: sorted_entries(&class_dir)
                .unwrap_or_default()
                .into_iter()
                .filter(|p| !p.is_dir())
                .collect(),
            dir: class_dir,
        })
        .collect();
    Ok(Folder { classes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_folders_are_classes_and_hidden_entries_are_left_out() {
        let root = tempfile::tempdir().expect("tempdir");
        for (path, body) in [
            ("van/b.jpg", "x"),
            ("van/a.png", "x"),
            ("van/.DS_Store", "x"),
            ("car/one.jpg", "x"),
            ("README.txt", "x"),
            (".git/config", "x"),
        ] {
            let full = root.path().join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(full, body).expect("write");
        }
        std::fs::create_dir_all(root.path().join("empty")).expect("mkdir");
        let folder = scan(root.path()).expect("scan");
        let labels: Vec<_> = folder.classes.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["car", "empty", "van"]);
        let van: Vec<_> = folder.classes[2]
            .files
            .iter()
            .map(|f| f.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        assert_eq!(van, ["a.png", "b.jpg"]);
        assert!(folder.classes[1].files.is_empty());
    }

    #[test]
    fn a_missing_or_non_folder_path_is_an_error_naming_it() {
        let root = tempfile::tempdir().expect("tempdir");
        let missing = root.path().join("nope");
        let err = scan(&missing).expect_err("missing");
        assert!(matches!(err, FolderError::Missing(_)));
        assert!(err.to_string().contains("nope"));
        let file = root.path().join("file");
        std::fs::write(&file, "x").expect("write");
        assert!(matches!(scan(&file), Err(FolderError::NotFolder(_))));
    }
}
