#!/usr/bin/env bash
# Write-order mode: what each capture option costs the protected workload (issue 17, the ADR in
# docs/adr/0001-write-order-mode.md). Side by side, on one loop-mounted btrfs, repeated, medians:
#
#   bare     the workload alone on a btrfs subvolume;
#   snapN    the same with consistency points every N ms: `btrfs subvolume snapshot -r` of the
#            subvolume, then `btrfs send -p <previous> <new>` into a file on another file system
#            (/tmp's), the previous point deleted; per point: snapshot ms, send ms, delta bytes;
#   pointsN  consistency points every N ms by the write-order source itself (bench/writeorder-points:
#            PointSource and PointLoop): snapshots and sends by ioctl (no btrfs process), a point skipped
#            when nothing changed, the next snapshot taken while the previous point is sent, points that
#            piled up behind a slow send coalesced; deltas into files on /tmp's file system, deleted;
#   fuse     the workload through a FUSE pass-through (bindfs) of the same subvolume: the least a
#            FUSE write-capture layer can cost (bindfs logs nothing, ships nothing).
#
# Workloads: pgbench (PostgreSQL 15, a cluster made by initdb for every run inside the subvolume,
# unix socket outside it, scale $PG_SCALE, $PG_CLIENTS clients, $SECS s, TPS) and fio 4 KiB random
# writes with fsync=1 (psync, one job, a $FIO_MB MiB file, $SECS s, IOPS).
# RPO of a point: a point is on the target when its send ends, so just before point N lands the
# target holds point N-1 and misses everything since its snapshot began: RPO(N) = sendEnd(N) -
# snapStart(N-1), the worst moment of each interval (network and target apply not counted).
#
#   sudo bench/writeorder-options.sh                      # RUNS=3, 30 s runs, both workloads
#   RUNS=5 SECS=20 MODES="bare snap250" WORKLOADS=fio sudo bench/writeorder-options.sh
#   RUNS=5 SECS=20 MODES="bare points250" sudo bench/writeorder-options.sh
# A pointsN point's RPO is the same: sendEnd(N) - snapStart(previous point sent).
# Needs root (loop device, btrfs), btrfs-progs, fio, bindfs, postgresql-15, python3.
set -euo pipefail

RUNS=${RUNS:-3}
SECS=${SECS:-30}
MODES=${MODES:-"bare snap250 snap500 fuse"}
WORKLOADS=${WORKLOADS:-"pgbench fio"}
PG_SCALE=${PG_SCALE:-10}
PG_CLIENTS=${PG_CLIENTS:-4}
FIO_MB=${FIO_MB:-256}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[[ $(id -u) == 0 ]] || { echo "needs root (loop device, btrfs)" >&2; exit 2; }
for t in mkfs.btrfs btrfs fio bindfs python3 "$PGBIN/initdb"; do
    command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }
done

WORK=$(mktemp -d "${WORK_PARENT:-/tmp}/understudy-wo.XXXXXX")
MNT=$WORK/btrfs      # the loop btrfs
VOL=$MNT/vol         # the protected subvolume
SNAPS=$MNT/snaps     # consistency points
FUSE=$WORK/fuse      # bindfs view of $VOL
DELTA=$WORK/delta    # send streams land here (host file system, not the loop)
SOCK=$WORK/sock
OUT=${OUT:-$WORK/results}
chmod 755 "$WORK"  # postgres (not root) runs in there
mkdir -p "$MNT" "$FUSE" "$DELTA" "$SOCK" "$OUT"
chown postgres "$SOCK"
LOOP=""
SNAPPER=""
if [[ $MODES == *points* ]]; then
    here=$(cd "$(dirname "$0")" && pwd)
    dotnet build "$here/writeorder-points/WriteOrderPoints.csproj" -c Release -o "$WORK/wop" >/dev/null
    WOP=$WORK/wop/writeorder-points
fi

cleanup() {
    set +e
    [[ -n $SNAPPER ]] && kill "$SNAPPER" 2>/dev/null && wait "$SNAPPER" 2>/dev/null
    pg_stop
    mountpoint -q "$FUSE" && umount "$FUSE"
    mountpoint -q "$MNT" && umount "$MNT"
    [[ -n $LOOP ]] && losetup -d "$LOOP"
    [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK/img" "$DELTA"
    echo "results in $OUT"
}
trap cleanup EXIT

fresh_btrfs() {
    mountpoint -q "$FUSE" && umount "$FUSE"
    mountpoint -q "$MNT" && umount "$MNT"
    [[ -n $LOOP ]] && losetup -d "$LOOP"
    rm -f "$WORK/img"
    truncate -s 8G "$WORK/img"
    LOOP=$(losetup -f --show --direct-io=on "$WORK/img")
    mkfs.btrfs -q -f "$LOOP" >/dev/null 2>&1
    mount "$LOOP" "$MNT"
    btrfs subvolume create "$VOL" >/dev/null
    mkdir -p "$SNAPS"
    sync
}

now() { date +%s%N; }  # integer ns: bash arithmetic, no interpreter per point

# snapshot_loop INTERVAL_MS LOG: a point every interval until killed; the first point (0) is taken
# by the caller before the workload starts.
snapshot_loop() {
    local ms=$1 log=$2 n=0 prev t0 t1 t2 bytes left
    prev=$SNAPS/0
    trap 'exit 0' TERM
    while true; do
        n=$((n + 1))
        t0=$(now)
        btrfs subvolume snapshot -r "$VOL" "$SNAPS/$n" >/dev/null
        t1=$(now)
        btrfs send -q -p "$prev" -f "$DELTA/$n" "$SNAPS/$n" 2>/dev/null
        t2=$(now)
        bytes=$(stat -c %s "$DELTA/$n")
        rm -f "$DELTA/$n"
        btrfs subvolume delete "$prev" >/dev/null
        prev=$SNAPS/$n
        echo "$n $t0 $t1 $t2 $bytes" >>"$log"
        left=$(( ms * 1000000 - ($(now) - t0) ))
        ((left <= 0)) || sleep "$((left / 1000000000)).$(printf %09d $((left % 1000000000)))"
    done
}

pg_stop() {
    [[ -n ${PGDATA_DIR:-} && -f $PGDATA_DIR/postmaster.pid ]] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1
    PGDATA_DIR=""
}

# prepare WORKLOAD DIR: everything before the measured part (a fresh cluster with pgbench's tables,
# or fio's file laid out).
prepare() {
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
            fio --name=lay --directory="$dir" --filename=f --size="${FIO_MB}M" --rw=write --bs=1M \
                --create_only=1 >/dev/null 2>&1
            fio --name=lay --directory="$dir" --filename=f --size="${FIO_MB}M" --rw=write --bs=1M \
                --end_fsync=1 >/dev/null ;;
    esac
    sync
}

# measure WORKLOAD DIR: prints the figure (TPS or IOPS)
measure() {
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

one_run() {
    local wl=$1 mode=$2 run=$3 dir figure log=""
    fresh_btrfs
    dir=$VOL/w
    if [[ $mode == fuse ]]; then
        bindfs -o allow_other "$VOL" "$FUSE"
        dir=$FUSE/w
    fi
    prepare "$wl" "$dir"
    if [[ $mode == snap* ]]; then
        log=$OUT/points-$wl-$mode-$run.log
        : >"$log"
        btrfs subvolume snapshot -r "$VOL" "$SNAPS/0" >/dev/null
        snapshot_loop "${mode#snap}" "$log" &
        SNAPPER=$!
    elif [[ $mode == points* ]]; then
        log=$OUT/points-$wl-$mode-$run.log
        : >"$log"
        "$WOP" "$VOL" "${mode#points}" "$DELTA" "$log" >"$WORK/wop.out" &
        SNAPPER=$!
        until grep -q ready "$WORK/wop.out" 2>/dev/null; do
            kill -0 "$SNAPPER" 2>/dev/null || { echo "writeorder-points failed" >&2; exit 1; }
            sleep 0.2
        done
    fi
    figure=$(measure "$wl" "$dir")
    if [[ -n $SNAPPER ]]; then kill "$SNAPPER"; wait "$SNAPPER" 2>/dev/null || true; SNAPPER=""; fi
    pg_stop
    echo "$wl $mode $run $figure" | tee -a "$OUT/figures.txt"
}

echo "work dir $WORK; $RUNS runs x $SECS s; modes: $MODES; workloads: $WORKLOADS" >&2
for run in $(seq 1 "$RUNS"); do
    for wl in $WORKLOADS; do
        # Modes interleaved within a run so that a noisy neighbour's hour hurts all of them alike.
        for mode in $MODES; do one_run "$wl" "$mode" "$run"; done
    done
done

python3 - "$OUT" <<'EOF'
import glob, os, statistics, sys
out = sys.argv[1]
fig = {}
for line in open(os.path.join(out, "figures.txt")):
    wl, mode, run, v = line.split()
    fig.setdefault((wl, mode), []).append(float(v))
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print("| workload | mode | runs | median | vs bare | snapshot ms p50/p99 | send ms p50/p99 | delta KiB p50/p99 | RPO ms p50/p99 |")
print("|---|---|---|---|---|---|---|---|---|")
for (wl, mode), vs in fig.items():
    bare = statistics.median(fig.get((wl, "bare"), [float("nan")]))
    med = statistics.median(vs)
    extra = ["", "", "", ""]
    if mode.startswith(("snap", "points")):
        snap, send, kib, rpo = [], [], [], []
        for f in glob.glob(os.path.join(out, f"points-{wl}-{mode}-*.log")):
            pts = [l.split()[:5] for l in open(f) if l.strip()]
            pts = [(int(n), int(a) / 1e9, int(b) / 1e9, int(c) / 1e9, int(d)) for n, a, b, c, d in pts]
            for i, (n, t0, t1, t2, by) in enumerate(pts):
                snap.append((t1 - t0) * 1000); send.append((t2 - t1) * 1000); kib.append(by / 1024)
                if i > 0: rpo.append((t2 - pts[i - 1][1]) * 1000)
        f2 = lambda xs: f"{pct(xs, 50):.0f} / {pct(xs, 99):.0f}" if xs else "-"
        extra = [f2(snap), f2(send), f2(kib), f2(rpo)]
    print(f"| {wl} | {mode} | {len(vs)} | {med:.1f} | {med / bare:.2f}x | " + " | ".join(extra) + " |")
EOF
