#!/usr/bin/python3
"""Classifies a picture with imgclassify and prints the top-1 label read from
ImgClassifyMeta, one line per classified frame. The whole top-k with scores goes to
standard error.

Uses the system Python with PyGObject (Debian: python3-gi gir1.2-gstreamer-1.0);
no header or module of imgclassify is needed, only the plugin on GST_PLUGIN_PATH:

    GST_PLUGIN_PATH=target/release python3 examples/read_meta.py tests/data/coffee.png
"""
import sys
import warnings

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

META_NAME = "ImgClassifyMeta"


def values(structure, field):
    """The elements of an array field as a Python list.

    Structure.get_value cannot convert a GstValueArray unless the gst-python overrides
    (python3-gst-1.0) are installed; get_array works with PyGObject alone. Its
    GValueArray.get_nth is marked deprecated in GLib but is the portable accessor."""
    ok, array = structure.get_array(field)
    if not ok:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [array.get_nth(i) for i in range(array.n_values)]


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} PICTURE", file=sys.stderr)
        return 2
    Gst.init(None)
    pipeline = Gst.parse_launch(
        "filesrc name=src ! decodebin ! videoconvert ! imgclassify "
        "! fakesink name=sink signal-handoffs=true"
    )
    # Set as a property, not inside the description, so any file name works.
    pipeline.get_by_name("src").set_property("location", sys.argv[1])
    found = []

    def on_buffer(sink, buf, pad):
        meta = buf.get_custom_meta(META_NAME)
        if meta is None:
            return
        s = meta.get_structure()
        labels = values(s, "labels")
        scores = values(s, "scores")
        if labels:
            found.append(labels[0])
            print(labels[0], flush=True)
            print(", ".join(f"{l} {p:.2f}" for l, p in zip(labels, scores)),
                  f"({s.get_string('model')} on {s.get_string('provider')})", file=sys.stderr)

    pipeline.get_by_name("sink").connect("handoff", on_buffer)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg.type == Gst.MessageType.ERROR:
        err, debug = msg.parse_error()
        print(f"error: {err.message} ({debug})", file=sys.stderr)
        return 1
    if not found:
        print(f"error: no buffer carried {META_NAME}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
