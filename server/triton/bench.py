#!/usr/bin/env python3
"""Per-frame inference time and throughput of imgclassify in process versus on a Triton.

  GST_PLUGIN_PATH=<folder with libgstimgclassify.so> server/triton/bench.py grpc://127.0.0.1:8001

For 1, 2, 4 and 8 pipelines in one process (each `videotestsrc ! imgclassify ! fakesink`,
mode=sync, as fast as they go) prints frames per second of all pipelines together and
the mean inference time the element's `stats` report, in process and with
inference-server. Uses the system Python's GStreamer bindings (python3-gi).
"""
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402
from playing import play_to_end  # noqa: E402

FRAMES = 150


def run(count, server):
    extra = f"inference-server={server}" if server else ""
    branches = " ".join(
        f"videotestsrc num-buffers={FRAMES} pattern=ball ! video/x-raw,width=640,height=480 ! "
        f"imgclassify name=c{i} mode=sync {extra} ! fakesink sync=false"
        for i in range(count)
    )
    pipeline = Gst.parse_launch(branches)
    took = play_to_end(pipeline)
    means = []
    for i in range(count):
        stats = pipeline.get_by_name(f"c{i}").get_property("stats")
        means.append(stats.get_value("mean-inference-time") / 1e6)
    pipeline.set_state(Gst.State.NULL)
    return count * FRAMES / took, sum(means) / len(means)


def main():
    Gst.init(None)
    server = sys.argv[1] if len(sys.argv) > 1 else "grpc://127.0.0.1:8001"
    print("pipelines | in process: fps, ms/inference | Triton: fps, ms/inference")
    for count in (1, 2, 4, 8):
        local = run(count, None)
        remote = run(count, server)
        print(f"{count} | {local[0]:.1f}, {local[1]:.1f} | {remote[0]:.1f}, {remote[1]:.1f}")


if __name__ == "__main__":
    main()
