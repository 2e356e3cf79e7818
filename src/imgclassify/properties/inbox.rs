//! The inbox of uncertain crops (docs/custom-classes.md, "The inbox").

use gst::glib;
use gst::prelude::*;

use super::*;

fn read_at_start(blurb: &str) -> String {
    format!("{blurb}. Read at READY→PAUSED")
}

pub(super) fn properties() -> Vec<Property> {
    use glib::ParamSpecUInt64 as UInt64;
    use glib::{ParamSpecDouble as Double, ParamSpecString as Str, ParamSpecUInt as UInt};
    vec![
        prop(
            Str::builder("inbox-dir")
                .nick("Inbox folder")
                .blurb(&read_at_start("Save frames, zones or regions labelled 'unknown' (or closer than inbox-margin) here as JPEG + JSON; empty = off"))
                .mutable_ready()
                .build(),
            |s| s.inbox.dir.to_value(),
            |s, v| put(&mut s.inbox.dir, property::path(v)),
        ),
        prop(
            Double::builder("inbox-margin")
                .nick("Inbox margin")
                .blurb(&read_at_start("Also save a result whose two best scores differ by less than this (needs top-k >= 2); 0 = only 'unknown'"))
                .minimum(0.0)
                .maximum(1.0)
                .default_value(0.0)
                .mutable_ready()
                .build(),
            |s| s.inbox.margin.to_value(),
            |s, v| put(&mut s.inbox.margin, get(v)?),
        ),
        prop(
            UInt::builder("inbox-interval")
                .nick("Inbox interval")
                .blurb(&read_at_start("Least time between two saved crops of the frame, one zone or one object, in ms of buffer time; 0 = every one"))
                .default_value(1000)
                .mutable_ready()
                .build(),
            |s| (s.inbox.interval_ms as u32).to_value(),
            |s, v| put(&mut s.inbox.interval_ms, u64::from(get::<u32>(v)?)),
        ),
        prop(
            UInt::builder("inbox-max-files")
                .nick("Inbox maximum files")
                .blurb(&read_at_start("Most crops kept in inbox-dir, the oldest removed first; 0 = no cap"))
                .default_value(1000)
                .mutable_ready()
                .build(),
            |s| (s.inbox.max_files as u32).to_value(),
            |s, v| put(&mut s.inbox.max_files, u64::from(get::<u32>(v)?)),
        ),
        prop(
            UInt64::builder("inbox-max-bytes")
                .nick("Inbox maximum bytes")
                .blurb(&read_at_start("Most bytes of crops and sidecars kept in inbox-dir, the oldest removed first; 0 = no cap"))
                .default_value(100 * 1024 * 1024)
                .mutable_ready()
                .build(),
            |s| s.inbox.max_bytes.to_value(),
            |s, v| put(&mut s.inbox.max_bytes, get(v)?),
        ),
    ]
}
