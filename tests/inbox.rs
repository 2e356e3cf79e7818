//! `inbox-dir`: frames and zones labelled `unknown` are saved as JPEG + JSON, at most
//! one per `inbox-interval` of buffer time, the folder kept under `inbox-max-files` and
//! `inbox-max-bytes`; a crop moved into a class folder is an example at the next start.
//! `min-similarity=-1`: each class's own threshold, from its examples.

use crate::common;

use std::path::{Path, PathBuf};

use sha2::Digest;

const CLASSES: [&str; 4] = ["fish", "hammer", "tape-measure", "windmill"];

/// A copy of tests/data/classes, to add a class to.
fn copied_classes() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for class in CLASSES {
        let to = dir.path().join(class);
        std::fs::create_dir_all(&to).expect("mkdir");
        for file in std::fs::read_dir(common::data("classes").join(class)).expect("class") {
            let file = file.expect("entry").path();
            std::fs::copy(&file, to.join(file.file_name().expect("name"))).expect("copy");
        }
    }
    dir
}

/// `frames` frames of a photo at 10 frames a second (PTS 0, 100 ms, ...) through
/// `imgclassify name=cls` with the custom test classes and `props`.
fn run_photo(photo: &str, frames: u32, classes: &Path, props: &str) -> common::Run {
    let cache = tempfile::tempdir().expect("tempdir");
    common::run(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGB \
         ! imagefreeze num-buffers={frames} ! video/x-raw,framerate=10/1 \
         ! imgclassify name=cls classes-dir={} classes-cache-dir={} {props} \
         ! appsink name=sink",
        common::data(photo).display(),
        classes.display(),
        cache.path().display()
    ))
}

/// The crops in the inbox, oldest first: (JPEG path, sidecar).
fn crops(inbox: &Path) -> Vec<(PathBuf, serde_json::Value)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(inbox)
        .expect("inbox")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .filter(|p| p.file_name().is_some_and(|n| n != "mine.jpg"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|jpg| {
            let json = std::fs::read(jpg.with_extension("json")).expect("sidecar");
            (jpg, serde_json::from_slice(&json).expect("sidecar is JSON"))
        })
        .collect()
}

fn pts(crops: &[(PathBuf, serde_json::Value)]) -> Vec<u64> {
    crops
        .iter()
        .map(|(_, s)| s["pts"].as_u64().expect("pts"))
        .collect()
}

#[test]
fn an_unknown_frame_is_saved_as_it_was_classified_with_its_sidecar() {
    let inbox = tempfile::tempdir().expect("tempdir");
    let run = run_photo(
        "coffee.png",
        1,
        &common::data("classes"),
        &format!("min-similarity=0.9 inbox-dir={}", inbox.path().display()),
    );
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    assert_eq!(
        run.results()[0].as_ref().expect("result").labels,
        ["unknown"]
    );
    let saved = crops(inbox.path());
    assert_eq!(saved.len(), 1, "{saved:?}");
    let (jpg, sidecar) = &saved[0];
    // The whole frame at its own size: the photo is 600 x 400.
    let image = image::open(jpg).expect("a JPEG");
    assert_eq!((image.width(), image.height()), (600, 400));
    let model = gstimgclassify::testing::model::zoo::resolve("mobilenet").expect("model");
    let sha = sha2::Sha256::digest(std::fs::read(model).expect("model file"));
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    let name = jpg
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(name.ends_with("-cls-frame.jpg"), "{name}");
    assert_eq!(sidecar["image"], name.as_str());
    assert_eq!(sidecar["pts"], 0);
    assert_eq!(sidecar["classifier"], "cls");
    assert_eq!(sidecar["target"], "frame");
    assert_eq!(sidecar["zone"], serde_json::Value::Null);
    assert_eq!(sidecar["rect"], serde_json::json!([0, 0, 600, 400]));
    assert_eq!(sidecar["reason"], "unknown");
    assert_eq!(sidecar["labels"], serde_json::json!(["unknown"]));
    assert_eq!(sidecar["class-ids"], serde_json::json!([4]));
    assert_eq!(sidecar["model"], "mobilenet");
    assert_eq!(sidecar["model-sha256"], hex.as_str());
    assert!(
        sidecar["time"].as_str().expect("time").ends_with('Z'),
        "{sidecar}"
    );

    // A photo of a class is not saved.
    let known = tempfile::tempdir().expect("tempdir");
    run_photo(
        "classes-heldback/hammer.jpg",
        1,
        &common::data("classes"),
        &format!("min-similarity=0.5 inbox-dir={}", known.path().display()),
    );
    assert!(crops(known.path()).is_empty());

    // Unless its two best scores are closer than inbox-margin (1: always).
    let close = tempfile::tempdir().expect("tempdir");
    run_photo(
        "classes-heldback/hammer.jpg",
        1,
        &common::data("classes"),
        &format!(
            "top-k=2 inbox-margin=1 inbox-dir={}",
            close.path().display()
        ),
    );
    let saved = crops(close.path());
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].1["reason"], "margin");
    assert_eq!(saved[0].1["labels"][0], "hammer");
    assert_eq!(saved[0].1["scores"].as_array().expect("scores").len(), 2);
}

#[test]
fn each_zone_gets_its_own_crop_of_its_own_rectangle() {
    let inbox = tempfile::tempdir().expect("tempdir");
    run_photo(
        "coffee.png",
        1,
        &common::data("classes"),
        &format!(
            "target=zones zones=left:0,0,200,400;corner:500,300,200,200 min-similarity=0.9 \
             inbox-dir={}",
            inbox.path().display()
        ),
    );
    let mut saved: Vec<(String, serde_json::Value, (u32, u32))> = crops(inbox.path())
        .into_iter()
        .map(|(jpg, s)| {
            let image = image::open(&jpg).expect("JPEG");
            (
                s["zone"].as_str().expect("zone").to_string(),
                s["rect"].clone(),
                (image.width(), image.height()),
            )
        })
        .collect();
    saved.sort_by(|a, b| a.0.cmp(&b.0));
    // The corner zone is clipped to the frame.
    assert_eq!(
        saved,
        [
            (
                "corner".to_string(),
                serde_json::json!([500, 300, 100, 100]),
                (100, 100)
            ),
            (
                "left".to_string(),
                serde_json::json!([0, 0, 200, 400]),
                (200, 400)
            ),
        ]
    );
}

#[test]
fn one_crop_per_interval_of_buffer_time() {
    let inbox = tempfile::tempdir().expect("tempdir");
    // 25 frames: 0 to 2.4 s.
    run_photo(
        "coffee.png",
        25,
        &common::data("classes"),
        &format!(
            "min-similarity=0.9 inbox-dir={} inbox-interval=1000",
            inbox.path().display()
        ),
    );
    assert_eq!(pts(&crops(inbox.path())), [0, 1_000_000_000, 2_000_000_000]);
}

#[test]
fn the_oldest_crops_are_removed_to_keep_the_caps() {
    let inbox = tempfile::tempdir().expect("tempdir");
    let dir = inbox.path();
    // One crop from an earlier run, and a file of the user's own that is never touched.
    std::fs::write(dir.join("1600000000000-000000-cls-frame.jpg"), [0u8; 10]).expect("old");
    std::fs::write(
        dir.join("1600000000000-000000-cls-frame.json"),
        b"{\"pts\":7}",
    )
    .expect("old");
    std::fs::write(dir.join("mine.jpg"), [0u8; 10]).expect("mine");
    // Four frames (no more than the queue holds, so none is dropped), every one saved.
    let props = |caps: &str| {
        format!(
            "min-similarity=0.9 inbox-interval=0 inbox-dir={} {caps}",
            dir.display()
        )
    };
    run_photo(
        "coffee.png",
        4,
        &common::data("classes"),
        &props("inbox-max-files=2"),
    );
    assert_eq!(pts(&crops(dir)), [200_000_000, 300_000_000]);
    assert!(dir.join("mine.jpg").exists());

    // Bytes: room for two and a half crops keeps the newest two.
    let bytes = |(jpg, _): &(PathBuf, serde_json::Value)| {
        let size = |p: PathBuf| std::fs::metadata(p).expect("size").len();
        size(jpg.clone()) + size(jpg.with_extension("json"))
    };
    let one = bytes(&crops(dir)[1]);
    let second = tempfile::tempdir().expect("tempdir");
    let props = format!(
        "min-similarity=0.9 inbox-interval=0 inbox-max-files=0 inbox-max-bytes={} inbox-dir={}",
        one * 5 / 2,
        second.path().display()
    );
    run_photo("coffee.png", 4, &common::data("classes"), &props);
    let kept = crops(second.path());
    assert_eq!(pts(&kept), [200_000_000, 300_000_000]);
    assert!(kept.iter().map(bytes).sum::<u64>() <= one * 5 / 2);
}

#[test]
fn a_crop_moved_into_a_class_folder_is_an_example_at_the_next_start() {
    let classes = copied_classes();
    let inbox = tempfile::tempdir().expect("tempdir");
    let props = format!(
        "min-similarity=-1 top-k=5 inbox-dir={}",
        inbox.path().display()
    );
    let first = run_photo("coffee.png", 1, classes.path(), &props);
    assert_eq!(
        first.results()[0].as_ref().expect("result").labels,
        ["unknown"]
    );
    let saved = crops(inbox.path());
    assert_eq!(saved.len(), 1);
    // The user files it: a new class with the crop as its one example.
    let coffee = classes.path().join("coffee");
    std::fs::create_dir_all(&coffee).expect("mkdir");
    let example = coffee.join(saved[0].0.file_name().expect("name"));
    std::fs::rename(&saved[0].0, &example).expect("move");
    let again = run_photo("coffee.png", 1, classes.path(), &props);
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    let result = again.results()[0].clone().expect("result");
    assert_eq!(result.labels[0], "coffee", "{result:?}");
    assert_eq!(result.class_ids[0], 0);
    assert!(result.scores[0] > 0.99, "{result:?}");
    // Known now: nothing more in the inbox.
    assert!(crops(inbox.path()).is_empty());
}

#[test]
fn auto_min_similarity_turns_an_unrelated_photo_unknown_and_keeps_a_matching_one() {
    let auto = "min-similarity=-1 top-k=4";
    let unrelated = run_photo("coffee.png", 1, &common::data("classes"), auto);
    let result = unrelated.results()[0].clone().expect("result");
    assert_eq!(result.labels, ["unknown"]);
    assert_eq!(result.class_ids, [4]);
    for class in ["hammer", "windmill"] {
        let photo = format!("classes-heldback/{class}.jpg");
        let run = run_photo(&photo, 1, &common::data("classes"), auto);
        let result = run.results()[0].clone().expect("result");
        assert_eq!(result.labels[0], class, "{result:?}");
        assert_eq!(result.labels.len(), 4);
    }
    // The same photo with the threshold off gets its nearest class.
    let off = run_photo(
        "coffee.png",
        1,
        &common::data("classes"),
        "min-similarity=0 top-k=1",
    );
    assert_eq!(
        off.results()[0].as_ref().expect("result").labels,
        ["tape-measure"]
    );
}

#[test]
fn an_inbox_folder_that_cannot_be_made_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("file");
    let inbox = file.join("inbox");
    common::assert_error(
        &format!("inbox-dir={}", inbox.display()),
        &[
            &format!("inbox-dir '{}' cannot be made", inbox.display()),
            "leave inbox-dir empty",
        ],
    );
}
