#!/usr/bin/env bash
# Runs a short real pipeline (videotestsrc → imgclassify → classifyoverlay → fakesink)
# under valgrind memcheck and fails if memcheck reports, with a frame in the plugin,
# memory definitely lost, an invalid read, write or free, overlapping copies or a use
# of uninitialised memory. Known one-time allocations and false positives of the
# libraries underneath are suppressed (GLib's glib.supp and scripts/valgrind.supp);
# it prints the leak totals, and the full report stays in <target dir>/valgrind/.
#
#   scripts/valgrind.sh             the debug build (what cargo test builds on)
#   scripts/valgrind.sh --release   the release build
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Inference dominates the time under memcheck (about 20 s a frame), so only every
# INTERVAL-th frame is classified; the frames between take the carried-over path.
FRAMES=${FRAMES:-5}
INTERVAL=${INTERVAL:-4}

say() { printf '\033[1m[valgrind]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[valgrind] error:\033[0m %s\n' "$*" >&2; exit 1; }

"$ROOT/scripts/setup.sh" --dev --no-build
cd "$ROOT"

profile=debug
build=(cargo build --locked)
if [ "${1:-}" = "--release" ]; then
    profile=release
    build+=(--release)
fi
say "building the plugin ($profile)"
"${build[@]}"
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
plugin_dir="$target_dir/$profile"
[ -f "$plugin_dir/libgstimgclassify.so" ] || die "no $plugin_dir/libgstimgclassify.so"

out="$target_dir/valgrind"
mkdir -p "$out"
suppressions=(--suppressions="$ROOT/scripts/valgrind.supp")
glib_supp=/usr/share/glib-2.0/valgrind/glib.supp
[ -f "$glib_supp" ] && suppressions+=(--suppressions="$glib_supp")

# A registry of its own, so the plugin is scanned (outside valgrind, by
# gst-plugin-scanner) from this build and not taken from a stale cache.
export GST_REGISTRY="$out/registry.bin"
rm -f "$GST_REGISTRY"
export GST_PLUGIN_PATH="$plugin_dir"
# Plain malloc for every GLib allocation and cleared pointers on free, so memcheck
# sees the real owners.
export G_SLICE=always-malloc G_DEBUG=gc-friendly

say "gst-launch-1.0 under memcheck: $FRAMES frames of 320x240, mobilenet on every ${INTERVAL}th"
start=$(date +%s)
rc=0
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite --track-origins=yes --num-callers=40 \
    "${suppressions[@]}" \
    --log-file="$out/memcheck.log" --xml=yes --xml-file="$out/memcheck.xml" \
    gst-launch-1.0 -m videotestsrc num-buffers="$FRAMES" \
    ! video/x-raw,width=320,height=240 \
    ! imgclassify model=mobilenet inference-interval="$INTERVAL" post-messages=true \
    ! classifyoverlay ! fakesink \
    >"$out/pipeline.log" 2>&1 || rc=$?
say "done in $(($(date +%s) - start)) s, gst-launch exit status $rc"
if [ "$rc" -ne 0 ]; then
    cat "$out/pipeline.log" >&2
    die "the pipeline failed under valgrind (report: $out/memcheck.xml)"
fi
results=$(grep -c '(element): imgclassify, ' "$out/pipeline.log" || true)
[ "$results" -gt 0 ] || die "the pipeline classified nothing (see $out/pipeline.log)"
say "$results results posted"

# Judge from the XML report: totals for everything, failure only for errors with a
# frame in the plugin's own code.
python3 - "$out/memcheck.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

FATAL = {
    "Leak_DefinitelyLost", "InvalidRead", "InvalidWrite", "InvalidFree",
    "MismatchedFree", "InvalidMemPool", "Overlap", "UninitCondition", "UninitValue",
    "SyscallParam", "ClientCheck",
}
OURS = ("libgstimgclassify", "gstimgclassify", "gst_plugin_imgclassify")

def ours(frame):
    text = " ".join(frame.findtext(tag, "") for tag in ("obj", "fn"))
    return any(name in text for name in OURS)

root = ET.parse(sys.argv[1]).getroot()
leaks = {}
others = {}
bad = []
for error in root.iter("error"):
    kind = error.findtext("kind")
    frames = [f for stack in error.iter("stack") for f in stack.iter("frame")]
    mine = any(ours(f) for f in frames)
    if kind.startswith("Leak_"):
        total = leaks.setdefault(kind, [0, 0, 0, 0])
        total[0] += int(error.findtext("xwhat/leakedbytes", "0"))
        total[1] += int(error.findtext("xwhat/leakedblocks", "0"))
        total[2] += 1
        total[3] += mine
    else:
        total = others.setdefault(kind, [0, 0])
        total[0] += 1
        total[1] += mine
    if kind in FATAL and mine:
        bad.append((kind, error, frames))

for kind, name in (("Leak_DefinitelyLost", "definitely lost"),
                   ("Leak_IndirectlyLost", "indirectly lost"),
                   ("Leak_PossiblyLost", "possibly lost")):
    nbytes, blocks, records, mine = leaks.get(kind, [0, 0, 0, 0])
    print(f"{name:>16}: {nbytes} bytes in {blocks} blocks "
          f"({records} records, {mine} through imgclassify)")
for kind, (count, mine) in sorted(others.items()):
    print(f"{kind:>16}: {count} errors ({mine} through imgclassify)")
suppressed = sum(int(p.findtext("count", "0")) for p in root.iter("pair"))
print(f"{'suppressed':>16}: {suppressed} (glib.supp, scripts/valgrind.supp)")

for kind, error, frames in bad:
    what = error.findtext("what") or error.findtext("xwhat/text") or kind
    print(f"\n{kind}: {what}")
    for f in frames[:25]:
        where = f.findtext("file") and f"{f.findtext('file')}:{f.findtext('line')}"
        print(f"    {f.findtext('fn', '???')}  ({where or f.findtext('obj', '?')})")
if bad:
    print(f"\n{len(bad)} memcheck error(s) with a frame in imgclassify", file=sys.stderr)
    sys.exit(1)
print("no memcheck errors with a frame in imgclassify")
PY
