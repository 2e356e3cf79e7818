#!/usr/bin/python3
"""Many streams in one PyGObject application against the same streams as separate
processes: classified frames per second, summed over the streams.

Each stream is the pipeline a user writes: a 720p NV12 source, `imgclassify threads=1`,
and the results read in Python, either from the bus (`post-messages=true`, one watch per
pipeline on the GLib main loop) or from an appsink pulled in a Python thread. Both
mechanisms run in fresh processes, one after the other, A B A B, so a change in the
machine's load hits them alike:

    GST_PLUGIN_PATH=target/release /usr/bin/python3 benches/streams_pygobject.py \\
        --streams 2,4 --rounds 3 --seconds 5 --reader bus

Prints one line per stream count: the rates of each round and the median ratio of one
process to N processes (1.0 = one process is as fast).
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GLib", "2.0")
from gi.repository import GLib, Gst  # noqa: E402

SOURCES = {
    # a still image: the source costs nothing, the element is all the work
    "imagefreeze": "videotestsrc num-buffers=1 pattern={i} ! "
    "video/x-raw,format=NV12,width=1280,height=720 ! imagefreeze",
    # a new test frame each time, as most test pipelines are written
    "videotestsrc": "videotestsrc pattern={i} ! video/x-raw,format=NV12,width=1280,height=720",
}


def describe(i, a):
    sink = ("appsink name=out max-buffers=4 drop=false sync=false emit-signals=false"
            if a.reader == "appsink" else "fakesink sync=false")
    return (f"{SOURCES[a.source].format(i=i % 20)} ! imgclassify name=c threads=1 "
            f"model={a.model} post-messages={'true' if a.reader == 'bus' else 'false'} "
            f"{a.props} ! {sink}")


def classified(pipeline):
    stats = pipeline.get_by_name("c").get_property("stats")
    ok, n = stats.get_uint64("frames-classified")
    return n if ok else 0


def run_streams(n, a):
    """Runs n pipelines in this process; returns frames per second summed."""
    Gst.init(None)
    loop = GLib.MainLoop()
    pipelines = [Gst.parse_launch(describe(i, a)) for i in range(n)]
    results = [0] * n
    stop = threading.Event()
    pullers = []
    for k, p in enumerate(pipelines):
        bus = p.get_bus()
        bus.add_signal_watch()

        def on_message(_bus, msg, k=k):
            if msg.type == Gst.MessageType.ELEMENT and msg.get_structure().get_name() == "imgclassify":
                results[k] += 1
            elif msg.type == Gst.MessageType.ERROR:
                err, _ = msg.parse_error()
                print(f"error: {err.message}", file=sys.stderr)
                loop.quit()

        bus.connect("message", on_message)
        if a.reader == "appsink":
            sink = p.get_by_name("out")

            def pull(sink=sink, k=k):
                while not stop.is_set():
                    sample = sink.try_pull_sample(Gst.SECOND // 10)
                    if sample is not None:
                        results[k] += 1

            pullers.append(threading.Thread(target=pull, daemon=True))
    for p in pipelines:
        p.set_state(Gst.State.PLAYING)
    for t in pullers:
        t.start()
    measured = {}

    def start():
        measured["before"] = [classified(p) for p in pipelines]
        measured["t0"] = time.monotonic()
        GLib.timeout_add(int(a.seconds * 1000), finish)
        return False

    def finish():
        measured["after"] = [classified(p) for p in pipelines]
        measured["t1"] = time.monotonic()
        loop.quit()
        return False

    GLib.timeout_add(int(a.warmup * 1000), start)
    loop.run()
    stop.set()
    for p in pipelines:
        p.set_state(Gst.State.NULL)
    took = measured["t1"] - measured["t0"]
    return sum(b - a_ for a_, b in zip(measured["before"], measured["after"])) / took


def child(n, a):
    args = [sys.executable, os.path.abspath(__file__), "--child", str(n),
            "--seconds", str(a.seconds), "--warmup", str(a.warmup), "--source", a.source,
            "--reader", a.reader, "--model", a.model, "--props", a.props]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def rate(procs):
    total = 0.0
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a child failed (exit {p.returncode})")
        total += float(out.strip().splitlines()[-1])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", default="2,4")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--source", choices=sorted(SOURCES), default="imagefreeze")
    ap.add_argument("--reader", choices=["bus", "appsink", "none"], default="bus")
    ap.add_argument("--model", default="mobilenet")
    ap.add_argument("--props", default="", help="more imgclassify properties")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(run_streams(a.child, a), flush=True)
        return
    print(f"source={a.source} reader={a.reader} model={a.model} props='{a.props}' "
          f"loadavg={os.getloadavg()[0]:.2f}")
    for n in [int(x) for x in a.streams.split(",")]:
        one, many = [], []
        for _ in range(a.rounds):
            one.append(rate([child(n, a)]))
            many.append(rate([child(1, a) for _ in range(n)]))
        ratios = [o / m for o, m in zip(one, many)]
        print(f"streams={n} one-process={','.join(f'{x:.1f}' for x in one)} fps "
              f"processes={','.join(f'{x:.1f}' for x in many)} fps "
              f"ratio median={statistics.median(ratios):.2f} "
              f"min={min(ratios):.2f} max={max(ratios):.2f}", flush=True)


if __name__ == "__main__":
    main()
