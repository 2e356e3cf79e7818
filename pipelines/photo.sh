#!/usr/bin/env bash
# Classifies one picture file: pipelines/photo.sh tests/data/coffee.png [model]
# Exits with gst-launch-1.0's status (non-zero for a missing or unreadable file).
set -euo pipefail
source "$(dirname "$0")/common.sh"
photo=${1:?usage: photo.sh PICTURE [MODEL]}
gst-launch-1.0 -m filesrc location="$photo" ! decodebin ! videoconvert ! imagefreeze num-buffers=1 \
    ! imgclassify model="${2:-mobilenet}" post-messages=true ! fakesink | show_labels
