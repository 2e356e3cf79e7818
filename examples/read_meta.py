#!/usr/bin/python3
"""Classifies a picture with imgclassify and prints the top-1 label read from
ImgClassifyMeta, one line per classified frame. The whole top-k with scores goes to
standard error.

With models named after the picture, one imgclassify per model runs in a row (each
named after its model, which its results carry as `classifier`), and every
ImgClassifyMeta on the buffer is read: one line `classifier: label` per classifier.

Uses the system Python with PyGObject (Debian: python3-gi gir1.2-gstreamer-1.0);
no header or module of imgclassify is needed, only the plugin on GST_PLUGIN_PATH:

    GST_PLUGIN_PATH=target/release /usr/bin/python3 examples/read_meta.py tests/data/coffee.png
    GST_PLUGIN_PATH=target/release /usr/bin/python3 examples/read_meta.py tests/data/coffee.png \
        mobilenet efficientnet
"""
import ctypes
import sys
import warnings

try:
    import gi
except ImportError:
    # PyGObject is a Debian package of the system Python; a pyenv or venv Python (often
    # first on PATH as python3) does not see it.
    sys.exit(f"{sys.executable} has no PyGObject (gi): run this with /usr/bin/python3 "
             "(Debian: apt-get install python3-gi gir1.2-gstreamer-1.0)")

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

META_NAME = "ImgClassifyMeta"

# PyGObject cannot walk a buffer's metas (gst_buffer_iterate_meta is not introspectable,
# and get_custom_meta returns only the first), so the walk goes through GStreamer's C
# API. hash() of a PyGObject boxed value is its C pointer.
_gst = ctypes.CDLL("libgstreamer-1.0.so.0")
_glib = ctypes.CDLL("libglib-2.0.so.0")
_gobject = ctypes.CDLL("libgobject-2.0.so.0")
_gst.gst_buffer_iterate_meta_filtered.restype = ctypes.c_void_p
_gst.gst_buffer_iterate_meta_filtered.argtypes = [
    ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t]
_gst.gst_custom_meta_get_structure.restype = ctypes.c_void_p
_gst.gst_custom_meta_get_structure.argtypes = [ctypes.c_void_p]
_gst.gst_structure_to_string.restype = ctypes.c_void_p
_gst.gst_structure_to_string.argtypes = [ctypes.c_void_p]
_glib.g_free.argtypes = [ctypes.c_void_p]
_gobject.g_type_from_name.restype = ctypes.c_size_t
_gobject.g_type_from_name.argtypes = [ctypes.c_char_p]


def classifications(buf):
    """The structure of every ImgClassifyMeta on `buf`, in the order they were added."""
    info = Gst.meta_get_info(META_NAME)
    if info is None:
        return []
    api = _gobject.g_type_from_name(info.api.name.encode())
    state = ctypes.c_void_p()
    found = []
    while True:
        meta = _gst.gst_buffer_iterate_meta_filtered(hash(buf), ctypes.byref(state), api)
        if not meta:
            return found
        text = _gst.gst_structure_to_string(_gst.gst_custom_meta_get_structure(meta))
        found.append(Gst.Structure.from_string(ctypes.string_at(text).decode())[0])
        _glib.g_free(text)


def values(structure, field):
    """The elements of an array field as a Python list.

    Structure.get_value cannot convert a GstValueArray unless the gst-python overrides
    (python3-gst-1.0) are installed; get_array works with PyGObject alone. Its
    GValueArray.get_nth is marked deprecated in GLib but is the portable accessor.
    Structures (the regions) come back as copies."""
    ok, array = structure.get_array(field)
    if not ok:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        items = [array.get_nth(i) for i in range(array.n_values)]
    # A structure item (a region) belongs to the array, which is freed on return.
    return [i.copy() if isinstance(i, Gst.Structure) else i for i in items]


def main():
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} PICTURE [MODEL...]", file=sys.stderr)
        return 2
    models = sys.argv[2:]
    Gst.init(None)
    classifiers = " ! ".join(f"imgclassify model={m} name={m}" for m in models) or "imgclassify"
    pipeline = Gst.parse_launch(
        f"filesrc name=src ! decodebin ! videoconvert ! {classifiers} "
        "! fakesink name=sink signal-handoffs=true"
    )
    # Set as a property, not inside the description, so any file name works.
    pipeline.get_by_name("src").set_property("location", sys.argv[1])
    found = []

    def on_buffer(sink, buf, pad):
        for s in classifications(buf):
            labels = values(s, "labels")
            scores = values(s, "scores")
            if labels:
                found.append(labels[0])
                name = f"{s.get_string('classifier')}: " if models else ""
                print(f"{name}{labels[0]}", flush=True)
                print(", ".join(f"{l} {p:.2f}" for l, p in zip(labels, scores)),
                      f"({s.get_string('model')} on {s.get_string('provider')})",
                      file=sys.stderr)

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
