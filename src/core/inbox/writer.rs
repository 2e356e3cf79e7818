//! The inbox's writer thread: each crop is cut from its frame and becomes `<name>.jpg`
//! and `<name>.json` in the folder, written aside under a hidden name and renamed, so a user or a folder watcher
//! never sees half a file; then the folder is trimmed to its caps.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};

use image::ExtendedColorType;
use image::codecs::jpeg::JpegEncoder;

use super::caps::Kept;
use super::{Crop, ModelFile, Reason, crop_rgb};

/// JPEG quality: high enough that a crop filed as an example embeds as the frame did.
const QUALITY: u8 = 92;

/// What the JSON beside a crop says.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Sidecar {
    /// The JPEG's file name; set by the writer.
    pub image: String,
    /// Wall-clock time the result was taken, RFC 3339 UTC.
    pub time: String,
    /// Milliseconds since the Unix epoch, as in the file name.
    pub unix_ms: u64,
    /// The buffer's PTS in nanoseconds.
    pub pts: Option<u64>,
    pub classifier: String,
    /// `frame`, `zones` or `regions`.
    pub target: String,
    pub zone: Option<String>,
    pub roi_id: Option<i32>,
    pub roi_type: Option<String>,
    /// x, y, width, height in frame pixels; set by the writer.
    pub rect: [u32; 4],
    pub reason: Option<Reason>,
    pub labels: Vec<String>,
    pub class_ids: Vec<u32>,
    pub scores: Vec<f64>,
    pub model: String,
    /// The model file's SHA-256; set by the writer (None without a local file).
    pub model_sha256: Option<String>,
    /// Whose rate limit and file name: `frame`, `zone:NAME`, `roi:ID`.
    #[serde(skip)]
    pub key: String,
    /// The model file in use when the crop was taken, where a model was swapped in
    /// while running; None = the one the inbox started with.
    #[serde(skip)]
    pub model_file: Option<PathBuf>,
}

/// The writer's ends of the channels: crops in, how many wait, failures out.
pub type Channels = (Receiver<Box<Crop>>, Arc<AtomicUsize>, Sender<String>);

/// Takes crops into `folder` until the element's end of the queue is dropped, keeping
/// at most `max_files` crops and `max_bytes` bytes (0 = no cap).
pub fn run(
    folder: &Path,
    (max_files, max_bytes): (u64, u64),
    model: &ModelFile,
    channels: Channels,
) {
    let (crops, pending, failed) = channels;
    let dir = folder.display().to_string();
    let mut kept = Kept::scan(folder).unwrap_or_else(|e| {
        let _ = failed.send(format!("inbox-dir '{dir}' cannot be listed: {e}"));
        Kept::default()
    });
    // The file last hashed and its hash: a model swapped in is hashed once too.
    let mut hashed: Option<(Option<PathBuf>, Option<String>)> = None;
    let mut number = 0u32;
    for mut crop in crops {
        pending.fetch_sub(1, Ordering::AcqRel);
        // Hashed here, once per model, so the stream never waits for a large file.
        let file = crop
            .sidecar
            .model_file
            .take()
            .or_else(|| model.file.clone());
        if hashed.as_ref().is_none_or(|(f, _)| *f != file) {
            let hash = model_hash(&ModelFile { file: file.clone() });
            hashed = Some((file, hash));
        }
        crop.sidecar.model_sha256 = hashed.as_ref().and_then(|(_, h)| h.clone());
        match save(folder, &mut crop, number) {
            Ok(files) => files
                .into_iter()
                .for_each(|(stem, path, bytes)| kept.add(stem, path, bytes)),
            Err(e) => {
                let _ = failed.send(format!("inbox-dir '{dir}': crop not saved: {e}"));
            }
        }
        number = (number + 1) % 1_000_000;
        for e in kept.trim(max_files, max_bytes) {
            let _ = failed.send(format!("inbox-dir '{dir}': {e}"));
        }
    }
}

fn model_hash(model: &ModelFile) -> Option<String> {
    let file = model.file.as_deref()?;
    crate::core::classes::cache::model_sha256(None, file).ok()
}

/// Letters, digits, '-' and '_' of a name; anything else becomes '_'.
fn file_safe(name: &str) -> String {
    name.chars()
        .take(48)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

type Written = (String, std::path::PathBuf, u64);

/// Writes the JPEG and its sidecar; returns each file's stem, path and size.
fn save(dir: &Path, crop: &mut Crop, number: u32) -> std::io::Result<Vec<Written>> {
    let s = &crop.sidecar;
    let stem = format!(
        "{:013}-{:06}-{}-{}",
        s.unix_ms,
        number,
        file_safe(&s.classifier),
        file_safe(&s.key)
    );
    let (width, height, rgb) = crop
        .frame
        .view()
        .and_then(|view| crop_rgb(&view, crop.rect))
        .map_err(std::io::Error::other)?;
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode(&rgb, width, height, ExtendedColorType::Rgb8)
        .map_err(std::io::Error::other)?;
    let (x, y) = crop.rect.map_or((0, 0), |r| (r.0, r.1));
    crop.sidecar.rect = [x, y, width, height];
    crop.sidecar.image = format!("{stem}.jpg");
    let json = serde_json::to_vec_pretty(&crop.sidecar).map_err(std::io::Error::other)?;
    // The sidecar first: whoever sees the JPEG can read what it is.
    let mut written = Vec::new();
    for (ext, bytes) in [("json", &json), ("jpg", &jpeg)] {
        let path = dir.join(format!("{stem}.{ext}"));
        let mut file = tempfile::Builder::new()
            .prefix(".inbox-")
            .tempfile_in(dir)?;
        file.write_all(bytes)?;
        file.persist_noclobber(&path).map_err(|e| e.error)?;
        written.push((stem.clone(), path, bytes.len() as u64));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crop(unix_ms: u64, key: &str) -> Crop {
        use crate::core::preprocess::{FrameView, PixelFormat, YuvMatrix};
        let rgb: Vec<u8> = (0..20 * 8 * 3).map(|i| (i % 251) as u8).collect();
        let view = FrameView::new(PixelFormat::Rgb, (20, 8), &[&rgb], &[60], YuvMatrix::BT601)
            .expect("view");
        Crop {
            frame: super::super::OwnedFrame::copy(&view),
            rect: Some((4, 0, 16, 8)),
            sidecar: Sidecar {
                unix_ms,
                classifier: "gate cam".into(),
                key: key.into(),
                labels: vec!["unknown".into()],
                ..Sidecar::default()
            },
        }
    }

    #[test]
    fn a_crop_is_a_jpeg_of_its_size_with_its_sidecar_and_the_caps_hold() {
        let dir = tempfile::tempdir().expect("tempdir");
        let model = dir.path().join("m.onnx");
        std::fs::write(&model, b"model").expect("model");
        let folder = dir.path().join("inbox");
        let model = ModelFile { file: Some(model) };
        std::fs::create_dir_all(&folder).expect("mkdir");
        let (queue, crops) = std::sync::mpsc::sync_channel(8);
        let (failed, failures) = std::sync::mpsc::channel();
        let pending = Arc::new(AtomicUsize::new(3));
        // The last crop was taken after a model was swapped in while running.
        let swapped = dir.path().join("swapped.onnx");
        std::fs::write(&swapped, b"swapped").expect("model");
        for (i, key) in ["zone:a/b", "zone:c", "frame"].iter().enumerate() {
            let mut crop = crop(1_700_000_000_000 + i as u64, key);
            if i == 2 {
                crop.sidecar.model_file = Some(swapped.clone());
            }
            queue.send(Box::new(crop)).expect("send");
        }
        drop(queue);
        run(
            &folder,
            (2, 0),
            &model,
            (crops, Arc::clone(&pending), failed),
        );
        assert_eq!(
            failures.try_iter().collect::<Vec<_>>(),
            Vec::<String>::new()
        );
        assert_eq!(pending.load(Ordering::Acquire), 0);
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // The oldest (zone a/b) went; no temporary file is left.
        assert_eq!(
            names,
            [
                "1700000000001-000001-gate_cam-zone_c.jpg",
                "1700000000001-000001-gate_cam-zone_c.json",
                "1700000000002-000002-gate_cam-frame.jpg",
                "1700000000002-000002-gate_cam-frame.json",
            ]
        );
        let jpeg = folder.join(&names[2]);
        let image = image::open(&jpeg).expect("decode");
        assert_eq!((image.width(), image.height()), (16, 8));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join(&names[3])).expect("json"))
                .expect("parse");
        assert_eq!(json["image"], names[2].as_str());
        assert_eq!(json["classifier"], "gate cam");
        assert_eq!(json["labels"][0], "unknown");
        assert_eq!(json["rect"], serde_json::json!([4, 0, 16, 8]));
        let hash = |bytes: &[u8]| {
            crate::core::classes::cache::hex(&crate::core::classes::cache::sha256(bytes))
        };
        assert_eq!(json["model-sha256"], hash(b"swapped").as_str());
        let before: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join(&names[1])).expect("json"))
                .expect("parse");
        assert_eq!(before["model-sha256"], hash(b"model").as_str());
    }
}
