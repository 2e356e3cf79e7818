"""Writes imgclassify.* metadata into an ONNX classifier, so that it needs no properties.

Needs only the `onnx` package (for example deps/venv/bin/python, or any Python with
`pip install onnx`). Examples:

    python models/set_metadata.py my_model.onnx --labels labels.txt \\
        --mean 127 --std 128 --color-order rgb --output logits --name my-model
    python models/set_metadata.py my_model.onnx --out tagged.onnx --output multilabel-logits
    python models/set_metadata.py my_model.onnx --embedding features
    python models/set_metadata.py --show my_model.onnx
    python models/set_metadata.py --self-test

Without --out the model is rewritten in place. --mean and --std are in 0..255 pixel
units, like the element's input-mean and input-std properties: the tensor value is
(pixel - mean) / std, so the tool writes imgclassify.scale=1. One number serves every
channel, three are per channel in the model's colour order. Values are checked the way
the element checks them. Metadata keys not starting with "imgclassify." are kept as
they are; --clear first removes every imgclassify.* key. The output is deterministic:
the same model and options give the same bytes.

Exit status: 0 on success, 2 for a bad option, value or file.
"""

import argparse
import math
import os
import sys
import tempfile

import onnx

PREFIX = "imgclassify."
# The order keys are written in; keys not listed (provenance, future keys) follow, sorted.
KEY_ORDER = [
    "format_version", "name", "description", "input_size", "color_order", "layout",
    "scale", "mean", "std", "crop_fraction", "output", "embedding", "labels", "source",
    "license",
]
OUTPUTS = ("logits", "probabilities", "multilabel-logits", "scores")
# The element's defaults without metadata (ImageNet), in 0..255 pixel units.
DEFAULT_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
DEFAULT_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]
MAX_LABELS_BYTES = 16 << 20  # as the element's labels-file limit


class BadValue(Exception):
    pass


def number_text(value):
    """A short, stable text for a number: 58.39500000000001 -> 58.395, 127.0 -> 127."""
    text = f"{value:.10g}"
    return text if ("e" in text or "." not in text) else text.rstrip("0").rstrip(".")


def parse_numbers(option, text, positive):
    """One or three finite numbers separated by commas (std: all > 0), as the element wants."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    ok = len(values) in (1, 3) and all(
        math.isfinite(v) and (v > 0 or not positive) for v in values
    )
    if not ok:
        kind = "positive numbers" if positive else "numbers"
        raise BadValue(f"{option} '{text}': expected one or three {kind} separated by commas")
    return values


def read_labels(path):
    """UTF-8, one label per line; a BOM, a trailing newline and CRLF are tolerated."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_LABELS_BYTES + 1)
    except OSError as e:
        raise BadValue(f"--labels '{path}': {e.strerror}")
    if len(data) > MAX_LABELS_BYTES:
        raise BadValue(f"--labels '{path}': larger than 16 MiB, not a labels file")
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise BadValue(f"--labels '{path}': NUL byte in label {line}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise BadValue(f"--labels '{path}': not UTF-8 text (line {line}); save it as UTF-8")
    text = text.removeprefix("\ufeff").removesuffix("\n")
    labels = [line.removesuffix("\r") for line in text.split("\n")] if text else []
    if not labels:
        raise BadValue(f"--labels '{path}': no labels; put one label per line")
    return labels


def class_counts(model):
    """Classes of each output with a fixed class dimension: [N,C], [N,C,1,1], [N,1,C], [C]."""
    counts = {}
    for out in model.graph.output:
        dims = [d.dim_value if d.HasField("dim_value") else None
                for d in out.type.tensor_type.shape.dim]
        if len(dims) == 4 and dims[2:] == [1, 1]:
            dims = dims[:2]
        elif len(dims) == 3 and dims[1] == 1:
            dims = [dims[0], dims[2]]
        if len(dims) in (1, 2) and dims[-1]:
            counts[out.name] = dims[-1]
    return counts


def embedding_problem(model, name):
    """Why output `name` cannot be the model's embedding ([N,D] float32), or None."""
    outputs = {o.name: o for o in model.graph.output}
    if name not in outputs:
        shown = ", ".join(f"'{n}'" for n in outputs) or "none"
        return f"the model has no output '{name}'; its outputs are {shown}"
    t = outputs[name].type.tensor_type
    if t.elem_type != onnx.TensorProto.FLOAT:
        return (f"output '{name}' is {onnx.TensorProto.DataType.Name(t.elem_type).lower()}, "
                "an embedding is float")
    dims = list(t.shape.dim)
    if len(dims) != 2 or not (dims[1].HasField("dim_value") and dims[1].dim_value > 1):
        return f"output '{name}' is not shaped [N,D] with a fixed width D > 1: {tensor_text(outputs[name])}"
    first = next(iter(outputs))
    if first == name:
        return (f"output '{name}' is the model's first output, which the element reads class "
                "scores from; put the class scores first")
    return None


def old_pixel_units(meta, key, default):
    """The model's existing mean or std converted to 0..255 units (divided by its scale)."""
    if PREFIX + key not in meta:
        return default
    text = meta.get(PREFIX + "scale", "1")
    try:
        scale = float(text)
    except ValueError:
        scale = math.nan
    if not (math.isfinite(scale) and scale > 0):
        raise BadValue(f"existing {PREFIX}scale '{text}' is not a positive number: "
                       "give both --mean and --std")
    values = parse_numbers(f"existing {PREFIX}{key}", meta[PREFIX + key], key == "std")
    return [v / scale for v in values]


def new_entries(args, model, meta):
    """The imgclassify.* keys the options ask for, checked; meta: the model's current keys."""
    new = {}
    if args.name is not None:
        new["name"] = args.name.strip()
    if args.description is not None:
        new["description"] = args.description.strip()
    if args.input_size is not None:
        if not 32 <= args.input_size <= 1024:
            raise BadValue(f"--input-size {args.input_size}: expected 32 to 1024 pixels")
        new["input_size"] = str(args.input_size)
    if args.layout is not None:
        new["layout"] = args.layout.upper()
    if args.color_order is not None:
        new["color_order"] = args.color_order.upper()
    if args.mean is not None or args.std is not None:
        # Written as a set with scale=1; the one not given keeps the model's meaning.
        mean = (parse_numbers("--mean", args.mean, False) if args.mean is not None
                else old_pixel_units(meta, "mean", DEFAULT_MEAN))
        std = (parse_numbers("--std", args.std, True) if args.std is not None
               else old_pixel_units(meta, "std", DEFAULT_STD))
        new["scale"] = "1"
        new["mean"] = ",".join(number_text(v) for v in mean)
        new["std"] = ",".join(number_text(v) for v in std)
    if args.crop_fraction is not None:
        if not 0 < args.crop_fraction <= 1:
            raise BadValue(f"--crop-fraction {args.crop_fraction}: expected a number in (0, 1]")
        new["crop_fraction"] = number_text(args.crop_fraction)
    if args.output is not None:
        new["output"] = args.output
    if args.embedding is not None:
        problem = embedding_problem(model, args.embedding)
        if problem:
            raise BadValue(f"--embedding {args.embedding}: {problem}")
        new["embedding"] = args.embedding
    if args.labels is not None:
        labels = read_labels(args.labels)
        counts = class_counts(model)
        if counts and len(labels) not in counts.values():
            shown = ", ".join(f"'{n}' {c}" for n, c in counts.items())
            raise BadValue(f"--labels '{args.labels}' has {len(labels)} labels "
                           f"but the model's outputs have {shown} classes")
        new["labels"] = "\n".join(labels)
    output = new.get("output", meta.get(PREFIX + "output"))
    labels = new.get("labels", meta.get(PREFIX + "labels"))
    if output == "logits" and labels is not None and "\n" not in labels.removesuffix("\n"):
        raise BadValue("output 'logits' (softmax) with one label always gives 1.0; "
                       "a one-class model is multilabel-logits or scores")
    if new and PREFIX + "format_version" not in meta:
        new["format_version"] = "1"
    return {PREFIX + k: v for k, v in new.items()}


def sort_key(key):
    short = key[len(PREFIX):]
    return (KEY_ORDER.index(short), "") if short in KEY_ORDER else (len(KEY_ORDER), short)


def shown_value(key, value):
    if key == PREFIX + "labels":
        labels = value.split("\n")
        more = ", ..." if len(labels) > 5 else ""
        return f"{len(labels)} labels: {', '.join(labels[:5])}{more}"
    return value


def tensor_text(value_info):
    t = value_info.type.tensor_type
    dims = [str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
            for d in t.shape.dim]
    return f"{value_info.name}: {onnx.TensorProto.DataType.Name(t.elem_type).lower()} [{','.join(dims)}]"


def load(path):
    try:
        return onnx.load(path, load_external_data=False)
    except OSError as e:
        raise BadValue(f"'{path}': {e.strerror or e}")
    except Exception as e:  # protobuf's DecodeError and friends: not an ONNX file
        raise BadValue(f"'{path}' is not an ONNX model ({type(e).__name__}: {e})")


def show(path):
    model = load(path)
    initializers = {i.name for i in model.graph.initializer}
    for i in model.graph.input:
        if i.name not in initializers:
            print(f"input  {tensor_text(i)}")
    for o in model.graph.output:
        print(f"output {tensor_text(o)}")
    keys = sorted((p.key for p in model.metadata_props if p.key.startswith(PREFIX)), key=sort_key)
    meta = {p.key: p.value for p in model.metadata_props}
    if not keys:
        print("no imgclassify.* metadata")
    for key in keys:
        print(f"{key} = {shown_value(key, meta[key])}")


def write(args):
    model = load(args.model)
    props = [(p.key, p.value) for p in model.metadata_props]
    if len({k for k, _ in props}) != len(props):
        raise BadValue(f"'{args.model}' has a metadata key twice; fix the model first")
    meta = dict(props)
    if args.clear:
        meta = {k: v for k, v in meta.items() if not k.startswith(PREFIX)}
    new = new_entries(args, model, meta)
    if not new and not args.clear:
        raise BadValue("nothing to write: give at least one of the options (see --help)")
    meta.update(new)
    other = [(k, v) for k, v in props if k in meta and not k.startswith(PREFIX)]
    ours = sorted(((k, v) for k, v in meta.items() if k.startswith(PREFIX)),
                  key=lambda kv: sort_key(kv[0]))
    del model.metadata_props[:]
    for key, value in other + ours:
        model.metadata_props.add(key=key, value=value)

    out = args.out or args.model
    if model.graph.initializer and any(i.data_location == onnx.TensorProto.EXTERNAL
                                       for i in model.graph.initializer):
        if os.path.dirname(os.path.abspath(out)) != os.path.dirname(os.path.abspath(args.model)):
            raise BadValue("the model keeps its weights in external files: write it "
                           "into the same folder (--out there, or in place)")
    # Write to a temporary file first, so a failure never leaves half a model behind.
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(out)), suffix=".onnx")
    os.close(fd)
    try:
        with open(tmp, "wb") as f:
            f.write(model.SerializeToString(deterministic=True))
        # mkstemp makes the file private: give it the mode the model or a new file would have.
        if os.path.exists(out):
            mode = os.stat(out).st_mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    if args.clear:
        print(f"removed the old imgclassify.* keys of {args.model}")
    print(f"wrote {out}:")
    for key in sorted(new, key=sort_key):
        print(f"  {key} = {shown_value(key, new[key])}")


def parser():
    p = argparse.ArgumentParser(
        description="Write imgclassify.* metadata into an ONNX classifier (or --show it).")
    p.add_argument("model", nargs="?", help="the .onnx file")
    p.add_argument("--out", help="write here instead of rewriting MODEL")
    p.add_argument("--show", action="store_true", help="print the model's inputs, outputs "
                   "and imgclassify.* metadata, change nothing")
    p.add_argument("--self-test", action="store_true", help="check this tool on tiny models")
    p.add_argument("--clear", action="store_true", help="remove every imgclassify.* key first")
    p.add_argument("--labels", metavar="FILE", help="class names, UTF-8, one per line")
    p.add_argument("--name")
    p.add_argument("--description")
    p.add_argument("--input-size", type=int, metavar="PIXELS",
                   help="side of the square input the model was trained at, 32-1024")
    p.add_argument("--layout", type=str.upper, choices=("NCHW", "NHWC"))
    p.add_argument("--color-order", type=str.lower, choices=("rgb", "bgr"))
    p.add_argument("--mean", metavar="M[,M,M]", help="subtracted from each 0..255 pixel")
    p.add_argument("--std", metavar="S[,S,S]", help="the difference is divided by this")
    p.add_argument("--crop-fraction", type=float, metavar="F",
                   help="evaluation crop: resize the shorter side to input_size/F, centre crop")
    p.add_argument("--output", choices=OUTPUTS, help="logits: softmax; probabilities: as "
                   "they are; multilabel-logits: sigmoid per class; scores: as they are "
                   "(e.g. a sigmoid inside the model)")
    p.add_argument("--embedding", metavar="OUTPUT", help="the output holding the image's "
                   "embedding ([N,D] float32, not the first output), for custom classes "
                   "from example photos")
    return p


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.model:
        p.error("give a model file")
    try:
        if args.show:
            show(args.model)
        else:
            write(args)
    except BadValue as e:
        print(f"set_metadata.py: {e}", file=sys.stderr)
        return 2
    return 0


def self_test():
    """Writes, rewrites and shows metadata on tiny models built with onnx.helper."""
    import contextlib
    import io
    from onnx import TensorProto, helper

    def tiny(path, classes, metadata=()):
        node = helper.make_node("ReduceMean", ["input"], ["scores"], axes=[2, 3], keepdims=0)
        graph = helper.make_graph(
            [node], "tiny",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, classes, 8, 8])],
            [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, classes])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        for key, value in metadata:
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, path)

    def run(*argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in argv])
        return code, out.getvalue() + err.getvalue()

    def meta(path):
        return [(p.key, p.value) for p in onnx.load(path).metadata_props]

    umask = os.umask(0)
    os.umask(umask)
    with tempfile.TemporaryDirectory() as d:
        model, out, labels = (os.path.join(d, n) for n in ("m.onnx", "o.onnx", "l.txt"))
        tiny(model, 3, [("producer.note", "kept"), ("imgclassify.name", "old"),
                        ("imgclassify.source", "kept too")])
        with open(labels, "wb") as f:
            f.write("\ufeffred\r\ngreen\r\nblue\r\n".encode())
        code, text = run(model, "--out", out, "--labels", labels, "--mean", "127",
                         "--std", "128", "--color-order", "rgb", "--output", "logits",
                         "--name", "mymodel")
        assert code == 0, text
        assert "imgclassify.labels = 3 labels: red, green, blue" in text, text
        assert meta(out) == [
            ("producer.note", "kept"), ("imgclassify.format_version", "1"),
            ("imgclassify.name", "mymodel"),
            ("imgclassify.color_order", "RGB"), ("imgclassify.scale", "1"),
            ("imgclassify.mean", "127"), ("imgclassify.std", "128"),
            ("imgclassify.output", "logits"), ("imgclassify.labels", "red\ngreen\nblue"),
            ("imgclassify.source", "kept too")], meta(out)
        # Deterministic: the same command gives the same bytes; the input is untouched.
        first = open(out, "rb").read()
        assert os.stat(out).st_mode & 0o777 == 0o666 & ~umask, oct(os.stat(out).st_mode)
        assert run(model, "--out", out, "--labels", labels, "--mean", "127", "--std", "128",
                   "--color-order", "rgb", "--output", "logits", "--name", "mymodel")[0] == 0
        assert open(out, "rb").read() == first
        assert ("imgclassify.name", "old") in meta(model)
        # In place, only --std: mean keeps its meaning; the file's mode is kept.
        os.chmod(out, 0o640)
        assert run(out, "--std", "58.395,57.12,57.375", "--layout", "nhwc")[0] == 0
        m = dict(meta(out))
        assert (m["imgclassify.mean"], m["imgclassify.std"]) == ("127", "58.395,57.12,57.375")
        assert m["imgclassify.layout"] == "NHWC" and os.stat(out).st_mode & 0o777 == 0o640
        # An existing scale is folded into pixel units when only one of mean/std is given.
        tiny(model, 3, [("imgclassify.scale", "0.00392156862745098"),
                        ("imgclassify.mean", "0.485,0.456,0.406"),
                        ("imgclassify.std", "0.229,0.224,0.225")])
        assert run(model, "--mean", "0")[0] == 0
        m = dict(meta(model))
        assert (m["imgclassify.scale"], m["imgclassify.mean"], m["imgclassify.std"]) == (
            "1", "0", "58.395,57.12,57.375"), m
        # --clear drops every old imgclassify key, keeps the others.
        tiny(model, 3, [("a", "b"), ("imgclassify.name", "x"), ("imgclassify.layout", "NHWC")])
        assert run(model, "--clear", "--output", "scores")[0] == 0
        assert meta(model) == [("a", "b"), ("imgclassify.format_version", "1"),
                               ("imgclassify.output", "scores")], meta(model)
        code, text = run("--show", model)
        assert code == 0 and "input  input: float [1,3,8,8]" in text, text
        assert "output scores: float [1,3]" in text and "imgclassify.output = scores" in text
        # Refused, the model left as it was.
        before = open(model, "rb").read()
        with open(os.path.join(d, "two.txt"), "w") as f:
            f.write("a\nb\n")
        with open(os.path.join(d, "one.txt"), "w") as f:
            f.write("only\n")
        for argv, words in [
            (["--mean", "1,2"], "--mean '1,2'"),
            (["--std", "0"], "--std '0'"),
            (["--std", "1,-1,1"], "positive"),
            (["--mean", "nan"], "--mean 'nan'"),
            (["--mean", "x"], "--mean 'x'"),
            (["--input-size", "8"], "--input-size 8"),
            (["--crop-fraction", "1.5"], "--crop-fraction"),
            (["--labels", os.path.join(d, "two.txt")], "has 2 labels but"),
            (["--labels", os.path.join(d, "missing.txt")], "missing.txt"),
            ([], "nothing to write"),
        ]:
            code, text = run(model, *argv)
            assert code == 2 and words in text, (argv, text)
        assert open(model, "rb").read() == before
        tiny(model, 3, [("imgclassify.scale", "x"), ("imgclassify.std", "1")])
        code, text = run(model, "--mean", "1")
        assert code == 2 and "give both --mean and --std" in text, text
        tiny(model, 1)
        code, text = run(model, "--labels", os.path.join(d, "one.txt"), "--output", "logits")
        assert code == 2 and "one label" in text, text
        tiny(model, 1, [("imgclassify.labels", "only\n")])
        code, text = run(model, "--output", "logits")
        assert code == 2 and "one label" in text, text
        assert run(model, "--labels", os.path.join(d, "one.txt"),
                   "--output", "multilabel-logits")[0] == 0
        # --embedding names a float [N,D] output that is not the first one.
        node = helper.make_node("ReduceMean", ["input"], ["features"], axes=[2, 3], keepdims=0)
        head = helper.make_node("Identity", ["features"], ["scores"])
        graph = helper.make_graph(
            [node, head], "two",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 4, 8, 8])],
            [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", 4]),
             helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 4]),
             helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 4, 8, 8])])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), model)
        code, text = run(model, "--embedding", "features")
        assert code == 0 and "imgclassify.embedding = features" in text, text
        assert ("imgclassify.embedding", "features") in meta(model)
        for name, words in [("nope", "no output 'nope'; its outputs are 'scores', 'features'"),
                            ("scores", "first output"), ("input", "not shaped [N,D]")]:
            code, text = run(model, "--embedding", name)
            assert code == 2 and words in text, (name, text)
        for argv in (["--output", "softmax"], ["--layout", "CHW"], ["--color-order", "yuv"]):
            with contextlib.redirect_stderr(io.StringIO()):
                try:
                    run(model, *argv)
                    raise AssertionError(argv)
                except SystemExit as e:
                    assert e.code == 2
    print("set_metadata.py self-test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
