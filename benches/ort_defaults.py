#!/usr/bin/env python3
"""Bare ONNX Runtime as a Python user gets it: `onnxruntime.InferenceSession(model)`
with no options at all (ONNX Runtime's own thread count and spinning), run on a tensor
the plugin preprocessed. Run by examples/pipeline_bench.rs once per round; usable alone:

    deps/venv/bin/python benches/ort_defaults.py --tensor TENSOR.f32 \
        --model deps/models/mobilenet.onnx [--frames 100] [--warmup 10]

TENSOR is the model's input for one image, float32 in native byte order. Prints one
JSON line: the mean time per `session.run` over --frames runs after --warmup runs.
"""

import argparse
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tensor", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    if args.frames < 1 or args.warmup < 0:
        parser.error("--frames must be at least 1 and --warmup at least 0")

    sess = ort.InferenceSession(args.model)
    model_input = sess.get_inputs()[0]
    meta = sess.get_modelmeta().custom_metadata_map
    # Height and width may be dynamic: the model's input size from its metadata.
    size = int(meta.get("imgclassify.input_size", "224"))
    dims = model_input.shape
    shape = [d if isinstance(d, int) and d > 0 else (1 if i == 0 else size)
             for i, d in enumerate(dims)]
    x = np.fromfile(args.tensor, dtype=np.float32)
    if x.size != int(np.prod(shape)):
        sys.exit(f"{args.tensor}: {x.size} values, input {model_input.name} {shape} "
                 f"takes {int(np.prod(shape))}")
    feed = {model_input.name: x.reshape(shape)}

    for _ in range(args.warmup):
        sess.run(None, feed)
    start = time.perf_counter()
    for _ in range(args.frames):
        scores = sess.run(None, feed)[0][0]
    elapsed = time.perf_counter() - start

    labels = meta.get("imgclassify.labels", "").split("\n")
    best = int(np.argmax(scores))
    print(json.dumps({
        "ms_per_frame": elapsed * 1e3 / args.frames,
        "top1": labels[best] if best < len(labels) else str(best),
        "onnxruntime": ort.__version__,
    }))


if __name__ == "__main__":
    main()
