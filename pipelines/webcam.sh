#!/usr/bin/env bash
# Classifies a V4L2 camera live in its own raw format (no videoconvert or videoscale
# needed): pipelines/webcam.sh [/dev/videoN]
# mode=async: the camera's frames never wait for the model, each label is the newest
# result (docs/live.md); threads=1 leaves a core to the streaming thread on small machines
# (THREADS=0 gives ONNX Runtime one thread per core).
set -euo pipefail
source "$(dirname "$0")/common.sh"
gst-launch-1.0 -m v4l2src device="${1:-/dev/video0}" \
    ! imgclassify model="${MODEL:-mobilenet}" mode=async threads="${THREADS:-1}" post-messages=true \
    ! fakesink sync=true | show_labels
