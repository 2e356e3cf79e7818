"""Checks models/set_metadata.py on the built-in models: strip their metadata, write it back.

Run: deps/venv/bin/python tests/data/models/metadata_roundtrip.py [MODELS_DIR]
(MODELS_DIR defaults to deps/models; needs onnx, onnxruntime, numpy, Pillow.)

For `efficientnet` and `mobilenet`: copies the model without its imgclassify.* keys
(set_metadata.py --clear), writes them back with set_metadata.py from the command line
a user would type (mean/std in 0..255 pixel units), then checks with onnxruntime's
metadata reader that the result means the same as the original (same labels, colour
order, layout, sizes, output kind, embedding output, and per channel the same (pixel*scale-mean)/std up
to float rounding), and that both classify tests/data/coffee.png identically when
preprocessed as their own metadata says. Exit status 0 when all agree.
"""

import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / "models" / "set_metadata.py"
OPTIONS = {
    "efficientnet": ["--name", "efficientnet", "--description", "EfficientNet-Lite0",
                     "--input-size", "224", "--color-order", "rgb", "--layout", "NCHW",
                     "--mean", "127", "--std", "128", "--crop-fraction", "0.875",
                     "--output", "logits", "--embedding", "embedding"],
    "mobilenet": ["--name", "mobilenet", "--description",
                  "MobileNetV2 1.0 (torchvision IMAGENET1K_V1)", "--input-size", "224",
                  "--color-order", "rgb", "--layout", "NCHW",
                  "--mean", "123.675,116.28,103.53", "--std", "58.395,57.12,57.375",
                  "--crop-fraction", "0.875", "--output", "logits",
                  "--embedding", "embedding"],
}


def metadata(path):
    """imgclassify.* as onnxruntime reads them."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    found = session.get_modelmeta().custom_metadata_map
    return session, {k: v for k, v in found.items() if k.startswith("imgclassify.")}


def meaning(meta):
    """What the element does with the keys: value = pixel * gain - offset per channel."""
    three = lambda text: np.resize(np.array(text.split(","), dtype=np.float64), 3)
    scale = float(meta.get("imgclassify.scale", "1"))
    mean, std = three(meta["imgclassify.mean"]), three(meta["imgclassify.std"])
    labels = meta["imgclassify.labels"].removesuffix("\n").split("\n")
    plain = {k: meta[k].upper() for k in ("imgclassify.color_order", "imgclassify.layout")}
    plain |= {k: meta[k] for k in ("imgclassify.name", "imgclassify.input_size",
                                   "imgclassify.output", "imgclassify.description",
                                   "imgclassify.embedding")}
    plain["crop"] = float(meta["imgclassify.crop_fraction"])
    return plain, labels, scale / std, mean / std


def classify(session, meta, photo):
    """The reference preprocessing of models/README.md, driven by the metadata."""
    size, crop = int(meta["imgclassify.input_size"]), float(meta["imgclassify.crop_fraction"])
    _, _, gain, offset = meaning(meta)
    image = Image.open(photo).convert("RGB")
    short = round(size / crop)
    w, h = image.size
    new = (short, round(h * short / w)) if w <= h else (round(w * short / h), short)
    image = image.resize(new, Image.BILINEAR)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    pixels = np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.float64)
    x = (pixels * gain - offset).astype(np.float32).transpose(2, 0, 1)[None]
    logits = session.run(None, {session.get_inputs()[0].name: x})[0][0]
    e = np.exp(logits - logits.max())
    return e / e.sum()


def main():
    models = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "deps" / "models"
    photo = ROOT / "tests" / "data" / "coffee.png"
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in OPTIONS.items():
            original = models / f"{name}.onnx"
            bare, back = Path(tmp) / "bare.onnx", Path(tmp) / f"{name}.onnx"
            labels = Path(tmp) / "labels.txt"
            _, old = metadata(original)
            labels.write_text(old["imgclassify.labels"], encoding="utf-8")
            for argv in ([original, "--clear", "--out", bare],
                         [bare, "--labels", labels, *options, "--out", back]):
                command = [sys.executable, str(TOOL), *map(str, argv)]
                print("$", shlex.join(command))
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            _, stripped = metadata(bare)
            session, new = metadata(back)
            a, b = meaning(old), meaning(new)
            same = (not stripped and a[:2] == b[:2]
                    and np.allclose(a[2], b[2], rtol=1e-6) and np.allclose(a[3], b[3], rtol=1e-6))
            p_old = classify(metadata(original)[0], old, photo)
            p_new = classify(session, new, photo)
            top = int(p_new.argmax())
            diff = float(np.abs(p_old - p_new).max())
            print(f"{name}: metadata {'same meaning' if same else 'DIFFERENT'}; "
                  f"coffee.png top-1 {a[1][top]} {p_new[top]:.3f} "
                  f"(original {a[1][int(p_old.argmax())]} {p_old.max():.3f}, "
                  f"largest probability difference {diff:.1e})")
            ok &= same and top == int(p_old.argmax()) and diff < 1e-4
    print("round trip: ok" if ok else "round trip: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
