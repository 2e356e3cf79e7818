//! The H.264 file every variant decodes, made once per length and bitrate.

use super::*;
use crate::h264::run_to_eos;

/// 1920x1080 at 30 fps: `coffee.png` (its shape kept, bars beside it) over
/// `videotestsrc pattern=ball`, whose ball moves in the bars and shows through the
/// photo, with `pattern=snow` blended in at 5 % as sensor noise, so no two frames are
/// alike; x264enc at a constant bitrate, no B-frames, a key frame every 2 s, as a
/// camera sends it. Kept in the temporary folder; a partial file never counts.
pub fn h264_file(frames: u32, bitrate: u32) -> Result<PathBuf, Error> {
    let path = std::env::temp_dir().join(format!(
        "imgclassify-decode-bench-coffee-1080p-{frames}-{bitrate}k.mp4"
    ));
    if path.exists() {
        return Ok(path);
    }
    let partial = path.with_extension("partial");
    eprintln!("making {} (once) ...", path.display());
    run_to_eos(
        &format!(
            "compositor name=mix sink_1::alpha=0.85 sink_2::alpha=0.05 \
         ! video/x-raw,format=I420,width=1920,height=1080,framerate=30/1 \
         ! x264enc bitrate={bitrate} speed-preset=veryfast bframes=0 key-int-max=60 \
         ! h264parse ! mp4mux ! filesink location={} \
         videotestsrc pattern=ball num-buffers={frames} \
         ! video/x-raw,width=1920,height=1080,framerate=30/1 ! mix.sink_0 \
         filesrc location={PHOTO} ! pngdec ! videoconvert ! videoscale \
         ! video/x-raw,width=1920,height=1080 ! imagefreeze num-buffers={frames} \
         ! video/x-raw,framerate=30/1 ! mix.sink_1 \
         videotestsrc pattern=snow num-buffers={frames} \
         ! video/x-raw,width=1920,height=1080,framerate=30/1 ! mix.sink_2",
            partial.display()
        ),
        1200,
    )?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}
