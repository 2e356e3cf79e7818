#!/usr/bin/env bash
# Runs the whole test suite after making sure everything it needs is installed
# (scripts/setup.sh --dev: the runtime plus the test and development packages).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh" --dev --no-build
cd "$ROOT"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked 2>&1 | tee "$log"
# One total over all test binaries.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "imgclassify tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
