#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), starting from the
# committed seeds in fuzz/corpus/<target>, with the address sanitizer and debug
# assertions. Exits non-zero if any target crashes; the crashing input is then in
# fuzz/artifacts/<target>/ (replay it with: cd fuzz && cargo fuzz run <target> <file>).
#
#   scripts/fuzz.sh             60 seconds per target
#   scripts/fuzz.sh 600         10 minutes per target
#   scripts/fuzz.sh 600 preprocess
#                               one target only
#
# New inputs go to fuzz/scratch/<target> (gitignored), so a run never rewrites the
# committed seeds; a later run starts from both.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${1:-60}
ONLY=${2:-}
CARGO_FUZZ_VERSION=0.13.2

say() { printf '\033[1m[fuzz]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[fuzz] error:\033[0m %s\n' "$*" >&2; exit 1; }

[[ "$DURATION" =~ ^[0-9]+$ ]] && [ "$DURATION" -gt 0 ] || die "SECONDS must be a positive number, not '$DURATION'"

# System packages (GStreamer headers for linking, a C++ compiler for libFuzzer) and Rust.
"$ROOT/scripts/setup.sh" --dev --no-build

# cargo-fuzz passes -Z flags (the sanitizer, coverage instrumentation) that only
# nightly rustc takes; RUSTC_BOOTSTRAP lets stable take them, so no second toolchain.
export RUSTC_BOOTSTRAP=1

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

cd "$ROOT/fuzz"
mapfile -t targets < <(cargo fuzz list)
if [ -n "$ONLY" ]; then
    printf '%s\n' "${targets[@]}" | grep -qx "$ONLY" \
        || die "no fuzz target '$ONLY' (there are: ${targets[*]})"
    targets=("$ONLY")
fi

say "building ${targets[*]} (address sanitizer, debug assertions)"
for target in "${targets[@]}"; do
    cargo fuzz build --sanitizer address "$target"
done

failed=()
summary=()
for target in "${targets[@]}"; do
    scratch="scratch/$target"
    mkdir -p "$scratch" "artifacts/$target"
    args=(-max_total_time="$DURATION" -timeout=30 -print_final_stats=1)
    [ -f "$target.dict" ] && args+=(-dict="$target.dict")
    log=$(mktemp)
    say "$target: ${DURATION}s"
    # libFuzzer writes new inputs into the first directory only.
    if cargo fuzz run --sanitizer address "$target" "$scratch" "corpus/$target" -- "${args[@]}" \
        >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$target")
        # The panic or sanitizer report, then how to replay the input.
        grep -v '^\s*$' "$log" | grep -m 1 -A 40 -E 'panicked at|==ERROR|ERROR: libFuzzer' || true
        grep -v '^\s*$' "$log" | sed -n '/Failing input:/,/cargo fuzz run/p'
    fi
    runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
    speed=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log")
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)
    corpus=$(find "$scratch" "corpus/$target" -type f | wc -l)
    summary+=("$target: $status, ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-cov: ?}, corpus $corpus inputs")
    rm -f "$log"
done

for line in "${summary[@]}"; do say "$line"; done
if [ ${#failed[@]} -gt 0 ]; then
    die "crash in ${failed[*]}: see fuzz/artifacts/"
fi
