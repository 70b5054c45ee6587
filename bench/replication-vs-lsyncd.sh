#!/usr/bin/env bash
# Understudy replication vs lsyncd, side by side in one run on the same workload (issue 3, §6).
#
#   bench/replication-vs-lsyncd.sh             # 3 runs, medians (~25 min)
#   bench/replication-vs-lsyncd.sh --quick     # 1 run, short steps, a 10,000-directory tree (smoke test)
#   RUNS=5 RAMP="2000 5000 8000" COALESCE=20ms bench/replication-vs-lsyncd.sh
#   ... --write-doc                            # also rewrite the results in docs/performance.md
#
# Needs root (loop mounts), lsyncd, rsync, python3, jq and a Release build
# (dotnet build src/Understudy.Cli -c Release). Takes /tmp/understudy-bench.lock for its whole
# run (flock), so it never overlaps another benchmark on this machine, and runs at nice -10
# (NICE=0 turns it off; every subject and the measurer inherit the same priority).
#
# Subjects, each replicating into its own directory on the same target filesystem:
#   ld  lsyncd with its default settings (default.rsync: delay 15 s, maxDelays 1000) → rsync daemon on 127.0.0.1
#   lt  lsyncd with `delay = 0` → the same rsync daemon (its best case for a remote target)
#   us  two Understudy agents on loopback (TLS 1.3), one job with replication on (defaults unless COALESCE)
# Each run, for each scenario, the subjects take turns (order rotated every run); lsyncd is started
# for its turn and stopped after it, the Understudy agents live for the run (fresh each run: VmHWM).
# Scenarios (bench/replbench.py measures): new 4 KiB files at 100/s and at 1,000/s (latency close →
# arrival on the target), a ramp of creation rates (highest sustained), and protection of a tree of
# 100,000 directories (start → a file written 0.2 s after the start in its last directory arrived).
# The source trees live on their own ext4 loop filesystems (one for Understudy, one for lsyncd) and
# the targets on a third, so syncfs and fanotify see only the benchmark (see docs/performance.md).
set -euo pipefail

RUNS=${RUNS:-3}
LAT100_SECONDS=${LAT100_SECONDS:-20}
LAT1000_SECONDS=${LAT1000_SECONDS:-10}
STEP_SECONDS=${STEP_SECONDS:-8}
RAMP=${RAMP:-"250 500 1000 2000 3500 5000 7000 10000"}
TREE_TOP=${TREE_TOP:-100}
TREE_SUB=${TREE_SUB:-999}
DIRS=${DIRS:-20}
SIZE=${SIZE:-4096}
COALESCE=${COALESCE:-}
SUBJECTS=${SUBJECTS:-"us lt ld"}
SCENARIOS=${SCENARIOS:-"lat100 lat1000 ramp tree"}
WRITE_DOC=0
QUICK=0
for a in "$@"; do
    case "$a" in
        --quick) QUICK=1 RUNS=${RUNS_QUICK:-1} LAT100_SECONDS=5 LAT1000_SECONDS=4 STEP_SECONDS=5 RAMP=${RAMP_QUICK:-"500 2000 5000"} TREE_TOP=10 ;;
        --write-doc) WRITE_DOC=1 ;;
        *) echo "unknown argument: $a" >&2; exit 2 ;;
    esac
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${UNDERSTUDY_BENCH_LOCKED:-} ]]; then
    echo "== waiting for /tmp/understudy-bench.lock"
    UNDERSTUDY_BENCH_LOCKED=1 exec flock /tmp/understudy-bench.lock nice -n "${NICE:--10}" "$0" "$@"
fi
[[ $(id -u) == 0 ]] || { echo "needs root (loop mounts, fanotify)" >&2; exit 2; }
for t in lsyncd rsync jq python3 mkfs.ext4; do command -v "$t" >/dev/null || { echo "missing: $t (apt-get install -y lsyncd rsync jq)" >&2; exit 2; }; done
DLL=$REPO/src/Understudy.Cli/bin/Release/net10.0/understudy.dll
[[ -f $DLL ]] || { echo "build first: dotnet build $REPO/src/Understudy.Cli -c Release" >&2; exit 2; }
RB=$REPO/bench/replbench.py

WORK=$(mktemp -d "${WORK_PARENT:-/tmp}/understudy-replbench.XXXXXX")
RESULTS=$WORK/results.tsv
PIDS=()
MOUNTS=()
QUEUED_EVENTS=$(sysctl -n fs.inotify.max_queued_events)

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [[ -f $WORK/rsyncd.pid ]] && kill "$(cat "$WORK/rsyncd.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    sysctl -qw fs.inotify.max_queued_events="$QUEUED_EVENTS" || true
    rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; echo "  $(date +%T) run $1: $2 = $3"; }
us() { local dir=$1; shift; dotnet "$DLL" "$@" --data-dir "$dir"; }
hwm_mb() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
settle() { sync -f "$SRC_US"; sync -f "$SRC_LS"; sync -f "$TGT"; sleep 1; }

# The observer's inotify queue (and lsyncd's) must not overflow at 10,000 events/s: raised for the
# run, restored at exit. Understudy captures with fanotify as root and does not use it.
sysctl -qw fs.inotify.max_queued_events=1048576

mkfs_mount() { # name -> mount point
    local img=$WORK/$1.img mnt=$WORK/$1
    truncate -s "${FS_SIZE:-6G}" "$img"
    # One inode per 4 KiB (1.5 M on 6 GiB): a run's ramp writes ~230,000 files per subject when
    # Understudy sustains 7,000/s, all of them landing on the one target filesystem.
    mkfs.ext4 -q -F -i 4096 -E lazy_itable_init=0,lazy_journal_init=0 "$img"
    mkdir -p "$mnt"
    mount -o loop "$img" "$mnt"
    MOUNTS+=("$mnt")
}
mkfs_mount src-us; SRC_US=$WORK/src-us
mkfs_mount src-ls; SRC_LS=$WORK/src-ls
mkfs_mount tgt; TGT=$WORK/tgt
mkdir -p "$TGT/rsync" "$TGT/us"

echo "== tree of $((TREE_TOP + TREE_TOP * TREE_SUB)) directories (for each source filesystem)"
LAST_US=$(python3 "$RB" tree make "$SRC_US/tree" --top "$TREE_TOP" --sub "$TREE_SUB")
LAST_LS=$(python3 "$RB" tree make "$SRC_LS/tree" --top "$TREE_TOP" --sub "$TREE_SUB")
settle

# ---- rsync daemon (lsyncd's target) ----------------------------------------------------------
RPORT=$(free_port)
cat >"$WORK/rsyncd.conf" <<EOF
pid file = $WORK/rsyncd.pid
use chroot = no
[mod]
    path = $TGT/rsync
    read only = no
    uid = root
    gid = root
EOF
rsync --daemon --config="$WORK/rsyncd.conf" --address=127.0.0.1 --port="$RPORT"
for _ in $(seq 50); do [[ -f $WORK/rsyncd.pid ]] && break; sleep 0.1; done

# lsyncd for one turn: config for SRC → mod/NAME/, started; sets LS_PID once its startup sync is done.
lsyncd_conf() { # subject src name -> config path
    local subject=$1 src=$2 name=$3 conf=$WORK/lsyncd-$3.lua delay=""
    [[ $subject == lt ]] && delay="delay = 0,"
    cat >"$conf" <<EOF
settings { nodaemon = true, logfile = "$WORK/lsyncd-$name.log", statusFile = "$WORK/lsyncd-$name.status" }
sync { default.rsync, source = "$src", target = "rsync://127.0.0.1:$RPORT/mod/$name/", $delay }
EOF
    echo "$conf"
}
start_lsyncd() { # subject src name
    local conf
    conf=$(lsyncd_conf "$1" "$2" "$3")
    lsyncd "$conf" >/dev/null 2>&1 &
    LS_PID=$!; PIDS+=("$LS_PID")
    for _ in $(seq 600); do grep -q "Startup of .* finished" "$WORK/lsyncd-$3.log" 2>/dev/null && return; sleep 0.1; done
    echo "lsyncd did not finish its startup sync:"; cat "$WORK/lsyncd-$3.log"; exit 1
}
stop_lsyncd() { kill "$LS_PID" 2>/dev/null || true; wait "$LS_PID" 2>/dev/null || true; }

# ---- Understudy agents -----------------------------------------------------------------------
start_agent() { # name run -> sets AG_PID AG_PEER AG_DIR
    local name=$1 dir=$2 peer api
    peer=$(free_port); api=$(free_port)
    mkdir -p "$dir"
    dotnet "$DLL" agent --data-dir "$dir" --listen "127.0.0.1:$peer" --api-listen "127.0.0.1:$api" --name "$name" \
        >"$dir.log" 2>&1 &
    AG_PID=$!; PIDS+=("$AG_PID")
    for _ in $(seq 600); do [[ -f $dir/api-address ]] && break; sleep 0.1; done
    [[ -f $dir/api-address ]] || { echo "agent $name did not start:"; cat "$dir.log"; exit 1; }
    AG_PEER=127.0.0.1:$peer; AG_DIR=$dir
}
job_yaml() { # name src dst -> file
    local f=$WORK/$1.yaml
    {
        echo "name: $1"
        echo "source:"
        echo "  paths: [$2]"
        echo "target:"
        echo "  address: $T_PEER"
        echo "  id: $T_ID"
        echo "  path: $3"
        echo "replication:"
        echo "  enabled: true"
        [[ -n $COALESCE ]] && echo "  coalesce: $COALESCE"
    } >"$f"
    echo "$f"
}

# One churn step for a subject: $1 subject, $2 run, $3 tag, $4 rate, $5 seconds -> JSON in $STEP_JSON
churn_step() {
    local subject=$1 run=$2 tag=$3 rate=$4 seconds=$5 name src dst
    name=$tag-$subject-$run
    if [[ $subject == us ]]; then
        src=$US_CHURN/$name; dst=$TGT/us/churn-$run/$name
        STEP_JSON=$(python3 "$RB" churn "$src" "$dst" --rate "$rate" --seconds "$seconds" --dirs "$DIRS" --size "$SIZE" --pid "$S_PID")
    else
        src=$SRC_LS/$name; dst=$TGT/rsync/$name
        for d in $(seq 0 $((DIRS - 1))); do mkdir -p "$src/$(printf 'd%02d' "$d")"; done
        start_lsyncd "$subject" "$src" "$name"
        STEP_JSON=$(python3 "$RB" churn "$src" "$dst" --rate "$rate" --seconds "$seconds" --dirs "$DIRS" --size "$SIZE" --pid "$LS_PID" --children)
        LS_HWM=$(( $(hwm_mb "$LS_PID") > ${LS_HWM:-0} ? $(hwm_mb "$LS_PID") : ${LS_HWM:-0} ))
        stop_lsyncd
    fi
    echo "  $subject $tag: $STEP_JSON"
    settle
}

rotate() { # run -> the subjects in this run's order
    local -a s=($SUBJECTS); local n=${#s[@]} k=$((($1 - 1) % ${#s[@]})) i
    for ((i = 0; i < n; i++)); do printf '%s ' "${s[$(((i + k) % n))]}"; done
}

for run in $(seq "$RUNS"); do
    ORDER=$(rotate "$run")
    echo "== run $run/$RUNS (order: $ORDER)"
    start_agent src "$WORK/agent-src-$run"; S_PID=$AG_PID; S_DIR=$AG_DIR
    start_agent tgt "$TGT/agent-tgt-$run"; T_PID=$AG_PID; T_DIR=$AG_DIR; T_PEER=$AG_PEER
    # The source agent's data dir (its durable queue) lives on the source filesystem.
    S_ID=$(us "$S_DIR" id); T_ID=$(us "$T_DIR" id)
    us "$S_DIR" trust add "$T_ID" --name tgt >/dev/null
    us "$T_DIR" trust add "$S_ID" --name src --root "$TGT" >/dev/null
    US_CHURN=$SRC_US/churn-$run
    mkdir -p "$US_CHURN"
    us "$S_DIR" job apply "$(job_yaml "churn-$run" "$US_CHURN" "$TGT/us/churn-$run")" >/dev/null
    us "$S_DIR" wait "churn-$run" --until idle --timeout 120
    CAPTURE=$(us "$S_DIR" status --json | jq -r --arg j "churn-$run" '.jobs[] | select(.name == $j) | .replication.captureMethod // "?"')
    LS_HWM=0
    # Untimed warm-up of the fresh agents (JIT, connection, buffers); lsyncd starts afresh for every step anyway.
    [[ " $ORDER " == *" us "* ]] && { churn_step us "$run" warmup 1000 2 >/dev/null; }
    settle

    has() { [[ " $SCENARIOS " == *" $1 "* ]]; }
    has lat100 && for subject in $ORDER; do
        churn_step "$subject" "$run" lat100 100 "$LAT100_SECONDS"
        record "$run" "${subject}_100_p50_ms" "$(jq .p50_ms <<<"$STEP_JSON")"
        record "$run" "${subject}_100_p99_ms" "$(jq .p99_ms <<<"$STEP_JSON")"
    done
    has lat1000 && for subject in $ORDER; do
        churn_step "$subject" "$run" lat1000 1000 "$LAT1000_SECONDS"
        record "$run" "${subject}_1000_p50_ms" "$(jq .p50_ms <<<"$STEP_JSON")"
        record "$run" "${subject}_1000_p99_ms" "$(jq .p99_ms <<<"$STEP_JSON")"
        record "$run" "${subject}_1000_cpu_per_k" "$(jq '.cpu_s[0] / .files * 1000' <<<"$STEP_JSON")"
    done
    has ramp && for subject in $ORDER; do
        [[ $subject == ld ]] && continue # 15 s of delay by design: nothing to ramp
        best=0
        for rate in $RAMP; do
            churn_step "$subject" "$run" "ramp$rate" "$rate" "$STEP_SECONDS"
            record "$run" "${subject}_ramp_${rate}_p90_q4_ms" "$(jq .p90_q4_ms <<<"$STEP_JSON")"
            ok=$(jq -r 'if .sustained then 1 else 0 end' <<<"$STEP_JSON")
            record "$run" "${subject}_ramp_${rate}_ok" "$ok"
            [[ $ok == 1 ]] || break
            best=$rate
        done
        record "$run" "${subject}_sustained_rate" "$best"
    done
    # VmHWM only grows: what the churn and ramp left, before the tree's first mirror adds to it.
    record "$run" us_hwm_before_tree_mb "$(hwm_mb "$S_PID")"
    has tree && for subject in $ORDER; do
        if [[ $subject == us ]]; then
            f=$(job_yaml "tree-$run" "$SRC_US/tree" "$TGT/us/tree-$run")
            j=$(python3 "$RB" tree-run "$SRC_US/tree" "$TGT/us/tree-$run" "$LAST_US" --after 0.2 -- dotnet "$DLL" job apply "$f" --data-dir "$S_DIR")
            us "$S_DIR" wait "tree-$run" --until idle --timeout 300 || true
            [[ -n ${DEBUG_EVENTS:-} ]] && us "$S_DIR" events --job "tree-$run" | tail -20
            us "$S_DIR" job remove "tree-$run" >/dev/null
            rm -f "$LAST_US/marker"
            rm -rf "$TGT/us/tree-$run"
        else
            conf=$(lsyncd_conf "$subject" "$SRC_LS/tree" "tree-$subject-$run")
            j=$(python3 "$RB" tree-run "$SRC_LS/tree" "$TGT/rsync/tree-$subject-$run" "$LAST_LS" --after 0.2 -- lsyncd "$conf")
            LS_PID=$(jq .pid <<<"$j")
            LS_HWM=$(( $(hwm_mb "$LS_PID") > LS_HWM ? $(hwm_mb "$LS_PID") : LS_HWM ))
            record "$run" "${subject}_tree_hwm_mb" "$(hwm_mb "$LS_PID")"
            kill "$LS_PID"; while kill -0 "$LS_PID" 2>/dev/null; do sleep 0.1; done
            rm -f "$LAST_LS/marker"
            rm -rf "$TGT/rsync/tree-$subject-$run"
        fi
        echo "  $subject tree: $j"
        record "$run" "${subject}_tree_s" "$(jq .seconds <<<"$j")"
        settle
    done
    record "$run" us_hwm_mb "$(hwm_mb "$S_PID")"
    record "$run" us_target_hwm_mb "$(hwm_mb "$T_PID")"
    [[ " $ORDER " == *" lt "* || " $ORDER " == *" ld "* ]] && record "$run" lt_hwm_mb "$LS_HWM"
    kill "$S_PID" "$T_PID"; wait "$S_PID" "$T_PID" 2>/dev/null || true
    rm -rf "$TGT/us/churn-$run" "$TGT"/rsync/* "$US_CHURN" "${SRC_LS:?}"/lat* "${SRC_LS:?}"/ramp*
    settle
done

CMD="bench/replication-vs-lsyncd.sh"
[[ $QUICK == 1 ]] && CMD+=" --quick"
[[ $RUNS != 3 && $QUICK == 0 ]] && CMD="RUNS=$RUNS $CMD"
[[ -n $COALESCE ]] && CMD="COALESCE=$COALESCE $CMD"
jq -n --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg nice "$(nice)" --argjson size "$SIZE" --argjson dirs "$DIRS" \
    --argjson lat_seconds "\"$LAT100_SECONDS / $LAT1000_SECONDS\"" --argjson step_seconds "$STEP_SECONDS" \
    --arg coalesce "${COALESCE:-20ms (default)}" --arg capture "$CAPTURE" --arg runs "$RUNS" \
    --arg lsyncd "$(lsyncd --version | awk '{print $2}')" --arg rsync "$(rsync --version | awk 'NR==1 {print $3}')" \
    --arg command "sudo $CMD --write-doc" --argjson ramp "$(jq -nc --arg r "$RAMP" '$r | split(" ")')" \
    '$ARGS.named' >"$WORK/meta.json"
python3 "$RB" report "$RESULTS" "$WORK/meta.json" | tee "$WORK/report.md"
cp "$RESULTS" "${KEEP_RESULTS:-/tmp/replbench-last.tsv}"
if [[ $WRITE_DOC == 1 ]]; then
    python3 "$RB" splice "$REPO/docs/performance.md" "$WORK/report.md"
    echo "wrote docs/performance.md"
fi
