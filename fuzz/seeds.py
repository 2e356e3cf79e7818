#!/usr/bin/env python3
"""Writes the committed seed corpora, fuzz/corpus/<target>/, in the input layouts the
fuzz targets document at their top. Run it again after changing a layout. Files it
does not write (crash inputs saved as they were found) are left alone."""

import base64
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# PixelFormat::ALL, in order.
FORMATS = ["NV12", "I420", "YUY2", "RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx",
           "xRGB", "xBGR", "ARGB", "ABGR", "GRAY8", "NV21", "UYVY", "YVYU", "Y42B", "Y444",
           "I420_10LE", "P010_10LE", "Y444_10LE", "YV12"]
CENTER_CROP, STRETCH, LETTERBOX = 0, 1, 2
NHWC, BGR, REGION = 4, 8, 16
BT709, BT2020, FULL_RANGE = 32, 64, 128
IMAGENET, EFFICIENTNET, IDENTITY = 0, 1, 2
PADDED, SHORT, NARROW, MISSING, RERUN, GREY = 1 << 2, 2 << 2, 3 << 2, 4 << 2, 32, 64


def gradient(n):
    return bytes((i * 37 + (i >> 5) * 11) & 0xFF for i in range(n))


def side(value, low, small):
    """The u16 the preprocess target's `side` reads back as `value`."""
    return value - low if value <= small else 0x8000 | (value - low)


def frame(fmt, w, h, flags=CENTER_CROP, options=IMAGENET, padding=0, crop=7,
          tw=224, th=224, region=None, pixels=None):
    head = struct.pack("<BBBHHBBHH", FORMATS.index(fmt), flags | (REGION if region else 0),
                       options, side(w, 0, 64), side(h, 0, 64), padding, crop,
                       side(tw, 1, 32), side(th, 1, 32))
    if region:
        head += struct.pack("<4q", *region)
    return head + (gradient(97) if pixels is None else pixels)


def preprocess_seeds():
    seeds = {}
    for fmt in FORMATS:
        seeds[f"{fmt.lower()}-6x4"] = frame(fmt, 6, 4, padding=2, tw=8, th=8)
    seeds["y42b-odd-7x5-letterbox"] = frame("Y42B", 7, 5, LETTERBOX | BT709, tw=5, th=3)
    seeds["uyvy-3x2-stretch-nhwc"] = frame("UYVY", 3, 2, STRETCH | NHWC, padding=3, tw=4, th=4)
    seeds["p010-4095x1-letterbox"] = frame("P010_10LE", 4095, 1, LETTERBOX, tw=224, th=224)
    seeds["i420-10le-odd-33x17-full-range"] = frame("I420_10LE", 33, 17, BT2020 | FULL_RANGE,
                                                    options=PADDED, padding=7, tw=24, th=24)
    seeds["y444-10le-plane-missing"] = frame("Y444_10LE", 8, 8, options=MISSING)
    seeds["nv12-odd-7x5-letterbox"] = frame("NV12", 7, 5, LETTERBOX | BT709, tw=5, th=3)
    seeds["i420-9x3-stretch-nhwc-bgr"] = frame("I420", 9, 3, STRETCH | NHWC | BGR, EFFICIENTNET,
                                               padding=5, tw=4, th=6)
    seeds["yuy2-full-range-bt2020"] = frame("YUY2", 5, 5, BT2020 | FULL_RANGE, IDENTITY, tw=3, th=3)
    seeds["rgb-4095x1-letterbox"] = frame("RGB", 4095, 1, LETTERBOX, tw=224, th=224)
    seeds["gray8-1x4095-centercrop"] = frame("GRAY8", 1, 4095, CENTER_CROP, tw=224, th=224)
    seeds["nv12-grey-33x17-letterbox"] = frame("NV12", 33, 17, LETTERBOX, IMAGENET | GREY,
                                               tw=24, th=24)
    seeds["bgrx-grey-9x3-nhwc"] = frame("BGRx", 9, 3, STRETCH | NHWC, IDENTITY | GREY, tw=4, th=4)
    seeds["rgba-1x1-upscale"] = frame("RGBA", 1, 1, STRETCH, tw=300, th=300, pixels=b"\xff\x00\x80\x00")
    seeds["bgrx-320x240-region"] = frame("BGRx", 320, 240, CENTER_CROP | BGR, RERUN,
                                         tw=224, th=224, region=(40, 30, 100, 80))
    seeds["nv12-region-outside"] = frame("NV12", 16, 16, STRETCH, RERUN, tw=8, th=8,
                                         region=(-50, -50, 60, 60))
    seeds["nv12-region-huge"] = frame("NV12", 16, 16, LETTERBOX, tw=8, th=8,
                                      region=(-(2**63), 3, 2**63 - 1, 2**63 - 1))
    seeds["crop-nan"] = frame("RGB", 10, 10, crop=1, tw=7, th=9)
    seeds["crop-tiny"] = frame("RGB", 10, 10, crop=4, tw=7, th=9)
    seeds["plane-short"] = frame("I420", 8, 8, options=SHORT)
    seeds["stride-narrow"] = frame("NV12", 8, 8, options=NARROW)
    seeds["plane-missing"] = frame("I420", 8, 8, options=MISSING)
    seeds["padded-last-row"] = frame("YUY2", 7, 3, options=PADDED, padding=9)
    seeds["empty-frame"] = frame("RGB", 0, 4)
    return seeds


# What models/convert.py writes into the built-in models, labels shortened.
LABELS = "tench\ngoldfish\ngreat white shark\ntiger shark\nhammerhead"
BUILT_IN = {
    "mobilenet": ("MobileNetV2 1.0 (torchvision IMAGENET1K_V1)", 224,
                  "0.00392156862745098", "0.485,0.456,0.406", "0.229,0.224,0.225"),
    "efficientnet": ("EfficientNet-Lite0", 224, "1", "127,127,127", "128,128,128"),
    "efficientnet-lite1": ("EfficientNet-Lite1", 240, "1", "127,127,127", "128,128,128"),
    "efficientnet-lite2": ("EfficientNet-Lite2", 260, "1", "127,127,127", "128,128,128"),
}


def dims(values):
    out = b""
    for v in values:
        out += bytes([v + 2]) if -2 <= v <= 248 else b"\xfb" + struct.pack("<q", v)
    return out


def metadata(inputs, outputs, entries):
    head = bytes([(len(inputs) % 6) | ((len(outputs) % 5) << 4)]) + dims(inputs) + dims(outputs)
    return head + "\0".join(f"{k}={v}" for k, v in entries).encode()


def model_metadata_seeds():
    seeds = {}
    for name, (description, size, scale, mean, std) in BUILT_IN.items():
        seeds[name] = metadata([-1, 3, -1, -1], [-1, 1000], [
            ("imgclassify.format_version", "1"),
            ("imgclassify.name", name),
            ("imgclassify.description", description),
            ("imgclassify.input_size", str(size)),
            ("imgclassify.color_order", "RGB"),
            ("imgclassify.layout", "NCHW"),
            ("imgclassify.scale", scale),
            ("imgclassify.mean", mean),
            ("imgclassify.std", std),
            ("imgclassify.crop_fraction", "0.875"),
            ("imgclassify.output", "logits"),
            ("imgclassify.embedding", "embedding"),
            ("imgclassify.labels", LABELS + "\n"),
            ("imgclassify.source", f"{name} weights"),
            ("imgclassify.license", "Apache-2.0"),
        ])
    seeds["no-metadata-nhwc"] = metadata([1, 192, 160, 3], [1, 10], [("producer", "pytorch")])
    seeds["nhwc-3x3-layout"] = metadata([1, 3, 3, 3], [1, 2], [("imgclassify.layout", "nhwc")])
    seeds["bgr-probabilities"] = metadata([1, 3, 96, 128], [1, 5, 1, 1], [
        ("imgclassify.color_order", "bgr"),
        ("imgclassify.output", "probabilities"),
        ("imgclassify.labels", "a\r\nb\r\n\r\nd"),
    ])
    seeds["bad-std"] = metadata([1, 3, 8, 8], [4], [("imgclassify.std", "1,NaN,1")])
    seeds["bad-crop"] = metadata([1, 3, 8, 8], [4], [("imgclassify.crop_fraction", "1.5")])
    seeds["long-utf8-value"] = metadata([1, 3, 8, 8], [4], [("imgclassify.input_size", "é" * 70)])
    seeds["not-an-image"] = metadata([1, 10], [1, 2], [])
    seeds["bad-output"] = metadata([1, 3, 8, 8], [1, -1], [])
    seeds["fixed-side-too-large"] = metadata([1, 3, 8193, 8193], [1, 2], [])
    seeds["fixed-side-i64-max"] = metadata([1, 3, 2**63 - 1, 2**63 - 1], [1, 2], [])
    # Found by the fuzzer: a fixed 8193x8193 input was accepted (fixed in model_spec).
    seeds["crash-a0d3ca5aebd5cffe36fed9a0c608ed9e3969043c"] = base64.b64decode(
        "JAMF/////////38FBQMEaW1nY2xhc3NpZnkuBAQEBAQEBAQEBAQEBAQEbGF5b3WHPW5od2M=")
    return seeds


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("preprocess", preprocess_seeds())
    write("model_metadata", model_metadata_seeds())
