//! Opening the files users name (model, labels, CA certificates) so that none can hang
//! or exhaust the process: only regular files, opened without blocking (a FIFO with no
//! writer would block `open` forever), and never more than a size cap read.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why a file cannot be used, worded to follow its path in a message.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    #[error("does not exist")]
    Missing,
    #[error("cannot be read: {0}")]
    Unreadable(std::io::Error),
    #[error("is a directory; give the path of a file")]
    Directory,
    #[error("is {0}, not a regular file; give the path of a file")]
    NotRegular(&'static str),
    #[error("is empty")]
    Empty,
    #[error("is {len} bytes, more than the {max} allowed; is it the right file?")]
    TooLarge { len: u64, max: u64 },
}

fn kind(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading if it is a non-empty regular file of at most `max` bytes;
/// returns the file and its length.
pub fn open_regular(path: &Path, max: u64) -> Result<(File, u64), FileProblem> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FileProblem::Missing,
            _ => FileProblem::Unreadable(e),
        })?;
    // Checked on the open file, so it cannot be swapped for a FIFO in between.
    let meta = file.metadata().map_err(FileProblem::Unreadable)?;
    if meta.is_dir() {
        return Err(FileProblem::Directory);
    }
    if !meta.is_file() {
        return Err(FileProblem::NotRegular(kind(meta.file_type())));
    }
    match meta.len() {
        0 => Err(FileProblem::Empty),
        len if len > max => Err(FileProblem::TooLarge { len, max }),
        len => Ok((file, len)),
    }
}

/// Reads a whole regular file of at most `max` bytes (see [`open_regular`]); a file that
/// grows past `max` while being read is refused too.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, FileProblem> {
    let (file, len) = open_regular(path, max)?;
    read_capped(file, len, max)
}

/// Reads a file [`open_regular`] opened (`len` bytes then), never more than `max`
/// bytes: one that grew past `max` since is refused.
pub fn read_capped(file: File, len: u64, max: u64) -> Result<Vec<u8>, FileProblem> {
    let mut bytes = Vec::with_capacity(len.min(max) as usize);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(FileProblem::Unreadable)?;
    match bytes.len() as u64 {
        0 => Err(FileProblem::Empty),
        n if n > max => Err(FileProblem::TooLarge { len: n, max }),
        _ => Ok(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_directories_are_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("imgclassify-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_regular(&fifo, 10),
            Err(FileProblem::NotRegular("a FIFO (named pipe)"))
        ));
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), 10),
            Err(FileProblem::NotRegular("a character device"))
        ));
        assert!(matches!(
            read_regular(&dir, 10),
            Err(FileProblem::Directory)
        ));
        assert!(matches!(
            read_regular(&dir.join("missing"), 10),
            Err(FileProblem::Missing)
        ));
        let big = dir.join("big");
        std::fs::write(&big, [b'a'; 11]).expect("write");
        assert!(matches!(
            read_regular(&big, 10),
            Err(FileProblem::TooLarge { len: 11, max: 10 })
        ));
        assert_eq!(read_regular(&big, 11).expect("fits").len(), 11);
        std::fs::remove_dir_all(&dir).ok();
    }
}
