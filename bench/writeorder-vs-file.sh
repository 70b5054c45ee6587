#!/usr/bin/env bash
# Write-order mode through the agents (issue 17): what a job costs the protected workload, and the RPO under it.
# Side by side on one loop-mounted btrfs source (8 GiB sparse image, --direct-io), the replica on a loop ext4, two
# real agents on loopback, modes interleaved within each run, medians of RUNS runs:
#
#   bare   the workload alone in the btrfs subvolume, no agents;
#   wo     a write-order job (replication.consistency: write-order) over the subvolume;
#   file   a file-mode job (replication.enabled: true) over the same path.
#
# Workloads: pgbench (PostgreSQL 15, a cluster made by initdb for every run inside the subvolume, unix socket
# outside it, scale $PG_SCALE, $PG_CLIENTS clients, $SECS s: TPS) and fio 4 KiB random writes with fsync=1 (psync,
# one job, a $FIO_MB MiB file, $SECS s: IOPS). In the job modes the job is applied, mirrored (and in wo the target
# holds a point) before the measured part starts.
#
# RPO: every $SAMPLE_MS ms during the measured part the target's status (the management API, by curl: no CLI process)
# gives writeOrder.ageSeconds of the hosted job — now minus the snapshot time of the point the target has applied
# and synced (under load; when idle the source moves it forward) — i.e. how far back the newest source write the
# target lacks can be. Sampled at even times, its median and p99 are the RPO's distribution over time. For file mode
# the source's own measure is sampled beside it for comparison: replication.oldestPendingAgeSeconds (the oldest
# record not yet acknowledged; it does not see writes still waiting in the coalescer, issue 17). Sampling starts in
# steady state: in wo once the target's point is under 1 s old after the base mirror (whose snapshot is as old as the
# mirror took), in file mode once the first mirror is done.
#
#   sudo bench/writeorder-vs-file.sh                       # RUNS=3, 20 s, both workloads (~20 min)
#   RUNS=5 SECS=30 WORKLOADS=fio sudo bench/writeorder-vs-file.sh
# Needs root (loop devices, btrfs, fanotify), btrfs-progs, fio, postgresql-15, jq, curl, python3, and a Release
# build: dotnet build src/Understudy.Cli -c Release.
set -euo pipefail

RUNS=${RUNS:-3}
SECS=${SECS:-20}
MODES=${MODES:-"bare wo file"}
WORKLOADS=${WORKLOADS:-"pgbench fio"}
PG_SCALE=${PG_SCALE:-10}
PG_CLIENTS=${PG_CLIENTS:-4}
FIO_MB=${FIO_MB:-256}
SAMPLE_MS=${SAMPLE_MS:-200}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

REPO=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${UNDERSTUDY_BENCH_LOCKED:-} ]]; then
    echo "== waiting for /tmp/understudy-bench.lock" >&2
    UNDERSTUDY_BENCH_LOCKED=1 exec flock /tmp/understudy-bench.lock "$0" "$@"
fi
[[ $(id -u) == 0 ]] || { echo "needs root (loop devices, btrfs)" >&2; exit 2; }
for t in mkfs.btrfs mkfs.ext4 btrfs fio jq curl python3 "$PGBIN/initdb"; do
    command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }
done
DLL=$REPO/src/Understudy.Cli/bin/Release/net10.0/understudy.dll
[[ -f $DLL ]] || { echo "build first: dotnet build $REPO/src/Understudy.Cli -c Release" >&2; exit 2; }

WORK=$(mktemp -d "${WORK_PARENT:-/tmp}/understudy-wovf.XXXXXX")
MNT=$WORK/btrfs   # the loop btrfs
VOL=$MNT/vol      # the protected subvolume
TGT=$WORK/ext4    # the replica's file system
SOCK=$WORK/sock
OUT=${OUT:-$WORK/results}
chmod 755 "$WORK" # postgres (not root) runs in there
mkdir -p "$MNT" "$TGT" "$SOCK" "$OUT"
chown postgres "$SOCK"
PIDS=()

cleanup() {
    set +e
    pg_stop
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    drop_mounts
    [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK/btrfs.img" "$WORK/ext4.img" "$WORK"/agent-*
    echo "results in $OUT" >&2
}
trap cleanup EXIT

drop_mounts() {
    local m
    for m in "$MNT" "$TGT"; do
        if mountpoint -q "$m"; then umount "$m" || umount -l "$m"; fi
    done
    rm -f "$WORK/btrfs.img" "$WORK/ext4.img"
}

fresh_filesystems() {
    drop_mounts
    truncate -s 8G "$WORK/btrfs.img"
    mkfs.btrfs -q -f "$WORK/btrfs.img" >/dev/null 2>&1
    mount -o loop "$WORK/btrfs.img" "$MNT"
    btrfs subvolume create "$VOL" >/dev/null
    truncate -s 8G "$WORK/ext4.img"
    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$WORK/ext4.img"
    mount -o loop "$WORK/ext4.img" "$TGT"
    losetup -j "$WORK/btrfs.img" | cut -d: -f1 | xargs -r -n1 losetup --direct-io=on
    losetup -j "$WORK/ext4.img" | cut -d: -f1 | xargs -r -n1 losetup --direct-io=on
    sync
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
us() { local dir=$1; shift; dotnet "$DLL" "$@" --data-dir "$dir"; }

start_agent() { # name dir -> AG_PID AG_PEER
    local name=$1 dir=$2 peer api
    peer=$(free_port); api=$(free_port)
    mkdir -p "$dir"
    dotnet "$DLL" agent --data-dir "$dir" --listen "127.0.0.1:$peer" --api-listen "127.0.0.1:$api" --name "$name" >"$dir.log" 2>&1 &
    AG_PID=$!; PIDS+=("$AG_PID")
    for _ in $(seq 600); do [[ -f $dir/api-address ]] && break; sleep 0.1; done
    [[ -f $dir/api-address ]] || { echo "agent $name did not start:"; cat "$dir.log"; exit 1; }
    AG_PEER=127.0.0.1:$peer
}

stop_agents() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait "${PIDS[@]}" 2>/dev/null || true
    PIDS=()
}

# protect MODE RUN: two agents, a job over $VOL in MODE (wo | file), mirrored; sets S_DIR T_DIR
protect() {
    local mode=$1 run=$2 t_peer t_id s_id f=$WORK/job.yaml
    S_DIR=$WORK/agent-src-$run-$mode; T_DIR=$WORK/agent-tgt-$run-$mode
    rm -rf "$S_DIR" "$T_DIR"
    start_agent src "$S_DIR"
    start_agent tgt "$T_DIR"; t_peer=$AG_PEER
    s_id=$(us "$S_DIR" id); t_id=$(us "$T_DIR" id)
    us "$S_DIR" trust add "$t_id" --name tgt >/dev/null
    us "$T_DIR" trust add "$s_id" --name src >/dev/null
    {
        echo "name: bench"
        echo "source:"
        echo "  paths: [$VOL]"
        echo "target:"
        echo "  address: $t_peer"
        echo "  id: $t_id"
        echo "  path: $TGT/replica"
        echo "replication:"
        echo "  enabled: true"
        [[ $mode == wo ]] && echo "  consistency: write-order"
    } >"$f"
    us "$S_DIR" job apply "$f" >/dev/null
    us "$S_DIR" wait bench --until mirrored --timeout 600 >/dev/null
    if [[ $mode == wo ]]; then
        # Steady state first: the base is a mirror of a snapshot taken before it began, so until the first delta
        # after it lands the target's age is the mirror's duration (3-5 s here), a start-up cost, not the RPO.
        local age
        for _ in $(seq 600); do
            age=$(api "$T_DIR" | jq -r '.hosted[] | select(.name == "bench") | .writeOrder.ageSeconds // empty')
            [[ -n $age ]] && python3 -c "import sys; sys.exit(0 if float('$age') < 1 else 1)" && return
            sleep 0.1
        done
        echo "the target's point is not under 1 s old after 60 s" >&2; exit 1
    fi
}

api() { curl -s -H "Authorization: Bearer $(cat "$1/api-token")" "$(head -1 "$1/api-address")/api/v1/status"; }

# sample_rpo MODE FILE: one line per sample until killed: target's writeOrder.ageSeconds (wo) or the source's
# oldestPendingAgeSeconds (file).
sample_rpo() {
    local mode=$1 file=$2
    trap 'exit 0' TERM
    while true; do
        if [[ $mode == wo ]]; then
            api "$T_DIR" | jq -r '.hosted[] | select(.name == "bench") | .writeOrder.ageSeconds // empty' >>"$file" || true
        else
            api "$S_DIR" | jq -r '.jobs[] | select(.name == "bench") | .replication.oldestPendingAgeSeconds // 0' >>"$file" || true
        fi
        sleep "$(printf '0.%03d' "$SAMPLE_MS")"
    done
}

pg_stop() {
    [[ -n ${PGDATA_DIR:-} && -f $PGDATA_DIR/postmaster.pid ]] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1
    PGDATA_DIR=""
}

prepare() { # WORKLOAD DIR
    local wl=$1 dir=$2
    case $wl in
        pgbench)
            mkdir -p "$dir"; chown postgres "$dir"
            PGDATA_DIR=$dir/pg
            runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_DIR" >/dev/null 2>&1
            runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -w -l "$SOCK/pg.log" \
                -o "-c listen_addresses='' -k $SOCK" start >/dev/null
            runuser -u postgres -- "$PGBIN/pgbench" -h "$SOCK" -i -q -s "$PG_SCALE" postgres >/dev/null 2>&1
            runuser -u postgres -- "$PGBIN/psql" -h "$SOCK" -q -c checkpoint postgres ;;
        fio)
            mkdir -p "$dir"
            fio --name=lay --directory="$dir" --filename=f --size="${FIO_MB}M" --rw=write --bs=1M --end_fsync=1 >/dev/null ;;
    esac
    sync
}

measure() { # WORKLOAD DIR -> TPS or IOPS
    local wl=$1 dir=$2
    case $wl in
        pgbench)
            runuser -u postgres -- "$PGBIN/pgbench" -h "$SOCK" -n -c "$PG_CLIENTS" -j 2 -T "$SECS" postgres 2>/dev/null |
                sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1 ;;
        fio)
            fio --name=rw --directory="$dir" --filename=f --size="${FIO_MB}M" --rw=randwrite --bs=4k \
                --ioengine=psync --fsync=1 --time_based --runtime="$SECS" --output-format=json |
                python3 -c 'import json,sys; print(round(json.load(sys.stdin)["jobs"][0]["write"]["iops"], 1))' ;;
    esac
}

one_run() { # WORKLOAD MODE RUN
    local wl=$1 mode=$2 run=$3 figure sampler=""
    fresh_filesystems
    prepare "$wl" "$VOL/w"
    if [[ $mode != bare ]]; then
        protect "$mode" "$run"
        sample_rpo "$mode" "$OUT/rpo-$wl-$mode-$run.txt" &
        sampler=$!
    fi
    figure=$(measure "$wl" "$VOL/w")
    if [[ -n $sampler ]]; then kill "$sampler"; wait "$sampler" 2>/dev/null || true; fi
    pg_stop
    stop_agents
    echo "$wl $mode $run $figure" | tee -a "$OUT/figures.txt" >&2
}

echo "work dir $WORK; $RUNS runs x $SECS s; modes: $MODES; workloads: $WORKLOADS" >&2
for run in $(seq 1 "$RUNS"); do
    for wl in $WORKLOADS; do
        # Modes interleaved within a run, so a noisy neighbour's minute hurts all of them alike.
        for mode in $MODES; do one_run "$wl" "$mode" "$run"; done
    done
done

python3 - "$OUT" <<'EOF'
import glob, os, statistics, sys
out = sys.argv[1]
fig = {}
for line in open(os.path.join(out, "figures.txt")):
    wl, mode, run, v = line.split()
    fig.setdefault((wl, mode), {})[int(run)] = float(v)
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print("| workload | mode | runs | median | ÷ bare (medians) | ÷ bare per run (median) | RPO s p50 / p99 / max (samples) |")
print("|---|---|---|---|---|---|---|")
for (wl, mode), runs in fig.items():
    bare = fig.get((wl, "bare"), {})
    med = statistics.median(runs.values())
    ratio = f"{med / statistics.median(bare.values()):.2f}×" if bare else ""
    paired = [v / bare[r] for r, v in runs.items() if r in bare and bare[r] > 0]
    per_run = f"{statistics.median(paired):.2f}× ({' / '.join(f'{x:.2f}' for x in paired)})" if paired and mode != "bare" else ""
    rpo = ""
    if mode != "bare":
        xs = []
        for f in glob.glob(os.path.join(out, f"rpo-{wl}-{mode}-*.txt")):
            xs += [float(l) for l in open(f) if l.strip()]
        label = "" if mode == "wo" else " (queue age)"
        rpo = f"{pct(xs, 50):.2f} / {pct(xs, 99):.2f} / {max(xs):.2f} ({len(xs)}){label}" if xs else "-"
    raw = " / ".join(f"{runs[r]:.0f}" for r in sorted(runs))
    print(f"| {wl} | {mode} | {len(runs)} | {med:.1f} ({raw}) | {ratio} | {per_run} | {rpo} |")
EOF
