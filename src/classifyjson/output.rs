//! Where `classifyjson` writes: a file or standard output, one flushed line per result,
//! every failure an error that names the place.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
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
            OpenOptions::new().create(true).append(true).open(path)
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
