#!/usr/bin/env bash
# Runs the whole test suite after making sure everything is set up.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh" --no-build
cd "$ROOT"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
