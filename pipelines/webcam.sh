#!/usr/bin/env bash
# Classifies a V4L2 camera live in its own raw format (no videoconvert or videoscale needed).
source "$(dirname "$0")/common.sh"
gst-launch-1.0 -m v4l2src device=${1:-/dev/video0} ! imgclassify model=${MODEL:-mobilenet} post-messages=true \
    ! fakesink sync=true | show_labels
