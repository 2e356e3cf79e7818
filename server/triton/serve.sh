#!/usr/bin/env bash
# Starts the local Triton for tests and demos: the Triton 2.51 binary inside the PyPI
# package nvidia-pytriton (deps/triton-venv, installed by scripts/setup.sh --dev), serving
# the built-in models through its Python backend on CPU, on 127.0.0.1 only.
#
#   server/triton/serve.sh [GRPC_PORT [HTTP_PORT [WORK_DIR [tritonserver options...]]]]
#
# Defaults: 8001, 8000, a new temporary folder. MODELS="mobilenet efficientnet-lite2"
# picks the models (default: mobilenet), read from the first folder of
# IMGCLASSIFY_MODEL_PATH as the element reads them (default: deps/models). Then, e.g.:
#   gst-launch-1.0 filesrc location=tests/data/coffee.png ! pngdec ! videoconvert ! \
#     imgclassify inference-server=grpc://127.0.0.1:8001 post-messages=true ! fakesink -m
# Several can run at once on different ports (their shared memory is named by the port).
# Replaces itself with tritonserver (its PID is this script's), so stopping it is one kill.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${IMGCLASSIFY_TRITON_VENV:-$ROOT/deps/triton-venv}
GRPC_PORT=${1:-8001}
HTTP_PORT=${2:-8000}
WORK=${3:-$(mktemp -d -t imgclassify-triton.XXXXXX)}
shift $(( $# < 3 ? $# : 3 ))
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "serve.sh: no Triton venv in $VENV: run scripts/setup.sh --dev" >&2; exit 1; }
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
TRITON="$SITE/pytriton/tritonserver"
PYVER=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')

# The backend folder must lie outside the repository, or Triton takes it for a model.
mkdir -p "$WORK/backends/python" "$WORK/models"
# --remove-destination: a restart on the same folder replaces the files, even the stub
# of a killed server whose process still runs.
cp --remove-destination "$TRITON/backends/python/libtriton_python.so" \
   "$TRITON/python_backend_stubs/$PYVER/triton_python_backend_stub" "$WORK/backends/python/"
# The stub's embedded interpreter is not the venv's and ignores PYTHONPATH: the helper
# module every model imports first (and which imports numpy) puts the venv on sys.path.
{ printf 'import sys\nsys.path.insert(0, %s)\n' "'$SITE'"
  cat "$TRITON/backends/python/triton_python_backend_utils.py"; } > "$WORK/backends/python/triton_python_backend_utils.py"
names=()
for m in ${MODELS:-mobilenet}; do names+=(--name "$m"); done
MODELS_DIR=${IMGCLASSIFY_MODEL_PATH%%:*}
"$PY" "$ROOT/server/triton/repository.py" "$WORK/models" --models "${MODELS_DIR:-$ROOT/deps/models}" "${names[@]}" >/dev/null

# The stub links the CUDA runtime shipped in the wheel, and the libpython of the venv's
# interpreter (which may not be the system's, e.g. under pyenv).
LIBDIR=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
export LD_LIBRARY_PATH="$LIBDIR:$SITE/nvidia_pytriton.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$TRITON/bin/tritonserver" \
    --model-repository="$WORK/models" --backend-directory="$WORK/backends" \
    --grpc-address=127.0.0.1 --grpc-port="$GRPC_PORT" \
    --http-address=127.0.0.1 --http-port="$HTTP_PORT" \
    --allow-metrics=false --log-verbose=0 \
    --backend-config=python,shm-region-prefix-name="imgclassify_${GRPC_PORT}_" "$@"
