//! Inference time per frame with 1, 4 and 16 regions, batched vs one by one:
//! `cargo run --release --example regions_bench [model] [rounds]`.
//! Runs are interleaved so load on the machine hits both ways alike.

use std::time::{Duration, Instant};

use gstimgclassify::testing::backend::{Backend, Batch, EngineOptions, OnnxRuntime};
use gstimgclassify::testing::model::zoo;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = args.get(1).map_or("mobilenet", String::as_str);
    let rounds: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(20);
    let path = zoo::resolve(model).unwrap_or_else(|e| panic!("{e}"));
    let engine =
        OnnxRuntime::load(&path, &EngineOptions::default(), 0).unwrap_or_else(|e| panic!("{e}"));
    let len = engine.info().spec.tensor.len();
    println!(
        "{model}: inference per frame (median of {rounds}), batchable: {}",
        engine.info().batchable
    );
    println!("| regions | batched (1 call) | one by one | speed-up |");
    println!("|---|---|---|---|");
    for n in [1usize, 4, 16] {
        let tensors: Vec<f32> = (0..n * len)
            .map(|i| ((i % 255) as f32 - 127.0) / 128.0)
            .collect();
        let (mut batched, mut single) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            engine.run(&Batch::new(&tensors, n)).expect("batched run");
            batched.push(t.elapsed());
            let t = Instant::now();
            for one in tensors.chunks(len) {
                engine.run(&Batch::new(one, 1)).expect("single run");
            }
            single.push(t.elapsed());
        }
        let (b, s) = (median(batched), median(single));
        println!(
            "| {n} | {:.1} ms | {:.1} ms | {:.2}x |",
            b.as_secs_f64() * 1e3,
            s.as_secs_f64() * 1e3,
            s.as_secs_f64() / b.as_secs_f64()
        );
    }
}
