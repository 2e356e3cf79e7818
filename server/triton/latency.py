#!/usr/bin/env python3
"""Time a frame spends inside imgclassify with inference-server, mode=sync versus
mode=async, and the inferences answered per second with max-in-flight 1 and 4.

  GST_PLUGIN_PATH=<folder with libgstimgclassify.so> server/triton/latency.py ENDPOINT [FPS]

Runs `videotestsrc is-live=true` 640x480 at FPS (default 30) for 300 frames through
`imgclassify inference-server=ENDPOINT` and prints, per mode: the median and 90th
percentile of the time from a buffer entering the element to it leaving (pad probes),
and frames-classified per second from `stats`. The first 10 frames are left out.
In process (no inference-server) for reference; then two zones (target=zones, one
batched request per frame), sync and async. Uses python3-gi.
"""
import statistics
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402
from playing import play_to_end  # noqa: E402

FRAMES = 300
SKIP = 10
# Two halves of the frame, classified in one batched request.
ZONES = 'target=zones zones="left:0,0,320,480;right:320,0,320,480"'


def run(extra, fps):
    pipeline = Gst.parse_launch(
        f"videotestsrc num-buffers={FRAMES} is-live=true pattern=ball ! "
        f"video/x-raw,width=640,height=480,framerate={fps}/1 ! "
        f"imgclassify name=c server-timeout=5000 {extra} ! fakesink sync=false"
    )
    element = pipeline.get_by_name("c")
    entered = {}
    spent = []

    def on_sink(_pad, info):
        entered[info.get_buffer().pts] = time.perf_counter()
        return Gst.PadProbeReturn.OK

    def on_src(_pad, info):
        t = entered.pop(info.get_buffer().pts, None)
        if t is not None:
            spent.append(time.perf_counter() - t)
        return Gst.PadProbeReturn.OK

    element.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_sink)
    element.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_src)
    took = play_to_end(pipeline)
    stats = element.get_property("stats")
    pipeline.set_state(Gst.State.NULL)
    ms = sorted(s * 1000 for s in spent[SKIP:])
    p90 = ms[int(len(ms) * 0.9)]
    return statistics.median(ms), p90, stats.get_value("frames-classified") / took


def main():
    Gst.init(None)
    server = sys.argv[1] if len(sys.argv) > 1 else "grpc://127.0.0.1:8001"
    fps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    print(f"{fps} fps, {FRAMES} frames; ms in the element (median, p90); inferences answered/s")
    for name, extra in [
        ("in process, sync", "mode=sync"),
        ("server, sync", f"mode=sync inference-server={server}"),
        ("server, async, max-in-flight=1", f"mode=async max-in-flight=1 inference-server={server}"),
        ("server, async, max-in-flight=4", f"mode=async max-in-flight=4 inference-server={server}"),
        ("server, sync, 2 zones", f"mode=sync {ZONES} inference-server={server}"),
        ("server, async, 2 zones", f"mode=async {ZONES} inference-server={server}"),
    ]:
        median, p90, rate = run(extra, fps)
        print(f"{name} | {median:.2f} | {p90:.2f} | {rate:.1f}")


if __name__ == "__main__":
    main()
