#!/usr/bin/env python3
"""The job imgclassify does, written the way a Python user would: OpenCV and the
onnxruntime package. Run by examples/pipeline_bench.rs once per round; usable alone:

    deps/venv/bin/python benches/opencv_loop.py --frame FRAME.nv12 --width 1920 \
        --height 1080 --model deps/models/mobilenet.onnx [--threads 0] [--frames 100]

FRAME is one raw NV12 frame, tightly packed (Y plane, then interleaved UV). Prints one
JSON line: the mean time per frame over --frames frames after --warmup frames, so the
interpreter start, the imports and the session load are not counted.
"""

import argparse
import json
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort


def session(model, threads):
    options = ort.SessionOptions()
    # As the plugin's CPU session (src/engine/session.rs, and the ort crate under it):
    # intra-op threads (0 = ONNX Runtime's default), no spinning (the plugin's
    # `spinning=off`, where `spinning=auto` starts), the provider chosen
    # by the MAX_EFFICIENCY device policy (the CPU here); graph optimisation and
    # execution mode are ONNX Runtime's defaults on both sides.
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.set_provider_selection_policy(ort.OrtExecutionProviderDevicePolicy.MAX_EFFICIENCY)
    return ort.InferenceSession(model, options)


def normalisation(sess):
    """(pixel * scale - mean) / std and the crop, from the model's metadata as the
    plugin reads them, so both sides feed the network the same numbers."""
    meta = sess.get_modelmeta().custom_metadata_map
    size = int(meta["imgclassify.input_size"])
    crop = float(meta.get("imgclassify.crop_fraction", "1"))
    scale = float(meta.get("imgclassify.scale", "1"))
    mean = np.array([float(v) for v in meta["imgclassify.mean"].split(",")], np.float32)
    std = np.array([float(v) for v in meta["imgclassify.std"].split(",")], np.float32)
    labels = meta.get("imgclassify.labels", "").split("\n")
    # Folded into one multiply-add per value, as a careful user would.
    a = (np.float32(scale) / std).astype(np.float32)
    b = (-mean / std).astype(np.float32)
    return size, crop, a, b, labels


def classify(nv12, sess, input_name, size, crop, a, b):
    rgb = cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12)
    h, w = rgb.shape[:2]
    short = int(round(size / crop))
    if w <= h:
        new_w, new_h = short, int(round(h * short / w))
    else:
        new_w, new_h = int(round(w * short / h)), short
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    square = resized[top : top + size, left : left + size]
    x = square.astype(np.float32) * a + b
    x = np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis])
    logits = sess.run(None, {input_name: x})[0][0]
    e = np.exp(logits - logits.max())
    p = e / e.sum()
    top5 = np.argpartition(p, -5)[-5:]
    return top5[np.argsort(p[top5])[::-1]], p


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frame", required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    if args.frames < 1 or args.warmup < 0:
        parser.error("--frames must be at least 1 and --warmup at least 0")

    raw = np.fromfile(args.frame, dtype=np.uint8)
    expected = args.width * args.height * 3 // 2
    if raw.size != expected:
        sys.exit(f"{args.frame}: {raw.size} bytes, an NV12 frame of "
                 f"{args.width}x{args.height} has {expected}")
    nv12 = raw.reshape(args.height * 3 // 2, args.width)

    sess = session(args.model, args.threads)
    input_name = sess.get_inputs()[0].name
    size, crop, a, b, labels = normalisation(sess)

    for _ in range(args.warmup):
        classify(nv12, sess, input_name, size, crop, a, b)
    start = time.perf_counter()
    for _ in range(args.frames):
        top5, p = classify(nv12, sess, input_name, size, crop, a, b)
    elapsed = time.perf_counter() - start

    print(json.dumps({
        "ms_per_frame": elapsed * 1e3 / max(args.frames, 1),
        "frames": args.frames,
        "top1": labels[top5[0]] if top5[0] < len(labels) else str(top5[0]),
        "score": float(p[top5[0]]),
        "onnxruntime": ort.__version__,
        "opencv": cv2.__version__,
    }))


if __name__ == "__main__":
    main()
