#!/usr/bin/env bash
# The main job: sets everything up (first run only), then classifies the sample photos
# with both model families and a few frames of videotestsrc, printing the labels.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh"
echo
for photo in "$ROOT"/tests/data/*.png "$ROOT"/tests/data/*.jpg; do
    echo "$(basename "$photo")"
    for model in mobilenet efficientnet; do
        "$ROOT/pipelines/photo.sh" "$photo" "$model"
    done
done
echo "videotestsrc (3 frames of the colour-bar pattern)"
FRAMES=3 "$ROOT/pipelines/videotestsrc.sh"
