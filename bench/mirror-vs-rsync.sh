#!/usr/bin/env bash
# Understudy mirror vs rsync, side by side in one run on the same generated data (issue 2, §8).
#
#   bench/mirror-vs-rsync.sh            # 50,000 files of 1-64 KiB + 4 x 512 MiB, 3 runs, medians
#   bench/mirror-vs-rsync.sh --quick    # 2,000 files + 2 x 32 MiB, 1 run (smoke test)
#   FILES=10000 BIG_FILES=2 BIG_MIB=256 RUNS=5 bench/mirror-vs-rsync.sh
#   ... --write-doc                     # also rewrite the results section of docs/performance.md
#
# Needs: rsync, python3, jq and the .NET SDK. The agents and the CLI run from `dotnet publish`
# (ReadyToRun, tiered compilation off: how the agent is installed), made here into the work dir;
# APP=DIR runs an existing publish output instead. The CLI calls use the native client (APP/bin/understudy,
# published here too) as an installed CLI does; NATIVE=0 uses the managed program for them.
# Each run starts from empty targets and fresh agents (so VmHWM is per run):
#   rsync:      rsync daemon on 127.0.0.1; `rsync -a SRC/ rsync://…/mod/ && sync` (full), the same
#               again (no change), then after a 1 % change of one large file
#               `rsync -a --no-whole-file --stats` + sync (delta; bytes = "Total bytes sent").
#   floor:      `cp -a SRC/. DST/ && sync` onto a fresh filesystem (no network; FLOOR=0 skips it).
#   Understudy: two agents on loopback, trusted both ways; `job apply` (mirror.mode full) until
#               `understudy wait --until mirrored` returns; `mirror --mode different --wait`;
#               after the same change `mirror --mode checksum --wait` (bytes = mirror.bytesSent); after
#               a second 1 % change (another file), `mirror --mode different --wait` (size and mtime pick
#               it, then a block delta) against a second `rsync --no-whole-file` run.
# Each tool's target is a fresh ext4 filesystem every run (a loop device over a sparse image in
# the work dir, direct I/O to the image, so writes reach the same disk as a plain directory's
# would): on one long-lived filesystem, ext4's inode allocator skips inodes freed in the last
# minute (recently_deleted(), a scan per new file), so whichever tool ran right after the
# previous copy was removed paid 10-40 s extra for 50,000 files. Needs root; FRESH_FS=0 uses
# plain directories under the work dir instead (as before 2026-12-03).
# Data lives in a temp dir under /tmp (or $WORK_PARENT) and is removed at the end.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/common.sh
source "$REPO/bench/common.sh"
WRITE_DOC=0
for a in "$@"; do
    case "$a" in
        --quick) FILES=2000 BIG_FILES=2 BIG_MIB=32 RUNS=${RUNS_QUICK:-1} ;;
        --write-doc) WRITE_DOC=1 ;;
        *) echo "unknown argument: $a" >&2; exit 2 ;;
    esac
done

WORK=$(mktemp -d "${WORK_PARENT:-/tmp}/understudy-bench.XXXXXX")
SRC=$WORK/src
RESULTS=$WORK/results.tsv
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [[ -f $WORK/rsyncd.pid ]] && kill "$(cat "$WORK/rsyncd.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    for d in "$WORK/rsync-dst" "$WORK/us-dst" "$WORK/floor-dst"; do drop_fs "$d"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
if [[ $FRESH_FS == 1 && $(id -u) != 0 ]]; then
    echo "fresh target filesystems need root (loop devices); run with sudo, or FRESH_FS=0" >&2
    exit 2
fi

if [[ -z ${APP:-} ]]; then
    APP=$WORK/app
    echo "== dotnet publish (ReadyToRun) into $APP"
    dotnet publish "$REPO/src/Understudy.Cli" -c Release -o "$APP" >"$WORK/publish.log" 2>&1 \
        || { cat "$WORK/publish.log"; exit 2; }
    if [[ ${NATIVE:-1} == 1 ]]; then
        echo "== dotnet publish src/Understudy.Cli.Native (Native AOT) into $APP/bin"
        dotnet publish "$REPO/src/Understudy.Cli.Native" -c Release -o "$APP/bin" >"$WORK/publish-native.log" 2>&1 \
            || { cat "$WORK/publish-native.log"; exit 2; }
    fi
fi
DLL=$APP/understudy.dll
[[ -f $DLL ]] || { echo "no $DLL" >&2; exit 2; }
# The CLI calls go through the native client when the publish output has one (APP/bin/understudy, as installed:
# docs/cli.md, "Installing"); NATIVE=0 times the managed program's calls instead.
if [[ ${NATIVE:-1} == 1 && -x $APP/bin/understudy ]]; then CLI=("$APP/bin/understudy"); else CLI=(dotnet "$DLL"); fi
echo "== CLI: ${CLI[*]}"

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; echo "  run $1: $2 = $3"; }
us() { local dir=$1; shift; "${CLI[@]}" "$@" --data-dir "$dir"; }

echo "== data: $FILES files of 1-64 KiB + $BIG_FILES x $BIG_MIB MiB in $WORK (seed $SEED)"
t=$(now)
python3 "$REPO/bench/gen-data.py" tree "$SRC" "$FILES" "$BIG_FILES" "$BIG_MIB" "$SEED"
sync
echo "   generated in $(since "$t") s, $(du -sh "$SRC" | cut -f1)"

# ---- rsync daemon ----------------------------------------------------------------------------
RPORT=$(free_port)
mkdir -p "$WORK/rsync-dst"
cat >"$WORK/rsyncd.conf" <<EOF
pid file = $WORK/rsyncd.pid
use chroot = no
[mod]
    path = $WORK/rsync-dst
    read only = no
    uid = root
    gid = root
EOF
rsync --daemon --config="$WORK/rsyncd.conf" --address=127.0.0.1 --port="$RPORT"
for _ in $(seq 50); do [[ -f $WORK/rsyncd.pid ]] && break; sleep 0.1; done
RURL=rsync://127.0.0.1:$RPORT/mod/

# ---- Understudy agents -----------------------------------------------------------------------
start_agent() { # name -> sets AG_PID AG_PEER AG_DIR
    local name=$1 dir=$WORK/agent-$1-$2 peer api
    peer=$(free_port); api=$(free_port)
    mkdir -p "$dir"
    dotnet "$DLL" agent --data-dir "$dir" --listen "127.0.0.1:$peer" --api-listen "127.0.0.1:$api" --name "$name" \
        >"$dir.log" 2>&1 &
    AG_PID=$!; PIDS+=("$AG_PID")
    for _ in $(seq 600); do [[ -f $dir/api-address ]] && break; sleep 0.1; done
    [[ -f $dir/api-address ]] || { echo "agent $name did not start:"; cat "$dir.log"; exit 1; }
    AG_PEER=127.0.0.1:$peer; AG_DIR=$dir
}
hwm_mb() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
job_json() { us "$1" status bench --json; }

# Each tool's full mirror, as functions so that the order can alternate between runs.
rsync_full() {
    fresh_fs "$WORK/rsync-dst"
    t=$(now); rsync -a "$SRC/" "$RURL"; sync; record "$run" rsync_full_s "$(since "$t")"
    t=$(now); rsync -a "$SRC/" "$RURL"; record "$run" rsync_nochange_s "$(since "$t")"
    # rsync wrote 3.7 GiB into the page cache: drop it (clean after sync) so whatever is timed
    # next starts with the same free memory, not behind 3.7 GiB of reclaim.
    python3 "$REPO/bench/gen-data.py" evict "$WORK/rsync-dst"
}
floor_full() { # a local copy, no network, onto the same kind of fresh filesystem (FLOOR=0 skips it)
    [[ ${FLOOR:-1} == 1 ]] || return 0
    fresh_fs "$WORK/floor-dst"
    t=$(now); cp -a "$SRC/." "$WORK/floor-dst/"; sync; record "$run" floor_full_s "$(since "$t")"
    drop_fs "$WORK/floor-dst"; rm -rf "$WORK/floor-dst"; sync
}
us_full() { # fresh agents (left running for the delta case), full mirror, no-change re-mirror
    start_agent src "$run"; S_PID=$AG_PID; S_DIR=$AG_DIR
    start_agent tgt "$run"; T_PID=$AG_PID; T_DIR=$AG_DIR; T_PEER=$AG_PEER
    S_ID=$(us "$S_DIR" id); T_ID=$(us "$T_DIR" id)
    us "$S_DIR" trust add "$T_ID" --name tgt >/dev/null
    us "$T_DIR" trust add "$S_ID" --name src --root "$WORK" >/dev/null
    DST=$WORK/us-dst
    fresh_fs "$DST"
    cat >"$WORK/bench.yaml" <<EOF
name: bench
source:
  paths: [$SRC]
target:
  address: $T_PEER
  id: $T_ID
  path: $DST
mirror:
  mode: full
  orphans: keep
replication:
  enabled: false
EOF
    t=$(now)
    us "$S_DIR" job apply "$WORK/bench.yaml" >/dev/null
    us "$S_DIR" wait bench --until mirrored
    record "$run" us_full_s "$(since "$t")"
    record "$run" us_full_sent_bytes "$(job_json "$S_DIR" | jq '.mirror.bytesSent')"

    t=$(now)
    us "$S_DIR" mirror bench --mode different --wait >/dev/null
    record "$run" us_nochange_s "$(since "$t")"
    record "$run" us_nochange_files "$(job_json "$S_DIR" | jq '.mirror.filesDone')"
    python3 "$REPO/bench/gen-data.py" evict "$DST" # as for rsync: the next one timed starts with the same free memory
}

# delta_case FILE SEED MODE RSYNC_KEY US_KEY: a 1 % change of big/FILE, `rsync --no-whole-file` + sync,
# then `understudy mirror --mode MODE`; times and bytes sent recorded under the two keys.
delta_case() {
    local file=$1 seed=$2 mode=$3 rk=$4 uk=$5
    python3 "$REPO/bench/gen-data.py" touch "$SRC/big/$file" 1 "$seed" >/dev/null
    sync
    t=$(now)
    rsync -a --no-whole-file --stats "$SRC/" "$RURL" >"$WORK/rsync-stats.txt"; sync
    record "$run" "${rk}_s" "$(since "$t")"
    record "$run" "${rk}_sent_bytes" "$(sed -n 's/^Total bytes sent: //p' "$WORK/rsync-stats.txt" | tr -d ',')"
    record "$run" "${rk}_literal_bytes" "$(sed -n 's/^Literal data: \([0-9,]*\).*/\1/p' "$WORK/rsync-stats.txt" | tr -d ',')"
    t=$(now)
    us "$S_DIR" mirror bench --mode "$mode" --wait >/dev/null
    record "$run" "${uk}_s" "$(since "$t")"
    record "$run" "${uk}_sent_bytes" "$(job_json "$S_DIR" | jq '.mirror.bytesSent')"
    cmp -s "$SRC/big/$file" "$DST/big/$file" || { echo "Understudy target differs after the $mode delta mirror"; exit 1; }
    cmp -s "$SRC/big/$file" "$WORK/rsync-dst/big/$file" || { echo "rsync target differs after the delta run"; exit 1; }
}

for run in $(seq "$RUNS"); do
    echo "== run $run/$RUNS"
    # Odd runs time rsync first, even runs Understudy first: whatever the machine does between
    # runs (freeing the previous images, writeback elsewhere) does not always land on one tool.
    if (( run % 2 == 1 )); then
        rsync_full; floor_full; us_full
    else
        us_full; floor_full; rsync_full
    fi

    # The same 1 % change for both, then the delta mirrors: checksum mode; then another change of
    # another file and the difference mode (size and mtime pick the file, then a block delta,
    # rsync's own way), each against an rsync --no-whole-file run of its own.
    delta_case large0.bin "$((SEED + run))" checksum rsync_delta us_delta
    delta_case large1.bin "$((SEED + 100 + run))" different rsync_delta2 us_delta_different
    record "$run" us_source_hwm_mb "$(hwm_mb "$S_PID")"
    record "$run" us_target_hwm_mb "$(hwm_mb "$T_PID")"
    kill "$S_PID" "$T_PID"; wait "$S_PID" "$T_PID" 2>/dev/null || true
    drop_fs "$DST"; rm -rf "$DST"
done

FRESH_FS=$FRESH_FS python3 "$REPO/bench/report.py" "$RESULTS" "$FILES" "$BIG_FILES" "$BIG_MIB" "$RUNS" "$*" \
    | tee "$WORK/report.md"
if [[ $WRITE_DOC == 1 ]]; then
    python3 "$REPO/bench/report.py" --splice "$REPO/docs/performance.md" "$WORK/report.md"
    echo "wrote docs/performance.md"
fi
