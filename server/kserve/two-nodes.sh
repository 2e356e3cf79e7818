#!/usr/bin/env bash
# Tries the two-node KServe + Ray Serve recipe (docs/remote-inference.md) on one machine:
# a network namespace, joined to this host by a veth pair with two addresses of a
# private /30, stands in for the second machine. It runs what the two machines run:
#
#   node 1 (this host)    ray start --head --node-ip-address=HEAD_IP --port=GCS_PORT ...
#   node 2 (namespace)    ray start --address=HEAD_IP:GCS_PORT --node-ip-address=NODE_IP ...
#   node 1                server/kserve/serve.py --address HEAD_IP:GCS_PORT --replicas 2
#                                                --max-replicas-per-node 1
#
# then classifies frames of the coffee photo with imgclassify against KServe on
# 127.0.0.1, checks every frame is an espresso and that replicas on both nodes answered
# (serve.py's `calls:` lines name the node), and prints the calls per node. Everything
# it started is torn down on exit, failed or not: the Ray nodes and serve.py (each runs
# in a session of its own, killed by its PIDs; `ray stop` is not used, as it would also
# stop any other Ray on this machine), the veth pair and the namespace.
#
#   server/kserve/two-nodes.sh        needs root (ip netns), deps/kserve-venv
#                                     (scripts/setup.sh --dev); builds the plugin (debug)
#
# Traffic goes to 127.0.0.1 and to the two veth addresses only. TWO_NODES_NET=A.B.C
# picks the /30 (A.B.C.1 this host, A.B.C.2 the namespace); by default 10.213.N with N
# from this script's PID, so that two runs at once do not clash.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV="$ROOT/deps/kserve-venv"
MODEL="$ROOT/deps/models/mobilenet.onnx"
FRAMES=${FRAMES:-20}

say() { printf '\033[1m[two-nodes +%ss]\033[0m %s\n' "$SECONDS" "$*"; }
die() { printf '\033[1;31m[two-nodes] error:\033[0m %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root: a network namespace and a veth pair stand in for the second machine"
command -v ip >/dev/null || die "ip not found: apt-get install iproute2"
[ -x "$VENV/bin/ray" ] || die "$VENV is missing KServe and Ray: run scripts/setup.sh --dev"
[ -f "$MODEL" ] || die "$MODEL is missing: run scripts/setup.sh"

NET=${TWO_NODES_NET:-10.213.$(($$ % 200 + 20))}
HEAD_IP=$NET.1
NODE_IP=$NET.2
NS=imgclassify-node2-$$
VETH_HEAD=icl$$h # interface names: 15 characters at most
VETH_NODE=icl$$n
WORK=$(mktemp -d /tmp/imgclassify-two-nodes.XXXXXX)
# Ray's usage statistics would go to the internet: off, on both nodes and in serve.py.
export RAY_USAGE_STATS_ENABLED=0
# A node told to stop waits 30 s for its replicas to drain (rolling upgrades); not here.
export RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S=0

# The session leaders this script started: each Ray node and serve.py, with their children.
SESSIONS=()
NS_MADE=0 VETH_MADE=0
session_pids() { ps -eo pid=,sid=,stat= | awk -v s="$1" '$2 == s && $3 !~ /^Z/ { print $1 }'; }
kill_session() {
    local sid=$1 sig=$2 pid
    for pid in $(session_pids "$sid"); do kill "-$sig" "$pid" 2>/dev/null || true; done
}
teardown() {
    local rc=$? sid i left
    trap - EXIT INT TERM
    # Last started, first stopped: serve.py, node 2, the head. SIGTERM to the leader
    # first (serve.py and `ray start --block` stop their own processes), then SIGKILL
    # to whatever of its session is left after 20 s.
    for ((i = ${#SESSIONS[@]} - 1; i >= 0; i--)); do
        sid=${SESSIONS[$i]}
        kill -TERM "$sid" 2>/dev/null || true
        for _ in $(seq 100); do
            [ -z "$(session_pids "$sid")" ] && break
            sleep 0.2
        done
        kill_session "$sid" KILL
    done
    if [ "$NS_MADE" -eq 1 ]; then
        # Anything left inside the namespace, by PID; then the namespace itself.
        for i in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$i" 2>/dev/null || true; done
        ip netns del "$NS" 2>/dev/null || true
    fi
    # Deleting one end deletes the pair (and it went with the namespace already if so).
    [ "$VETH_MADE" -eq 0 ] || ip link del "$VETH_HEAD" 2>/dev/null || true
    sleep 1
    left=""
    for sid in "${SESSIONS[@]}"; do left+=$(session_pids "$sid"); done
    if [ -n "$left" ]; then
        printf '[two-nodes] processes still running: %s\n' "$left" >&2
        rc=1
    fi
    if [ "$rc" -ne 0 ]; then
        printf '[two-nodes] failed; the last lines of each log (%s):\n' "$WORK" >&2
        for f in "$WORK"/*.log; do
            [ -f "$f" ] && { printf -- '--- %s\n' "$f"; tail -n 15 "$f"; } >&2
        done
    else
        rm -rf "$WORK"
    fi
    say "torn down: Ray nodes, serve.py, $VETH_HEAD/$VETH_NODE, namespace $NS"
    exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# Token authentication, with a token of this run's own: the head, node 2 and serve.py
# read it from this file (on real machines: the same file copied to each node).
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$WORK/auth_token"
(umask 077 && "$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(32))' >"$RAY_AUTH_TOKEN_PATH")

# in_session NAME COMMAND...: runs COMMAND in the background in a new session, its output
# in $WORK/NAME.log, and records the session.
in_session() {
    local name=$1 sid
    shift
    # $$ of the inner shell is the session's leader whether setsid forked or not.
    # shellcheck disable=SC2016 # expanded by that inner shell
    setsid bash -c 'echo $$ > "$0.sid"; exec "$@"' "$WORK/$name" "$@" >"$WORK/$name.log" 2>&1 &
    disown # teardown kills it; no "Killed" notice from this shell
    for _ in $(seq 50); do [ -s "$WORK/$name.sid" ] && break; sleep 0.1; done
    sid=$(cat "$WORK/$name.sid")
    SESSIONS+=("$sid")
}

# A port free on every interface, from 20000-32767: Ray takes its own ports at random
# from the kernel's ephemeral range (32768-60999) upwards, so one picked there could be
# Ray's by the time its server binds it.
free_port() {
    "$VENV/bin/python" -c '
import random, socket
for port in random.sample(range(20000, 32768), 1000):
    try:
        with socket.socket() as s:
            s.bind(("", port))
    except OSError:
        continue
    print(port)
    break
else:
    raise SystemExit("no free port in 20000-32767")'
}

say "building the plugin (debug)"
(cd "$ROOT" && cargo build --locked -q)
target_dir=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
plugin_dir="$target_dir/debug"
[ -f "$plugin_dir/libgstimgclassify.so" ] || die "no $plugin_dir/libgstimgclassify.so"

# --- the second machine: a namespace with one end of a veth pair ---------------------
{ ip -4 addr; ip -4 route; } | grep -qE "(^| )${NET//./\\.}\." &&
    die "$NET.0/30 is already in use here: set TWO_NODES_NET to a free A.B.C"
say "node 2: namespace $NS, $VETH_HEAD $HEAD_IP/30 <-> $VETH_NODE $NODE_IP/30"
ip netns add "$NS"
NS_MADE=1
ip link add "$VETH_HEAD" type veth peer name "$VETH_NODE"
VETH_MADE=1
ip link set "$VETH_NODE" netns "$NS"
ip addr add "$HEAD_IP/30" dev "$VETH_HEAD"
ip link set "$VETH_HEAD" up
ip netns exec "$NS" ip addr add "$NODE_IP/30" dev "$VETH_NODE"
ip netns exec "$NS" ip link set "$VETH_NODE" up
ip netns exec "$NS" ip link set lo up

# --- node 1: Ray's head ---------------------------------------------------------------
GCS_PORT=$(free_port)
# Small object stores (the model is 14 MB). On the head, no dashboard, and free ports
# for the client server and the agent: their fixed defaults could be taken by another Ray
# on this host (node 2 has a network of its own).
RAY_COMMON=(--block --disable-usage-stats --object-store-memory=200000000)
say "node 1: ray start --head --node-ip-address=$HEAD_IP --port=$GCS_PORT"
in_session head "$VENV/bin/ray" start --head --node-ip-address="$HEAD_IP" --port="$GCS_PORT" \
    --ray-client-server-port="$(free_port)" --dashboard-agent-listen-port="$(free_port)" \
    --include-dashboard=false --temp-dir="$WORK/ray-head" "${RAY_COMMON[@]}"

# --- node 2: joins the head over the veth pair ------------------------------------------
# Its GCS client retries until the head listens.
say "node 2: ray start --address=$HEAD_IP:$GCS_PORT --node-ip-address=$NODE_IP"
in_session node2 ip netns exec "$NS" "$VENV/bin/ray" start --address="$HEAD_IP:$GCS_PORT" \
    --node-ip-address="$NODE_IP" --temp-dir="$WORK/ray-node2" "${RAY_COMMON[@]}"

# Both nodes alive, as the head's GCS sees them (a driver polling for 120 s at most).
"$VENV/bin/python" - "$HEAD_IP:$GCS_PORT" "$WORK/node2.sid" >"$WORK/cluster.log" 2>&1 <<'PY' \
    || die "node 2 did not join over the veth pair: $(tail -n 3 "$WORK/cluster.log")"
import os, sys, time
import ray

ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
node2 = int(open(sys.argv[2]).read())
deadline = time.monotonic() + 120
while sum(1 for n in ray.nodes() if n["Alive"]) < 2:
    os.kill(node2, 0)  # `ray start` of node 2 gave up: stop waiting
    assert time.monotonic() < deadline, "still one node after 120 s"
    time.sleep(0.5)
PY
say "cluster up: 2 nodes"

# --- KServe in front of a replica on each node ------------------------------------------
GRPC_PORT=$(free_port)
HTTP_PORT=$(free_port)
say "node 1: serve.py --address $HEAD_IP:$GCS_PORT --replicas 2 --max-replicas-per-node 1 (gRPC $GRPC_PORT)"
in_session serve env PYTHONUNBUFFERED=1 "$VENV/bin/python" "$ROOT/server/kserve/serve.py" \
    --model "$MODEL" --address "$HEAD_IP:$GCS_PORT" --replicas 2 --max-replicas-per-node 1 \
    --grpc-port "$GRPC_PORT" --http-port "$HTTP_PORT"
ready=0
for _ in $(seq 180); do
    if "$VENV/bin/python" -c 'import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/models/mobilenet/ready", timeout=2)' \
        "$HTTP_PORT" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 1
done
[ "$ready" -eq 1 ] || die "KServe not ready in 180 s"
say "KServe ready on 127.0.0.1:$GRPC_PORT"

# --- frames through imgclassify ---------------------------------------------------------
say "gst-launch-1.0: $FRAMES frames of the coffee photo, imgclassify inference-server=grpc://127.0.0.1:$GRPC_PORT"
GST_PLUGIN_PATH="$plugin_dir" GST_REGISTRY="$WORK/registry.bin" timeout 300 gst-launch-1.0 -q \
    filesrc location="$ROOT/tests/data/coffee.png" ! pngdec ! videoconvert \
    ! imagefreeze num-buffers="$FRAMES" \
    ! imgclassify inference-server="grpc://127.0.0.1:$GRPC_PORT" server-model=mobilenet \
    ! classifyjson location="$WORK/results.jsonl" ! fakesink >"$WORK/gst.log" 2>&1 \
    || die "the pipeline failed: $(tail -n 5 "$WORK/gst.log")"

"$VENV/bin/python" - "$WORK/results.jsonl" "$WORK/serve.log" "$FRAMES" "$GRPC_PORT" "$HEAD_IP" "$NODE_IP" <<'PY'
import collections, json, re, sys

results, log, frames, port, head, node = sys.argv[1:]
lines = [json.loads(l) for l in open(results)]
assert len(lines) == int(frames), f"{len(lines)} results, not {frames}"
for l in lines:
    assert l["labels"][0] == "espresso", l["labels"]
    assert l["provider"] == f"grpc://127.0.0.1:{port}", l["provider"]
score = lines[0]["scores"][0]
print(f"{len(lines)} frames, each top-1 espresso (score {score:.4f}) from {lines[0]['provider']}")
pattern = r"calls: replica=(\S+) node=(\S+) batch=(\d+)"
calls = [m.groups() for m in re.finditer(pattern, open(log).read())]
per_node = collections.Counter(n for _, n, _ in calls)
replicas = {n: sorted({r for r, m, _ in calls if m == n}) for n in per_node}
for n, name in ((head, "node 1"), (node, "node 2")):
    print(f"calls answered on {n} ({name}): {per_node[n]}, replicas {replicas.get(n, [])}")
assert per_node[head] > 0 and per_node[node] > 0, f"not both nodes answered: {dict(per_node)}"
assert set(per_node) == {head, node}, f"calls from other nodes: {dict(per_node)}"
PY
say "both nodes answered"
