"""Exports a PyTorch image classifier to one self-contained ONNX file for imgclassify.

    python models/export_torch.py MODULE:FACTORY OUT.onnx [--state-dict FILE.pth]
        [--input-size 224] [--fixed-batch]

MODULE:FACTORY names a function that returns the torch.nn.Module, e.g.
``torchvision.models:mobilenet_v2`` or ``my_training.model:build`` (the current folder
is on the import path). ``--state-dict`` loads trained weights into it (``torch.save(
model.state_dict(), ...)``'s file; loaded with ``weights_only=True``).

The export writes the weights into OUT itself (``external_data=False``): PyTorch's
default puts them in a second file, OUT.data, which is easily left behind when the
model is copied. It keeps the exporter's own opset (20 with torch 2.15); asking for
opset 17 makes the exporter print an alarming conversion traceback although it succeeds. Afterwards the ONNX model
is run in onnxruntime beside PyTorch on the same random input, and the largest
difference is printed: a failed export stops here, not in a pipeline.

Then add what imgclassify needs to know (labels, normalisation) with set_metadata.py:
docs/custom-models.md#pytorch.
"""

import argparse
import importlib
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import torch


def build(spec):
    module, sep, factory = spec.partition(":")
    if not sep or not module or not factory:
        sys.exit(f"export_torch.py: '{spec}' is not MODULE:FACTORY (e.g. torchvision.models:mobilenet_v2)")
    sys.path.insert(0, str(Path.cwd()))
    return getattr(importlib.import_module(module), factory)()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="MODULE:FACTORY returning the torch.nn.Module")
    p.add_argument("out", type=Path, help="the .onnx file to write")
    p.add_argument("--state-dict", type=Path, help="trained weights to load into the model")
    p.add_argument("--input-size", type=int, default=224, help="the side the model was trained at")
    p.add_argument("--fixed-batch", action="store_true",
                   help="batch size 1 only (default: any batch size, so imgclassify can batch zones and regions)")
    args = p.parse_args()

    model = build(args.model)
    if args.state_dict:
        model.load_state_dict(torch.load(args.state_dict, map_location="cpu", weights_only=True))
    model.eval()  # batch norm and dropout in inference mode

    example = torch.rand(2, 3, args.input_size, args.input_size)
    torch.onnx.export(
        model, (example,), str(args.out),
        input_names=["input"], output_names=["logits"],
        dynamic_shapes=None if args.fixed_batch else ({0: torch.export.Dim("batch")},),
        external_data=False,  # one file: the weights inside the model
    )
    left = args.out.with_name(args.out.name + ".data")
    if left.exists():
        sys.exit(f"export_torch.py: the exporter wrote {left} beside {args.out}; imgclassify needs one file")

    batch = example[:1] if args.fixed_batch else example
    with torch.no_grad():
        expected = model(batch).numpy()
    session = onnxruntime.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": batch.numpy()})[0]
    diff = float(np.abs(got - expected).max())
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB, one file; "
          f"largest difference from PyTorch on a random input: {diff:.2e}")
    if diff > 1e-3:
        sys.exit("export_torch.py: the ONNX model does not compute what the PyTorch model does")


if __name__ == "__main__":
    main()
