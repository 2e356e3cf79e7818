//! Where `classifyjson` writes: a file or standard output, one flushed line per result,
//! every failure an error that names the place.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub struct Output {
    pub writer: Box<dyn Write + Send>,
    /// The path as the user gave it, or "standard output": used in every error.
    pub name: String,
    pub lines: u64,
}

impl Output {
    /// Opens `path`, or standard output for None; `append` keeps what the file holds.
    pub fn open(path: Option<&Path>, append: bool) -> Result<Output, gst::ErrorMessage> {
        let Some(path) = path else {
            return Ok(Output {
                writer: Box::new(io::stdout()),
                name: "standard output".into(),
                lines: 0,
            });
        };
        let file: io::Result<File> = if append {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| {
                    // A line left unfinished (a writer killed mid-line) would swallow our
                    // first line into one invalid line.
                    if ends_mid_line(path) {
                        file.write_all(b"\n")?;
                    }
                    Ok(file)
                })
        } else {
            File::create(path)
        };
        match file {
            Ok(file) => Ok(Output {
                writer: Box::new(BufWriter::new(file)),
                name: format!("'{}'", path.display()),
                lines: 0,
            }),
            Err(e) => Err(gst::error_msg!(
                gst::ResourceError::OpenWrite,
                ("cannot open '{}' for writing: {}", path.display(), e),
                [
                    "set location to a writable file (its folder must exist), or to '-' for standard output"
                ]
            )),
        }
    }

    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        self.writer.write_all(text.as_bytes())?;
        // Whole lines reach the file as frames pass, so `tail -f` and pipes see them.
        self.writer.flush()?;
        self.lines += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), gst::ErrorMessage> {
        self.writer.flush().map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::Write,
                ("could not write to {}: {}", self.name, e),
                ["check free space and permissions"]
            )
        })
    }
}

/// Whether `path` is a non-empty regular file whose last byte is not a newline. Anything
/// that cannot be read that way (a pipe, a device, a file we may only write) is taken as
/// ending a line: there is nothing to repair that we could see.
fn ends_mid_line(path: &Path) -> bool {
    let last_byte = || -> io::Result<Option<u8>> {
        // Non-blocking: opening a FIFO to read must not wait for a writer.
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() || meta.len() == 0 {
            return Ok(None);
        }
        file.seek(SeekFrom::End(-1))?;
        let mut byte = [0u8];
        file.read_exact(&mut byte)?;
        Ok(Some(byte[0]))
    };
    matches!(last_byte(), Ok(Some(b)) if b != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_file_ending_without_a_newline_ends_mid_line() {
        let dir = std::env::temp_dir().join(format!("classifyjson-output-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        let file = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("written");
            path
        };
        assert!(ends_mid_line(&file("unfinished", "{\"a\":1")));
        assert!(!ends_mid_line(&file("finished", "{\"a\":1}\n")));
        assert!(!ends_mid_line(&file("empty", "")));
        assert!(!ends_mid_line(&dir.join("missing")));
        assert!(!ends_mid_line(&dir));
        assert!(!ends_mid_line(Path::new("/dev/null")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
