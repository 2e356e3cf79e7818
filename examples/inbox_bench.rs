//! What `inbox-dir` costs: the streaming thread copies the frame's planes
//! (`OwnedFrame::copy`); the writer thread cuts the part from the copy (one RGB
//! conversion of that part, `crop_rgb`) and encodes it as a JPEG. Prints the median of
//! 50 runs of each for a whole 1920x1080 NV12 frame and a 400x400 zone.
//!
//! ```sh
//! cargo run --release --example inbox_bench
//! ```

use std::time::{Duration, Instant};

use image::ExtendedColorType;
use image::codecs::jpeg::JpegEncoder;

use gstimgclassify::testing::inbox::{OwnedFrame, crop_rgb};
use gstimgclassify::testing::preprocess::{FrameView, PixelFormat, YuvMatrix};

const RUNS: usize = 50;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let times = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            out = Some(f());
            start.elapsed()
        })
        .collect();
    (median(times), out.expect("ran"))
}

fn main() {
    let (w, h) = (1920usize, 1080usize);
    // A gradient with some texture, so the JPEG is not trivially small.
    let luma: Vec<u8> = (0..w * h)
        .map(|i| ((i % w) / 8 + (i / w) / 4 + (i * 7919) % 23) as u8)
        .collect();
    let chroma: Vec<u8> = (0..w * h / 2).map(|i| (128 + (i % 64)) as u8).collect();
    let frame = FrameView::new(
        PixelFormat::Nv12,
        (w, h),
        &[&luma, &chroma],
        &[w, w],
        YuvMatrix::BT709,
    )
    .expect("frame");
    let (copy, owned) = time(|| OwnedFrame::copy(&frame));
    println!(
        "streaming thread, copying the frame's planes: {:.3} ms",
        copy.as_secs_f64() * 1e3
    );
    let frame = owned.view().expect("copy");
    println!("\n| part | pixels | cut (writer thread) | JPEG q92 (writer thread) | JPEG bytes |");
    println!("|---|---|---|---|---|");
    for (name, rect) in [("whole frame", None), ("zone", Some((760, 340, 400, 400)))] {
        let (cut, (cw, ch, rgb)) = time(|| crop_rgb(&frame, rect).expect("crop"));
        let (encode, jpeg) = time(|| {
            let mut out = Vec::new();
            JpegEncoder::new_with_quality(&mut out, 92)
                .encode(&rgb, cw, ch, ExtendedColorType::Rgb8)
                .expect("encode");
            out
        });
        println!(
            "| {name} | {cw}x{ch} | {:.2} ms | {:.2} ms | {} |",
            cut.as_secs_f64() * 1e3,
            encode.as_secs_f64() * 1e3,
            jpeg.len()
        );
    }
}
