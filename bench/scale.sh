#!/usr/bin/env bash
# Peak memory of each agent against tree size (issue 21, "Memory independent of tree size").
#
#   bench/scale.sh                          # 1,000,000 files of 100 B in 1,000 directories
#   FILES=200000 bench/scale.sh             # the same shape, 200 files per directory
#   APP=src/Understudy.Cli/bin/Release/net10.0 bench/scale.sh   # an existing build instead of a publish
#
# One seeded tree (FILES files of 100 B, FILES/1000 directories), two agents on loopback, trusted both
# ways, target a plain directory under the work dir. Phases, each with the peak RSS (VmHWM) of both agents
# reset before it (`echo 5 > /proc/PID/clear_refs`, so each figure is that phase's own peak):
#   full       `job apply` (mirror.mode full) until `wait --until mirrored`
#   nochange   `mirror --mode different --wait` on the unchanged tree
#   verify     `verify --checksum` (content hashed on both sides)
# Prints one line per phase: seconds, then the peak of each agent and (in brackets) its RSS when the phase began: a
# phase cannot show less than what the previous one left resident. Needs root (clear_refs), python3, jq, .NET SDK.
# Not yet here (issue 21): rsync side by side, fresh file systems per run, replication catch-up.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
FILES=${FILES:-1000000}
DIRS=${DIRS:-$(( FILES / 1000 > 0 ? FILES / 1000 : 1 ))}
SEED=${SEED:-20261125}
WORK=$(mktemp -d "${WORK_PARENT:-/var/tmp}/understudy-scale.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z ${APP:-} ]]; then
    APP=$WORK/app
    echo "== dotnet publish into $APP"
    dotnet publish "$REPO/src/Understudy.Cli" -c Release -o "$APP" >"$WORK/publish.log" 2>&1 \
        || { cat "$WORK/publish.log"; exit 2; }
fi
DLL=$APP/understudy.dll
[[ -f $DLL ]] || { echo "no $DLL" >&2; exit 2; }

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
us() { local dir=$1; shift; dotnet "$DLL" "$@" --data-dir "$dir"; }
hwm_mb() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
reset_hwm() { echo 5 >"/proc/$1/clear_refs"; }

echo "== data: $FILES files of 100 B in $DIRS directories (seed $SEED) in $WORK"
t=$(now)
python3 - "$WORK/src" "$FILES" "$DIRS" "$SEED" <<'EOF'
import os, random, sys
root, files, dirs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
for d in range(dirs):
    os.makedirs(f"{root}/d{d:05d}", exist_ok=True)
for i in range(files):
    with open(f"{root}/d{i % dirs:05d}/f{i:08d}", "wb") as f:
        f.write(rnd.randbytes(100))
EOF
echo "   generated in $(since "$t") s"

start_agent() { # name -> sets AG_PID AG_PEER AG_DIR
    local name=$1 dir=$WORK/agent-$1 peer api
    peer=$(free_port); api=$(free_port)
    mkdir -p "$dir"
    dotnet "$DLL" agent --data-dir "$dir" --listen "127.0.0.1:$peer" --api-listen "127.0.0.1:$api" --name "$name" \
        >"$dir.log" 2>&1 &
    AG_PID=$!; PIDS+=("$AG_PID")
    for _ in $(seq 600); do [[ -f $dir/api-address ]] && break; sleep 0.1; done
    [[ -f $dir/api-address ]] || { echo "agent $name did not start:"; cat "$dir.log"; exit 1; }
    AG_PEER=127.0.0.1:$peer; AG_DIR=$dir
}
start_agent src; S_PID=$AG_PID; S_DIR=$AG_DIR
start_agent tgt; T_PID=$AG_PID; T_DIR=$AG_DIR; T_PEER=$AG_PEER
S_ID=$(us "$S_DIR" id); T_ID=$(us "$T_DIR" id)
us "$S_DIR" trust add "$T_ID" --name tgt >/dev/null
us "$T_DIR" trust add "$S_ID" --name src --root "$WORK" >/dev/null
mkdir -p "$WORK/dst"
cat >"$WORK/scale.yaml" <<EOF
name: scale
source:
  paths: [$WORK/src]
target:
  address: $T_PEER
  id: $T_ID
  path: $WORK/dst
mirror:
  mode: full
  orphans: keep
replication:
  enabled: false
EOF

phase() { # name command...
    local name=$1; shift
    reset_hwm "$S_PID"; reset_hwm "$T_PID"
    local s0 t0; s0=$(hwm_mb "$S_PID"); t0=$(hwm_mb "$T_PID")
    t=$(now)
    "$@" >/dev/null
    printf '%-9s %7s s  source %5s MB (from %s)  target %5s MB (from %s)\n' "$name" "$(since "$t")" "$(hwm_mb "$S_PID")" "$s0" "$(hwm_mb "$T_PID")" "$t0"
}
full() { us "$S_DIR" job apply "$WORK/scale.yaml" && us "$S_DIR" wait scale --until mirrored; }
echo "== $FILES files: phase, wall, peak RSS of each agent in the phase"
phase full full
phase nochange us "$S_DIR" mirror scale --mode different --wait
phase verify us "$S_DIR" verify scale --checksum
