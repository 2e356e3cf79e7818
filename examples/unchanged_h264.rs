//! What `unchanged-threshold` compares, measured: the mean absolute difference of the
//! model input (224x224, centre crop, RGB on a 0–1 scale) between frames of a still
//! 1280x720 scene with sensor noise after an H.264 round trip (x264enc, constant
//! bitrate, a key frame every 2 s, no B-frames, as a camera sends it), at several
//! bitrates; and between that scene and the same scene with a real change, encoded the
//! same way.
//!
//! `cargo run --release --example unchanged_h264 [frames] [noise]`: `frames` per
//! stream (default 100, 4 s at 25 fps), `noise` the opacity of the `videotestsrc
//! pattern=snow` blended over the scene as sensor noise (default 0.03, a standard
//! deviation of about 2 grey levels; 0 = a perfectly still picture).

use gst_video::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::testing::preprocess::{
    FrameView, PixelFormat, Preprocessor, ResizeMode, Scale, TensorSpec, YuvMatrix,
};

const BITRATES: [u32; 4] = [500, 1000, 2000, 4000];
const SIZE: usize = 224;
const CROP: f64 = 0.875;

/// The scene, or the scene changed: what is drawn over the coffee photo.
struct Change {
    name: &'static str,
    /// Elements between the photo and the compositor.
    photo: &'static str,
    /// An extra compositor input (`mix.sink_2`), or none.
    inset: &'static str,
}

const STILL: Change = Change {
    name: "still",
    photo: "",
    inset: "",
};

/// The insets lie inside the centre crop: 630x630 around the middle of a 1280x720 frame.
const CHANGES: [Change; 5] = [
    Change {
        name: "brightness +0.012",
        photo: "! videobalance brightness=0.0118",
        inset: "",
    },
    Change {
        name: "brightness +0.031",
        photo: "! videobalance brightness=0.0314",
        inset: "",
    },
    Change {
        name: "object on 3.6% of the input",
        photo: "",
        inset: "160x90",
    },
    Change {
        name: "object on 14.5%",
        photo: "",
        inset: "320x180",
    },
    Change {
        name: "scene cut",
        photo: "",
        inset: "1280x720",
    },
];

fn photo(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

/// The decoded frames' model inputs.
fn tensors(change: &Change, bitrate: u32, frames: u32, noise: f64) -> Vec<Vec<f32>> {
    let inset = match change.inset {
        "" => String::new(),
        size => {
            let (w, h) = size.split_once('x').expect("WxH");
            let (w, h): (u32, u32) = (w.parse().expect("width"), h.parse().expect("height"));
            format!(
                "filesrc location={} ! pngdec ! videoconvert ! videoscale \
                 ! video/x-raw,width={w},height={h} ! imagefreeze num-buffers={frames} \
                 ! video/x-raw,framerate=25/1 ! mix.sink_2",
                photo("chelsea.png")
            )
        }
    };
    let (x, y) = match change.inset {
        "1280x720" => (0, 0),
        "320x180" => (480, 270),
        _ => (560, 315),
    };
    let description = format!(
        "compositor name=mix sink_1::alpha={noise} sink_2::xpos={x} sink_2::ypos={y} \
         ! video/x-raw,format=I420,width=1280,height=720,framerate=25/1 \
         ! x264enc bitrate={bitrate} speed-preset=veryfast key-int-max=50 threads=1 \
         ! h264parse ! avdec_h264 ! video/x-raw,format=I420 ! appsink name=sink sync=false \
         filesrc location={} ! pngdec ! videoconvert ! videoscale \
         ! video/x-raw,width=1280,height=720 {} ! imagefreeze num-buffers={frames} \
         ! video/x-raw,framerate=25/1 ! mix.sink_0 \
         videotestsrc pattern=snow num-buffers={frames} \
         ! video/x-raw,width=1280,height=720,framerate=25/1 ! mix.sink_1 {inset}",
        photo("coffee.png"),
        change.photo,
    );
    let pipeline = gst::parse::launch(&description)
        .expect("pipeline parses")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
        .expect("appsink");
    pipeline.set_state(gst::State::Playing).expect("plays");
    let mut pre = Preprocessor::new(TensorSpec::imagenet(SIZE), ResizeMode::CenterCrop, CROP);
    let mut out = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        let caps = sample.caps().expect("caps");
        let info = gst_video::VideoInfo::from_caps(caps).expect("video caps");
        let buffer = sample.buffer().expect("buffer");
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).expect("maps");
        let planes: Vec<&[u8]> = (0..3)
            .map(|i| frame.plane_data(i).expect("plane"))
            .collect();
        let strides: Vec<usize> = frame.plane_stride()[..3]
            .iter()
            .map(|&s| s as usize)
            .collect();
        let view = FrameView::new(
            PixelFormat::I420,
            (1280, 720),
            &planes,
            &strides,
            YuvMatrix::BT709,
        )
        .expect("an I420 frame");
        let mut tensor = vec![0.0; pre.spec().len()];
        pre.run(&view, &mut tensor).expect("preprocesses");
        out.push(tensor);
    }
    pipeline.set_state(gst::State::Null).expect("stops");
    assert_eq!(out.len(), frames as usize, "every frame decoded");
    out
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    gst::init().expect("GStreamer");
    let mut args = std::env::args().skip(1);
    let frames: u32 = args.next().map_or(100, |a| a.parse().expect("frames"));
    let noise: f64 = args.next().map_or(0.03, |a| a.parse().expect("noise"));
    let scale = Scale::new(&TensorSpec::imagenet(SIZE));
    println!(
        "1280x720 coffee photo, snow at alpha {noise}, x264enc veryfast CBR, key frame every 50 \
         frames, {frames} frames; model input {SIZE}x{SIZE} centre crop {CROP}"
    );
    println!(
        "mean absolute difference of the input, 0–1 RGB; still: consecutive frames (median, max) \
         and each frame against the first (max); changes: changed frame against still frame \
         (min over the frames)"
    );
    let mut header = String::from("| kbit/s | still, consecutive | still, against the first |");
    for change in &CHANGES {
        header.push_str(&format!(" {} |", change.name));
    }
    println!("{header}");
    for bitrate in BITRATES {
        let still = tensors(&STILL, bitrate, frames, noise);
        let consecutive: Vec<f64> = still
            .windows(2)
            .map(|w| scale.mean_abs_difference(&w[0], &w[1]))
            .collect();
        let first: Vec<f64> = still[1..]
            .iter()
            .map(|t| scale.mean_abs_difference(&still[0], t))
            .collect();
        let mut row = format!(
            "| {bitrate} | {:.4}, {:.4} | {:.4} |",
            percentile(&consecutive, 0.5),
            percentile(&consecutive, 1.0),
            percentile(&first, 1.0)
        );
        for change in &CHANGES {
            let changed = tensors(change, bitrate, frames, noise);
            let d: Vec<f64> = still
                .iter()
                .zip(&changed)
                .map(|(a, b)| scale.mean_abs_difference(a, b))
                .collect();
            row.push_str(&format!(" {:.4} |", percentile(&d, 0.0)));
        }
        println!("{row}");
    }
}
