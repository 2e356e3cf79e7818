#!/usr/bin/env bash
# Classifies every frame of a video file: pipelines/video-file.sh movie.mp4 [model]
set -euo pipefail
source "$(dirname "$0")/common.sh"
video=${1:?usage: video-file.sh VIDEO [MODEL]}
gst-launch-1.0 -m filesrc location="$video" ! decodebin ! videoconvert ! imgclassify model="${2:-mobilenet}" \
    post-messages=true ! fakesink | show_labels
