#!/usr/bin/env bash
# Detector → classifier: OpenCV's facedetect marks faces (ROI metas), imgclassify labels each
# region in one batch. pipelines/regions-facedetect.sh [PICTURE]; a webcam without argument.
# Prints one line per face of each frame: its ROI type and id, rectangle (x,y WxH) and
# labels with scores, e.g. "face 0 (175,64 97x97): suit 0.41, lab coat 0.12, …";
# a frame without faces prints nothing.
# Needs the facedetect element: apt-get install gstreamer1.0-opencv opencv-data
# (opencv-data holds the face model facedetect loads).
set -euo pipefail
source "$(dirname "$0")/common.sh"
gst-inspect-1.0 facedetect >/dev/null 2>&1 || { echo "facedetect missing: apt-get install gstreamer1.0-opencv opencv-data" >&2; exit 1; }
if [ -n "${1:-}" ]; then
    src=(filesrc location="$1" ! decodebin ! videoconvert ! imagefreeze num-buffers=1)
else
    src=(v4l2src ! videoconvert)
fi
# classifyjson writes a JSON line per frame to standard output (-q keeps gst-launch-1.0's
# own status lines out of it); show_regions turns each region into a line.
gst-launch-1.0 -q "${src[@]}" ! facedetect display=false ! videoconvert \
    ! imgclassify target=regions region-types=face ! classifyjson ! fakesink \
    2> >(grep -v 'persistence.cpp' >&2) | show_regions
