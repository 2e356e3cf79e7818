# Sourced by the pipeline scripts: finds the plugin built in this checkout (an installed
# plugin is found by GStreamer anyway) and formats imgclassify messages for the terminal.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -f "$ROOT/target/release/libgstimgclassify.so" ]; then
    export GST_PLUGIN_PATH="$ROOT/target/release${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi

# Reads `gst-launch-1.0 -m` output, prints "label (score), ..." per classified frame.
show_labels() {
    sed -n 's/.*): imgclassify, .*model=(string)\([^,]*\),.*labels=(string)< \(.*\) >, class-ids.*scores=(double)< \([^>]*\) >.*/\1|\2|\3/p' |
        while IFS='|' read -r model labels scores; do
            python3 - "$model" "$labels" "$scores" <<'PY'
import csv, sys
model, labels, scores = sys.argv[1:]
names = [n.strip().strip('"').replace("\\ ", " ") for n in next(csv.reader([labels], skipinitialspace=True))]
values = [float(s) for s in scores.split(",")]
print(f"{model:>18}: " + ", ".join(f"{n} {v:.2f}" for n, v in zip(names, values)))
PY
        done
}
