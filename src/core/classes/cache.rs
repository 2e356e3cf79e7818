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
//!
//! The folder is shared with nobody: it is made private (0700) and refused when other
//! users can write to it, as they could plant links where it writes or embeddings it
//! trusts. Files are read only when regular, capped and owned by this user (or root),
//! and written to a fresh temporary file renamed into place, so nothing is ever written
//! through a link and a half-written file is never seen or left behind.

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::core::files;

const MAGIC: &[u8] = b"imgclassify example embeddings\n";
pub const VERSION: u32 = 1;

/// Larger cache files are neither read nor written: 1 GiB holds 50 000 examples of
/// 4096-value embeddings, far more than a classes folder of example photos has.
pub const MAX_CACHE_BYTES: u64 = 1 << 30;

/// A memo holds a SHA-256 in hex.
const MAX_MEMO_BYTES: u64 = 64;

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

/// Whether a file or folder owned by `uid` may be trusted: this user's or root's.
fn ours(uid: u32) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    uid == 0 || uid == unsafe { libc::geteuid() }
}

/// Makes the cache folder `dir` if it is missing, private (0700, as is every folder it
/// makes above it), and checks that no other user can write to it. The error says why
/// the folder is not used and what to do.
pub fn open_dir(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("it cannot be made: {e}"))?;
    let meta = std::fs::metadata(dir).map_err(|e| format!("it cannot be read: {e}"))?;
    let mode = meta.mode() & 0o7777;
    // A sticky folder (like /tmp) lets others add files but not replace this user's;
    // files others add are not read (`read_trusted`).
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(format!(
            "other users can write to it (mode {mode:o}); make it private (chmod 700) or \
             set classes-cache-dir to a folder of your own"
        ));
    }
    if !ours(meta.uid()) {
        return Err(format!(
            "it belongs to another user (uid {}); set classes-cache-dir to a folder of your own",
            meta.uid()
        ));
    }
    Ok(())
}

/// Reads a file of the cache folder if it is a regular file (a FIFO would block, a
/// device never end) of at most `max` bytes, owned by this user or root.
fn read_trusted(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let (file, len) = files::open_regular(path, max).map_err(|p| p.to_string())?;
    let owner = file.metadata().map_err(|e| e.to_string())?.uid();
    if !ours(owner) {
        return Err(format!("it belongs to another user (uid {owner})"));
    }
    files::read_capped(file, len, max).map_err(|p| p.to_string())
}

/// Writes `bytes` as `path`, whole or not at all: into a new temporary file beside it
/// (created exclusively, so never through a link, and removed on failure), then renamed
/// over `path`, which replaces whatever is there (a link included) instead of following it.
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
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
    if out.len() as u64 > MAX_CACHE_BYTES {
        return Err(std::io::Error::other(format!(
            "{} bytes, more than the {MAX_CACHE_BYTES} a cache file may have",
            out.len()
        )));
    }
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    write_replacing(path, &out)
}

/// Reads a cache file written for embeddings of `width` values; the error says why it
/// cannot be used.
pub fn read(path: &Path, width: usize) -> Result<Vec<Entry>, String> {
    parse(&read_trusted(path, MAX_CACHE_BYTES)?, width)
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

/// The SHA-256 of the file at `path` in hex, read in pieces: a model can be 2 GiB.
fn hash_file(path: &Path) -> std::io::Result<String> {
    let (mut file, _) = files::open_regular(path, u64::MAX).map_err(std::io::Error::other)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buffer)? {
            0 => break,
            n => hasher.update(&buffer[..n]),
        }
    }
    Ok(hex(&hasher.finalize()))
}

/// The model file's SHA-256 in hex. Hashing a large model takes a while, so the hash is
/// remembered in `cache_dir` (made ready by [`open_dir`]) under the file's path, size and
/// modification time.
pub fn model_sha256(cache_dir: Option<&Path>, model: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(model)?;
    let (size, mtime) = stamp(&meta);
    let memo = cache_dir.filter(|dir| open_dir(dir).is_ok()).map(|dir| {
        let canonical = std::fs::canonicalize(model).unwrap_or_else(|_| model.to_path_buf());
        let mut key = canonical.as_os_str().as_bytes().to_vec();
        key.extend(size.to_le_bytes());
        key.extend(mtime.to_le_bytes());
        dir.join(format!("model-{}", hex(&sha256(&key))))
    });
    if let Some(known) = memo
        .as_ref()
        .and_then(|m| read_trusted(m, MAX_MEMO_BYTES).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Ok(known);
    }
    let hash = hash_file(model)?;
    if let Some(memo) = memo {
        // A memo that cannot be written only costs the hashing next time.
        let _ = write_replacing(&memo, hash.as_bytes());
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

    /// Runs `f` on its own thread and waits at most 10 s, so a blocking read fails the
    /// test instead of hanging it.
    fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("no answer within 10 s: blocked on a FIFO?")
    }

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    /// The memo file `model_sha256` keeps for `model` in `cache`, found by making it.
    fn memo_of(cache: &Path, model: &Path) -> PathBuf {
        model_sha256(Some(cache), model).expect("hash");
        let memo = std::fs::read_dir(cache)
            .expect("cache")
            .map(|e| e.expect("entry").path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.as_bytes().starts_with(b"model-"))
            })
            .expect("a memo");
        std::fs::remove_file(&memo).expect("remove");
        memo
    }

    #[test]
    fn a_fifo_or_a_device_as_cache_file_is_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo.bin");
        mkfifo(&fifo);
        let why = bounded(move || read(&fifo, 3)).expect_err("a FIFO");
        assert_eq!(
            why,
            "is a FIFO (named pipe), not a regular file; give the path of a file"
        );
        let zero = dir.path().join("zero.bin");
        std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
        let why = bounded(move || read(&zero, 3)).expect_err("a device");
        assert_eq!(
            why,
            "is a character device, not a regular file; give the path of a file"
        );
    }

    #[test]
    fn a_fifo_as_the_model_hash_memo_is_ignored_and_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let model = dir.path().join("m.onnx");
        std::fs::write(&model, b"one").expect("write");
        let cache = dir.path().join("cache");
        let memo = memo_of(&cache, &model);
        mkfifo(&memo);
        let (c, m) = (cache.clone(), model.clone());
        let hash = bounded(move || model_sha256(Some(&c), &m)).expect("hash");
        assert_eq!(hash, hex(&sha256(b"one")));
        assert!(std::fs::symlink_metadata(&memo).expect("memo").is_file());
        assert_eq!(std::fs::read_to_string(&memo).expect("memo"), hash);
    }

    /// A link planted where the cache writes (its temporary files, the memo, the cache
    /// file) never gets a file elsewhere overwritten: each is replaced, not followed.
    #[test]
    fn writing_never_follows_a_planted_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("write");
        let cache = dir.path().join("cache");
        std::fs::create_dir_all(&cache).expect("mkdir");
        let file = cache.join("x.bin");
        std::os::unix::fs::symlink(&victim, &file).expect("symlink");
        // The temporary names the cache used: the file's stem, the process and a count.
        for n in 0..256 {
            let aside = cache.join(format!("x.tmp{}-{n}", std::process::id()));
            std::os::unix::fs::symlink(&victim, aside).expect("symlink");
        }
        write(&file, 3, &entries()).expect("write");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
        assert!(
            std::fs::symlink_metadata(&file)
                .expect("cache file")
                .is_file()
        );
        assert_eq!(read(&file, 3).expect("read"), entries());

        let model = dir.path().join("m.onnx");
        std::fs::write(&model, b"one").expect("write");
        let memo = memo_of(&cache, &model);
        std::os::unix::fs::symlink(&victim, &memo).expect("symlink");
        assert_eq!(
            model_sha256(Some(&cache), &model).expect("hash"),
            hex(&sha256(b"one"))
        );
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
        assert!(std::fs::symlink_metadata(&memo).expect("memo").is_file());
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A folder (not empty) where the file should go: the rename fails.
        let file = dir.path().join("x.bin");
        std::fs::create_dir_all(file.join("in-the-way")).expect("mkdir");
        assert!(write(&file, 3, &entries()).is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, ["x.bin"]);
    }
}
