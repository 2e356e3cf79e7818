#!/usr/bin/env bash
# The main job: sets up what running needs (first run only), then classifies the sample
# photos with both model families and a few frames of videotestsrc, printing the labels.
# The photos are those of tests/data/expected.tsv: ImageNet has a class for each.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh"
echo
cut -f1 "$ROOT/tests/data/expected.tsv" | sort | while read -r photo; do
    echo "$photo"
    for model in mobilenet efficientnet; do
        "$ROOT/pipelines/photo.sh" "$ROOT/tests/data/$photo" "$model"
    done
done
echo "videotestsrc (3 frames of the colour-bar pattern)"
FRAMES=3 "$ROOT/pipelines/videotestsrc.sh"
