#!/usr/bin/env bash
# Classifies 30 frames of GStreamer's test pattern and prints the labels (no camera needed).
set -euo pipefail
source "$(dirname "$0")/common.sh"
gst-launch-1.0 -m videotestsrc num-buffers="${FRAMES:-30}" ! imgclassify model="${MODEL:-mobilenet}" \
    post-messages=true ! fakesink | show_labels
