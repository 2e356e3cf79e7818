//! Every camera and 10-bit format against GStreamer's own conversion: a photo made into
//! the format by `VideoConverter`, then preprocessed (a) straight from the format and
//! (b) after `VideoConverter` turned it into RGB, must give the same tensor.

use crate::common;

use gst_video::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::testing::preprocess::{
    FrameView, PixelFormat, Preprocessor, ResizeMode, TensorSpec, YuvMatrix,
};

/// The photo as RGB at an odd size, so that 4:2:x planes round up as GStreamer's do.
fn photo_rgb(width: u32, height: u32) -> (gst_video::VideoInfo, gst::Buffer) {
    let path = common::data("coffee.png").display().to_string();
    let run = common::run(&format!(
        "filesrc location={path} ! decodebin ! videoconvert ! videoscale \
         ! video/x-raw,format=RGB,width={width},height={height},pixel-aspect-ratio=1/1 \
         ! appsink name=sink"
    ));
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, width, height)
        .build()
        .expect("RGB info");
    (info, run.buffers[0].clone())
}

/// `format` at the photo's size with BT.709 limited-range colorimetry; rows padded to
/// 64 bytes when `padded`.
fn info_for(format: &str, width: u32, height: u32, padded: bool) -> gst_video::VideoInfo {
    let mut info =
        gst_video::VideoInfo::builder(gst_video::VideoFormat::from_string(format), width, height)
            .colorimetry(&"bt709".parse().expect("colorimetry"))
            .build()
            .expect("format info");
    if padded {
        let mut align = gst_video::VideoAlignment::new(0, 0, 0, 0, &[63; 4]);
        info.align(&mut align).expect("aligned");
    }
    info
}

fn convert(
    from: &gst_video::VideoInfo,
    buffer: &gst::Buffer,
    to: &gst_video::VideoInfo,
) -> gst::Buffer {
    let mut config = gst_video::VideoConverterConfig::new();
    // Rounding noise would only widen the tolerance.
    config.set_dither_method(gst_video::VideoDitherMethod::None);
    // Each pixel takes the chroma sample that covers it, as the preprocessor reads it;
    // by default GStreamer interpolates between samples, which adds a difference of its
    // own at every edge.
    config.set_chroma_mode(gst_video::VideoChromaMode::None);
    let converter = gst_video::VideoConverter::new(from, to, Some(config)).expect("converter");
    let src = gst_video::VideoFrame::from_buffer_readable(buffer.clone(), from).expect("map");
    let out = gst::Buffer::with_size(to.size()).expect("buffer");
    let mut dst = gst_video::VideoFrame::from_buffer_writable(out, to).expect("map");
    converter.frame(&src, &mut dst);
    dst.into_buffer()
}

fn tensor(info: &gst_video::VideoInfo, buffer: &gst::Buffer, spec: &TensorSpec) -> Vec<f32> {
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info).expect("map");
    let n = frame.n_planes();
    let planes: Vec<&[u8]> = (0..n)
        .map(|i| frame.plane_data(i).expect("plane"))
        .collect();
    let strides: Vec<usize> = frame.plane_stride()[..n as usize]
        .iter()
        .map(|&s| s as usize)
        .collect();
    let format = PixelFormat::from_name(info.format().to_str()).expect("supported format");
    let matrix = YuvMatrix {
        limited: info.colorimetry().range() != gst_video::VideoColorRange::Range0_255,
        ..YuvMatrix::BT709
    };
    let view = FrameView::new(
        format,
        (info.width() as usize, info.height() as usize),
        &planes,
        &strides,
        matrix,
    )
    .expect("frame view");
    let mut out = vec![0.0; spec.len()];
    Preprocessor::new(spec.clone(), ResizeMode::CenterCrop, 0.875)
        .run(&view, &mut out)
        .expect("tensor");
    out
}

/// Differences between the direct and the RGB-first tensor, in 8-bit levels, sorted.
fn differences(format: &str, width: u32, height: u32, padded: bool, size: usize) -> Vec<f32> {
    let (rgb_info, rgb) = photo_rgb(width, height);
    let info = info_for(format, width, height, padded);
    let native = convert(&rgb_info, &rgb, &info);
    let back = convert(&info, &native, &rgb_info);
    let spec = TensorSpec::imagenet(size);
    let direct = tensor(&info, &native, &spec);
    let via_rgb = tensor(&rgb_info, &back, &spec);
    // Back from normalised units to levels: value * std * 255.
    let std = spec.std;
    let plane = spec.width * spec.height;
    let mut d: Vec<f32> = direct
        .iter()
        .zip(&via_rgb)
        .enumerate()
        .map(|(i, (a, b))| (a - b).abs() * std[i / plane] * 255.0)
        .collect();
    d.sort_by(f32::total_cmp);
    d
}

/// (mean, 99th percentile, max) of the differences for one case.
fn stats(format: &str, w: u32, h: u32, padded: bool, size: usize) -> (f32, f32, f32) {
    let d = differences(format, w, h, padded, size);
    let mean = d.iter().sum::<f32>() / d.len() as f32;
    (mean, d[d.len() * 99 / 100], d[d.len() - 1])
}

/// The existing format each new one is checked against, and whether it subsamples.
const CLOSEST: [(&str, &str); 9] = [
    ("NV21", "NV12"),
    ("UYVY", "YUY2"),
    ("YVYU", "YUY2"),
    ("Y42B", "YUY2"),
    ("Y444", "Y444"),
    ("I420_10LE", "I420"),
    ("P010_10LE", "NV12"),
    ("Y444_10LE", "Y444"),
    ("YV12", "I420"),
];

#[test]
fn every_new_format_agrees_with_videoconvert_to_rgb() {
    common::init();
    let mut report = Vec::new();
    for (format, closest) in CLOSEST {
        let ten_bit = format.ends_with("_10LE");
        let subsampled = !format.starts_with("Y444");
        // Odd sizes (4:2:x planes round up as GStreamer's do) and 64-byte padded rows;
        // enlarged (333x217 → 224 crop) and shrunk.
        for (w, h, padded, size) in [
            (333, 217, false, 224),
            (333, 217, true, 24),
            (97, 35, true, 16),
        ] {
            let (mean, p99, max) = stats(format, w, h, padded, size);
            let (_, closest_p99, closest_max) = stats(closest, w, h, padded, size);
            println!(
                "{format:>10} {w}x{h} padded={padded} → {size}: mean {mean:.2} p99 {p99:.2} \
                 max {max:.2} levels ({closest}: p99 {closest_p99:.2} max {closest_max:.2})"
            );
            // videoconvert's 8-bit YUV → RGB is about 2 levels off on average (its
            // 10-bit path, and the preprocessor for both, are not); a wrong offset,
            // matrix, range or bit depth is off by tens of levels everywhere.
            let mean_limit = if ten_bit { 1.0 } else { 3.0 };
            // With subsampled chroma, a pixel whose chroma came from a very different
            // neighbour can leave the RGB gamut: clamped per pixel before the resize on
            // the RGB path, after it here. Those few pixels may differ more, but no more
            // than for the existing format.
            let (p99_limit, max_limit) = if subsampled {
                (closest_p99 + 0.05, closest_max + 0.05)
            } else if ten_bit {
                (1.0, 1.5)
            } else {
                (4.5, 6.0)
            };
            if mean > mean_limit || p99 > p99_limit || max > max_limit {
                report.push(format!(
                    "{format} {w}x{h} padded={padded}: mean {mean:.2} p99 {p99:.2} max {max:.2}"
                ));
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("; "));
}
