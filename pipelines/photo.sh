#!/usr/bin/env bash
# Classifies one picture file: pipelines/photo.sh tests/data/coffee.png [MODEL]
# MODEL: a built-in model's name (default mobilenet) or an .onnx file.
# Exits with gst-launch-1.0's status (non-zero for a missing or unreadable file).
set -euo pipefail
source "$(dirname "$0")/common.sh"
photo=${1:?usage: photo.sh PICTURE [MODEL]}
model=${2:-mobilenet}
if [ -f "$model" ]; then which=model-file; else which=model; fi
gst-launch-1.0 -m filesrc location="$photo" ! decodebin ! videoconvert ! imagefreeze num-buffers=1 \
    ! imgclassify "$which=$model" post-messages=true ! fakesink | show_labels
