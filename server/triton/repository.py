#!/usr/bin/env python3
"""Writes a Triton model repository for imgclassify's built-in models.

  repository.py OUT --models DIR [--variant python|onnxruntime] [--name mobilenet ...] [--check]

--variant python (default): for the Triton binary inside the PyPI package nvidia-pytriton,
    which has only the Python backend: model.py runs the ONNX file with onnxruntime on CPU.
    Needs the interpreter of a venv holding numpy and onnxruntime (deps/triton-venv).
--variant onnxruntime: for production Triton (NGC image): the onnxruntime backend, GPU
    instances, TensorRT acceleration where the server has it.

Both batch dynamically across streams: requests from several pipelines that arrive
together run as one batch. Input and output shapes come from the models' own
imgclassify.* metadata, so they match what the element sends.

--check parses each config.pbtxt written with Triton's own ModelConfig message (from the
package tritonclient, which nvidia-pytriton installs) and checks its input and output
against the model file: a repository for a Triton this machine cannot run (the NGC
image) is at least well-formed and consistent with its models.
"""
import argparse
import os
import shutil
import sys
import sysconfig

import onnxruntime

HERE = os.path.dirname(os.path.abspath(__file__))
BUILT_IN = ["mobilenet", "efficientnet", "efficientnet-lite1", "efficientnet-lite2"]
# Frames per batch at most; a batch of 8 at 224x224 FP32 is 4.8 MB, over the 4 MiB
# limit of some clients, which the element splits.
MAX_BATCH = 8


def shapes(path):
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    size = int(meta.get("imgclassify.input_size", "224"))
    layout = meta.get("imgclassify.layout", "nchw").lower()
    # The first output is the class scores (the built-in models' second output, the
    # embedding, is not served: the element reads only the scores from a server).
    inp, out = session.get_inputs()[0], session.get_outputs()[0]
    dims = [3, size, size] if layout == "nchw" else [size, size, 3]
    types = {"tensor(float)": "TYPE_FP32", "tensor(float16)": "TYPE_FP16", "tensor(uint8)": "TYPE_UINT8"}
    return inp.name, types[inp.type], dims, out.name, out.shape[-1]


def config(name, path, variant):
    inp, dtype, dims, out, classes = shapes(path)
    lines = [f'name: "{name}"']
    if variant == "python":
        lines.append('backend: "python"')
    else:
        lines.append('platform: "onnxruntime_onnx"')
    lines += [
        f"max_batch_size: {MAX_BATCH}",
        f'input [{{ name: "{inp}" data_type: {dtype} dims: {dims} }}]',
        f'output [{{ name: "{out}" data_type: TYPE_FP32 dims: [{classes}] }}]',
        # A few ms of waiting buys batches across streams.
        "dynamic_batching { max_queue_delay_microseconds: 2000 }",
    ]
    if variant == "python":
        site = sysconfig.get_paths()["purelib"]
        lines += [
            "instance_group [{ kind: KIND_CPU count: 1 }]",
            f'parameters: {{ key: "onnx_file" value: {{ string_value: "{path}" }} }}',
            f'parameters: {{ key: "site_packages" value: {{ string_value: "{site}" }} }}',
        ]
    else:
        lines += [
            "instance_group [{ kind: KIND_GPU count: 2 }]",
            "optimization { execution_accelerators { gpu_execution_accelerator: ["
            ' { name: "tensorrt" parameters { key: "precision_mode" value: "FP16" } } ] } }',
        ]
    return "\n".join(lines) + "\n"


def check(folder, name, variant):
    """Raises SystemExit naming what is wrong with one model's entry."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    def fail(why):
        sys.exit(f"repository.py --check: {folder}/{name}: {why}")

    with open(os.path.join(folder, name, "config.pbtxt")) as f:
        try:
            cfg = text_format.Parse(f.read(), model_config_pb2.ModelConfig())
        except text_format.ParseError as e:
            fail(f"config.pbtxt is not a Triton ModelConfig: {e}")
    if cfg.name != name:
        fail(f"config names '{cfg.name}'")
    version = os.path.join(folder, name, "1")
    if variant == "python":
        if cfg.backend != "python" or not os.path.exists(os.path.join(version, "model.py")):
            fail("no python backend with 1/model.py")
        onnx = dict((p, v.string_value) for p, v in cfg.parameters.items())["onnx_file"]
    else:
        if cfg.platform != "onnxruntime_onnx":
            fail(f"platform '{cfg.platform}'")
        onnx = os.path.join(version, "model.onnx")
    session = onnxruntime.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    types = {"tensor(float)": "TYPE_FP32", "tensor(float16)": "TYPE_FP16", "tensor(uint8)": "TYPE_UINT8"}
    (inp,) = cfg.input
    model_inputs = {i.name: i for i in session.get_inputs()}
    if inp.name not in model_inputs:
        fail(f"input '{inp.name}' is not the model's ({', '.join(model_inputs)})")
    m = model_inputs[inp.name]
    if model_config_pb2.DataType.Name(inp.data_type) != types[m.type]:
        fail(f"input type {model_config_pb2.DataType.Name(inp.data_type)}, the model's {m.type}")
    if any(isinstance(d, int) and d != c for d, c in zip(m.shape[1:], inp.dims)):
        fail(f"input dims {list(inp.dims)}, the model's {m.shape}")
    model_outputs = {o.name: o for o in session.get_outputs()}
    for out in cfg.output:
        if out.name not in model_outputs:
            fail(f"output '{out.name}' is not the model's ({', '.join(model_outputs)})")
        if list(out.dims) != [model_outputs[out.name].shape[-1]]:
            fail(f"output dims {list(out.dims)}, the model's {model_outputs[out.name].shape}")
    if cfg.max_batch_size < 1 or not cfg.HasField("dynamic_batching"):
        fail("no dynamic batching")
    print(
        f"{folder}/{name}: ModelConfig ok ({cfg.platform or cfg.backend}, "
        f"{model_config_pb2.ModelInstanceGroup.Kind.Name(cfg.instance_group[0].kind)} x "
        f"{cfg.instance_group[0].count}, max_batch_size {cfg.max_batch_size}, "
        f"{inp.name} {list(inp.dims)} -> {cfg.output[0].name} {list(cfg.output[0].dims)})"
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--models", required=True, help="folder of the built-in .onnx files")
    p.add_argument("--variant", choices=["python", "onnxruntime"], default="python")
    p.add_argument("--name", action="append", help="model to include (default: all installed)")
    p.add_argument("--check", action="store_true", help="check what was written (see above)")
    args = p.parse_args()
    names = args.name or [n for n in BUILT_IN if os.path.exists(os.path.join(args.models, n + ".onnx"))]
    for name in names:
        src = os.path.abspath(os.path.join(args.models, name + ".onnx"))
        if not os.path.exists(src):
            sys.exit(f"repository.py: {src} not found (scripts/setup.sh builds the models)")
        version = os.path.join(args.out, name, "1")
        os.makedirs(version, exist_ok=True)
        with open(os.path.join(args.out, name, "config.pbtxt"), "w") as f:
            f.write(config(name, src, args.variant))
        if args.variant == "python":
            shutil.copy(os.path.join(HERE, "pytriton", "model.py"), version)
        else:
            shutil.copy(src, os.path.join(version, "model.onnx"))
        print(f"{args.out}/{name} ({args.variant})")
        if args.check:
            check(args.out, name, args.variant)


if __name__ == "__main__":
    main()
