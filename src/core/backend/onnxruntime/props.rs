//! ONNX Runtime hands a model's metadata values over as C strings, cut at the first NUL
//! byte: labels ending `three\0four` arrive as `three`, four labels that look right. A
//! value where that matters is read here straight from the file's protobuf instead
//! (`ModelProto.metadata_props`, field 14, each a `StringStringEntryProto` of key 1 and
//! value 2), passing over everything else, the graph included, without reading it.

use std::io::{BufReader, Read};
use std::path::Path;

/// `ModelProto.metadata_props`.
const METADATA_PROPS: u64 = 14;

/// Longer entries are passed over: a labels list is at most 16 MiB
/// (`labels::MAX_LABELS_BYTES`), and nothing the file says sizes an allocation beyond.
const MAX_ENTRY_BYTES: u64 = crate::core::model::labels::MAX_LABELS_BYTES + 4096;

/// A protobuf varint; None at the end of the input or for one longer than 64 bits.
fn varint(r: &mut impl Read) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let mut byte = [0u8];
        r.read_exact(&mut byte).ok()?;
        value |= u64::from(byte[0] & 0x7F) << shift;
        if byte[0] & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The value of one `StringStringEntryProto` if its key is `key`.
fn entry_value(mut entry: &[u8], key: &str) -> Option<Vec<u8>> {
    let (mut found_key, mut value) = (None, None);
    while !entry.is_empty() {
        let tag = varint(&mut entry)?;
        match tag & 7 {
            0 => {
                varint(&mut entry)?;
            }
            1 => entry = entry.get(8..)?,
            5 => entry = entry.get(4..)?,
            2 => {
                let len = usize::try_from(varint(&mut entry)?).ok()?;
                let field = entry.get(..len)?;
                entry = &entry[len..];
                match tag >> 3 {
                    1 => found_key = Some(field),
                    2 => value = Some(field),
                    _ => {}
                }
            }
            _ => return None,
        }
    }
    (found_key? == key.as_bytes()).then(|| value.unwrap_or_default().to_vec())
}

/// The bytes of metadata key `key` in the ONNX file at `path`, the first if repeated;
/// None where it is absent or the file is not protobuf as far as read (ONNX Runtime,
/// which loaded it, judges the rest).
pub fn metadata_value(path: &Path, key: &str) -> Option<Vec<u8>> {
    let (file, _) = crate::core::files::open_regular(path, u64::MAX).ok()?;
    let mut r = BufReader::new(file);
    loop {
        let tag = varint(&mut r)?;
        let skip = match tag & 7 {
            0 => {
                varint(&mut r)?;
                0
            }
            1 => 8,
            5 => 4,
            2 => {
                let len = varint(&mut r)?;
                if tag >> 3 != METADATA_PROPS || len > MAX_ENTRY_BYTES {
                    len
                } else {
                    let mut entry = Vec::new();
                    (&mut r).take(len).read_to_end(&mut entry).ok()?;
                    if entry.len() as u64 != len {
                        return None;
                    }
                    if let Some(value) = entry_value(&entry, key) {
                        return Some(value);
                    }
                    0
                }
            }
            _ => return None,
        };
        r.seek_relative(i64::try_from(skip).ok()?).ok()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/models")
            .join(name)
    }

    #[test]
    fn a_value_is_read_whole_nul_included() {
        let path = fixture("metadata_nul_label.onnx");
        assert_eq!(
            metadata_value(&path, "imgclassify.labels").as_deref(),
            Some(&b"zero\none\ntwo\nthree\0four"[..])
        );
        assert_eq!(metadata_value(&path, "imgclassify.name"), None);
        assert_eq!(
            metadata_value(&fixture("four_classes.onnx"), "imgclassify.labels").as_deref(),
            Some(&b"zero\none\ntwo\nthree"[..])
        );
    }

    #[test]
    fn damaged_or_foreign_files_give_nothing_and_never_panic() {
        let good = std::fs::read(fixture("metadata_nul_label.onnx")).expect("fixture");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.onnx");
        for cut in 0..good.len() {
            std::fs::write(&path, &good[..cut]).expect("write");
            let value = metadata_value(&path, "imgclassify.labels");
            assert!(
                value.is_none() || cut == good.len(),
                "cut at {cut}: {value:?}"
            );
        }
        for bytes in [
            &[0xFFu8; 16][..],
            &[0x72, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F][..],
            b"text",
        ] {
            std::fs::write(&path, bytes).expect("write");
            assert_eq!(metadata_value(&path, "imgclassify.labels"), None);
        }
    }
}
