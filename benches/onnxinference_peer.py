#!/usr/bin/env python3
"""Frames per second of one GStreamer pipeline, counted the way
examples/decode_bench/ counts its own: a probe on the sink's pad notes when the
--warmup'th buffer arrives and when the last one does. Run by decode_bench inside the
Debian 13 root (GStreamer 1.26, `onnxinference`) with the root's python3-gi; usable alone:

    python3 benches/onnxinference_peer.py --warmup 30 \
        'filesrc location=F.mp4 ! qtdemux ! h264parse ! avdec_h264 ! fakesink name=sink sync=false'

The pipeline needs a sink named `sink`. Prints one JSON line: frames after the warm-up,
the seconds they took, frames per second and the GStreamer version; exits 1 with the
pipeline's error message on failure.
"""

import argparse
import json
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("description")
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    Gst.init(None)
    try:
        pipeline = Gst.parse_launch(args.description)
    except Exception as e:  # GLib.Error: an element missing from this root, a bad property
        print(f"pipeline does not parse: {e}", file=sys.stderr)
        return 1
    sink = pipeline.get_by_name("sink")
    if sink is None:
        print("the pipeline has no element named 'sink'", file=sys.stderr)
        return 1
    seen = {"count": 0, "warm": None, "last": None}

    def probe(_pad, _info):
        now = time.monotonic()
        seen["count"] += 1
        if seen["count"] == args.warmup + 1:
            seen["warm"] = now
        seen["last"] = now
        return Gst.PadProbeReturn.OK

    sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
    pipeline.set_state(Gst.State.PLAYING)
    bus = pipeline.get_bus()
    message = bus.timed_pop_filtered(600 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if message is None:
        print("no end of stream within 600 s", file=sys.stderr)
        return 1
    if message.type == Gst.MessageType.ERROR:
        err, debug = message.parse_error()
        print(f"{err.message} ({debug})", file=sys.stderr)
        return 1
    frames = seen["count"] - args.warmup - 1
    if seen["warm"] is None or frames < 1:
        print(f"only {seen['count']} frames reached the sink; --warmup is {args.warmup}", file=sys.stderr)
        return 1
    seconds = seen["last"] - seen["warm"]
    print(json.dumps({
        "frames": frames,
        "seconds": seconds,
        "fps": frames / seconds,
        "gstreamer": Gst.version_string(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
