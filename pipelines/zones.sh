#!/usr/bin/env bash
# Zones without a detector: a living-room scene made from the test photos, a "table"
# zone over the cup of coffee and a "sofa" zone over the cat. After SECONDS_CAT seconds
# the cat leaves (the sofa turns grey), and the change events are printed as they
# happen, one JSON line each (classifyjson changes-only=true):
#   pipelines/zones.sh [OUT.png]
# With OUT.png, the last frame with the zones outlined by classifyoverlay is saved there.
# Environment: SECONDS_CAT (default 2) and SECONDS_EMPTY (default 2) at 10 frames per
# second; SYNC=false runs as fast as it can instead of in real time.
set -euo pipefail
source "$(dirname "$0")/common.sh"
data=$ROOT/tests/data
rate=10
cat_frames=$(( ${SECONDS_CAT:-2} * rate ))
empty_frames=$(( ${SECONDS_EMPTY:-2} * rate ))
frames=$(( cat_frames + empty_frames ))
if [ $# -ge 1 ]; then
    mkdir -p "$(dirname "$1")"
    out="videoconvert ! pngenc snapshot=false ! multifilesink location=$1 max-files=1"
else
    out="fakesink sync=${SYNC:-true}"
fi
# The sofa's picture: the cat, then an empty (grey) sofa, one after the other.
# shellcheck disable=SC2086
gst-launch-1.0 -q \
    compositor name=room background=black sink_0::xpos=20 sink_0::ypos=40 \
        sink_1::xpos=660 sink_1::ypos=90 \
    ! video/x-raw,width=1140,height=480,framerate=$rate/1 ! videoconvert \
    ! imgclassify target=zones smoothing=0.5 threshold=0.2 \
        zones="table:20,40,600,400;sofa:660,90,451,300" \
    ! classifyoverlay ! classifyjson changes-only=true ! $out \
    filesrc location="$data/coffee.png" ! decodebin ! videoconvert \
        ! imagefreeze num-buffers=$frames ! video/x-raw,framerate=$rate/1 ! room.sink_0 \
    concat name=sofa ! room.sink_1 \
    filesrc location="$data/chelsea.png" ! decodebin ! videoconvert \
        ! imagefreeze num-buffers=$cat_frames ! video/x-raw,framerate=$rate/1 ! sofa. \
    videotestsrc pattern=solid-color foreground-color=0xff808080 num-buffers=$empty_frames \
        ! video/x-raw,width=451,height=300,framerate=$rate/1 ! videoconvert ! sofa.
