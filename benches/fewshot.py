#!/usr/bin/env python3
"""Custom classes from a few example photos: which rule, which score, which threshold.

Measures, on the few-shot photo set (models/fewshot_photos.py --out deps/fewshot), how
well each built-in model's `embedding` output classifies photos into classes given by a
few example photos each, with several rules; and how the similarity of the best class
can be mapped to a score in [0, 1] and thresholded (min-similarity) so that photos of a
class that is not in the set come out as unknown. The results are in
docs/custom-classes.md ("Choosing the rule, measured").

Preprocessing is the element's default (resize-mode=center-crop): the centred square
covering crop_fraction of the shorter side, each model pixel the area average of the
source pixels under it (bilinear when enlarging), then the model's normalisation, all
read from the model's imgclassify.* metadata. Embeddings are L2-normalised.

Protocol: for each random draw, each class's photos are shuffled; the first 10 are the
pool the examples come from (the first k of them for k examples per class), the others
are the test photos, the same for every k within a draw. Accuracy is the mean of the
per-class accuracies (classes have 5 to 52 test photos), as mean ± standard deviation
over the draws.

It prints, as Markdown tables: the int8 models' embeddings against fp32's; accuracy
per model, rule and number of examples; the centroid rule's confusions; how well each
score mapping separates right from wrong answers and known from unknown classes, and
how calibrated it is; the best cosine's percentiles; a min-similarity per model and
what fixed thresholds keep; the softmax's calibration by number of classes. Models come
from the first folder of IMGCLASSIFY_MODEL_PATH that holds mobilenet.onnx, else
deps/models (--models overrides).

Usage:
    deps/venv/bin/python benches/fewshot.py [--photos deps/fewshot] [--models DIR]
        [--draws 20] [--names mobilenet,...]
    deps/venv/bin/python benches/fewshot.py --check-test-classes tests/data [--models DIR]

--check-test-classes classifies each tests/data/classes-heldback/<class>.jpg against the
classes of tests/data/classes with the nearest-centroid rule, for every model, and exits
1 if mobilenet gets one wrong.
"""

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ["mobilenet", "efficientnet", "efficientnet-lite1", "efficientnet-lite2",
         "mobilenet-int8", "efficientnet-int8", "efficientnet-lite1-int8", "efficientnet-lite2-int8"]
SHOTS = [1, 3, 5, 10]
POOL = 10  # examples are drawn from the first POOL photos of each shuffled class
EXTENSIONS = (".png", ".jpg", ".jpeg")
# The variant whose embeddings have the model's mean embedding over generic photos (the
# int8 calibration photos) subtracted before they are normalised.
MEAN_REMOVED = ", mean removed"


def default_models_dir():
    for d in os.environ.get("IMGCLASSIFY_MODEL_PATH", "").split(":"):
        if d and os.path.exists(os.path.join(d, "mobilenet.onnx")):
            return d
    return os.path.join(ROOT, "deps", "models")


# ---------------------------------------------------------------------------
# Embedding photos as the element does
# ---------------------------------------------------------------------------

def element_tensor(image, meta):
    """RGB PIL image -> [3, size, size] float32 as the element's center-crop feeds it."""
    from PIL import Image

    size = int(meta["imgclassify.input_size"])
    fraction = float(meta.get("imgclassify.crop_fraction", "1"))
    scale = float(meta.get("imgclassify.scale", "1"))
    mean = np.array([float(v) for v in meta["imgclassify.mean"].split(",")], dtype=np.float32)
    std = np.array([float(v) for v in meta["imgclassify.std"].split(",")], dtype=np.float32)
    w, h = image.size
    side = min(w, h) * fraction
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
    # Area average when shrinking (the element's footprint average), bilinear when enlarging.
    method = Image.BOX if side >= size else Image.BILINEAR
    pixels = np.asarray(image.resize((size, size), method, box=box), dtype=np.float32)
    pixels = (pixels * np.float32(scale) - mean) / std
    return pixels.transpose(2, 0, 1)


def load_rgb(path):
    from PIL import Image, ImageOps

    image = Image.open(path)
    image = ImageOps.exif_transpose(image)
    return image.convert("RGB")


class Embedder:
    def __init__(self, path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.meta = self.session.get_modelmeta().custom_metadata_map
        self.output = self.meta.get("imgclassify.embedding")
        if not self.output:
            raise SystemExit("%s has no imgclassify.embedding key: rebuild it with "
                             "models/convert.py" % path)

    def raw(self, images, batch=16):
        """The embeddings [n, D] of a list of RGB images, as the model gives them."""
        rows = []
        for start in range(0, len(images), batch):
            tensors = np.stack([element_tensor(im, self.meta) for im in images[start:start + batch]])
            (e,) = self.session.run([self.output], {"input": tensors})
            rows.append(e.astype(np.float64))
        return np.concatenate(rows)

    def embed(self, images, batch=16):
        """L2-normalised embeddings [n, D] of a list of RGB images."""
        return unit(self.raw(images, batch))


def generic_photos():
    """The int8 calibration photos (models/quantize.py): generic, and none in the study set."""
    import io

    from PIL import Image

    sys.path.insert(0, os.path.join(ROOT, "models"))
    import convert
    import quantize

    cache = os.path.join(ROOT, "deps", "cache")
    return [Image.open(io.BytesIO(convert.fetch_checked(cache, m))).convert("RGB")
            for m in quantize.calibration_members()]


def class_folders(root):
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    files = {c: sorted(os.path.join(root, c, f) for f in os.listdir(os.path.join(root, c))
                       if f.lower().endswith(EXTENSIONS)) for c in classes}
    return {c: f for c, f in files.items() if f}


# ---------------------------------------------------------------------------
# Rules: each gives a [n_test, n_classes] score matrix from unit embeddings
# ---------------------------------------------------------------------------

def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def centroids(examples):
    """Unit mean of each class's unit examples: {list of [k, D]} -> [C, D]."""
    return unit(np.stack([e.mean(axis=0) for e in examples]))


def rule_centroid(test, examples):
    return test @ centroids(examples).T


def rule_nearest(test, examples):
    return np.stack([(test @ e.T).max(axis=1) for e in examples], axis=1)


def rule_knn3(test, examples):
    """The 3 most similar examples overall vote for their classes with their similarity."""
    every = np.concatenate(examples)
    label = np.concatenate([np.full(len(e), i) for i, e in enumerate(examples)])
    sims = test @ every.T
    k = min(3, every.shape[0])
    top = np.argsort(-sims, axis=1)[:, :k]
    scores = np.zeros((len(test), len(examples)))
    for row in range(len(test)):
        for j in top[row]:
            scores[row, label[j]] += sims[row, j]
    return scores


def rule_class_top2(test, examples):
    """Per class, the mean similarity of its 2 nearest examples (1 with 1 example)."""
    out = []
    for e in examples:
        s = np.sort(test @ e.T, axis=1)[:, ::-1]
        out.append(s[:, :min(2, s.shape[1])].mean(axis=1))
    return np.stack(out, axis=1)


def rule_centered_centroid(test, examples):
    """SimpleShot's CL2N: subtract the mean of all examples before normalising."""
    every = np.concatenate(examples)
    mean = every.mean(axis=0)
    centred = [unit(e - mean) for e in examples]
    return unit(test - mean) @ centroids(centred).T


RULES = {
    "centroid": rule_centroid,
    "1-NN": rule_nearest,
    "3-NN weighted": rule_knn3,
    "class top-2 mean": rule_class_top2,
    "centred centroid": rule_centered_centroid,
}


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------

def draws(files, count, seed):
    """[(examples per class: index arrays [POOL], test indices per class)] per draw."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        split = {}
        for c, n in files.items():
            order = rng.permutation(n)
            split[c] = (order[:POOL], order[POOL:])
        out.append(split)
    return out


def balanced_accuracy(scores, truth, n_classes):
    pred = scores.argmax(axis=1)
    per_class = [np.mean(pred[truth == c] == c) for c in range(n_classes) if np.any(truth == c)]
    return float(np.mean(per_class))


def auroc(positive, negative):
    """Probability that a random positive scores above a random negative (ties half)."""
    positive, negative = np.asarray(positive), np.asarray(negative)
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    scores = np.concatenate([positive, negative])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # average ranks of ties
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        if j > i:
            ranks[order[i:j + 1]] = (i + j + 2) / 2
        i = j + 1
    r = ranks[:len(positive)].sum()
    return float((r - len(positive) * (len(positive) + 1) / 2) / (len(positive) * len(negative)))


def softmax_top(sims, temperature):
    z = sims / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).max(axis=1)


MAPPINGS = {
    "clamp(cos, 0, 1)": lambda s: np.clip(s.max(axis=1), 0, 1),
    "(cos+1)/2": lambda s: (s.max(axis=1) + 1) / 2,
    "softmax T=0.01": lambda s: softmax_top(s, 0.01),
    "softmax T=0.02": lambda s: softmax_top(s, 0.02),
    "softmax T=0.025": lambda s: softmax_top(s, 0.025),
    "softmax T=0.03": lambda s: softmax_top(s, 0.03),
    "softmax T=0.05": lambda s: softmax_top(s, 0.05),
    "softmax T=0.1": lambda s: softmax_top(s, 0.1),
    "margin top1-top2": lambda s: np.diff(np.sort(s, axis=1)[:, -2:], axis=1)[:, 0],
}


def calibration_error(right, wrong, bins=10):
    """Expected calibration error: the mean |score - accuracy| over 10 equal score bins,
    weighted by their photos (0 = a score of p is right p of the time)."""
    scores = np.concatenate([right, wrong])
    correct = np.concatenate([np.ones(len(right)), np.zeros(len(wrong))])
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (scores >= lo) & ((scores < hi) | (hi == 1))
        if inside.any():
            error += inside.sum() * abs(scores[inside].mean() - correct[inside].mean())
    return error / len(scores)


def fmt(values, digits=1, percent=True):
    v = np.asarray(values) * (100 if percent else 1)
    return "%.*f ± %.*f" % (digits, v.mean(), digits, v.std())


def study(emb, files, classes, args):
    """Accuracy tables per model and rule, and the score/threshold analysis."""
    splits = draws({c: len(files[c]) for c in classes}, args.draws, args.seed)
    print("\n### Accuracy (mean of per-class accuracy, %%, mean ± sd over %d draws)\n" % args.draws)
    header = "| model | rule | " + " | ".join("%d per class" % k for k in SHOTS) + " |"
    print(header)
    print("|---|---|" + "---|" * len(SHOTS))
    for name in emb:
        rules = {"centroid": rule_centroid} if name.endswith(MEAN_REMOVED) else RULES
        for rule_name, rule in rules.items():
            cells = []
            for k in SHOTS:
                accs = []
                for split in splits:
                    examples = [emb[name][c][split[c][0][:k]] for c in classes]
                    test = np.concatenate([emb[name][c][split[c][1]] for c in classes])
                    truth = np.concatenate([np.full(len(split[c][1]), i) for i, c in enumerate(classes)])
                    accs.append(balanced_accuracy(rule(test, examples), truth, len(classes)))
                cells.append(fmt(accs))
            print("| %s | %s | %s |" % (name, rule_name, " | ".join(cells)))
    return splits


def sources_of(photos_dir):
    """{class: package} from the set's photos.tsv (models/fewshot_photos.py), or {}."""
    path = os.path.join(photos_dir, "photos.tsv")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:]
    return {row[0]: row[2] for row in rows if len(row) > 2}


def confusions(emb, files, classes, splits, args):
    """Which classes the centroid rule mixes up, and whether across the photo sources."""
    k = args.open_shots
    sources = sources_of(args.photos)
    print("\n### Confusions (centroid, %d examples per class, %d draws)\n" % (k, args.draws))
    print("| model | errors | between classes of different packages | most frequent (true → answered) |")
    print("|---|---|---|---|")
    for name in [n for n in emb if not n.endswith(MEAN_REMOVED)]:
        matrix = np.zeros((len(classes), len(classes)), dtype=int)
        for split in splits:
            examples = [emb[name][c][split[c][0][:k]] for c in classes]
            for i, c in enumerate(classes):
                for j in rule_centroid(emb[name][c][split[c][1]], examples).argmax(axis=1):
                    matrix[i, j] += 1
        errors = matrix.sum() - np.trace(matrix)
        across = sum(matrix[i, j] for i in range(len(classes)) for j in range(len(classes))
                     if i != j and sources.get(classes[i]) != sources.get(classes[j]))
        top = sorted(((matrix[i, j], classes[i], classes[j]) for i in range(len(classes))
                      for j in range(len(classes)) if i != j), reverse=True)[:4]
        print("| %s | %d | %d (%.0f %%) | %s |" % (
            name, errors, across, 100 * across / max(1, errors),
            ", ".join("%s → %s %d" % (a, b, n) for n, a, b in top)))


def open_set(emb, files, classes, splits, args):
    """Leave one class out as unknown: how the mappings separate right from wrong and
    known from unknown, and where a min-similarity threshold falls."""
    k = args.open_shots
    print("\n### Scores: right vs wrong, known vs unknown (centroid rule, %d examples per class,"
          " each class left out as unknown in turn, %d draws)\n" % (k, args.draws))
    print("AUROC = probability that a random photo of the first kind scores above one of the second.\n")
    print("Calibration error: mean |score - accuracy| over 10 score bins (0 = a score of p "
          "is right p of the time); only for mappings meant as a probability.\n")
    print("| model | mapping | right vs wrong (known classes) | known (right) vs unknown | calibration error |")
    print("|---|---|---|---|---|")
    summary = {}
    for name in emb:
        per_map = {m: ([], [], []) for m in MAPPINGS}  # right, wrong, unknown
        best_cos = ([], [], [])
        for split in splits:
            for out_i, out_c in enumerate(classes):
                kept = [c for c in classes if c != out_c]
                examples = [emb[name][c][split[c][0][:k]] for c in kept]
                test = np.concatenate([emb[name][c][split[c][1]] for c in kept])
                truth = np.concatenate([np.full(len(split[c][1]), i) for i, c in enumerate(kept)])
                # The unknown class: all its photos (none was used as an example).
                unknown = emb[name][out_c]
                s_known = rule_centroid(test, examples)
                s_unknown = rule_centroid(unknown, examples)
                right = s_known.argmax(axis=1) == truth
                for m, f in MAPPINGS.items():
                    v = f(s_known)
                    per_map[m][0].append(v[right])
                    per_map[m][1].append(v[~right])
                    per_map[m][2].append(f(s_unknown))
                best_cos[0].append(s_known.max(axis=1)[right])
                best_cos[1].append(s_known.max(axis=1)[~right])
                best_cos[2].append(s_unknown.max(axis=1))
        for m, (r, w, u) in per_map.items():
            r, w, u = np.concatenate(r), np.concatenate(w), np.concatenate(u)
            ece = calibration_error(r, w) if m.startswith("softmax") or m.startswith("clamp") else None
            print("| %s | %s | %.3f | %.3f | %s |" % (name, m, auroc(r, w), auroc(r, u),
                                                     "%.3f" % ece if ece is not None else ""))
        summary[name] = tuple(np.concatenate(x) for x in best_cos)
    print("\n### Best cosine similarity: percentiles\n")
    print("| model | photos | n | 5 % | 10 % | 25 % | 50 % | 75 % | 90 % | 95 % |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, (r, w, u) in summary.items():
        for label, v in (("known, right", r), ("known, wrong", w), ("unknown class", u)):
            q = np.percentile(v, [5, 10, 25, 50, 75, 90, 95]) if len(v) else [np.nan] * 7
            print("| %s | %s | %d | %s |" % (name, label, len(v), " | ".join("%.3f" % x for x in q)))
    print("\n### A min-similarity per model: the 5th percentile of right answers' best cosine\n")
    print("| model | min-similarity | known photos kept | known kept and right | unknown photos turned unknown |")
    print("|---|---|---|---|---|")
    for name, (r, w, u) in summary.items():
        t = np.floor(np.percentile(r, 5) * 100) / 100
        known = np.concatenate([r, w])
        print("| %s | %.2f | %.1f %% | %.1f %% | %.1f %% |" % (
            name, t, 100 * np.mean(known >= t), 100 * np.sum(r >= t) / max(1, np.sum(known >= t)),
            100 * np.mean(u < t)))
    print("\n### min-similarity on the best cosine: what it keeps\n")
    print("| model | min-similarity | known photos kept | known kept and right | unknown photos kept |")
    print("|---|---|---|---|---|")
    for name, (r, w, u) in summary.items():
        known = np.concatenate([r, w])
        for t in args.thresholds:
            print("| %s | %.2f | %.1f %% | %.1f %% | %.1f %% |" % (
                name, t, 100 * np.mean(known >= t), 100 * np.sum(r >= t) / max(1, np.sum(known >= t)),
                100 * np.mean(u >= t)))


def loo_similarities(e):
    """Each example's cosine with the unit mean of the class's other examples."""
    total = e.sum(axis=0)
    return np.array([float(e[i] @ unit(total - e[i])) for i in range(len(e))])


def auto_thresholds(examples, rule):
    """min-similarity=auto: each class's threshold from its own examples' leave-one-out
    similarities; a class with one example takes the median of the others' (0 if none)."""
    own = [rule(loo_similarities(e)) if len(e) > 1 else None for e in examples]
    known = [t for t in own if t is not None]
    fallback = float(np.median(known)) if known else 0.0
    return np.array([fallback if t is None else t for t in own])


# The element's rule (src/core/classes/threshold.rs) is "mean - 1 sd"; the others are
# what it was chosen from.
AUTO_RULES = {
    "min": lambda s: s.min(),
    "mean - 1 sd": lambda s: s.mean() - s.std(),
    "mean": lambda s: s.mean(),
}
# The starting min-similarity docs/custom-classes.md gives per model (the value that
# keeps 95 % of right answers with 5 examples per class).
DOC_START = {"mobilenet": 0.63, "efficientnet": 0.38, "efficientnet-lite1": 0.39,
             "efficientnet-lite2": 0.42, "mobilenet-int8": 0.64, "efficientnet-int8": 0.39,
             "efficientnet-lite1-int8": 0.39, "efficientnet-lite2-int8": 0.43}


def auto_threshold(emb, files, classes, splits, args):
    """Per-class thresholds from the examples against the best single global
    min-similarity: each class left out as unknown in turn, as in open_set."""
    print("\n### min-similarity=auto against one global value (centroid rule, each class left"
          " out as unknown in turn, %d draws)\n" % args.draws)
    print("A known photo counts as right when it gets its class and is not turned `unknown`;"
          " an unknown-class photo when it is turned `unknown`. Balanced = the mean of the two."
          " The global value is the best for each model and number of examples, chosen on"
          " the test photos themselves (an oracle), in steps of 0.005.\n")
    print("| model | examples | threshold | known right | unknown turned `unknown` | balanced |")
    print("|---|---|---|---|---|---|")
    grid = np.arange(0.0, 1.0, 0.005)
    for name in emb:
        for k in args.auto_shots:
            best_known, best_unknown = [], []  # per case: (sims, classes, truth) arrays
            per_rule = {r: ([], []) for r in AUTO_RULES}
            for split in splits:
                for out_c in classes:
                    kept = [c for c in classes if c != out_c]
                    examples = [emb[name][c][split[c][0][:k]] for c in kept]
                    test = np.concatenate([emb[name][c][split[c][1]] for c in kept])
                    truth = np.concatenate([np.full(len(split[c][1]), i) for i, c in enumerate(kept)])
                    s_known = rule_centroid(test, examples)
                    s_unknown = rule_centroid(emb[name][out_c], examples)
                    kb, ks = s_known.argmax(axis=1), s_known.max(axis=1)
                    ub, us = s_unknown.argmax(axis=1), s_unknown.max(axis=1)
                    best_known.append((ks, kb == truth))
                    best_unknown.append(us)
                    for r, f in AUTO_RULES.items():
                        t = auto_thresholds(examples, f)
                        per_rule[r][0].append((kb == truth) & (ks >= t[kb]))
                        per_rule[r][1].append(us < t[ub])
            ks = np.concatenate([x[0] for x in best_known])
            right = np.concatenate([x[1] for x in best_known])
            us = np.concatenate(best_unknown)
            scores = [(0.5 * (np.mean(right & (ks >= t)) + np.mean(us < t)), t) for t in grid]
            _, t = max(scores)
            kr, ur = np.mean(right & (ks >= t)), np.mean(us < t)
            print("| %s | %d | best global, %.3f | %.1f %% | %.1f %% | %.1f %% |" % (
                name, k, t, 100 * kr, 100 * ur, 50 * (kr + ur)))
            if name in DOC_START:
                t = DOC_START[name]
                kr, ur = np.mean(right & (ks >= t)), np.mean(us < t)
                print("| %s | %d | starting value, %.2f | %.1f %% | %.1f %% | %.1f %% |" % (
                    name, k, t, 100 * kr, 100 * ur, 50 * (kr + ur)))
            for r, (kn, un) in per_rule.items():
                kr, ur = np.mean(np.concatenate(kn)), np.mean(np.concatenate(un))
                print("| %s | %d | auto, %s | %.1f %% | %.1f %% | %.1f %% |" % (
                    name, k, r, 100 * kr, 100 * ur, 50 * (kr + ur)))


def calibration_by_class_count(emb, files, classes, splits, args):
    """Whether one softmax temperature stays calibrated with fewer or more classes."""
    temperatures = [0.02, 0.025, 0.03, 0.04]
    counts = [2, 4, 6, len(classes)]
    print("\n### Softmax calibration error by number of classes (centroid, %d examples per class,"
          " random class subsets, %d draws)\n" % (args.open_shots, args.draws))
    print("| model | classes | accuracy | " + " | ".join("T=%g" % t for t in temperatures) + " |")
    print("|---|---|---|" + "---|" * len(temperatures))
    rng = np.random.default_rng(args.seed + 1)
    for name in [n for n in emb if not n.endswith(MEAN_REMOVED)]:
        for n in counts:
            right = {t: [] for t in temperatures}
            wrong = {t: [] for t in temperatures}
            accs = []
            for split in splits:
                for _ in range(5 if n < len(classes) else 1):
                    kept = sorted(rng.choice(classes, n, replace=False)) if n < len(classes) else classes
                    examples = [emb[name][c][split[c][0][:args.open_shots]] for c in kept]
                    test = np.concatenate([emb[name][c][split[c][1]] for c in kept])
                    truth = np.concatenate([np.full(len(split[c][1]), i) for i, c in enumerate(kept)])
                    s = rule_centroid(test, examples)
                    ok = s.argmax(axis=1) == truth
                    accs.append(balanced_accuracy(s, truth, n))
                    for t in temperatures:
                        top = softmax_top(s, t)
                        right[t].append(top[ok])
                        wrong[t].append(top[~ok])
            cells = ["%.3f" % calibration_error(np.concatenate(right[t]), np.concatenate(wrong[t]))
                     for t in temperatures]
            print("| %s | %d | %.1f %% | %s |" % (name, n, 100 * np.mean(accs), " | ".join(cells)))


def check_test_classes(data_dir, models_dir, names):
    classes_dir = os.path.join(data_dir, "classes")
    held_dir = os.path.join(data_dir, "classes-heldback")
    files = class_folders(classes_dir)
    classes = sorted(files)
    held = {c: os.path.join(held_dir, f) for f in sorted(os.listdir(held_dir))
            for c in [os.path.splitext(f)[0]] if f.lower().endswith(EXTENSIONS)}
    if sorted(held) != classes:
        raise SystemExit("held-back photos %s do not match the classes %s" % (sorted(held), classes))
    print("classes: %s (%s examples)" % (", ".join(classes), ", ".join(str(len(files[c])) for c in classes)))
    failed = False
    for name in names:
        embedder = Embedder(os.path.join(models_dir, name + ".onnx"))
        examples = [embedder.embed([load_rgb(p) for p in files[c]]) for c in classes]
        test = embedder.embed([load_rgb(held[c]) for c in classes])
        scores = rule_centroid(test, examples)
        for i, c in enumerate(classes):
            order = np.argsort(-scores[i])
            got = classes[order[0]]
            print("%-20s %-10s -> %-10s cos %.3f (runner-up %s %.3f) %s" % (
                name, c, got, scores[i, order[0]], classes[order[1]], scores[i, order[1]],
                "ok" if got == c else "WRONG"))
            if got != c and name == "mobilenet":
                failed = True
        # How close the examples of a class are to their own centroid, for the tests' bounds.
        cents = centroids(examples)
        own = [float((examples[j] @ cents[j]).min()) for j in range(len(classes))]
        print("%-20s lowest example-to-own-centroid cos per class: %s" % (
            name, ", ".join("%s %.3f" % (c, o) for c, o in zip(classes, own))))
    return 1 if failed else 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", default=os.path.join(ROOT, "deps", "fewshot"))
    p.add_argument("--models", default=default_models_dir())
    p.add_argument("--names", default=",".join(NAMES))
    p.add_argument("--draws", type=int, default=20)
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--open-shots", type=int, default=5,
                   help="examples per class in the unknown-class analysis")
    p.add_argument("--thresholds", default="0.3,0.4,0.5,0.55,0.6,0.65,0.7")
    p.add_argument("--check-test-classes", metavar="DATA_DIR")
    p.add_argument("--auto-threshold", metavar="SHOTS",
                   help="only the min-similarity=auto study, with these numbers of examples "
                        "per class (e.g. 3,5,10)")
    p.add_argument("--no-mean-removed", dest="mean_removed", action="store_false",
                   help="skip the variant that removes each model's mean embedding over "
                        "generic photos before normalising")
    args = p.parse_args(argv)
    names = [n for n in args.names.split(",") if n]
    args.thresholds = [float(t) for t in args.thresholds.split(",")]
    args.auto_shots = [int(k) for k in (args.auto_threshold or "").split(",") if k]
    if args.check_test_classes:
        return check_test_classes(args.check_test_classes, args.models, names)
    if not os.path.isdir(args.photos):
        raise SystemExit("no photo set in %s: run models/fewshot_photos.py --out %s"
                         % (args.photos, args.photos))
    files = class_folders(args.photos)
    classes = sorted(files)
    print("photo set %s: %d photos, %d classes (%s)" % (
        args.photos, sum(len(f) for f in files.values()), len(classes),
        ", ".join("%s %d" % (c, len(files[c])) for c in classes)))
    print("models from %s; load average %s" % (args.models, " ".join("%.2f" % x for x in os.getloadavg())))
    start = time.time()
    images = {c: [load_rgb(f) for f in files[c]] for c in classes}
    emb = {}
    centred = {}
    generic = generic_photos() if args.mean_removed else []
    for name in names:
        t = time.time()
        embedder = Embedder(os.path.join(args.models, name + ".onnx"))
        raw = {c: embedder.raw(images[c]) for c in classes}
        emb[name] = {c: unit(raw[c]) for c in classes}
        if generic:
            mean = embedder.raw(generic).mean(axis=0)
            centred[name + MEAN_REMOVED] = {c: unit(raw[c] - mean) for c in classes}
        print("%s: embedded in %.1f s (width %d)" % (name, time.time() - t, emb[name][classes[0]].shape[1]))
    print("\n### int8 against fp32: cosine similarity of each photo's embeddings\n")
    print("| model | photos | mean | min |")
    print("|---|---|---|---|")
    for name in names:
        base = name[:-len("-int8")]
        if name.endswith("-int8") and base in emb:
            cos = np.concatenate([(emb[name][c] * emb[base][c]).sum(axis=1) for c in classes])
            print("| %s | %d | %.4f | %.4f |" % (name, len(cos), cos.mean(), cos.min()))
    emb.update(centred)
    if args.auto_shots:
        auto_threshold(emb, files, classes, draws({c: len(files[c]) for c in classes}, args.draws, args.seed), args)
        print("\nall done in %.0f s" % (time.time() - start))
        return 0
    splits = study(emb, files, classes, args)
    confusions(emb, files, classes, splits, args)
    open_set(emb, files, classes, splits, args)
    calibration_by_class_count(emb, files, classes, splits, args)
    print("\nall done in %.0f s; load average %s" % (
        time.time() - start, " ".join("%.2f" % x for x in os.getloadavg())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
