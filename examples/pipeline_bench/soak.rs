//! `--soak`: whether memory stays flat over many frames.

use super::*;

pub fn soak(o: &Options) -> Result<(), Error> {
    let frames = o.frames.unwrap_or(100_000);
    let (width, height) = o.size.unwrap_or((320, 240));
    let (model, threads) = (&o.models[0], o.threads[0]);
    let every = o.every;
    let sample = photo(PixelFormat::Nv12, width, height)?;
    let element = imgclassify(model, threads)?;
    // Messages too, so their path is soaked as well; stream() pops them all.
    element.set_property("post-messages", true);
    println!(
        "soak: {frames} frames of {width}x{height} NV12 through imgclassify model={model} \
         threads={threads} post-messages=true; VmRSS every {every} frames"
    );
    println!(
        "VmRSS before loading the model: {} KiB",
        rss_kib().unwrap_or(0)
    );
    let rss = Arc::new(Mutex::new(Vec::new()));
    let samples = Arc::clone(&rss);
    let started = Instant::now();
    let mut mark = started;
    stream(&sample, &element, frames, move |index, _| {
        let n = index + 1;
        if n % every == 0 {
            let now = Instant::now();
            let kib = rss_kib().unwrap_or(0);
            println!(
                "{n:>9} frames {:>8.1} s {:>7.2} ms/frame  VmRSS {kib} KiB",
                (now - started).as_secs_f64(),
                ms(now - mark) / every as f64
            );
            mark = now;
            samples.lock().expect("probe panicked").push(kib);
        }
    })?;
    let rss = rss.lock().expect("probe panicked");
    match (rss.iter().min(), rss.iter().max()) {
        (Some(lo), Some(hi)) => println!(
            "VmRSS from frame {every} (after warm-up) to the end: min {lo} KiB, max {hi} KiB, \
             max-min {} KiB over {} samples",
            hi - lo,
            rss.len()
        ),
        _ => println!("fewer than {every} frames: no memory samples"),
    }
    Ok(())
}
