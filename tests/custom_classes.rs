//! `classes-dir`: custom classes from the example photos in tests/data/classes, each
//! held-back photo in tests/data/classes-heldback getting its class; bad examples and
//! folders; the embeddings cache; regions and zones; `attach-embedding`.

use crate::common;

use std::path::{Path, PathBuf};

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::{Classification, Target};

const CLASSES: [&str; 4] = ["fish", "hammer", "tape-measure", "windmill"];
const EXAMPLES: u64 = 16;
/// MobileNetV2's pooled features.
const WIDTH: usize = 1280;

fn classes_dir() -> PathBuf {
    common::data("classes")
}

fn held_back(class: &str) -> PathBuf {
    common::data("classes-heldback").join(format!("{class}.jpg"))
}

/// A copy of tests/data/classes to change.
fn copied_classes() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for class in CLASSES {
        let to = dir.path().join(class);
        std::fs::create_dir_all(&to).expect("mkdir");
        for file in std::fs::read_dir(classes_dir().join(class)).expect("class folder") {
            let file = file.expect("entry").path();
            std::fs::copy(&file, to.join(file.file_name().expect("name"))).expect("copy");
        }
    }
    dir
}

fn classify_photo(photo: &Path, props: &str) -> (Classification, common::Run) {
    let run = common::run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! imgclassify {props} ! appsink name=sink",
        photo.display()
    ));
    let result = run.results()[0].clone().expect("the photo is classified");
    (result, run)
}

fn assert_custom(result: &Classification) {
    assert!(!result.labels.is_empty());
    for (label, (&id, &score)) in result
        .labels
        .iter()
        .zip(result.class_ids.iter().zip(&result.scores))
    {
        assert_eq!(CLASSES[id as usize], label, "{result:?}");
        assert!((0.0..=1.0).contains(&score), "{result:?}");
    }
    assert!(result.scores.windows(2).all(|w| w[0] >= w[1]), "{result:?}");
}

fn held_back_photos_get_their_class(model: &str) {
    let cache = tempfile::tempdir().expect("tempdir");
    for class in CLASSES {
        let (result, run) = classify_photo(
            &held_back(class),
            &format!(
                "model={model} classes-dir={} classes-cache-dir={} top-k=4",
                classes_dir().display(),
                cache.path().display()
            ),
        );
        assert!(run.warnings.is_empty(), "{:?}", run.warnings);
        assert_eq!(result.labels[0], class, "{model}: {result:?}");
        assert_eq!(result.labels.len(), 4);
        assert_custom(&result);
    }
}

#[test]
fn held_back_photos_get_their_class_mobilenet() {
    held_back_photos_get_their_class("mobilenet");
}

#[test]
fn held_back_photos_get_their_class_mobilenet_int8() {
    held_back_photos_get_their_class("mobilenet-int8");
}

#[test]
fn held_back_photos_get_their_class_efficientnet() {
    held_back_photos_get_their_class("efficientnet");
}

/// An example scores 1 against a class made of itself alone: the examples are embedded
/// with the very preprocessing frames get (PNG, so both decoders give the same pixels).
#[test]
fn an_example_photo_matches_its_own_class_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    for (class, photo) in [("cat", "chelsea.png"), ("coffee", "coffee.png")] {
        std::fs::create_dir_all(dir.path().join(class)).expect("mkdir");
        std::fs::copy(common::data(photo), dir.path().join(class).join(photo)).expect("copy");
    }
    let run = common::run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGB \
         ! imgclassify classes-dir={} classes-cache-dir={} ! appsink name=sink",
        common::data("chelsea.png").display(),
        dir.path().display(),
        cache.path().display()
    ));
    let result = run.results()[0].clone().expect("classified");
    assert_eq!(result.labels, ["cat", "coffee"]);
    assert!(result.scores[0] > 0.99999, "{result:?}");
}

#[test]
fn corrupt_and_non_image_files_are_skipped_with_one_warning_each() {
    let dir = copied_classes();
    let cache = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("fish/notes.txt"), "not a photo").expect("write");
    // A JPEG cut inside its headers, and a PNG cut in half.
    let jpeg = std::fs::read(held_back("hammer")).expect("read");
    std::fs::write(dir.path().join("hammer/broken.jpg"), &jpeg[..100]).expect("write");
    let png = std::fs::read(common::data("coffee.png")).expect("read");
    std::fs::write(dir.path().join("fish/broken.png"), &png[..png.len() / 2]).expect("write");
    std::fs::write(dir.path().join("hammer/empty.png"), b"").expect("write");
    std::fs::create_dir_all(dir.path().join("nothing-usable")).expect("mkdir");
    std::fs::write(dir.path().join("nothing-usable/readme.md"), "# no").expect("write");
    let (result, run) = classify_photo(
        &held_back("windmill"),
        &format!(
            "classes-dir={} classes-cache-dir={}",
            dir.path().display(),
            cache.path().display()
        ),
    );
    let count = |needle: &str| run.warnings.iter().filter(|w| w.contains(needle)).count();
    for file in [
        "notes.txt",
        "broken.jpg",
        "broken.png",
        "empty.png",
        "readme.md",
    ] {
        assert_eq!(count(file), 1, "{file}: {:?}", run.warnings);
    }
    assert_eq!(
        count("'nothing-usable' has no usable"),
        1,
        "{:?}",
        run.warnings
    );
    assert_eq!(run.warnings.len(), 6, "{:?}", run.warnings);
    assert_eq!(result.labels[0], "windmill");
    assert_custom(&result);
}

#[test]
fn a_missing_empty_or_one_class_folder_fails_ready_naming_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let missing = root.path().join("missing");
    let shown = missing.display().to_string();
    common::assert_error(&format!("classes-dir={shown}"), &[&shown, "does not exist"]);
    let empty = root.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let shown = empty.display().to_string();
    common::assert_error(
        &format!("classes-dir={shown}"),
        &[&shown, "at least two classes", "found none"],
    );
    let one = root.path().join("one");
    std::fs::create_dir_all(one.join("hammer")).expect("mkdir");
    std::fs::create_dir_all(one.join("windmill")).expect("mkdir");
    std::fs::copy(held_back("hammer"), one.join("hammer/h.jpg")).expect("copy");
    let shown = one.display().to_string();
    common::assert_error(
        &format!("classes-dir={shown}"),
        &[&shown, "at least two classes", "only 'hammer'"],
    );
    let file = root.path().join("file.jpg");
    std::fs::copy(held_back("hammer"), &file).expect("copy");
    let shown = file.display().to_string();
    common::assert_error(&format!("classes-dir={shown}"), &[&shown, "not a folder"]);
}

#[test]
fn a_model_without_an_embedding_output_fails_ready_saying_how_to_fix_it() {
    let model = common::fixture("four_classes.onnx");
    common::assert_error(
        &format!("model-file={model} classes-dir={}", classes_dir().display()),
        &[&model, "no embedding output", "imgclassify.embedding"],
    );
    common::assert_error(
        &format!("model-file={model} attach-embedding=true"),
        &[&model, "attach-embedding"],
    );
}

/// Examples embedded at NULL→READY and taken from the cache, from the `stats` property.
fn examples(dir: &Path, cache: &Path) -> (u64, u64) {
    common::init();
    let element = gst::ElementFactory::make("imgclassify")
        .property("classes-dir", dir.display().to_string())
        .property("classes-cache-dir", cache.display().to_string())
        .build()
        .expect("element");
    element.set_state(gst::State::Ready).expect("READY");
    let stats = element.property::<gst::Structure>("stats");
    element.set_state(gst::State::Null).expect("NULL");
    (
        stats.get("examples-embedded").expect("examples-embedded"),
        stats.get("examples-cached").expect("examples-cached"),
    )
}

#[test]
fn a_restart_takes_every_example_from_the_cache_and_a_change_is_embedded_alone() {
    let dir = copied_classes();
    let cache = tempfile::tempdir().expect("tempdir");
    let (d, c) = (dir.path(), cache.path());
    assert_eq!(examples(d, c), (EXAMPLES, 0));
    assert_eq!(examples(d, c), (0, EXAMPLES));
    // A changed file (other content, same name): embedded alone.
    std::fs::copy(held_back("fish"), d.join("fish/fish1.jpg")).expect("copy");
    assert_eq!(examples(d, c), (1, EXAMPLES - 1));
    assert_eq!(examples(d, c), (0, EXAMPLES));
    // An added file: embedded alone; a removed one: nothing to embed.
    std::fs::copy(held_back("hammer"), d.join("hammer/new.jpg")).expect("copy");
    assert_eq!(examples(d, c), (1, EXAMPLES));
    std::fs::remove_file(d.join("hammer/new.jpg")).expect("remove");
    std::fs::remove_file(d.join("windmill/windmill1.jpg")).expect("remove");
    assert_eq!(examples(d, c), (0, EXAMPLES - 1));
    // A copy of a known photo under a new name: its content is known, not embedded.
    std::fs::copy(d.join("fish/fish5.jpg"), d.join("fish/copy.jpg")).expect("copy");
    assert_eq!(examples(d, c), (0, EXAMPLES));
}

#[test]
fn a_damaged_cache_is_ignored_and_rewritten() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = classes_dir();
    assert_eq!(examples(&dir, cache.path()), (EXAMPLES, 0));
    let mut damaged = 0;
    for file in std::fs::read_dir(cache.path()).expect("cache") {
        let file = file.expect("entry").path();
        if file.extension().is_some_and(|e| e == "bin") {
            let mut bytes = std::fs::read(&file).expect("read");
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x55;
            std::fs::write(&file, bytes).expect("write");
            damaged += 1;
        }
    }
    assert_eq!(damaged, 1);
    assert_eq!(examples(&dir, cache.path()), (EXAMPLES, 0));
    assert_eq!(examples(&dir, cache.path()), (0, EXAMPLES));
}

/// Two held-back photos side by side in one RGB frame, 2W x H.
fn side_by_side(left: &str, right: &str) -> (gst::Caps, Vec<u8>, u32, u32) {
    common::init();
    let size = 224u32;
    let load = |class: &str| {
        image::open(held_back(class))
            .expect("photo")
            .resize_exact(size, size, image::imageops::FilterType::Triangle)
            .into_rgb8()
    };
    let (l, r) = (load(left), load(right));
    let mut pixels = Vec::with_capacity((2 * size * size * 3) as usize);
    for y in 0..size {
        for half in [&l, &r] {
            for x in 0..size {
                pixels.extend(half.get_pixel(x, y).0);
            }
        }
    }
    let caps = common::raw_caps("RGB", ((2 * size) as i32, size as i32), 25);
    (caps, pixels, size, size)
}

#[test]
fn regions_and_zones_get_custom_classes_and_embeddings() {
    let cache = tempfile::tempdir().expect("tempdir");
    let (caps, pixels, w, h) = side_by_side("hammer", "windmill");
    let common = format!(
        "imgclassify classes-dir={} classes-cache-dir={} attach-embedding=true",
        classes_dir().display(),
        cache.path().display()
    );
    let frame = common::frame_with_rois(pixels.clone(), &[(1, (0, 0, w, h)), (2, (w, 0, w, h))]);
    let run = common::run_harness(&format!("{common} target=regions"), &caps, &frame, 1);
    let result = run.results()[0].clone().expect("classified");
    assert_eq!(result.target, Target::Regions);
    let zones = format!("left:0,0,{w},{h};right:{w},0,{w},{h}");
    let frame = common::frame_with_rois(pixels, &[]);
    let run = common::run_harness(
        &format!("{common} target=zones zones=\"{zones}\""),
        &caps,
        &frame,
        1,
    );
    let zoned = run.results()[0].clone().expect("classified");
    for result in [result, zoned] {
        let tops: Vec<&str> = result
            .regions
            .iter()
            .map(|r| r.labels[0].as_str())
            .collect();
        assert_eq!(tops, ["hammer", "windmill"], "{result:?}");
        for region in &result.regions {
            assert_unit(
                region
                    .embedding
                    .as_deref()
                    .expect("an embedding per region"),
            );
            assert!(region.class_ids.iter().all(|&id| id < 4));
        }
        assert!(result.embedding.is_none());
    }
}

fn assert_unit(embedding: &[f32]) {
    assert_eq!(embedding.len(), WIDTH);
    let norm: f64 = embedding
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
}

#[test]
fn attach_embedding_reaches_the_meta_the_messages_and_classifyjson() {
    let json = tempfile::NamedTempFile::new().expect("tempfile");
    let run = common::run(&format!(
        "filesrc location={} ! decodebin ! videoconvert \
         ! imgclassify attach-embedding=true post-messages=true \
         ! classifyjson location={} ! appsink name=sink",
        held_back("fish").display(),
        json.path().display()
    ));
    let result = run.results()[0].clone().expect("classified");
    // The model's own classes, with the embedding beside them.
    assert_eq!(result.labels.len(), 3);
    let embedding = result.embedding.clone().expect("embedding in the meta");
    assert_unit(&embedding);
    let message = Classification::from_structure(&run.messages[0]).expect("message");
    assert_eq!(message.embedding.as_ref(), Some(&embedding));
    let lines = common::read_lines(json.path());
    let from_json: Vec<f32> = lines[0]["embedding"]
        .as_array()
        .expect("embedding in the JSON line")
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect();
    assert_eq!(from_json, embedding);
    assert!(lines[0]["classifications"][0]["embedding"].is_array());
}

#[test]
fn without_attach_embedding_results_carry_none() {
    let (result, _) = classify_photo(&held_back("fish"), "");
    assert!(result.embedding.is_none());
    assert!(
        result
            .to_structure()
            .get::<gst::Array>("embedding")
            .is_err()
    );
}

#[test]
fn below_min_similarity_the_label_is_unknown() {
    let cache = tempfile::tempdir().expect("tempdir");
    let (result, _) = classify_photo(
        &held_back("fish"),
        &format!(
            "classes-dir={} classes-cache-dir={} min-similarity=0.99",
            classes_dir().display(),
            cache.path().display()
        ),
    );
    assert_eq!(result.labels, ["unknown"]);
    assert_eq!(result.class_ids, [4]);
    // The best class's score; its cosine similarity is what fell below 0.99.
    assert!(
        result.scores[0] > 0.0 && result.scores[0] <= 1.0,
        "{result:?}"
    );
}

/// `examples/classes_eval`, which `cargo test` builds next to the test binaries.
fn helper() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let examples = exe
        .parent()
        .and_then(Path::parent)
        .expect("target folder")
        .join("examples");
    let mut built: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&examples)
        .expect("examples folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n.starts_with("classes_eval") && !n.contains('.'))
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    built.sort();
    built
        .pop()
        .map(|(_, p)| p)
        .expect("examples/classes_eval is built by cargo test")
}

#[test]
fn the_helper_prints_accuracy_and_the_confusion_matrix() {
    let tests = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    for class in CLASSES {
        std::fs::create_dir_all(tests.path().join(class)).expect("mkdir");
        std::fs::copy(held_back(class), tests.path().join(class).join("1.jpg")).expect("copy");
    }
    // A fish photo filed as a hammer: one error, where the matrix must show it.
    std::fs::copy(held_back("fish"), tests.path().join("hammer/2.jpg")).expect("copy");
    let out = common::programs::command(helper())
        .arg(classes_dir())
        .arg(tests.path())
        .arg("--cache-dir")
        .arg(cache.path())
        .output()
        .expect("the helper runs");
    let text = common::programs::ok("examples/classes_eval", out);
    for line in [
        "4 classes, 16 examples embedded and 0 from the cache",
        "| hammer | 2 | 1 | 50.0 % |",
        "| all | 5 | 4 | 80.0 % |",
        "| true \\ predicted | fish | hammer | tape-measure | windmill | unknown |",
        "| fish | 1 | 0 | 0 | 0 | 0 |",
        "| hammer | 1 | 1 | 0 | 0 | 0 |",
        "| windmill | 0 | 0 | 0 | 1 | 0 |",
    ] {
        assert!(text.contains(line), "'{line}' not in:\n{text}");
    }
}

/// A custom model whose embedding output comes first and is named by metadata: scores
/// still come from the scores output, the embedding from the named one.
#[test]
fn a_custom_models_embedding_is_found_by_metadata_and_never_read_as_scores() {
    let model = common::fixture("embedding_first.onnx");
    let run = common::run(&format!(
        "videotestsrc pattern=black num-buffers=1 \
         ! imgclassify model-file={model} attach-embedding=true ! appsink name=sink"
    ));
    let result = run.results()[0].clone().expect("classified");
    assert_eq!(result.labels, ["zero", "one", "two"]);
    let embedding = result.embedding.expect("an embedding");
    assert_eq!(embedding.len(), 3);
    let norm: f32 = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");

    let dir = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    for (class, photo) in [("cat", "chelsea.png"), ("coffee", "coffee.png")] {
        std::fs::create_dir_all(dir.path().join(class)).expect("mkdir");
        std::fs::copy(common::data(photo), dir.path().join(class).join(photo)).expect("copy");
    }
    let (result, _) = classify_photo(
        &common::data("coffee.png"),
        &format!(
            "model-file={model} classes-dir={} classes-cache-dir={}",
            dir.path().display(),
            cache.path().display()
        ),
    );
    assert_eq!(result.labels[0], "coffee", "{result:?}");
    assert_eq!(result.labels.len(), 2);
}

/// `gst-launch-1.0 ARGS` with this build of the plugin, in its own process and for at
/// most `seconds`: an abort or a runaway allocation in the element fails the test
/// instead of taking the test binary down. Returns its exit status and all it printed.
fn launch_bounded(args: &[String], seconds: u64) -> (std::process::ExitStatus, String) {
    let out = tempfile::tempdir().expect("tempdir");
    let log = out.path().join("log");
    let file = std::fs::File::create(&log).expect("log");
    let mut child = common::programs::command("gst-launch-1.0")
        .args(args)
        .stdout(file.try_clone().expect("log"))
        .stderr(file)
        .spawn()
        .expect("gst-launch-1.0 runs (install gstreamer1.0-tools)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("gst-launch-1.0 {args:?} still running after {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    (status, std::fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn examples_claiming_a_huge_size_are_skipped_with_a_warning_naming_them() {
    let dir = copied_classes();
    let cache = tempfile::tempdir().expect("tempdir");
    // coffee.png's header made to claim 100000x100000 (30 GB of pixels): this aborted
    // the process with "memory allocation of 30000000000 bytes failed".
    let mut png = std::fs::read(common::data("coffee.png")).expect("read");
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(dir.path().join("fish/huge.png"), png).expect("write");
    // A 20 KB JPEG whose frame header says 65000x65000: 12 GB resident before.
    let mut jpeg = std::fs::read(dir.path().join("hammer/hammer3.jpg")).expect("read");
    let sof = jpeg
        .windows(5)
        .position(|w| w == [0xFF, 0xC0, 0x00, 0x11, 0x08])
        .expect("a baseline frame header");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
    std::fs::write(dir.path().join("hammer/huge.jpg"), jpeg).expect("write");
    let args: Vec<String> = format!(
        "videotestsrc num-buffers=1 ! imgclassify classes-dir={} classes-cache-dir={} ! fakesink",
        dir.path().display(),
        cache.path().display()
    )
    .split(' ')
    .map(String::from)
    .collect();
    let (status, log) = launch_bounded(&args, 120);
    assert!(status.success(), "{status}: {log}");
    for (file, size) in [
        ("fish/huge.png", "100000x100000"),
        ("hammer/huge.jpg", "65000x65000"),
    ] {
        let warning = format!(
            "classes-dir: example '{}' skipped: is {size} pixels, more than an example \
             photo may have (16384 a side, 64 megapixels); scale it down",
            dir.path().join(file).display()
        );
        assert_eq!(log.matches(&warning).count(), 1, "{warning}\n{log}");
    }
}

/// Examples embedded and taken from the cache, and the warnings NULL→READY posted.
fn examples_and_warnings(dir: &Path, cache: &Path) -> ((u64, u64), Vec<String>) {
    common::init();
    let element = gst::ElementFactory::make("imgclassify")
        .property("classes-dir", dir.display().to_string())
        .property("classes-cache-dir", cache.display().to_string())
        .build()
        .expect("element");
    let bus = gst::Bus::new();
    element.set_bus(Some(&bus));
    element.set_state(gst::State::Ready).expect("READY");
    let stats = element.property::<gst::Structure>("stats");
    element.set_state(gst::State::Null).expect("NULL");
    let warnings = std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Warning]))
        .map(|m| match m.view() {
            gst::MessageView::Warning(w) => w.error().to_string(),
            _ => unreachable!("filtered"),
        })
        .collect();
    let counts = (
        stats.get("examples-embedded").expect("examples-embedded"),
        stats.get("examples-cached").expect("examples-cached"),
    );
    (counts, warnings)
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// A FIFO in place of the cache file or of the model-hash memo blocked NULL→READY
/// forever; `/dev/zero` was read until memory ran out. Each is now ignored and replaced.
#[test]
fn a_fifo_or_a_device_in_the_cache_folder_is_ignored_and_replaced() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = classes_dir();
    assert_eq!(examples(&dir, cache.path()), (EXAMPLES, 0));
    let files: Vec<PathBuf> = std::fs::read_dir(cache.path())
        .expect("cache")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(
        files.len(),
        2,
        "the cache file and the model's memo: {files:?}"
    );
    for file in &files {
        std::fs::remove_file(file).expect("remove");
        mkfifo(file);
    }
    let (d, c) = (dir.clone(), cache.path().to_path_buf());
    let counts = common::bounded("READY with FIFOs in the cache", 60, move || {
        examples(&d, &c)
    });
    assert_eq!(counts, (EXAMPLES, 0));
    for file in &files {
        assert!(std::fs::symlink_metadata(file).expect("replaced").is_file());
        std::fs::remove_file(file).expect("remove");
        std::os::unix::fs::symlink("/dev/zero", file).expect("symlink");
    }
    let (d, c) = (dir.clone(), cache.path().to_path_buf());
    let counts = common::bounded("READY with /dev/zero in the cache", 60, move || {
        examples(&d, &c)
    });
    assert_eq!(counts, (EXAMPLES, 0));
    assert_eq!(examples(&dir, cache.path()), (0, EXAMPLES));
}

/// The cache folder is made private (0700); one that other users can write (no sticky
/// bit) is not used, with a warning naming it: they could plant links or embeddings.
#[test]
fn the_cache_folder_is_private_and_one_others_can_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("tempdir");
    let dir = classes_dir();
    let made = root.path().join("made/cache");
    assert_eq!(examples_and_warnings(&dir, &made), ((EXAMPLES, 0), vec![]));
    for folder in [root.path().join("made"), made.clone()] {
        let mode = std::fs::metadata(&folder)
            .expect("made")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{}", folder.display());
    }
    let open = root.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let refused = format!(
        "classes-dir: cache folder '{}' is not used: other users can write to it (mode \
         777); make it private (chmod 700) or set classes-cache-dir to a folder of your own",
        open.display()
    );
    for _ in 0..2 {
        assert_eq!(
            examples_and_warnings(&dir, &open),
            ((EXAMPLES, 0), vec![refused.clone()])
        );
    }
    assert_eq!(std::fs::read_dir(&open).expect("open").count(), 0);
}
