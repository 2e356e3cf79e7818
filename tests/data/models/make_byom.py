"""Wraps the built-in MobileNetV2 into the kinds of models users bring: other input and
output element types, other output shapes, several outputs, no normalisation metadata,
BGR input, and multi-label attribute heads.

The tests run it into a temporary folder (the models are 14 MB each, so they are not
committed):  deps/venv/bin/python tests/data/models/make_byom.py deps/models/mobilenet.onnx OUT
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 3, 1, 1)

# ImageNet classes grouped into independent attributes.
ATTRIBUTES = {
    "cat": [281, 282, 283, 284, 285],
    "drink": [504, 967, 968],
    "vehicle": [665, 670, 671],
}


def dims(*names):
    return list(names)


def wrap(base, name, raw_input, prefix, suffix, outputs, keep_meta, extra_meta=None, inits=()):
    """A copy of `base` whose graph input is `raw_input`, fed to the original input
    'input' by `prefix` nodes, and whose outputs are `outputs`, computed from the original
    'logits' by `suffix` nodes."""
    model = onnx.ModelProto()
    model.CopyFrom(base)
    graph = model.graph
    nodes = list(prefix) + list(graph.node) + list(suffix)
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.input[:]
    graph.input.append(raw_input)
    del graph.output[:]
    graph.output.extend(outputs)
    graph.initializer.extend(inits)
    kept = [(p.key, p.value) for p in model.metadata_props if p.key in keep_meta]
    del model.metadata_props[:]
    for key, value in kept + list((extra_meta or {}).items()):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    entry = model.metadata_props.add()
    entry.key, entry.value = "imgclassify.name", name
    onnx.checker.check_model(model)
    return model


def main():
    base = onnx.load(sys.argv[1])
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    everything = {p.key for p in base.metadata_props} - {"imgclassify.name"}
    no_normalisation = {"imgclassify.labels", "imgclassify.input_size", "imgclassify.crop_fraction"}
    image = helper.make_tensor_value_info("input", TensorProto.FLOAT, dims("batch", 3, "height", "width"))
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, dims("batch", 1000))
    mean = numpy_helper.from_array(MEAN, "wrap_mean")
    std = numpy_helper.from_array(STD, "wrap_std")
    k255 = numpy_helper.from_array(np.array(255.0, dtype=np.float32), "wrap_255")

    def save(model, file):
        onnx.save(model, out / file)

    # uint8 NHWC, normalising inside, as TFLite-derived and tf2onnx exports do.
    raw = helper.make_tensor_value_info("pixels", TensorProto.UINT8, dims("batch", "height", "width", 3))
    prefix = [
        helper.make_node("Cast", ["pixels"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["f"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Div", ["nchw", "wrap_255"], ["unit"]),
        helper.make_node("Sub", ["unit", "wrap_mean"], ["centred"]),
        helper.make_node("Div", ["centred", "wrap_std"], ["input"]),
    ]
    save(wrap(base, "uint8_nhwc", raw, prefix, [], [logits], no_normalisation,
              inits=[mean, std, k255]), "uint8_nhwc.onnx")

    # float16 in and out.
    half_in = helper.make_tensor_value_info("half", TensorProto.FLOAT16, dims("batch", 3, "height", "width"))
    half_out = helper.make_tensor_value_info("scores", TensorProto.FLOAT16, dims("batch", 1000))
    save(wrap(base, "float16", half_in, [helper.make_node("Cast", ["half"], ["input"], to=TensorProto.FLOAT)],
              [helper.make_node("Cast", ["logits"], ["scores"], to=TensorProto.FLOAT16)], [half_out], everything),
         "float16.onnx")

    # float64 out.
    double = helper.make_tensor_value_info("scores", TensorProto.DOUBLE, dims("batch", 1000))
    save(wrap(base, "float64_out", image, [],
              [helper.make_node("Cast", ["logits"], ["scores"], to=TensorProto.DOUBLE)], [double], everything),
         "float64_out.onnx")

    # [N,C,1,1], Caffe and SqueezeNet style.
    shape4 = numpy_helper.from_array(np.array([-1, 1000, 1, 1], dtype=np.int64), "shape4")
    nc11 = helper.make_tensor_value_info("scores", TensorProto.FLOAT, dims("batch", 1000, 1, 1))
    save(wrap(base, "out_nc11", image, [], [helper.make_node("Reshape", ["logits", "shape4"], ["scores"])],
              [nc11], everything, inits=[shape4]), "out_nc11.onnx")

    # [N,1,C].
    axis1 = numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")
    n1c = helper.make_tensor_value_info("scores", TensorProto.FLOAT, dims("batch", 1, 1000))
    save(wrap(base, "out_n1c", image, [], [helper.make_node("Unsqueeze", ["logits", "axis1"], ["scores"])],
              [n1c], everything, inits=[axis1]), "out_n1c.onnx")

    # [C], with the batch fixed at one.
    one = helper.make_tensor_value_info("input", TensorProto.FLOAT, dims(1, 3, "height", "width"))
    axis0 = numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0")
    c = helper.make_tensor_value_info("scores", TensorProto.FLOAT, dims(1000))
    save(wrap(base, "out_c", one, [], [helper.make_node("Squeeze", ["logits", "axis0"], ["scores"])],
              [c], everything, inits=[axis0]), "out_c.onnx")

    # Two outputs: a feature map first, which is not class scores, then the logits.
    preview = helper.make_tensor_value_info("preview", TensorProto.FLOAT, dims("batch", 3, "height", "width"))
    save(wrap(base, "two_outputs", image, [], [helper.make_node("Identity", ["input"], ["preview"])],
              [preview, logits], everything), "two_outputs.onnx")

    # No normalisation metadata; wants BGR pixels 0..255 and normalises inside.
    bgr = helper.make_tensor_value_info("bgr", TensorProto.FLOAT, dims("batch", 3, "height", "width"))
    flip = numpy_helper.from_array(np.array([2, 1, 0], dtype=np.int64), "flip")
    prefix = [
        helper.make_node("Gather", ["bgr", "flip"], ["rgb"], axis=1),
        helper.make_node("Div", ["rgb", "wrap_255"], ["unit"]),
        helper.make_node("Sub", ["unit", "wrap_mean"], ["centred"]),
        helper.make_node("Div", ["centred", "wrap_std"], ["input"]),
    ]
    save(wrap(base, "bgr_raw", bgr, prefix, [], [logits], no_normalisation,
              inits=[mean, std, k255, flip]), "bgr_raw.onnx")

    # Multi-label: each attribute is the probability mass of its classes, independent of
    # the others (they need not sum to 1). Once as scores ('scores' in the metadata), once
    # as logits for a sigmoid (no metadata: output-activation says).
    groups = np.zeros((1000, len(ATTRIBUTES)), dtype=np.float32)
    for j, classes in enumerate(ATTRIBUTES.values()):
        groups[classes, j] = 1.0
    labels = "\n".join(ATTRIBUTES)
    attrs = helper.make_tensor_value_info("attributes", TensorProto.FLOAT, dims("batch", len(ATTRIBUTES)))
    head = [
        helper.make_node("Softmax", ["logits"], ["p"], axis=1),
        helper.make_node("MatMul", ["p", "groups"], ["mass"]),
        helper.make_node("Clip", ["mass", "eps", "one_minus_eps"], ["attributes_p"]),
    ]
    clip = [numpy_helper.from_array(groups, "groups"),
            numpy_helper.from_array(np.array(1e-6, dtype=np.float32), "eps"),
            numpy_helper.from_array(np.array(1 - 1e-6, dtype=np.float32), "one_minus_eps")]
    keep = {"imgclassify.input_size", "imgclassify.crop_fraction", "imgclassify.scale",
            "imgclassify.mean", "imgclassify.std", "imgclassify.color_order", "imgclassify.layout"}
    save(wrap(base, "attributes", image, [], head + [helper.make_node("Identity", ["attributes_p"], ["attributes"])],
              [attrs], keep, {"imgclassify.labels": labels, "imgclassify.output": "scores"}, inits=clip),
         "attributes.onnx")
    ones = numpy_helper.from_array(np.array(1.0, dtype=np.float32), "ones")
    logit = [
        helper.make_node("Sub", ["ones", "attributes_p"], ["q"]),
        helper.make_node("Div", ["attributes_p", "q"], ["odds"]),
        helper.make_node("Log", ["odds"], ["attributes"]),
    ]
    save(wrap(base, "attributes_logits", image, [], head + logit, [attrs], keep,
              {"imgclassify.labels": labels}, inits=clip + [ones]), "attributes_logits.onnx")
    print("models written to", out)


if __name__ == "__main__":
    main()
