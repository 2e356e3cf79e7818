//! Examples embedded while PLAYING (a class added to `classes-dir`, a model set) run on
//! a session apart from the frames' pool, so no frame waits for one: with `sessions=1`
//! every session the pool lends goes to a frame's inference, the examples' inferences
//! are all counted on the session apart, and that session is gone once the new set is
//! in use. Counted, not timed. Results still equal a fresh start's, whose examples are
//! embedded on the pool at NULL→READY.

use crate::common;
use crate::common::playing::{Playing, assert_agree, copied_classes, fresh, probes, strings};

use gst::prelude::*;
use gstimgclassify::gst;
use gstimgclassify::testing::{aside_sessions, pool_lends, pooled_sessions};

fn stat(element: &gst::Element, field: &str) -> u64 {
    element
        .property::<gst::Structure>("stats")
        .get::<u64>(field)
        .unwrap_or_else(|_| panic!("{field} in stats"))
}

/// Pool lends and the element's inference calls, to compare their growth.
fn counts(live: &Playing) -> (u64, u64) {
    (pool_lends(), stat(&live.element, "inference-calls"))
}

#[test]
fn examples_embedded_while_playing_never_take_a_session_of_the_frames() {
    let _s = common::serial();
    let dir = copied_classes();
    let cache = tempfile::tempdir().expect("tempdir");
    let props = |cache: &std::path::Path| {
        format!(
            "classes-dir={} classes-cache-dir={} sessions=1 top-k=3",
            dir.path().display(),
            cache.display()
        )
    };
    let probes = probes();
    let mut live = Playing::start(&props(cache.path()));
    live.results(&probes);
    assert_eq!(pooled_sessions(), 1);
    assert_eq!(aside_sessions().0, 0, "none at NULL→READY");

    // A new class of two photos: both embedded, on one session apart.
    let (lends, calls) = counts(&live);
    let (_, built, runs) = aside_sessions();
    std::fs::create_dir(dir.path().join("cat")).expect("mkdir");
    for photo in ["chelsea.png", "coffee.png"] {
        std::fs::copy(common::data(photo), dir.path().join("cat").join(photo)).expect("copy");
    }
    let (msg, warnings, _) = live.until_message("imgclassify-classes-changed", &probes);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        strings(&msg, "added"),
        ["cat/chelsea.png", "cat/coffee.png"]
    );
    let (lends_now, calls_now) = counts(&live);
    assert_eq!(
        lends_now - lends,
        calls_now - calls,
        "every session the pool lent went to a frame"
    );
    assert_eq!(stat(&live.element, "examples-embedded"), 2);
    let (alive_now, built_now, runs_now) = aside_sessions();
    assert_eq!(runs_now - runs, 2, "both examples on the session apart");
    assert_eq!(built_now - built, 1, "one session for the rebuild");
    assert_eq!(alive_now, 0, "dropped before the set was put in use");
    assert_eq!(pooled_sessions(), 1, "the pool did not grow");
    // A fresh start with an empty cache embeds every example on its pool at NULL→READY.
    let empty = tempfile::tempdir().expect("tempdir");
    assert_agree(
        &live.results(&probes),
        &fresh(&props(empty.path()), &probes),
        "class added",
    );

    // A class removed embeds nothing, and builds no session.
    let (lends, calls) = counts(&live);
    let (_, built, runs) = aside_sessions();
    std::fs::remove_dir_all(dir.path().join("windmill")).expect("rm");
    live.until_message("imgclassify-classes-changed", &probes);
    let (lends_now, calls_now) = counts(&live);
    assert_eq!(lends_now - lends, calls_now - calls);
    assert_eq!(stat(&live.element, "examples-embedded"), 0);
    assert_eq!(aside_sessions(), (0, built, runs), "nothing to embed");

    // A model set while playing: its examples are embedded apart from its pool too,
    // which lends one session only for the new model's warm-up at load.
    let (lends, calls) = counts(&live);
    let (_, built, runs) = aside_sessions();
    live.element.set_property("model", "mobilenet-int8");
    let (msg, warnings, _) = live.until_message("imgclassify-model-changed", &probes);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(msg.get::<String>("model").expect("model"), "mobilenet-int8");
    let (lends_now, calls_now) = counts(&live);
    assert_eq!(
        lends_now - lends,
        calls_now - calls + 1,
        "the warm-up, then frames"
    );
    let embedded = stat(&live.element, "examples-embedded");
    assert_eq!(embedded, 14, "another model: no embedding from the cache");
    let (alive_now, built_now, runs_now) = aside_sessions();
    assert_eq!(runs_now - runs, embedded);
    assert_eq!((alive_now, built_now - built), (0, 1));
}
