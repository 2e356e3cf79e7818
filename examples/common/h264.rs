//! The 1080p H.264 file the decoder benchmarks read, made once per length and bitrate
//! with x264enc. Included by path (`#[path]`), so it is no example of its own.

use std::path::PathBuf;
use std::time::Instant;

use gstimgclassify::gst;
use gstimgclassify::gst::prelude::*;

type Error = Box<dyn std::error::Error>;

/// Plays `pipeline` to EOS, at most `timeout_s`, then sets it to NULL; returns when
/// the EOS arrived (before the state change, which would count against a frame rate).
pub fn play_to_eos(pipeline: &gst::Element, timeout_s: u64) -> Result<Instant, Error> {
    let bus = pipeline.bus().ok_or("pipeline without bus")?;
    pipeline.set_state(gst::State::Playing)?;
    let message = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(timeout_s),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    let ended = Instant::now();
    pipeline.set_state(gst::State::Null)?;
    match message.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(ended),
        Some(gst::MessageView::Error(e)) => Err(format!("{} ({:?})", e.error(), e.debug()).into()),
        _ => Err(format!("no EOS within {timeout_s} s").into()),
    }
}

/// Plays `description` to EOS, at most `timeout_s`.
pub fn run_to_eos(description: &str, timeout_s: u64) -> Result<(), Error> {
    play_to_eos(&gst::parse::launch(description)?, timeout_s).map(|_| ())
}

/// `frames` of 1080p `videotestsrc pattern=snow` at 30 fps, x264enc `bitrate` kbit/s
/// `speed-preset=ultrafast`, in MP4, in the temporary folder.
pub fn h264_file(frames: u32, bitrate: u32) -> Result<PathBuf, Error> {
    let path = std::env::temp_dir().join(format!(
        "imgclassify-bench-snow-1080p-{frames}-{bitrate}k.mp4"
    ));
    if path.exists() {
        return Ok(path);
    }
    let partial = path.with_extension("partial");
    eprintln!("making {} ...", path.display());
    run_to_eos(
        &format!(
            "videotestsrc num-buffers={frames} pattern=snow \
         ! video/x-raw,format=I420,width=1920,height=1080,framerate=30/1 \
         ! x264enc bitrate={bitrate} speed-preset=ultrafast key-int-max=60 \
         ! h264parse ! mp4mux ! filesink location={}",
            partial.display()
        ),
        600,
    )?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}
