//! Tests a classes folder before deploying it: embeds its examples as
//! `imgclassify classes-dir=…` does (the same preprocessing, model, cache and rule),
//! classifies every photo of a test folder whose sub-folders are named by class, and
//! prints per-class accuracy and the confusion between classes.
//!
//! ```sh
//! cargo run --release --example classes_eval -- CLASSES_DIR TEST_DIR \
//!     [--model NAME | --model-file PATH] [--min-similarity X] \
//!     [--resize-mode center-crop|stretch|letterbox] [--cache-dir DIR | --no-cache]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use gstimgclassify::testing::backend::{Backend, EngineOptions, OnnxRuntime};
use gstimgclassify::testing::classes::{
    self, CacheOptions, Embedder, UNKNOWN, decode, default_cache_dir, folder,
};
use gstimgclassify::testing::model::zoo;
use gstimgclassify::testing::preprocess::ResizeMode;

struct Args {
    classes: PathBuf,
    tests: PathBuf,
    model: String,
    model_file: Option<PathBuf>,
    /// -1: each class's own threshold, as `min-similarity=-1`.
    min_similarity: f64,
    resize_mode: ResizeMode,
    cache_dir: Option<PathBuf>,
}

fn args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut positional = Vec::new();
    let mut args = Args {
        classes: PathBuf::new(),
        tests: PathBuf::new(),
        model: "mobilenet".into(),
        model_file: None,
        min_similarity: 0.0,
        resize_mode: ResizeMode::CenterCrop,
        cache_dir: Some(default_cache_dir()),
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Long("model") => args.model = parser.value()?.string()?,
            Long("model-file") => args.model_file = Some(parser.value()?.into()),
            Long("min-similarity") => args.min_similarity = parser.value()?.parse()?,
            Long("resize-mode") => {
                args.resize_mode = match parser.value()?.string()?.as_str() {
                    "center-crop" => ResizeMode::CenterCrop,
                    "stretch" => ResizeMode::Stretch,
                    "letterbox" => ResizeMode::Letterbox,
                    other => {
                        return Err(format!(
                            "--resize-mode {other}: use center-crop, stretch or letterbox"
                        )
                        .into());
                    }
                }
            }
            Long("cache-dir") => args.cache_dir = Some(parser.value()?.into()),
            Long("no-cache") => args.cache_dir = None,
            Value(v) => positional.push(PathBuf::from(v)),
            _ => return Err(arg.unexpected()),
        }
    }
    let [classes, tests] = <[PathBuf; 2]>::try_from(positional)
        .map_err(|_| "give CLASSES_DIR and TEST_DIR (sub-folders named by class)")?;
    args.classes = classes;
    args.tests = tests;
    Ok(args)
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("classes_eval: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("classes_eval: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let path = match &args.model_file {
        Some(file) => file.clone(),
        None => zoo::resolve(&args.model)?,
    };
    let backend = Arc::new(OnnxRuntime::load(&path, &EngineOptions::default(), 0)?);
    let spec = backend.info().spec.clone();
    let mut embedder = Embedder::new(backend, &spec, args.resize_mode).ok_or_else(|| {
        format!(
            "model '{}' has no embedding output (see docs/custom-classes.md)",
            path.display()
        )
    })?;
    let started = Instant::now();
    let options = CacheOptions {
        dir: args.cache_dir.clone(),
        model: path.clone(),
    };
    let built = classes::build(&args.classes, &mut embedder, &options)?;
    for notice in &built.notices {
        println!("warning: {notice}");
    }
    let labels = &built.set.labels;
    println!(
        "{}: {} classes, {} examples embedded and {} from the cache in {:.0} ms",
        args.classes.display(),
        labels.len(),
        built.embedded,
        built.cached,
        started.elapsed().as_secs_f64() * 1e3
    );
    // Rows: true class (the test folder's); columns: the classes, then unknown.
    let mut confusion: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut scores = Vec::new();
    for class in folder::scan(&args.tests)?.classes {
        let row = confusion
            .entry(class.label.clone())
            .or_insert_with(|| vec![0; labels.len() + 1]);
        for file in &class.files {
            let image = match std::fs::read(file)
                .map_err(|e| e.to_string())
                .and_then(|bytes| decode::decode(&bytes))
            {
                Ok(image) => image,
                Err(why) => {
                    println!("warning: '{}' skipped: {why}", file.display());
                    continue;
                }
            };
            let found = built.set.best(&embedder.embed(&image)?, &mut scores);
            let best = scores
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(labels.len(), |(i, _)| i);
            let column = if f64::from(found.similarity) < found.threshold(args.min_similarity) {
                labels.len()
            } else {
                best
            };
            row[column] += 1;
        }
    }
    print_report(labels, &confusion);
    Ok(())
}

fn print_report(labels: &[String], confusion: &BTreeMap<String, Vec<usize>>) {
    let mut columns: Vec<&str> = labels.iter().map(String::as_str).collect();
    columns.push(UNKNOWN);
    println!("\n| class | photos | correct | accuracy |");
    println!("|---|---|---|---|");
    let (mut all, mut right) = (0, 0);
    for (class, row) in confusion {
        let n: usize = row.iter().sum();
        let ok = labels.iter().position(|l| l == class).map_or(0, |i| row[i]);
        all += n;
        right += ok;
        println!(
            "| {class} | {n} | {ok} | {:.1} % |",
            100.0 * ok as f64 / n.max(1) as f64
        );
    }
    println!(
        "| all | {all} | {right} | {:.1} % |",
        100.0 * right as f64 / all.max(1) as f64
    );
    println!("\nconfusion (rows: true class, columns: predicted)\n");
    println!("| true \\ predicted | {} |", columns.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    for (class, row) in confusion {
        let cells: Vec<String> = row.iter().map(usize::to_string).collect();
        println!("| {class} | {} |", cells.join(" | "));
    }
}
