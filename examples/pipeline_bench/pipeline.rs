//! The pipeline variants: frames pushed through imgclassify and timed at the sink.

use super::*;

pub fn imgclassify(model: &str, threads: u32) -> Result<gst::Element, Error> {
    // The bench's own sessions are CPU ones; the element must ask for the same to share them.
    Ok(gst::ElementFactory::make("imgclassify")
        .property("model", model)
        .property("threads", threads)
        .property_from_str("execution-provider", "cpu")
        .build()?)
}

/// What a pipeline variant runs: `classifiers` imgclassify elements in a row.
#[derive(Clone, Copy)]
pub struct Chain<'a> {
    pub classifiers: usize,
    pub model: &'a str,
    pub threads: u32,
}

impl Chain<'_> {
    /// One classifier is the element itself; more are a bin with ghost pads.
    fn build(self) -> Result<gst::Element, Error> {
        if self.classifiers <= 1 {
            return imgclassify(self.model, self.threads);
        }
        let bin = gst::Bin::new();
        let elements = (0..self.classifiers)
            .map(|_| imgclassify(self.model, self.threads))
            .collect::<Result<Vec<_>, _>>()?;
        bin.add_many(&elements)?;
        gst::Element::link_many(&elements)?;
        let (first, last) = (&elements[0], &elements[self.classifiers - 1]);
        let sink = gst::GhostPad::with_target(&first.static_pad("sink").ok_or("no sink pad")?)?;
        let src = gst::GhostPad::with_target(&last.static_pad("src").ok_or("no src pad")?)?;
        bin.add_pad(&sink)?;
        bin.add_pad(&src)?;
        Ok(bin.upcast())
    }
}

pub fn engine_options(threads: u32) -> EngineOptions {
    EngineOptions {
        threads: threads as usize,
        input_size: None,
        provider: ProviderOptions {
            requested: Requested::Cpu,
            ..ProviderOptions::default()
        },
        ..EngineOptions::default()
    }
}

pub fn bus_error(pipeline: &gst::Pipeline) -> String {
    let error = pipeline.bus().and_then(|bus| {
        bus.pop_filtered(&[gst::MessageType::Error])
            .and_then(|m| match m.view() {
                gst::MessageView::Error(e) => Some(format!("{} ({:?})", e.error(), e.debug())),
                _ => None,
            })
    });
    error.unwrap_or_else(|| "the pipeline failed without an error message".into())
}

/// Pushes `total` frames, fresh buffers sharing the sample's pixels (as a camera hands
/// over a new buffer per frame), through `appsrc ! element ! fakesink`, all in the
/// source's streaming thread, and calls `on_buffer` for each one reaching the sink.
pub fn stream(
    sample: &gst::Sample,
    element: &gst::Element,
    total: u64,
    on_buffer: impl FnMut(u64, &gst::BufferRef) + Send + 'static,
) -> Result<(), Error> {
    let caps = sample.caps().ok_or("frame without caps")?.to_owned();
    let buffer = sample.buffer_owned().ok_or("frame without buffer")?;
    let src = gst_app::AppSrc::builder()
        .caps(&caps)
        .format(gst::Format::Time)
        .build();
    let sink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()?;
    let pipeline = gst::Pipeline::new();
    pipeline.add_many([src.upcast_ref(), element, &sink])?;
    gst::Element::link_many([src.upcast_ref(), element, &sink])?;

    let period = gst::ClockTime::from_nseconds(1_000_000_000 / 30);
    let mut pushed = 0u64;
    src.set_callbacks(
        gst_app::AppSrcCallbacks::builder()
            .need_data(move |src, _| {
                if pushed == total {
                    let _ = src.end_of_stream();
                    return;
                }
                let mut frame = buffer.copy();
                let frame_ref = frame.make_mut();
                frame_ref.set_pts(period * pushed);
                frame_ref.set_duration(period);
                pushed += 1;
                // Fails only while the pipeline shuts down, which ends the stream anyway.
                let _ = src.push_buffer(frame);
            })
            .build(),
    );
    let arrived = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&arrived);
    let on_buffer = Mutex::new(on_buffer);
    sink.static_pad("sink")
        .ok_or("fakesink has no sink pad")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer() {
                let index = counter.fetch_add(1, Ordering::Relaxed);
                (on_buffer.lock().expect("callback panicked"))(index, buffer);
            }
            gst::PadProbeReturn::Ok
        });

    let result = run_to_eos(&pipeline, &arrived);
    pipeline.set_state(gst::State::Null)?;
    result?;
    let seen = arrived.load(Ordering::Relaxed);
    if seen != total {
        return Err(format!("{seen} of {total} frames reached the sink").into());
    }
    Ok(())
}

pub fn run_to_eos(pipeline: &gst::Pipeline, arrived: &AtomicU64) -> Result<(), Error> {
    if pipeline.set_state(gst::State::Playing).is_err() {
        return Err(bus_error(pipeline).into());
    }
    let bus = pipeline.bus().ok_or("pipeline without bus")?;
    let mut last = (arrived.load(Ordering::Relaxed), Instant::now());
    loop {
        // Every message is popped, the element's own included, so the bus never grows.
        match bus.timed_pop(gst::ClockTime::from_mseconds(500)) {
            Some(m) => match m.view() {
                gst::MessageView::Eos(_) => return Ok(()),
                gst::MessageView::Error(e) => {
                    return Err(format!("{} ({:?})", e.error(), e.debug()).into());
                }
                _ => {}
            },
            None => {
                let now = arrived.load(Ordering::Relaxed);
                if now != last.0 {
                    last = (now, Instant::now());
                } else if last.1.elapsed() > STALL {
                    return Err(format!("no frame reached the sink for {STALL:?}").into());
                }
            }
        }
    }
}

/// One pipeline variant for one round: time per frame over `frames` frames that follow
/// `warmup` frames, from the sink's clock, and the element's top-1 on the last frame.
pub fn pipeline_round(
    sample: &gst::Sample,
    under_test: Chain<'_>,
    (warmup, frames): (u64, u64),
    sessions: usize,
    shared: &Arc<AtomicBool>,
) -> Result<(Duration, Option<String>), Error> {
    let total = warmup + frames;
    let arrivals = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let label = Arc::new(Mutex::new(None));
    let element = under_test.build()?;
    let (times, last, shared) = (arrivals.clone(), label.clone(), shared.clone());
    stream(sample, &element, total, move |index, buffer| {
        let now = Instant::now();
        if index == 0 && live_sessions() != sessions {
            shared.store(false, Ordering::Relaxed);
        }
        times.lock().expect("probe panicked").push(now);
        if index + 1 == total {
            *last.lock().expect("probe panicked") =
                Classification::from_buffer(buffer).and_then(|c| c.labels.first().cloned());
        }
    })?;
    let times = arrivals.lock().expect("probe panicked");
    let elapsed = times[times.len() - 1] - times[warmup as usize - 1];
    let label = label.lock().expect("probe panicked").clone();
    Ok((elapsed / frames as u32, label))
}
