//! The frames the variants are fed, and the bare variant's tensor.

use super::*;

/// The test photo scaled to `width`x`height` (black bars keep its shape) in `format`.
/// YUV gets BT.601 colours because that is what OpenCV's NV12 conversion assumes.
pub fn photo(format: PixelFormat, width: u32, height: u32) -> Result<gst::Sample, Error> {
    let colorimetry = match format {
        PixelFormat::Nv12 | PixelFormat::I420 => ",colorimetry=bt601",
        _ => "",
    };
    let pipeline = gst::parse::launch(&format!(
        "filesrc name=file ! decodebin ! videoconvert ! videoscale \
         ! video/x-raw,format={},width={width},height={height},pixel-aspect-ratio=1/1{colorimetry} \
         ! appsink name=sink",
        format.name()
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let by_name = |name| pipeline.by_name(name).ok_or("element missing");
    by_name("file")?.set_property("location", PHOTO);
    let sink = by_name("sink")?
        .downcast::<gst_app::AppSink>()
        .map_err(|_| "not an appsink")?;
    pipeline.set_state(gst::State::Playing)?;
    let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(30));
    // Read before NULL, which flushes the bus.
    let why = sample.is_none().then(|| bus_error(&pipeline));
    pipeline.set_state(gst::State::Null)?;
    sample.ok_or_else(|| {
        format!(
            "could not convert {PHOTO} to {}: {}",
            format.name(),
            why.unwrap_or_default()
        )
        .into()
    })
}

pub fn video_info(sample: &gst::Sample) -> Result<gst_video::VideoInfo, Error> {
    Ok(gst_video::VideoInfo::from_caps(
        sample.caps().ok_or("frame without caps")?,
    )?)
}

/// NV12 rows without stride padding, as `opencv_loop.py` reads them.
pub fn packed_nv12(sample: &gst::Sample) -> Result<Vec<u8>, Error> {
    let info = video_info(sample)?;
    let buffer = sample.buffer().ok_or("frame without buffer")?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)?;
    let (w, h) = (info.width() as usize, info.height() as usize);
    let mut packed = Vec::with_capacity(w * h * 3 / 2);
    for (plane, rows) in [(0, h), (1, h / 2)] {
        let stride = frame.plane_stride()[plane] as usize;
        let data = frame.plane_data(plane as u32)?;
        for row in 0..rows {
            packed.extend_from_slice(&data[row * stride..row * stride + w]);
        }
    }
    Ok(packed)
}

/// The photo as the model's input tensor, for the bare ONNX Runtime variant.
pub fn tensor(engine: &OnnxRuntime, rgbx: &gst::Sample) -> Result<Vec<f32>, Error> {
    let info = video_info(rgbx)?;
    let buffer = rgbx.buffer().ok_or("frame without buffer")?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)?;
    let view = FrameView::new(
        PixelFormat::Rgbx,
        (info.width() as usize, info.height() as usize),
        &[frame.plane_data(0)?],
        &[frame.plane_stride()[0] as usize],
        YuvMatrix::BT601,
    )?;
    let spec = &engine.info().spec;
    let mut preprocessor = Preprocessor::new(
        spec.tensor.clone(),
        ResizeMode::CenterCrop,
        spec.crop_fraction,
    );
    let mut tensor = vec![0.0; spec.tensor.len()];
    preprocessor.run(&view, &mut tensor)?;
    Ok(tensor)
}

pub fn top1(engine: &OnnxRuntime, scores: &[f32]) -> String {
    let best = scores
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    engine
        .info()
        .labels
        .as_ref()
        .and_then(|labels| labels.get(best))
        .cloned()
        .unwrap_or_default()
}
