#!/usr/bin/env bash
# Classifies an RTSP surveillance camera: pipelines/rtsp-camera.sh rtsp://user:pass@camera/stream
source "$(dirname "$0")/common.sh"
url=${1:?usage: rtsp-camera.sh RTSP_URL}
gst-launch-1.0 -m rtspsrc location="$url" latency=200 ! decodebin ! videoconvert ! imgclassify model=${MODEL:-mobilenet} \
    post-messages=true ! fakesink sync=true | show_labels
