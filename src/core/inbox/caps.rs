//! `inbox-max-files` and `inbox-max-bytes`: the inbox folder is kept under both by
//! removing its oldest crops (JPEG and sidecar together) first. Only files the inbox
//! wrote are counted and removed, known by their names, so a user's own files in the
//! folder are never touched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A crop's name stem: `<13-digit Unix milliseconds>-<6-digit number>-...`, so names
/// sort oldest first.
pub fn is_crop_stem(stem: &str) -> bool {
    let b = stem.as_bytes();
    b.len() > 21
        && b[..13].iter().all(u8::is_ascii_digit)
        && b[13] == b'-'
        && b[14..20].iter().all(u8::is_ascii_digit)
        && b[20] == b'-'
}

/// The crops in the folder, oldest first, with the bytes each one's files take.
#[derive(Debug, Default)]
pub struct Kept {
    crops: BTreeMap<String, (u64, Vec<PathBuf>)>,
    bytes: u64,
}

impl Kept {
    /// The crops already in `dir` (from an earlier run).
    pub fn scan(dir: &Path) -> std::io::Result<Kept> {
        let mut kept = Kept::default();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let Some(stem) = crop_stem(&path) else {
                continue;
            };
            let meta = entry.metadata()?;
            if meta.is_file() {
                kept.add(stem, path, meta.len());
            }
        }
        Ok(kept)
    }

    /// Counts a file just written.
    pub fn add(&mut self, stem: String, path: PathBuf, bytes: u64) {
        let crop = self.crops.entry(stem).or_default();
        crop.0 += bytes;
        crop.1.push(path);
        self.bytes += bytes;
    }

    pub fn files(&self) -> u64 {
        self.crops.len() as u64
    }

    #[cfg(test)]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Removes the oldest crops until at most `max_files` crops and `max_bytes` bytes
    /// are left (0 = no cap); returns what could not be removed.
    pub fn trim(&mut self, max_files: u64, max_bytes: u64) -> Vec<String> {
        let mut failed = Vec::new();
        while (max_files > 0 && self.files() > max_files)
            || (max_bytes > 0 && self.bytes > max_bytes)
        {
            let Some((_, (bytes, paths))) = self.crops.pop_first() else {
                break;
            };
            self.bytes -= bytes;
            for path in paths {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => failed.push(format!("cannot remove '{}': {e}", path.display())),
                }
            }
        }
        failed
    }
}

/// The crop a file of the folder belongs to: a `.jpg` or `.json` with a crop's name.
fn crop_stem(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    if ext != "jpg" && ext != "json" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    is_crop_stem(stem).then(|| stem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_crops_go_first_until_both_caps_hold() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stems: Vec<String> = (0..4)
            .map(|i| format!("{:013}-{:06}-c-frame", 1_700_000_000_000u64 + i, i))
            .collect();
        for stem in &stems {
            std::fs::write(dir.path().join(format!("{stem}.jpg")), [0u8; 100]).expect("jpg");
            std::fs::write(dir.path().join(format!("{stem}.json")), [0u8; 10]).expect("json");
        }
        // Someone else's files are neither counted nor removed.
        std::fs::write(dir.path().join("notes.jpg"), [0u8; 1000]).expect("own");
        let mut kept = Kept::scan(dir.path()).expect("scan");
        assert_eq!((kept.files(), kept.bytes()), (4, 440));
        assert!(kept.trim(3, 0).is_empty());
        assert!(!dir.path().join(format!("{}.jpg", stems[0])).exists());
        assert!(!dir.path().join(format!("{}.json", stems[0])).exists());
        assert!(dir.path().join(format!("{}.jpg", stems[1])).exists());
        assert!(kept.trim(0, 220).is_empty());
        assert_eq!((kept.files(), kept.bytes()), (2, 220));
        assert!(dir.path().join(format!("{}.jpg", stems[2])).exists());
        assert!(dir.path().join("notes.jpg").exists());
        let left = Kept::scan(dir.path()).expect("rescan");
        assert_eq!((left.files(), left.bytes()), (2, 220));
    }

    #[test]
    fn crop_names_are_recognised_by_their_digits() {
        assert!(is_crop_stem("1700000000000-000001-c-frame"));
        assert!(!is_crop_stem("gate-open-1"));
        assert!(!is_crop_stem("1700000000000-00001-c-frame"));
    }
}
