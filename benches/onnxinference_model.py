#!/usr/bin/env python3
"""A copy of an ONNX model that GStreamer 1.26's `onnxinference` accepts: that element
refuses a model unless its metadata maps every output name to a tensor id ("Failed to
look up id for key ..."). Adds `<output name>: imgclassify.<output name>` for each
output; graph and weights stay as they are. Run by examples/decode_bench/ with
deps/venv's Python (it needs the `onnx` package):

    deps/venv/bin/python benches/onnxinference_model.py deps/models/mobilenet.onnx OUT.onnx
"""

import sys

import onnx


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    model = onnx.load(sys.argv[1])
    have = {p.key for p in model.metadata_props}
    for output in model.graph.output:
        if output.name not in have:
            entry = model.metadata_props.add()
            entry.key = output.name
            entry.value = f"imgclassify.{output.name}"
    onnx.save(model, sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
