"""Writes the tiny ONNX models the error and custom-model tests use.

Run with the converter's environment: deps/venv/bin/python tests/data/models/make_fixtures.py
The outputs are committed; rerun only to change them.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent


def save(name, nodes, inputs, outputs, initializers=(), metadata=None):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, HERE / name)


def image_input(name="input", shape=(1, 3, 8, 8)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def scores(name, classes):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, classes])


def pooled_linear(weights, tail):
    """Global average pool → [1,3] → MatMul(weights) → tail nodes; output 'scores'."""
    w = numpy_helper.from_array(np.asarray(weights, dtype=np.float32), "w")
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["logits" if tail else "scores"]),
    ] + tail
    return nodes, [w]


# Four classes. A black frame under ImageNet normalisation gives channel means near
# -2, so class 0 wins clearly: logits about (6, 4.6, 2.6, 0).
W = [[-1.0, -0.5, 0.0, 0.0], [-1.0, -0.5, -0.5, 0.0], [-1.0, -1.0, -0.8, 0.0]]

nodes, inits = pooled_linear(W, [helper.make_node("Softmax", ["logits"], ["scores"], axis=1)])
save("probabilities.onnx", nodes, [image_input()], [scores("scores", 4)], inits)

nodes, inits = pooled_linear(W, [])
save("four_classes.onnx", nodes, [image_input()], [scores("scores", 4)], inits,
     {"imgclassify.labels": "zero\none\ntwo\nthree"})

# Height and width fixed at 64, bigger than input-size's minimum of 32, so running it at
# its own size and refusing any other can both be tested.
nodes, inits = pooled_linear(W, [])
save("fixed_64.onnx", nodes, [image_input(shape=(1, 3, 64, 64))], [scores("scores", 4)], inits,
     {"imgclassify.labels": "zero\none\ntwo\nthree"})

nodes, inits = pooled_linear(W, [helper.make_node("Div", ["logits", "zero"], ["scores"])])
inits.append(numpy_helper.from_array(np.zeros((1, 4), dtype=np.float32) * 0, "zero"))
save("nan_scores.onnx", nodes, [image_input()], [scores("scores", 4)], inits)

save("rank2_input.onnx", [helper.make_node("Identity", ["input"], ["scores"])],
     [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 10])], [scores("scores", 10)])

save("two_inputs.onnx", [helper.make_node("Add", ["input", "other"], ["sum"]),
                         helper.make_node("GlobalAveragePool", ["sum"], ["pooled"]),
                         helper.make_node("Flatten", ["pooled"], ["scores"])],
     [image_input(), image_input("other")], [scores("scores", 3)])

# Metadata that names five classes for an output of four.
nodes, inits = pooled_linear(W, [])
save("metadata_five_labels.onnx", nodes, [image_input()], [scores("scores", 4)], inits,
     {"imgclassify.labels": "zero\none\ntwo\nthree\nfour"})

# Declares four classes but computes three: only running it shows the mismatch.
nodes, inits = pooled_linear([row[:3] for row in W], [])
save("wrong_output_size.onnx", nodes, [image_input()], [scores("scores", 4)], inits)

# Declares a batch axis but reshapes to a batch of one inside, as some exports do.
w = numpy_helper.from_array(np.asarray(W, dtype=np.float32), "w")
one = numpy_helper.from_array(np.asarray([1, 3], dtype=np.int64), "one_by_three")
save("batch_fixed_inside.onnx",
     [helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
      helper.make_node("Reshape", ["pooled", "one_by_three"], ["flat"]),
      helper.make_node("MatMul", ["flat", "w"], ["scores"])],
     [image_input(shape=("N", 3, 8, 8))],
     [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 4])], [w, one],
     {"imgclassify.labels": "zero\none\ntwo\nthree"})

# Logits whose all-zero warm-up output happens to be a probability distribution (the
# bias alone); real frames give logits that are not.
nodes, inits = pooled_linear(W, [helper.make_node("Add", ["logits", "bias"], ["scores"])])
inits.append(numpy_helper.from_array(np.full((1, 4), 0.25, dtype=np.float32), "bias"))
save("logits_like_probabilities.onnx", nodes, [image_input()], [scores("scores", 4)], inits,
     {"imgclassify.labels": "zero\none\ntwo\nthree"})

# Slow on purpose: six 2048x2048 matrix products per inference (about 100 GFLOP, a
# second or more on one CPU thread), computed from the input so nothing is folded at
# load. For tests that nothing around a running inference waits for it.
n = 2048
consts = [numpy_helper.from_array(np.asarray([n, n], dtype=np.int64), "nn"),
          numpy_helper.from_array(np.zeros((1,), dtype=np.float32), "zero1"),
          numpy_helper.from_array(np.asarray([[1.0, 0.5, 0.25, 0.0]], dtype=np.float32), "rank")]
nodes = [helper.make_node("ReduceMean", ["input"], ["mean"], keepdims=0),
         helper.make_node("Mul", ["mean", "zero1"], ["nothing"]),
         helper.make_node("ConstantOfShape", ["nn"], ["ones"],
                          value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0 / n])),
         helper.make_node("Add", ["ones", "nothing"], ["m0"])]
for i in range(6):
    nodes.append(helper.make_node("MatMul", [f"m{i}", "m0"], [f"m{i + 1}"]))
nodes += [helper.make_node("ReduceMean", ["m6"], ["total"], keepdims=0),
          helper.make_node("Mul", ["rank", "total"], ["scores"])]
save("slow.onnx", nodes, [image_input()], [scores("scores", 4)], consts,
     {"imgclassify.labels": "zero\none\ntwo\nthree", "imgclassify.output": "logits"})

# Greyscale, one channel in either layout: scores (1 - m, m) for the mean brightness m of
# the 0..1 luma, already probabilities, labelled "dark" and "bright".
def brightness(name, shape, mean, std):
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Flatten", ["mean"], ["m"]),
        helper.make_node("Mul", ["m", "w"], ["wm"]),
        helper.make_node("Add", ["wm", "b"], ["scores"]),
    ]
    inits = [numpy_helper.from_array(np.array([-1.0, 1.0], dtype=np.float32), "w"),
             numpy_helper.from_array(np.array([1.0, 0.0], dtype=np.float32), "b")]
    save(name, nodes, [image_input(shape=shape)], [scores("scores", 2)], inits,
         {"imgclassify.labels": "dark\nbright", "imgclassify.output": "probabilities",
          "imgclassify.scale": str(1 / 255), "imgclassify.mean": mean,
          "imgclassify.std": std})


brightness("grey_nchw.onnx", (1, 1, 16, 16), "0", "1")
brightness("grey_nhwc.onnx", (1, 16, 16, 1), "0,0,0", "1,1,1")

# One class: a softmax over it would always give 1.
nodes, inits = pooled_linear([row[:1] for row in W], [])
save("one_class.onnx", nodes, [image_input()], [scores("scores", 1)], inits)

# An input of a type no image arrives as.
save("int64_input.onnx",
     [helper.make_node("Cast", ["input"], ["f"], to=TensorProto.FLOAT),
      helper.make_node("GlobalAveragePool", ["f"], ["pooled"]),
      helper.make_node("Flatten", ["pooled"], ["scores"])],
     [helper.make_tensor_value_info("input", TensorProto.INT64, [1, 3, 8, 8])], [scores("scores", 3)])

# An embedding output listed before the scores and named by imgclassify.embedding: the
# element must still read the scores from `scores` and the embedding from `features`.
nodes, inits = pooled_linear(W, [])
save("embedding_first.onnx", nodes, [image_input()],
     [helper.make_tensor_value_info("flat", TensorProto.FLOAT, [1, 3]), scores("scores", 4)],
     inits, {"imgclassify.labels": "zero\none\ntwo\nthree", "imgclassify.embedding": "flat"})

# Limits on what a model declares (docs/reliability.md, "Limits"): an output of two
# million classes, one over the cap of a million, made with a Tile so the file stays
# tiny; and the same for an embedding output.
tile = numpy_helper.from_array(np.asarray([1, 666667], dtype=np.int64), "repeats")
save("too_many_classes.onnx",
     [helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
      helper.make_node("Flatten", ["pooled"], ["flat"]),
      helper.make_node("Tile", ["flat", "repeats"], ["scores"])],
     [image_input()], [scores("scores", 2000001)], [tile])

nodes, inits = pooled_linear(W, [])
inits.append(numpy_helper.from_array(np.asarray([1, 1000000], dtype=np.int64), "repeats"))
nodes.append(helper.make_node("Tile", ["flat", "repeats"], ["embedding"]))
save("wide_embedding.onnx", nodes, [image_input()],
     [scores("scores", 4), helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 3000000])],
     inits, {"imgclassify.labels": "zero\none\ntwo\nthree"})

# Labels in the metadata with a NUL in the last one: ONNX Runtime hands values over as C
# strings, cut at the NUL, which would leave four labels that look right.
nodes, inits = pooled_linear(W, [])
save("metadata_nul_label.onnx", nodes, [image_input()], [scores("scores", 4)], inits,
     {"imgclassify.labels": "zero\none\ntwo\nthree\0four"})

# What PyTorch's exporter writes by default (the weights in a second file beside the
# graph), shipped without that second file.
nodes, inits = pooled_linear(W, [])
graph = helper.make_graph(nodes, "external_data", [image_input()], [scores("scores", 4)], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 9
onnx.save(model, HERE / "external_data.onnx", save_as_external_data=True,
          location="external_data.onnx.data", size_threshold=0)
(HERE / "external_data.onnx.data").unlink()

(HERE / "random_bytes.onnx").write_bytes(np.random.default_rng(7).bytes(4096))
good = (HERE / "four_classes.onnx").read_bytes()
(HERE / "truncated.onnx").write_bytes(good[: len(good) // 2])
(HERE / "three_labels.txt").write_text("zero\none\ntwo\n")
(HERE / "five_labels.txt").write_text("zero\none\ntwo\nthree\nfour\n")
(HERE / "invalid_utf8.txt").write_bytes(b"zero\none\n\xff\xfe two\nthree\n")
print("fixtures written to", HERE)
