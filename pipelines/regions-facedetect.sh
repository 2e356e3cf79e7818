#!/usr/bin/env bash
# Detector → classifier: OpenCV's facedetect marks faces (ROI metas), imgclassify labels each
# region in one batch. pipelines/regions-facedetect.sh [PICTURE]; a webcam without argument.
# Prints one line per frame with faces: the regions as imgclassify sees them.
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
# sed, not grep: a frame without faces is not an error.
gst-launch-1.0 -m "${src[@]}" ! facedetect display=false ! videoconvert \
    ! imgclassify target=regions region-types=face post-messages=true ! fakesink \
    2> >(grep -v 'persistence.cpp' >&2) | sed -n 's/.*\(regions=.*\)/\1/; T; s/\\//g; p'
