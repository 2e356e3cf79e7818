#!/usr/bin/python3
"""Reads imgclassify's results from a live source the two ways an application usually
does: buffers pulled from an appsink (every ImgClassifyMeta on each, with its regions)
and element messages popped from the bus, both in one loop on the main thread. The
same program as examples/live_appsink.c, with the same output:

    buffer PTS CLASSIFIER: LABEL SCORE fresh|carried
    region ROI-TYPE WxH+X+Y: LABEL SCORE          (target=regions, one per region)
    message CLASSIFIER: LABEL SCORE

Arguments: the source (a gst-launch description, default a live 25 fps test pattern of
50 frames), then imgclassify properties (default mode=async threads=1, as for any live
source). Uses the system Python with PyGObject (Debian: python3-gi gir1.2-gstreamer-1.0):

    GST_PLUGIN_PATH=target/release /usr/bin/python3 examples/live_appsink.py
    GST_PLUGIN_PATH=target/release /usr/bin/python3 examples/live_appsink.py \\
        "v4l2src ! videoconvert ! facedetect display=false ! videoconvert" target=regions
"""
import sys

# The meta reading helpers (and the check for PyGObject) live next to this file.
from read_meta import Gst, classifications, values

KNOWN_META_VERSION = 1  # the meta layout this reader was written for (docs/consumers.md)
SOURCE = "videotestsrc is-live=true num-buffers=50 ! video/x-raw,width=320,height=240,framerate=25/1"


def top(s):
    labels, scores = values(s, "labels"), values(s, "scores")
    return f"{labels[0]} {scores[0]:.2f}" if labels else "-"


def print_buffer(buf):
    found = 0
    for s in classifications(buf):
        ok, version = s.get_uint("meta-version")
        if not ok or version != KNOWN_META_VERSION:
            print(f"warning: ImgClassifyMeta layout {version}, this reader knows "
                  f"{KNOWN_META_VERSION}", file=sys.stderr)
        _, fresh = s.get_boolean("fresh")
        pts = buf.pts / Gst.SECOND if buf.pts != Gst.CLOCK_TIME_NONE else -1
        print(f"buffer {pts:.3f} {s.get_string('classifier')}: {top(s)} "
              f"{'fresh' if fresh else 'carried'}", flush=True)
        for r in values(s, "regions"):
            size = [r.get_uint(f)[1] for f in ("width", "height", "x", "y")]
            print("region {} {}x{}+{}+{}: {}".format(r.get_string("roi-type"), *size, top(r)),
                  flush=True)
        found += 1
    return found


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else SOURCE
    props = " ".join(sys.argv[2:]) or "mode=async threads=1"
    Gst.init(None)
    # max-buffers and drop: a slow reader sees the newest buffers instead of holding the
    # live source back; sync=false: the source already paces the stream.
    pipeline = Gst.parse_launch(
        f"{source} ! imgclassify post-messages=true {props} "
        "! appsink name=sink max-buffers=4 drop=true sync=false")
    sink = pipeline.get_by_name("sink")
    bus = pipeline.get_bus()
    metas = messages = 0
    status = 0
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        status = 1
    running = True
    while running:
        # Every message waiting on the bus, then at most 100 ms for a buffer.
        while msg := bus.pop_filtered(
                Gst.MessageType.ELEMENT | Gst.MessageType.EOS | Gst.MessageType.ERROR):
            if msg.type == Gst.MessageType.ERROR:
                err, debug = msg.parse_error()
                print(f"error: {err.message} ({debug})", file=sys.stderr)
                status, running = 1, False
                break
            if msg.type == Gst.MessageType.EOS:
                running = False
                break
            s = msg.get_structure()
            if s is not None and s.has_name("imgclassify"):
                print(f"message {s.get_string('classifier')}: {top(s)}", flush=True)
                messages += 1
        if not running or status:
            break
        sample = sink.emit("try-pull-sample", 100 * Gst.MSECOND)
        if sample is not None:
            metas += print_buffer(sample.get_buffer())
    pipeline.set_state(Gst.State.NULL)
    print(f"{metas} results on buffers, {messages} messages", file=sys.stderr)
    if status == 0 and (metas == 0 or messages == 0):
        print("error: no result arrived", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
