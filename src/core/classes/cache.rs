//! The on-disk cache of example embeddings, so a restart embeds nothing that did not
//! change. One file per model content, preprocessing and classes folder; each entry
//! holds an example's path (relative to the folder), size, modification time, content
//! hash and unit-length embedding. A file whose path, size and time match is not even
//! read; one whose content hash matches (copied, renamed, touched) is not decoded.
//!
//! Format, little-endian: the magic line, u32 version, u32 width, u32 count, then per
//! entry u32 path length, the path's bytes, u64 size, i64 modification time in
//! nanoseconds, 32 bytes SHA-256, width f32; last the SHA-256 of all that precedes it.
//! A file that fails any check is ignored (and rewritten), never trusted.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

const MAGIC: &[u8] = b"imgclassify example embeddings\n";
pub const VERSION: u32 = 1;

/// One cached example.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Relative to the classes folder.
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub sha256: [u8; 32],
    pub embedding: Vec<f32>,
}

/// A file's size and modification time, which say whether it may have changed.
pub fn stamp(meta: &std::fs::Metadata) -> (u64, i64) {
    (
        meta.len(),
        meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec(),
    )
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn write(path: &Path, width: usize, entries: &[Entry]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(64 + entries.len() * (80 + 4 * width));
    out.extend(MAGIC);
    out.extend(VERSION.to_le_bytes());
    out.extend((width as u32).to_le_bytes());
    out.extend((entries.len() as u32).to_le_bytes());
    for e in entries {
        let name = e.path.as_os_str().as_bytes();
        out.extend((name.len() as u32).to_le_bytes());
        out.extend(name);
        out.extend(e.size.to_le_bytes());
        out.extend(e.mtime_ns.to_le_bytes());
        out.extend(e.sha256);
        for v in &e.embedding {
            out.extend(v.to_le_bytes());
        }
    }
    let check = sha256(&out);
    out.extend(check);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Written aside and renamed, so a reader (another element, a crash) never sees half.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let aside = path.with_extension(format!(
        "tmp{}-{}",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = std::fs::File::create(&aside)?;
    file.write_all(&out)?;
    drop(file);
    std::fs::rename(&aside, path)
}

/// Reads a cache file written for embeddings of `width` values; the error says why it
/// cannot be used.
pub fn read(path: &Path, width: usize) -> Result<Vec<Entry>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    parse(&bytes, width)
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.rest.len() < n {
            return Err("truncated".to_string());
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }
}

fn parse(bytes: &[u8], width: usize) -> Result<Vec<Entry>, String> {
    if bytes.len() < MAGIC.len() + 12 + 32 || !bytes.starts_with(MAGIC) {
        return Err("not an example-embeddings cache file".to_string());
    }
    let (body, check) = bytes.split_at(bytes.len() - 32);
    if sha256(body) != check {
        return Err("checksum mismatch".to_string());
    }
    let mut r = Reader {
        rest: &body[MAGIC.len()..],
    };
    let version = r.u32()?;
    if version != VERSION {
        return Err(format!("version {version}, this build reads {VERSION}"));
    }
    let stored = r.u32()? as usize;
    if stored != width {
        return Err(format!(
            "embeddings of {stored} values, the model gives {width}"
        ));
    }
    let count = r.u32()? as usize;
    let mut entries = Vec::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        let len = r.u32()? as usize;
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(r.take(len)?));
        let size = u64::from_le_bytes(r.array()?);
        let mtime_ns = i64::from_le_bytes(r.array()?);
        let sha256 = r.array()?;
        let embedding = r
            .take(width * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        entries.push(Entry {
            path,
            size,
            mtime_ns,
            sha256,
            embedding,
        });
    }
    if !r.rest.is_empty() {
        return Err("trailing bytes".to_string());
    }
    Ok(entries)
}

/// The model file's SHA-256 in hex. Hashing a large model takes a while, so the hash is
/// remembered in `cache_dir` under the file's path, size and modification time.
pub fn model_sha256(cache_dir: Option<&Path>, model: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(model)?;
    let (size, mtime) = stamp(&meta);
    let memo = cache_dir.map(|dir| {
        let canonical = std::fs::canonicalize(model).unwrap_or_else(|_| model.to_path_buf());
        let mut key = canonical.as_os_str().as_bytes().to_vec();
        key.extend(size.to_le_bytes());
        key.extend(mtime.to_le_bytes());
        dir.join(format!("model-{}", hex(&sha256(&key))))
    });
    if let Some(known) = memo
        .as_ref()
        .and_then(|m| std::fs::read_to_string(m).ok())
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Ok(known);
    }
    let hash = hex(&sha256(&std::fs::read(model)?));
    if let Some(memo) = memo {
        // A memo that cannot be written only costs the hashing next time.
        let _ = std::fs::create_dir_all(memo.parent().unwrap_or(Path::new(".")))
            .and_then(|_| std::fs::write(&memo, &hash));
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Entry> {
        vec![
            Entry {
                path: PathBuf::from("car/a.jpg"),
                size: 1234,
                mtime_ns: 1_700_000_000_123_456_789,
                sha256: [7; 32],
                embedding: vec![0.6, 0.8, 0.0],
            },
            Entry {
                path: PathBuf::from("van/b é.png"),
                size: 1,
                mtime_ns: -5,
                sha256: [9; 32],
                embedding: vec![0.0, 0.0, 1.0],
            },
        ]
    }

    #[test]
    fn entries_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("sub/x.bin");
        write(&file, 3, &entries()).expect("write");
        assert_eq!(read(&file, 3).expect("read"), entries());
        assert!(read(&file, 4).expect_err("width").contains("3 values"));
    }

    #[test]
    fn any_damage_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("x.bin");
        write(&file, 3, &entries()).expect("write");
        let good = std::fs::read(&file).expect("read");
        for cut in [0, 10, good.len() / 2, good.len() - 1] {
            assert!(parse(&good[..cut], 3).is_err(), "cut at {cut}");
        }
        for flip in [MAGIC.len() + 1, good.len() / 2, good.len() - 40] {
            let mut bad = good.clone();
            bad[flip] ^= 1;
            assert!(parse(&bad, 3).is_err(), "flip at {flip}");
        }
        assert!(parse(b"garbage", 3).is_err());
    }

    #[test]
    fn the_model_hash_is_remembered_and_follows_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let model = dir.path().join("m.onnx");
        std::fs::write(&model, b"one").expect("write");
        let cache = dir.path().join("cache");
        let first = model_sha256(Some(&cache), &model).expect("hash");
        assert_eq!(first, hex(&sha256(b"one")));
        assert_eq!(std::fs::read_dir(&cache).expect("memo").count(), 1);
        assert_eq!(model_sha256(Some(&cache), &model).expect("hash"), first);
        std::fs::write(&model, b"two!").expect("write");
        assert_eq!(
            model_sha256(Some(&cache), &model).expect("hash"),
            hex(&sha256(b"two!"))
        );
    }
}
