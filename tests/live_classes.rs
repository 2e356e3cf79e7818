//! While PLAYING: photos and class folders added to, removed from and replaced in
//! `classes-dir`, and `model-file` set, are used from a frame on with the results a
//! freshly started pipeline gives, while frames keep flowing; a folder emptied and a
//! model that cannot load leave what is in use, with a warning. The longest gap
//! between two output buffers while a change was being made is printed (not asserted:
//! it measures the machine as much as the element).

use crate::common;
use crate::common::playing::{
    GIVE_UP, Playing, assert_agree, copied_classes, copy_folder, fresh, probes, strings,
};

use std::path::Path;
use std::time::{Duration, Instant};

use gst::prelude::*;

#[test]
fn classes_added_removed_and_replaced_while_playing_agree_with_a_fresh_start() {
    let dir = copied_classes();
    let cache = tempfile::tempdir().expect("tempdir");
    let props = format!(
        "classes-dir={} classes-cache-dir={} top-k=3",
        dir.path().display(),
        cache.path().display()
    );
    let probes = probes();
    let mut live = Playing::start(&props);
    let before = live.results(&probes);
    assert_agree(&before, &fresh(&props, &probes), "at the start");
    assert_eq!(before[4].labels.len(), 3);
    live.measure();
    live.results(&probes);
    live.results(&probes);
    println!(
        "no change: longest gap between output buffers {:?}",
        live.measure()
    );

    // A new class folder with one photo: the cat photo becomes a cat.
    std::fs::create_dir(dir.path().join("cat")).expect("mkdir");
    std::fs::copy(
        common::data("chelsea.png"),
        dir.path().join("cat/chelsea.png"),
    )
    .expect("copy");
    let (msg, warnings, took) = live.until_message("imgclassify-classes-changed", &probes);
    let gap = live.measure();
    println!("class added: in use after {took:?}, longest gap between output buffers {gap:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        strings(&msg, "classes"),
        ["cat", "fish", "hammer", "tape-measure", "windmill"]
    );
    assert_eq!(msg.get::<u64>("examples").expect("examples"), 17);
    assert_eq!(strings(&msg, "added"), ["cat/chelsea.png"]);
    assert!(strings(&msg, "removed").is_empty());
    let after = live.results(&probes);
    assert_eq!(after[4].labels[0], "cat", "{:?}", after[4]);
    assert_agree(&after, &fresh(&props, &probes), "class added");

    // A photo dropped into a class folder.
    std::fs::copy(
        common::data("coffee.png"),
        dir.path().join("hammer/coffee.png"),
    )
    .expect("copy");
    let (msg, _, took) = live.until_message("imgclassify-classes-changed", &probes);
    let gap = live.measure();
    println!("photo added: in use after {took:?}, longest gap between output buffers {gap:?}");
    assert_eq!(strings(&msg, "added"), ["hammer/coffee.png"]);
    assert_agree(
        &live.results(&probes),
        &fresh(&props, &probes),
        "photo added",
    );

    // A class folder removed.
    std::fs::remove_dir_all(dir.path().join("windmill")).expect("rm");
    let (msg, _, took) = live.until_message("imgclassify-classes-changed", &probes);
    let gap = live.measure();
    println!("class removed: in use after {took:?}, longest gap between output buffers {gap:?}");
    assert_eq!(
        strings(&msg, "classes"),
        ["cat", "fish", "hammer", "tape-measure"]
    );
    assert_eq!(strings(&msg, "removed").len(), 4);
    assert!(strings(&msg, "added").is_empty());
    let after = live.results(&probes);
    assert!(after.iter().all(|r| r.labels[0] != "windmill"), "{after:?}");
    assert_agree(&after, &fresh(&props, &probes), "class removed");

    // A photo replaced under the same name: the cat class is the astronaut now.
    let replacement = dir.path().join("astronaut.tmp");
    std::fs::copy(common::data("astronaut.png"), &replacement).expect("copy");
    std::fs::rename(&replacement, dir.path().join("cat/chelsea.png")).expect("rename");
    let (msg, _, took) = live.until_message("imgclassify-classes-changed", &probes);
    let gap = live.measure();
    println!("photo replaced: in use after {took:?}, longest gap between output buffers {gap:?}");
    assert_eq!(strings(&msg, "added"), ["cat/chelsea.png"]);
    assert_eq!(strings(&msg, "removed"), ["cat/chelsea.png"]);
    assert_eq!(live.results(&probes)[6].labels[0], "cat");
    assert_agree(
        &live.results(&probes),
        &fresh(&props, &probes),
        "photo replaced",
    );
}

#[test]
fn a_class_folder_emptied_keeps_the_classes_in_use_with_a_warning() {
    let dir = copied_classes();
    let cache = tempfile::tempdir().expect("tempdir");
    let props = format!(
        "classes-dir={} classes-cache-dir={} top-k=4",
        dir.path().display(),
        cache.path().display()
    );
    let probes = probes();
    let mut live = Playing::start(&props);
    let before = live.results(&probes);
    for file in std::fs::read_dir(dir.path().join("fish")).expect("fish") {
        std::fs::remove_file(file.expect("entry").path()).expect("rm");
    }
    let warning = live.until_warning(&probes);
    for needle in ["'fish'", "classes in use stay"] {
        assert!(warning.contains(needle), "lacks {needle}: {warning}");
    }
    assert_agree(&live.results(&probes), &before, "fish emptied");
    // Back again, the set is the same as before: nothing changes, nothing is posted.
    copy_folder(&common::data("classes/fish"), &dir.path().join("fish"));
    // A class added after it shows the watch still works.
    copy_folder(
        &common::data("classes/hammer"),
        &dir.path().join("hammer-2"),
    );
    let (msg, warnings, _) = live.until_message("imgclassify-classes-changed", &probes);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(strings(&msg, "added").len(), 4, "{msg:?}");
    assert!(strings(&msg, "classes").contains(&"hammer-2".to_string()));
}

fn model_swapped_while_playing(mode: &str) {
    let probes = probes();
    let four = common::fixture("four_classes.onnx");
    let props = format!("mode={mode}");
    let mut live = Playing::start(&props);
    for probe in &probes {
        live.push(probe);
    }
    live.measure();
    live.element.set_property("model-file", &four);
    let (msg, warnings, took) = live.until_message("imgclassify-model-changed", &probes);
    let gap = live.measure();
    println!(
        "mode={mode}: model swapped after {took:?}, longest gap between output buffers {gap:?}"
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(msg.get::<String>("model").expect("model"), "four_classes");
    if mode == "sync" {
        // The frame that posted the message, and every one after, ran on the new model.
        let after = live.results(&probes);
        let fresh = fresh(&format!("{props} model-file={four}"), &probes);
        assert_agree(&after, &fresh, "model swapped");
    } else {
        // Async: a frame carries the newest answer, which is the new model's from the
        // first answer after the swap on.
        let started = Instant::now();
        let mut seen_new = false;
        for probe in probes.iter().cycle() {
            assert!(started.elapsed() < GIVE_UP, "no answer of the new model");
            let Some(result) = live.push(probe) else {
                continue;
            };
            if result.model == "four_classes" {
                seen_new = true;
            } else {
                assert!(!seen_new, "an answer of the old model after the new one's");
            }
            if seen_new && result.fresh {
                break;
            }
        }
    }
}

#[test]
fn a_model_swapped_while_playing_is_used_from_a_frame_on() {
    model_swapped_while_playing("sync");
}

#[test]
fn a_model_swapped_while_playing_in_async_mode_is_used_from_an_answer_on() {
    model_swapped_while_playing("async");
}

#[test]
fn a_model_that_cannot_load_while_playing_leaves_the_model_in_use() {
    let probes = probes();
    let mut live = Playing::start("");
    let before = live.results(&probes);
    live.element
        .set_property("model-file", common::fixture("random_bytes.onnx"));
    let warning = live.until_warning(&probes);
    for needle in ["random_bytes.onnx", "the model in use stays"] {
        assert!(warning.contains(needle), "lacks {needle}: {warning}");
    }
    assert_agree(&live.results(&probes), &before, "after the failed swap");
    // A good model set after it still loads.
    live.element.set_property("model", "mobilenet-int8");
    live.element.set_property("model-file", None::<String>);
    let (msg, _, _) = live.until_message("imgclassify-model-changed", &probes);
    assert_eq!(msg.get::<String>("model").expect("model"), "mobilenet-int8");
}

/// A new `classes-dir` on the same model: its classes are built for the model in use,
/// used from a frame on, and the new folder is the one watched.
#[test]
fn classes_dir_set_while_playing_is_used_from_a_frame_on() {
    let first = copied_classes();
    let second = tempfile::tempdir().expect("tempdir");
    for (class, photo) in [("cat", "chelsea.png"), ("cup", "coffee.png")] {
        std::fs::create_dir(second.path().join(class)).expect("mkdir");
        std::fs::copy(common::data(photo), second.path().join(class).join(photo)).expect("copy");
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let props = |dir: &Path| {
        format!(
            "classes-dir={} classes-cache-dir={} top-k=2",
            dir.display(),
            cache.path().display()
        )
    };
    let probes = probes();
    let mut live = Playing::start(&props(first.path()));
    live.results(&probes);
    live.measure();
    live.element
        .set_property("classes-dir", second.path().to_str().expect("UTF-8"));
    let (msg, warnings, took) = live.until_message("imgclassify-classes-changed", &probes);
    let gap = live.measure();
    println!("classes-dir set: in use after {took:?}, longest gap between output buffers {gap:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(strings(&msg, "classes"), ["cat", "cup"]);
    assert_agree(
        &live.results(&probes),
        &fresh(&props(second.path()), &probes),
        "new folder",
    );

    copy_folder(&common::data("classes/fish"), &second.path().join("fish"));
    let (msg, _, _) = live.until_message("imgclassify-classes-changed", &probes);
    assert_eq!(strings(&msg, "classes"), ["cat", "cup", "fish"]);
    // The old folder is no longer watched: a change there posts nothing.
    std::fs::remove_dir_all(first.path().join("fish")).expect("rm");
    std::thread::sleep(Duration::from_millis(1000));
    live.results(&probes);
    while let Some(msg) = live.bus.pop() {
        if let gst::MessageView::Element(e) = msg.view() {
            let name = e.structure().map(|s| s.name().to_string());
            assert_ne!(name.as_deref(), Some("imgclassify-classes-changed"));
        }
    }
}
