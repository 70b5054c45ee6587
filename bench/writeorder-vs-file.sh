#!/usr/bin/env bash
# Write-order mode through the agents (issue 17): what a job costs the protected workload, and the RPO under it.
# Side by side on one loop-mounted btrfs source (8 GiB sparse image, --direct-io), the replica on a loop ext4, two
# real agents on loopback, modes interleaved within each run, medians of RUNS runs:
#
#   bare     the workload alone in the btrfs subvolume, no agents;
#   wo       a write-order job (replication.consistency: write-order) over the subvolume;
#   file     a file-mode job (replication.enabled: true) over the same path;
#   wo-sep, file-sep   the same, but the target's replica (its loop ext4 image) and the target agent's data directory
#            (the point journal, the file mode's staging) on tmpfs (/dev/shm): a target on another host, whose
#            writes and syncs do not queue behind the workload's on the source's disk. The plain modes put them on
#            the same disk as the source (one VM disk), which costs the workload more than a real deployment would.
#   alt-wo, alt-wo-sep   wo and wo-sep run by another build ($ALT_APP: a publish output), to compare two builds (an
#            older commit, another point interval) side by side in one run.
#
# Workloads: pgbench (PostgreSQL 15, a cluster made by initdb for every run inside the subvolume, unix socket
# outside it, scale $PG_SCALE, $PG_CLIENTS clients, $SECS s: TPS) and fio 4 KiB random writes with fsync=1 (psync,
# one job, a $FIO_MB MiB file, $SECS s: IOPS). In the job modes the job is applied, mirrored (and in wo the target
# holds a point) before the measured part starts.
#
# RPO: every $SAMPLE_MS ms during the measured part the target's status (the management API, polled by one python
# process) gives writeOrder.ageSeconds of the hosted job — now minus the snapshot time of the point the target has
# applied and synced (under load; when idle the source moves it forward) — i.e. how far back the newest source write
# the target lacks can be. Sampled at even times, its median and p99 are the RPO's distribution over time. For file
# mode the source's own measure is sampled instead: replication.oldestPendingAgeSeconds, the oldest change not on the
# target (queued and unacknowledged, or held back in the coalescer as a file being written: at most Coalescer.MaxHold).
# Sampling starts in steady state: in wo once the target's point is under 1 s old after the base mirror (whose
# snapshot is as old as the mirror took), in file mode once the first mirror is done. Per run also the agents' CPU
# during the measured part (from /proc) and the points shipped, in a second table.
#
#   sudo bench/writeorder-vs-file.sh                       # RUNS=3, 20 s, both workloads, five modes (~35 min)
#   RUNS=5 SECS=30 WORKLOADS=fio sudo bench/writeorder-vs-file.sh
# Needs root (loop devices, btrfs, fanotify), btrfs-progs, fio, postgresql-15, jq, curl, python3 and the .NET SDK: the agents
# run from `dotnet publish` into the work directory (APP=DIR runs an existing publish output instead).
set -euo pipefail

RUNS=${RUNS:-3}
SECS=${SECS:-20}
MODES=${MODES:-"bare wo wo-sep file file-sep"}
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
[[ $MODES != *alt-* || -f ${ALT_APP:-}/understudy.dll ]] || { echo "modes alt-*: ALT_APP must name another build's publish output" >&2; exit 2; }

WORK=$(mktemp -d "${WORK_PARENT:-/tmp}/understudy-wovf.XXXXXX")
MNT=$WORK/btrfs   # the loop btrfs
VOL=$MNT/vol      # the protected subvolume
TGT=$WORK/ext4    # the replica's file system
SEP=$(mktemp -d /dev/shm/understudy-wovf.XXXXXX) # *-sep modes: the target's image and data directory (tmpfs)
SOCK=$WORK/sock
OUT=${OUT:-$WORK/results}
chmod 755 "$WORK" # postgres (not root) runs in there
mkdir -p "$MNT" "$TGT" "$SOCK" "$OUT"
# The agents run as installed: `dotnet publish` (ReadyToRun, and the agent re-executes itself with tiered compilation
# off). A `dotnet build` output JIT-compiles in the background for the agent's first ~30 s, which is all of a run.
if [[ -z ${APP:-} ]]; then
    APP=$WORK/app
    echo "== dotnet publish (ReadyToRun) into $APP" >&2
    dotnet publish "$REPO/src/Understudy.Cli" -c Release -o "$APP" >"$WORK/publish.log" 2>&1 || { cat "$WORK/publish.log"; exit 2; }
fi
NEW_DLL=$APP/understudy.dll
DLL=$NEW_DLL
chown postgres "$SOCK"
PIDS=()

cleanup() {
    set +e
    pg_stop
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    drop_mounts
    [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK/btrfs.img" "$WORK/ext4.img" "$WORK"/agent-*
    rm -rf "$SEP"
    echo "results in $OUT" >&2
}
trap cleanup EXIT

drop_mounts() {
    local m
    for m in "$MNT" "$TGT"; do
        if mountpoint -q "$m"; then umount "$m" || umount -l "$m"; fi
    done
    rm -f "$WORK/btrfs.img" "$WORK/ext4.img" "$SEP/ext4.img"
    rm -rf "$SEP"/agent-*
}

fresh_filesystems() { # MODE: *-sep puts the replica's image on tmpfs
    local img=$WORK/ext4.img
    [[ $1 == *-sep ]] && img=$SEP/ext4.img
    drop_mounts
    truncate -s 8G "$WORK/btrfs.img"
    mkfs.btrfs -q -f "$WORK/btrfs.img" >/dev/null 2>&1
    mount -o loop "$WORK/btrfs.img" "$MNT"
    btrfs subvolume create "$VOL" >/dev/null
    truncate -s "$([[ $img == "$SEP"/* ]] && echo 2G || echo 8G)" "$img"
    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$img"
    mount -o loop "$img" "$TGT"
    losetup -j "$WORK/btrfs.img" | cut -d: -f1 | xargs -r -n1 losetup --direct-io=on
    [[ $img == "$SEP"/* ]] || losetup -j "$img" | cut -d: -f1 | xargs -r -n1 losetup --direct-io=on
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

# protect MODE RUN: two agents, a job over $VOL in MODE (wo | file, maybe alt-, maybe -sep), mirrored; sets S_DIR T_DIR
protect() {
    local mode=$1 run=$2 t_peer t_id s_id f=$WORK/job.yaml
    S_DIR=$WORK/agent-src-$run-$mode; T_DIR=$WORK/agent-tgt-$run-$mode
    [[ $mode == *-sep ]] && T_DIR=$SEP/agent-tgt-$run-$mode
    DLL=$NEW_DLL
    [[ $mode == alt-* ]] && DLL=$ALT_APP/understudy.dll
    rm -rf "$S_DIR" "$T_DIR"
    start_agent src "$S_DIR"
    start_agent tgt "$T_DIR"; t_peer=$AG_PEER
    s_id=$(us "$S_DIR" id); t_id=$(us "$T_DIR" id)
    us "$S_DIR" trust add "$t_id" --name tgt >/dev/null
    us "$T_DIR" trust add "$s_id" --name src --root "$TGT" >/dev/null
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
        [[ $mode == *wo* ]] && echo "  consistency: write-order"
    } >"$f"
    us "$S_DIR" job apply "$f" >/dev/null
    us "$S_DIR" wait bench --until mirrored --timeout 600 >/dev/null
    if [[ $mode == *wo* ]]; then
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

# sample_rpo MODE FILE: one line per sample until killed: the target's writeOrder.ageSeconds (wo) or the source's
# oldestPendingAgeSeconds (file). One python process polling the API: a curl and a jq every 200 ms cost the busy
# machine more CPU than the agent's answer (~10 process starts a second), which bare mode would not pay.
sample_rpo() {
    local mode=$1 file=$2 dir=$S_DIR
    [[ $mode == *wo* ]] && dir=$T_DIR
    exec python3 - "$mode" "$dir" "$file" "$SAMPLE_MS" <<'PY'
import json, signal, sys, time, urllib.request
mode, d, out, ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
addr = open(d + "/api-address").readline().strip()
req = urllib.request.Request(addr + "/api/v1/status", headers={"Authorization": "Bearer " + open(d + "/api-token").read().strip()})
with open(out, "a") as f:
    while True:
        t = time.monotonic()
        try:
            st = json.load(urllib.request.urlopen(req, timeout=5))
            if "wo" in mode:
                v = next((h.get("writeOrder") or {} for h in st.get("hosted", []) if h.get("name") == "bench"), {}).get("ageSeconds")
            else:
                v = next((j.get("replication") or {} for j in st.get("jobs", []) if j.get("name") == "bench"), {}).get("oldestPendingAgeSeconds") or 0
            if v is not None:
                print(v, file=f, flush=True)
        except OSError:
            pass
        time.sleep(max(0, ms / 1000 - (time.monotonic() - t)))
PY
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

# cpu_ticks PID: user + system clock ticks the process has used so far
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

one_run() { # WORKLOAD MODE RUN
    local wl=$1 mode=$2 run=$3 figure sampler="" s_cpu t_cpu t0 t1 shipped
    fresh_filesystems "$mode"
    prepare "$wl" "$VOL/w"
    if [[ $mode != bare ]]; then
        protect "$mode" "$run"
        sample_rpo "$mode" "$OUT/rpo-$wl-$mode-$run.txt" &
        sampler=$!
        s_cpu=$(cpu_ticks "${PIDS[0]}"); t_cpu=$(cpu_ticks "${PIDS[1]}"); t0=$(date +%s.%N)
    fi
    figure=$(measure "$wl" "$VOL/w")
    if [[ -n $sampler ]]; then
        kill "$sampler"; wait "$sampler" 2>/dev/null || true
        t1=$(date +%s.%N)
        shipped=$(api "$S_DIR" | jq -r '.jobs[] | select(.name == "bench") | .writeOrder.pointsShipped // 0')
        # agents' CPU during the measured part, in cores (ticks are 1/100 s); points shipped so far (wo)
        python3 -c "import sys; hz=100; d=float(sys.argv[5])-float(sys.argv[4]); print(sys.argv[1], round((int(sys.argv[2].split()[0]) - int(sys.argv[2].split()[1]))/hz/d, 3), round((int(sys.argv[3].split()[0]) - int(sys.argv[3].split()[1]))/hz/d, 3), sys.argv[6])" \
            "$wl $mode $run" "$(cpu_ticks "${PIDS[0]}") $s_cpu" "$(cpu_ticks "${PIDS[1]}") $t_cpu" "$t0" "$t1" "$shipped" >>"$OUT/agents.txt"
    fi
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
import os, statistics, sys
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
        for r in runs:  # not a glob: rpo-fio-wo-* would take wo-sep's files too
            f = os.path.join(out, f"rpo-{wl}-{mode}-{r}.txt")
            xs += [float(l) for l in open(f) if l.strip()] if os.path.exists(f) else []
        label = "" if "wo" in mode else " (queue age)"
        rpo = f"{pct(xs, 50):.2f} / {pct(xs, 99):.2f} / {max(xs):.2f} ({len(xs)}){label}" if xs else "-"
    raw = " / ".join(f"{runs[r]:.0f}" for r in sorted(runs))
    print(f"| {wl} | {mode} | {len(runs)} | {med:.1f} ({raw}) | {ratio} | {per_run} | {rpo} |")
agents = {}
if os.path.exists(os.path.join(out, "agents.txt")):
    for line in open(os.path.join(out, "agents.txt")):
        wl, mode, run, s_cpu, t_cpu, shipped = line.split()
        agents.setdefault((wl, mode), []).append((float(s_cpu), float(t_cpu), int(shipped)))
if agents:
    print()
    print("| workload | mode | source agent CPU (cores, median) | target agent CPU (cores, median) | points shipped per run |")
    print("|---|---|---|---|---|")
    for (wl, mode), xs in agents.items():
        print(f"| {wl} | {mode} | {statistics.median(x[0] for x in xs):.2f} | {statistics.median(x[1] for x in xs):.2f} | {' / '.join(str(x[2]) for x in xs)} |")
EOF
