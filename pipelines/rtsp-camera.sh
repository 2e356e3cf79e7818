#!/usr/bin/env bash
# Classifies an RTSP surveillance camera: pipelines/rtsp-camera.sh rtsp://user:pass@camera/stream
# mode=async: frames never wait for the model, each label is the newest result
# (docs/live.md); THREADS as in webcam.sh.
set -euo pipefail
source "$(dirname "$0")/common.sh"
url=${1:?usage: rtsp-camera.sh RTSP_URL}
gst-launch-1.0 -m rtspsrc location="$url" latency=200 ! decodebin ! videoconvert \
    ! imgclassify model="${MODEL:-mobilenet}" mode=async threads="${THREADS:-1}" post-messages=true \
    ! fakesink sync=true | show_labels
