#!/usr/bin/env bash
# Builds and tests the plugin against GStreamer 1.26 with the `analytics` feature, in a
# Debian 13 (trixie) root. Debian 12's GStreamer 1.22 has no analytics library, so
# scripts/test.sh cannot build that code; this leg runs clippy, the test suite and the
# meson build on 1.26 instead, and checks that meson turned the feature on by itself.
#
#   scripts/test-gst126.sh            make or update the root if needed, then the checks
#   scripts/test-gst126.sh --rebuild  the same from a fresh root
#   scripts/test-gst126.sh --shell    a shell in the root, set up like the checks (no checks)
#
# Needs root (debootstrap, chroot, mounts); run as another user it re-runs itself with
# sudo and builds as that user. It runs scripts/setup.sh --no-build first: the tests
# load ONNX Runtime and the models from deps/, which the root sees through the mounted
# checkout.
#
# The root lives in /var/cache/gst-plugin-imgclassify/debian13 (IMGCLASSIFY_GST126_ROOT
# overrides it): outside the checkout, so `rm -rf deps`, `git clean -dfx` or a fresh
# clone neither delete 2 GB of Debian nor ever walk into a root whose mounts are
# live, and worktrees of one checkout share it. Build output goes to target/gst126.
set -euo pipefail
# CI may run without HOME; rustup's default places are under the user's home folder.
HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
CHROOT=${IMGCLASSIFY_GST126_ROOT:-/var/cache/gst-plugin-imgclassify/debian13}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
BASE="debootstrap --variant=minbase $SUITE"
TARGET="$ROOT/target/gst126"
MARKER="$CHROOT/.imgclassify-root"       # what debootstrap made: $BASE
STAMP="$CHROOT/.imgclassify-packages"    # the package list last installed, one a line

# What the build, the tests and meson need on top of minbase. Changing this list
# installs the additions on the next run, or rebuilds the root when one is dropped
# (so nothing stale can hide a missing package).
PACKAGES=(
    pkg-config gcc
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
    libgstreamer-plugins-bad1.0-dev    # gstreamer-analytics-1.0
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad           # tests: h264parse; examples/decode_bench: onnxinference
    libpango1.0-dev libcairo2-dev fonts-dejavu-core
    gstreamer1.0-tools python3 python3-gi gir1.2-gstreamer-1.0   # tests/consumers.rs, examples/decode_bench
    meson ninja-build
    gstreamer1.0-plugins-ugly gstreamer1.0-libav   # tests: 10-bit H.264 (x264enc, avdec_h264); examples/decode_bench
    mosquitto mosquitto-clients openssl            # tests/mqtt.rs: a real broker, TLS
    gstreamer1.0-opencv opencv-data                # facedetect: the detector → classifier tests
)

# Each message carries the seconds since the start: CI logs then show what the leg costs.
say() { printf '\033[1m[gst126 +%ss]\033[0m %s\n' "$SECONDS" "$*"; }
die() { printf '\033[1;31m[gst126] error:\033[0m %s\n' "$*" >&2; exit 1; }

MODE=check
case "${1:-}" in
    "") ;;
    --rebuild) MODE=rebuild ;;
    --shell) MODE=shell ;;
    *) die "unknown option '$1' (see the top of $0)" ;;
esac

# deps/ is set up as the invoking user, before any sudo, so it never ends up root's.
if [ -z "${IMGCLASSIFY_SETUP_DONE:-}" ]; then
    "$ROOT/scripts/setup.sh" --no-build
fi

if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "needs root for debootstrap, chroot and mounts; run it as root"
    # The build then runs as this user again, with this user's Rust, so that neither
    # target/ nor ~/.cargo gets files only root can delete.
    exec sudo env CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
        IMGCLASSIFY_GST126_ROOT="$CHROOT" DEBIAN_MIRROR="$MIRROR" IMGCLASSIFY_SETUP_DONE=1 \
        IMGCLASSIFY_GST126_BUILD_USER="$(id -u):$(id -g)" "$0" "$@"
fi
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
BUILD_USER=${IMGCLASSIFY_GST126_BUILD_USER:-0:0}

# mountinfo escapes blanks, and a relative or top-level root would make the removal
# below far too wide.
for p in "$ROOT" "$CHROOT" "$CARGO_HOME" "$RUSTUP_HOME"; do
    case "$p" in *[[:space:]]*) die "'$p' has a blank in it; use a path without one" ;; esac
done
case "$CHROOT" in /?*/?*) ;; *) die "IMGCLASSIFY_GST126_ROOT must be an absolute path at least two levels deep, not '$CHROOT'" ;; esac
# mountinfo and /proc/PID/root name the resolved path; a symlink on the way would hide
# live mounts from the checks below.
CHROOT=$(realpath -m "$CHROOT")
[ -x "$CARGO_HOME/bin/cargo" ] || die "no cargo in $CARGO_HOME/bin: install Rust with rustup (see scripts/setup.sh)"
[ -d "$RUSTUP_HOME/toolchains" ] || die "no Rust toolchains in $RUSTUP_HOME"
if [ ! -e "$ROOT/deps/onnxruntime/libonnxruntime.so" ] || [ ! -d "$ROOT/deps/models" ]; then
    die "deps/ has no ONNX Runtime or models after scripts/setup.sh"
fi
if [ -d "$TARGET" ] && [ "$(stat -c %u:%g "$TARGET")" != "$BUILD_USER" ]; then
    die "$TARGET belongs to $(stat -c %u:%g "$TARGET"), this build runs as $BUILD_USER: remove it (or run as its owner)"
fi

# Prints the mount points at or below $1, deepest first (the order to unmount them in).
mounts_under() {
    awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# Removes a root this script made. Refuses while anything is mounted inside it: rm
# would follow the bind mounts into the checkout, ~/.cargo and ~/.rustup.
remove_root() {
    local dir=$1
    [ -e "$dir" ] || return 0
    if [ -n "$(mounts_under "$dir")" ]; then
        die "still mounted inside $dir (see: findmnt -R $dir); unmount them, then run this again"
    fi
    rm -rf --one-file-system -- "$dir"
}

# One run per root at a time: two would share (and unmount) each other's /proc.
mkdir -p "$(dirname "$CHROOT")"
exec 9>"$CHROOT.lock"
if ! flock -n 9; then
    say "another run is using $CHROOT; waiting for it"
    flock 9
fi

ensure_debootstrap() {
    command -v debootstrap >/dev/null && [ -e "/usr/share/debootstrap/scripts/$SUITE" ] && return
    say "installing debootstrap on the host"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends debootstrap debian-archive-keyring; } >"$CHROOT.apt.log" 2>&1 \
        || { tail -n 30 "$CHROOT.apt.log" >&2; die "could not install debootstrap; log in $CHROOT.apt.log"; }
    [ -e "/usr/share/debootstrap/scripts/$SUITE" ] || die "this debootstrap does not know Debian $SUITE"
}

create_root() {
    ensure_debootstrap
    say "creating the Debian 13 root in $CHROOT ($BASE, from $MIRROR)"
    # Built beside the final place and moved in whole, so an interrupted debootstrap
    # never looks like a finished root.
    remove_root "$CHROOT.new"
    debootstrap --variant=minbase "$SUITE" "$CHROOT.new" "$MIRROR" >"$CHROOT.debootstrap.log" 2>&1 \
        || { tail -n 30 "$CHROOT.debootstrap.log" >&2; die "debootstrap failed; full log in $CHROOT.debootstrap.log"; }
    # Nothing installed here may start a service on the host.
    printf '#!/bin/sh\nexit 101\n' >"$CHROOT.new/usr/sbin/policy-rc.d"
    chmod 755 "$CHROOT.new/usr/sbin/policy-rc.d"
    echo "$BASE" >"$CHROOT.new/.imgclassify-root"
    mv "$CHROOT.new" "$CHROOT"
}

# Decides from the marker and the stamp whether the root can be reused, needs the
# package list installed, or has to be made again.
wanted=$(printf '%s\n' "${PACKAGES[@]}" | sort -u)
install=yes
if [ "$MODE" = rebuild ] && [ -e "$CHROOT" ]; then
    [ -e "$MARKER" ] || die "$CHROOT was not made by this script; not deleting it"
    say "removing the old root (--rebuild)"
    remove_root "$CHROOT"
fi
if [ -e "$CHROOT" ] && [ ! -e "$MARKER" ]; then
    die "$CHROOT exists but was not made by this script; remove it or set IMGCLASSIFY_GST126_ROOT"
fi
if [ -e "$MARKER" ] && [ "$(cat "$MARKER")" != "$BASE" ]; then
    say "the root was made by '$(cat "$MARKER")'; making it again with '$BASE'"
    remove_root "$CHROOT"
fi
if [ -e "$STAMP" ]; then
    if [ "$(cat "$STAMP")" = "$wanted" ]; then
        install=no
    elif [ -n "$(comm -23 "$STAMP" <(echo "$wanted"))" ]; then
        say "packages dropped from the list ($(comm -23 "$STAMP" <(echo "$wanted") | paste -sd' ')); making the root again"
        remove_root "$CHROOT"
    fi
fi
[ -e "$CHROOT" ] || create_root

# Checked before the trap is set, so the cleanup never ends processes of a session
# someone else opened in the root.
[ -z "$(mounts_under "$CHROOT")" ] || die "something is already mounted in $CHROOT (findmnt -R $CHROOT): another run died uncleanly? Unmount it first"
MOUNTED=()
cleanup() {
    local status=$? p pid left
    trap - EXIT INT TERM
    # Whatever still runs in the root (a hung test, a plugin scanner) holds its mounts.
    for sig in TERM KILL; do
        left=0
        for p in /proc/[0-9]*; do
            pid=${p#/proc/}
            if [ "$(readlink "$p/root" 2>/dev/null)" = "$CHROOT" ]; then
                kill -s "$sig" "$pid" 2>/dev/null && left=$((left + 1))
            fi
        done
        if [ "$left" -gt 0 ]; then
            printf '[gst126] sent SIG%s to %d processes left in the root\n' "$sig" "$left" >&2
            sleep 2
        fi
    done
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTED[i]}" 2>/dev/null || { sleep 1; umount "${MOUNTED[i]}"; } \
            || printf '\033[1;31m[gst126] error:\033[0m could not unmount %s\n' "${MOUNTED[i]}" >&2
    done
    left=$(mounts_under "$CHROOT")
    if [ -n "$left" ]; then
        printf '\033[1;31m[gst126] error:\033[0m still mounted, unmount by hand:\n%s\n' "$left" >&2
        status=1
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bind SOURCE [ro]: SOURCE at the same path inside the root, so paths compiled into
# the test binaries (CARGO_MANIFEST_DIR/deps/...) and the toolchain's own paths hold.
bind() {
    local target="$CHROOT$1"
    mkdir -p "$target"
    mount --bind "$1" "$target"
    MOUNTED+=("$target")
    if [ "${2:-}" = ro ]; then
        mount -o remount,bind,ro "$target"
    fi
}

mount -t proc proc "$CHROOT/proc"
MOUNTED+=("$CHROOT/proc")
# debootstrap makes /dev/null and friends with mknod; where it could not (inside some
# containers) the host's /dev stands in.
[ -c "$CHROOT/dev/null" ] || bind /dev
bind "$RUSTUP_HOME" ro
bind "$CARGO_HOME"
bind "$ROOT"
# A worktree or second checkout may link deps/ to another checkout's.
deps=$(readlink -f "$ROOT/deps")
case "$deps" in "$ROOT"/*) ;; *) bind "$deps" ;; esac

# Cargo fetches through the same certificates and resolver as the host (a proxy's own
# CA may be among them); refreshed every run as the host's may change.
mkdir -p "$CHROOT/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$CHROOT/etc/ssl/certs/ca-certificates.crt"
cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf"

proxy_env=()
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [ -n "${!v:-}" ] && proxy_env+=("$v=${!v}")
done

if [ "$install" = yes ]; then
    say "installing into the root: ${PACKAGES[*]}"
    chroot "$CHROOT" 9>&- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "${proxy_env[@]}" sh -c \
        'apt-get update -q && apt-get install -y -q --no-install-recommends "$@" && apt-get clean' \
        _ "${PACKAGES[@]}" >"$CHROOT.apt.log" 2>&1 \
        || { tail -n 30 "$CHROOT.apt.log" >&2; die "apt-get in the root failed; log in $CHROOT.apt.log"; }
    echo "$wanted" >"$STAMP"
fi

for d in "$ROOT/target" "$TARGET" "$TARGET/home"; do
    [ -d "$d" ] || { mkdir "$d"; chown "$BUILD_USER" "$d"; }
done
# A clean environment: nothing of the host's GStreamer, pkg-config or ONNX Runtime
# settings may leak into a build that is meant to be Debian 13's.
# (fd 9, the lock, stays outside: a process left behind must not keep the root locked.)
in_root() {
    chroot --userspec="$BUILD_USER" "$CHROOT" 9>&- /usr/bin/env -i -C "$ROOT" \
        PATH="$CARGO_HOME/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" LANG=C.UTF-8 TERM="${TERM:-dumb}" \
        HOME="$TARGET/home" CARGO_HOME="$CARGO_HOME" RUSTUP_HOME="$RUSTUP_HOME" \
        CARGO_TARGET_DIR="$TARGET/cargo" GST_REGISTRY="$TARGET/gst-registry.bin" \
        ${CARGO_BUILD_JOBS:+CARGO_BUILD_JOBS="$CARGO_BUILD_JOBS"} \
        ${CARGO_INCREMENTAL:+CARGO_INCREMENTAL="$CARGO_INCREMENTAL"} "${proxy_env[@]}" "$@"
}

gst_version=$(in_root pkg-config --modversion gstreamer-1.0)
analytics_version=$(in_root pkg-config --modversion gstreamer-analytics-1.0) \
    || die "the root has no gstreamer-analytics-1.0"
say "root: Debian $(cat "$CHROOT/etc/debian_version"), GStreamer $gst_version, gstreamer-analytics $analytics_version"

if [ "$MODE" = shell ]; then
    say "shell in the root (exit to unmount)"
    in_root bash -i || true
    exit 0
fi

say "clippy (features: analytics)"
in_root cargo clippy --locked --all-targets --features analytics -- -D warnings

say "meson build (analytics must be found without being asked for)"
build="$TARGET/meson"
setup=(meson setup)
# Keeping the build folder keeps meson's cargo target, so a warm run rebuilds little.
[ -e "$build/build.ninja" ] && setup+=(--reconfigure)
# Logs written from outside the root go to the build user too, or a later run as that
# user could not overwrite them.
: >"$TARGET/meson-setup.log"
: >"$TARGET/test.log"
chown "$BUILD_USER" "$TARGET/meson-setup.log" "$TARGET/test.log"
in_root "${setup[@]}" "$build" >"$TARGET/meson-setup.log" 2>&1 \
    || { cat "$TARGET/meson-setup.log" >&2; die "meson setup failed"; }
grep -qE '^(Run-time d|D)ependency gstreamer-analytics-1.0 found: YES' "$build/meson-logs/meson-log.txt" \
    || die "meson did not find gstreamer-analytics-1.0 (see $build/meson-logs/meson-log.txt)"
in_root meson compile -C "$build"
# The proof that meson passed --features analytics: only then does the plugin link
# the analytics library.
plugin="$build/libgstimgclassify.so"
# (Read whole first: grep -q stopping early would fail the pipe under pipefail.)
needed=$(in_root readelf -d "$plugin")
grep -q 'NEEDED.*libgstanalytics-1.0.so' <<<"$needed" \
    || die "$plugin does not link libgstanalytics-1.0: meson built it without the analytics feature"
say "meson: found gstreamer-analytics-1.0, and $plugin links libgstanalytics-1.0"

# tests/byom.rs wraps the built-in model with deps/venv's Python and onnx, which this
# root lacks: the models are made on the host first, with the same commands the test runs.
byom="$TARGET/byom"
"$ROOT/deps/venv/bin/python" "$ROOT/tests/data/models/make_byom.py" "$ROOT/deps/models/mobilenet.onnx" "$byom" >/dev/null
"$ROOT/deps/venv/bin/python" "$ROOT/models/set_metadata.py" "$byom/bgr_raw.onnx" --color-order bgr \
    --mean 0 --std 1 --out "$byom/bgr_tagged.onnx" >/dev/null
chown -R "$BUILD_USER" "$byom"

say "tests (features: analytics)"
log="$TARGET/test.log"
set +e
# tests/remote.rs's and tests/remote_limits.rs's Triton and tests/kserve.rs's KServe run
# from deps/triton-venv and deps/kserve-venv, made with the host's Python, which this root
# lacks; the remote backend has no GStreamer code, and scripts/test.sh runs those tests.
# Their modules are left out here (counted as filtered out, not as passed).
remote_tests=()
for module in remote remote_limits kserve; do
    grep -q '#\[test\]' "$ROOT/tests/$module.rs" || die "found no test in tests/$module.rs to leave out"
    remote_tests+=(--skip "$module::")
done
in_root IMGCLASSIFY_BYOM_DIR="$byom" cargo test --locked --no-fail-fast --features analytics -- "${remote_tests[@]}" 2>&1 | tee "$log"
test_status=${PIPESTATUS[0]}
set -e
# One total over all test binaries, counted like scripts/test.sh.
read -r passed failed ignored < <(awk '/^test result:/ { p += $4; f += $6; i += $8 } END { print p + 0, f + 0, i + 0 }' "$log")
# The tests that exist only with the feature: those of the gated `analytics` module,
# and each #[test] right under a #[cfg(feature = "analytics")]. Each must have passed
# here, by name, so none can silently drop out of the leg.
module_ran=$(grep -cE '^test ([a-z0-9_]+::)*analytics::[a-z0-9_:]+ \.\.\. ok$' "$log" || true)
gated=$({ grep -rh -A4 --include='*.rs' '#\[cfg(feature = "analytics")\]' "$ROOT/src" "$ROOT/tests" || true; } \
    | awk '/#\[cfg\(feature = "analytics"\)\]/ { t = 0; next }
           /#\[test\]/ { t = 1; next }
           t && match($0, /fn [a-z0-9_]+/) { print substr($0, RSTART + 3, RLENGTH - 3); t = 0 }')
missing=()
for name in $gated; do
    grep -qE "^test ([a-z0-9_]+::)*$name \.\.\. ok\$" "$log" || missing+=("$name")
done

say "analytics-only tests passed: $module_ran of the analytics module, $(($(wc -w <<<"$gated") - ${#missing[@]})) of $(wc -w <<<"$gated") gated elsewhere"
printf 'imgclassify tests (GStreamer %s, analytics): %d passed, %d failed, %d skipped\n' \
    "${gst_version%.*}" "$passed" "$failed" "$ignored"
[ "$test_status" -eq 0 ] || die "cargo test failed (exit $test_status); log in $log"
[ "$failed" -eq 0 ] || die "$failed tests failed"
[ "$passed" -gt 0 ] || die "no tests ran"
[ "$ignored" -eq 0 ] || die "$ignored tests were skipped; every test must run in this leg"
[ "$module_ran" -gt 0 ] || die "no test of the analytics module ran: was the feature compiled in?"
[ ${#missing[@]} -eq 0 ] || die "feature-gated tests that did not pass here: ${missing[*]}"
