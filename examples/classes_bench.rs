//! The cost of `classes-dir`: one inference with and without the embedding fetched, time to embed N example photos at NULL→READY, cold (empty
//! cache) and cached (a restart), and the per-frame cost of the similarity step for 10,
//! 100 and 1,000 examples; and what `attach-embedding` adds to each result (meta,
//! element message, JSON line).
//!
//! ```sh
//! cargo run --release --example classes_bench -- [model] [sizes, e.g. 100,1000]
//! ```
//! The examples are made by re-encoding the photos of tests/data/classes at
//! different crops and JPEG qualities, so each file has its own content; they are
//! spread over 10 classes.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gstimgclassify::Classification;
use gstimgclassify::gst;
use gstimgclassify::testing::backend::{Backend, Batch, EngineOptions, OnnxRuntime};
use gstimgclassify::testing::classes::{self, CacheOptions, ClassSet, Embedder, Rule, normalise};
use gstimgclassify::testing::jsonlines::{Times, line};
use gstimgclassify::testing::model::zoo;
use gstimgclassify::testing::preprocess::ResizeMode;

const CLASSES: usize = 10;

/// `n` distinct JPEGs in `dir`/class0..class9.
fn make_examples(dir: &Path, n: usize) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/classes");
    let mut photos = Vec::new();
    for class in std::fs::read_dir(&source).expect("tests/data/classes") {
        for file in std::fs::read_dir(class.expect("class").path()).expect("class folder") {
            photos.push(image::open(file.expect("photo").path()).expect("decodes"));
        }
    }
    photos.sort_by_key(|p| (p.width(), p.height()));
    for i in 0..n {
        let photo = &photos[i % photos.len()];
        let cut = (i / photos.len()) as u32 % 16;
        let cropped = photo.crop_imm(cut, cut, photo.width() - 2 * cut, photo.height() - 2 * cut);
        let mut jpeg = Vec::new();
        let quality = 80 + (i % 15) as u8;
        cropped
            .to_rgb8()
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut Cursor::new(&mut jpeg),
                quality,
            ))
            .expect("encodes");
        let class = dir.join(format!("class{}", i % CLASSES));
        std::fs::create_dir_all(&class).expect("mkdir");
        std::fs::write(class.join(format!("example{i:04}.jpg")), jpeg).expect("write");
    }
}

fn per_frame(set: &ClassSet, width: usize) -> Duration {
    // A raw embedding as the model gives it: normalising it is part of the step.
    let raw: Vec<f32> = (0..width)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let mut scores = Vec::new();
    let rounds = 20_000;
    let started = Instant::now();
    for _ in 0..rounds {
        let mut e = std::hint::black_box(raw.clone());
        normalise(&mut e);
        std::hint::black_box(set.scores(&e, &mut scores));
        std::hint::black_box(&scores);
    }
    started.elapsed() / rounds
}

/// `n` unit vectors spread over `classes` classes.
fn synthetic(n: usize, classes: usize, width: usize) -> ClassSet {
    let vectors: Vec<Vec<f32>> = (0..n)
        .map(|k| {
            let mut v: Vec<f32> = (0..width)
                .map(|i| (((i + 1) * (k + 3) * 2654435761usize) % 1000) as f32 / 1000.0)
                .collect();
            normalise(&mut v);
            v
        })
        .collect();
    let rule = Rule::fit(
        vectors
            .iter()
            .enumerate()
            .map(|(k, v)| (k % classes, v.as_slice())),
        classes,
        width,
    );
    ClassSet::new(
        (0..classes).map(|c| format!("class{c}")).collect(),
        rule,
        Vec::new(),
    )
}

/// Median time of `f` over `rounds` runs.
fn median(rounds: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

/// What the embedding adds to one frame's result: attaching the meta (which builds its
/// structure) and writing the JSON line, with and without it.
fn attach_cost(width: usize) {
    gst::init().expect("GStreamer");
    gstimgclassify::plugin_register_static().expect("plugin");
    let mut embedding: Vec<f32> = (0..width).map(|i| (i % 97) as f32).collect();
    normalise(&mut embedding);
    let plain = Classification {
        classifier: "imgclassify0".into(),
        target: gstimgclassify::Target::Frame,
        model: "mobilenet".into(),
        labels: vec!["hammer".into(), "windmill".into(), "fish".into()],
        class_ids: vec![1, 3, 0],
        scores: vec![0.8, 0.5, 0.4],
        inference_time_ns: 10_000_000,
        provider: "cpu".into(),
        fresh: true,
        source_pts: Some(gst::ClockTime::ZERO),
        seq: 1,
        regions: Vec::new(),
        embedding: None,
    };
    let with = Classification {
        embedding: Some(embedding),
        ..plain.clone()
    };
    println!("\nattach-embedding, per frame result (median of 2000)");
    println!("\n| | meta attached | JSON line written | JSON line length |");
    println!("|---|---|---|---|");
    for (name, result) in [("without", &plain), ("with", &with)] {
        let attach = median(2000, || {
            let mut buffer = gst::Buffer::with_size(16).expect("buffer");
            result
                .attach(buffer.get_mut().expect("writable"))
                .expect("attached");
            std::hint::black_box(&buffer);
        });
        let mut length = 0;
        let json = median(2000, || {
            let text = line(std::slice::from_ref(result), &Times::default()).expect("line");
            length = text.len();
        });
        println!(
            "| {name} | {:.1} µs | {:.1} µs | {length} bytes |",
            attach.as_secs_f64() * 1e6,
            json.as_secs_f64() * 1e6
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = args.get(1).map_or("mobilenet", String::as_str);
    let sizes: Vec<usize> = args
        .get(2)
        .map_or("100,1000", String::as_str)
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    let path = zoo::resolve(model).unwrap_or_else(|e| panic!("{e}"));
    let options = EngineOptions {
        threads: 1,
        ..EngineOptions::default()
    };
    let backend = Arc::new(OnnxRuntime::load(&path, &options, 0).unwrap_or_else(|e| panic!("{e}")));
    let spec = backend.info().spec.clone();
    let width = backend
        .info()
        .embedding
        .expect("the model has an embedding output");
    let tensor = vec![0.1f32; spec.tensor.len()];
    let plain = median(200, || {
        backend.run(&Batch::new(&tensor, 1)).expect("runs");
    });
    let embedded = median(200, || {
        backend
            .run(&Batch {
                embed: true,
                ..Batch::new(&tensor, 1)
            })
            .expect("runs");
    });
    println!(
        "inference, median of 200: scores only {:.2} ms, scores and embedding {:.2} ms",
        plain.as_secs_f64() * 1e3,
        embedded.as_secs_f64() * 1e3
    );
    let mut embedder =
        Embedder::new(backend, &spec, ResizeMode::CenterCrop).expect("an embedding output");
    println!("{model} (embedding width {width}), ONNX Runtime threads=1");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let memo = tempfile::tempdir().expect("tempdir");
    let hashing = median(5, || {
        classes::cache::model_sha256(None, &path).expect("hash");
    });
    classes::cache::model_sha256(Some(memo.path()), &path).expect("hash");
    let remembered = median(5, || {
        classes::cache::model_sha256(Some(memo.path()), &path).expect("hash");
    });
    println!(
        "model content hash ({:.1} MB): {:.1} ms hashed, {:.2} ms remembered",
        size as f64 / 1e6,
        hashing.as_secs_f64() * 1e3,
        remembered.as_secs_f64() * 1e3
    );
    println!("\n| examples | cold start (embed all) | per example | restart (cached) |");
    println!("|---|---|---|---|");
    for &n in &sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = tempfile::tempdir().expect("tempdir");
        make_examples(dir.path(), n);
        let options = CacheOptions {
            dir: Some(cache.path().to_path_buf()),
            model: path.clone(),
        };
        let started = Instant::now();
        let cold = classes::build(dir.path(), &mut embedder, &options).expect("builds");
        let cold_time = started.elapsed();
        assert_eq!(cold.embedded, n as u64);
        let mut cached = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let warm = classes::build(dir.path(), &mut embedder, &options).expect("builds");
            cached.push(started.elapsed());
            assert_eq!((warm.embedded, warm.cached), (0, n as u64));
        }
        cached.sort();
        println!(
            "| {n} | {:.2} s | {:.1} ms | {:.1} ms |",
            cold_time.as_secs_f64(),
            cold_time.as_secs_f64() * 1e3 / n as f64,
            cached[cached.len() / 2].as_secs_f64() * 1e3
        );
    }
    attach_cost(width);
    println!("\nsimilarity step per frame (normalise + score every class), width {width}");
    println!("\n| examples | in 10 classes | one class per example (worst case) |");
    println!("|---|---|---|");
    for n in [10, 100, 1000] {
        let ten = per_frame(&synthetic(n, CLASSES, width), width);
        let each = per_frame(&synthetic(n, n, width), width);
        println!(
            "| {n} | {:.4} ms | {:.4} ms |",
            ten.as_secs_f64() * 1e3,
            each.as_secs_f64() * 1e3
        );
    }
}
