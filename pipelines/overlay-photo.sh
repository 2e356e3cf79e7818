#!/usr/bin/env bash
# Classifies one picture and writes it as a PNG with the labels drawn on it:
#   pipelines/overlay-photo.sh [PICTURE] [OUTPUT.png] [MODEL]
# Defaults: tests/data/coffee.png, scaled to 600 pixels wide, into
# ${TMPDIR:-/tmp}/coffee-overlay.png (never into the checkout). The README screenshot was made with
#   pipelines/overlay-photo.sh tests/data/coffee.png docs/coffee-overlay.png
set -euo pipefail
source "$(dirname "$0")/common.sh"
photo=${1:-$ROOT/tests/data/coffee.png}
out=${2:-${TMPDIR:-/tmp}/$(basename "${photo%.*}")-overlay.png}
mkdir -p "$(dirname "$out")"
gst-launch-1.0 -q filesrc location="$photo" ! decodebin ! videoconvert ! videoscale \
    ! video/x-raw,width=600,pixel-aspect-ratio=1/1 ! imagefreeze num-buffers=1 \
    ! imgclassify model="${3:-mobilenet}" ! classifyoverlay ! videoconvert \
    ! pngenc compression-level=9 ! filesink location="$out"
echo "wrote $out"
