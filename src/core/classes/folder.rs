//! A classes folder: each sub-folder is one class named after it, and the files in it
//! are its examples. Hidden entries (names starting with '.') are left out, so a
//! desktop's `.DS_Store` or a `.git` folder is not taken for a class or an example.

use std::path::{Path, PathBuf};

/// The classes found, sorted by name, each with its files sorted by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Folder {
    pub classes: Vec<ClassFiles>,
    /// Class folders left out because an earlier one has the same label.
    pub same_label: Vec<SameLabel>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassFiles {
    pub label: String,
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// Why the folder could not be listed (then it has no files).
    pub unreadable: Option<String>,
}

/// Two class folders whose names read as the same label: names that are not UTF-8 are
/// shown with U+FFFD in place of their odd bytes, so `x\xfe` and `x\xff` both read `x�`.
#[derive(Debug, Clone, PartialEq)]
pub struct SameLabel {
    pub label: String,
    pub kept: PathBuf,
    pub left_out: PathBuf,
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
/// point to count as such). A class folder that cannot be listed has no files and says
/// why; one whose label an earlier one has is left out.
pub fn scan(dir: &Path) -> Result<Folder, FolderError> {
    scan_with(dir, sorted_entries)
}

/// [`scan`] with the listing of a folder given, so that a folder that cannot be listed
/// can be tested as root, who can list any.
fn scan_with(
    dir: &Path,
    list: fn(&Path) -> std::io::Result<Vec<PathBuf>>,
) -> Result<Folder, FolderError> {
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
    let entries = list(dir).map_err(|source| FolderError::Unreadable {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut folder = Folder::default();
    for class_dir in entries.into_iter().filter(|p| p.is_dir()) {
        let label = class_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(kept) = folder.classes.iter().find(|c| c.label == label) {
            folder.same_label.push(SameLabel {
                label,
                kept: kept.dir.clone(),
                left_out: class_dir,
            });
            continue;
        }
        let (files, unreadable) = match list(&class_dir) {
            Ok(files) => (files.into_iter().filter(|p| !p.is_dir()).collect(), None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        folder.classes.push(ClassFiles {
            label,
            dir: class_dir,
            files,
            unreadable,
        });
    }
    Ok(folder)
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

    /// Folder names are labels; two names that differ only in bytes that are not UTF-8
    /// would both be shown as `x\u{FFFD}`: the second is left out (with a warning).
    #[test]
    fn two_folders_with_the_same_label_keep_only_the_first() {
        use std::os::unix::ffi::OsStrExt;
        let root = tempfile::tempdir().expect("tempdir");
        for name in [&b"x\xfe"[..], b"x\xff", b"y"] {
            let class = root.path().join(std::ffi::OsStr::from_bytes(name));
            std::fs::create_dir_all(&class).expect("mkdir");
            std::fs::write(class.join("a.jpg"), "x").expect("write");
        }
        let folder = scan(root.path()).expect("scan");
        let labels: Vec<_> = folder.classes.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["x\u{FFFD}", "y"]);
        let named = |name: &[u8]| root.path().join(std::ffi::OsStr::from_bytes(name));
        assert_eq!(folder.classes[0].dir, named(b"x\xfe"));
        assert_eq!(
            folder.same_label,
            [SameLabel {
                label: "x\u{FFFD}".to_string(),
                kept: named(b"x\xfe"),
                left_out: named(b"x\xff"),
            }]
        );
    }

    /// Root lists any folder whatever its mode, so the listing's error is injected.
    #[test]
    fn a_class_folder_that_cannot_be_listed_says_why() {
        fn denied_for_locked(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
            if dir.ends_with("locked") {
                return Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
            }
            sorted_entries(dir)
        }
        let root = tempfile::tempdir().expect("tempdir");
        for class in ["locked", "open"] {
            std::fs::create_dir_all(root.path().join(class)).expect("mkdir");
            std::fs::write(root.path().join(class).join("a.jpg"), "x").expect("write");
        }
        let folder = scan_with(root.path(), denied_for_locked).expect("scan");
        assert_eq!(folder.classes[0].label, "locked");
        assert!(folder.classes[0].files.is_empty());
        assert_eq!(
            folder.classes[0].unreadable.as_deref(),
            Some("permission denied")
        );
        assert_eq!(folder.classes[1].files, [root.path().join("open/a.jpg")]);
        assert_eq!(folder.classes[1].unreadable, None);
    }
}
