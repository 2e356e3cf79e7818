//! Custom classes from example photos.

use gst::glib;
use gst::prelude::*;

use super::*;

pub(super) fn properties() -> Vec<Property> {
    use glib::{ParamSpecBoolean as Bool, ParamSpecDouble as Double, ParamSpecString as Str};
    vec![
        prop(
            Str::builder("classes-dir")
                .nick("Classes folder")
                .blurb(&reloaded("Custom classes from example photos, one sub-folder per class, watched while running; empty = the model's classes"))
                .mutable_playing()
                .build(),
            |s| s.load.classes.dir.to_value(),
            |s, v| put(&mut s.load.classes.dir, property::path(v)),
        ),
        prop(
            Str::builder("classes-cache-dir")
                .nick("Classes cache folder")
                .blurb(&read_at_ready("Where the examples' embeddings are cached; unset = $XDG_CACHE_HOME/imgclassify/classes"))
                .build(),
            |s| s.load.classes.cache_dir.to_value(),
            |s, v| put(&mut s.load.classes.cache_dir, property::path(v)),
        ),
        prop(
            Double::builder("min-similarity")
                .nick("Minimum similarity")
                .blurb("With classes-dir: below this cosine similarity the label is 'unknown'; 0 = always the nearest class; -1 = each class its own, from its examples")
                .minimum(-1.0)
                .maximum(1.0)
                .default_value(0.0)
                .mutable_playing()
                .build(),
            |s| s.frame.params.min_similarity.to_value(),
            |s, v| put(&mut s.frame.params.min_similarity, get(v)?),
        ),
        prop(
            Bool::builder("attach-embedding")
                .nick("Attach embedding")
                .blurb(&read_at_ready("Add each result's unit-length embedding as the float array 'embedding'"))
                .build(),
            |s| s.load.classes.attach_embedding.to_value(),
            |s, v| put(&mut s.load.classes.attach_embedding, get(v)?),
        ),
    ]
}
