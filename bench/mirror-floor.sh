#!/usr/bin/env bash
# Where the floor of a full mirror is on this machine (docs/performance.md, "Where the floor is"):
# the CPU that the work itself takes, without any of Understudy's code, measured on the benchmark's
# data (the same generator and seed as bench/mirror-vs-rsync.sh):
#   transport: all the data's bytes sent over loopback between two processes, TLS 1.3 with the agents'
#              suite (SslStream, AES-128-GCM) and plain TCP (bench/transport-floor), CPU of both sides;
#   small:     the small files read and written to a fresh ext4 on 2 threads by bench/small-files-floor.py
#              (open, read, create, write, set mtime, close: nothing more), + sync: the kernel CPU of the
#              whole machine (file creation, page-cache writes, writeback; the interpreter's own user time
#              is not counted);
#   durable:   the same, each file created unnamed (O_TMPFILE) and linked in batches of 512 after a
#              syncfs: the durable publish issue 2 asks of a target, as the agent does it;
#   big:       `dd oflag=direct bs=4M` of each big file onto a fresh ext4 + sync, kernel CPU the same
#              way (the target writes big files with O_DIRECT).
# The sum, divided by the cores, is the least wall time a mirror over TLS could take here if
# nothing else ran and every core were busy all the time.
#
#   sudo bench/mirror-floor.sh                 # 50,000 files of 1-64 KiB + 4 x 512 MiB, 3 runs, medians
#   FILES=10000 BIG_FILES=2 BIG_MIB=256 RUNS=5 sudo bench/mirror-floor.sh
# Needs root (loop devices), python3 and the .NET SDK.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/common.sh
source "$REPO/bench/common.sh"
FRESH_FS=1
[[ $(id -u) == 0 ]] || { echo "needs root (fresh ext4 filesystems on loop devices)" >&2; exit 2; }

WORK=$(mktemp -d "${WORK_PARENT:-/tmp}/understudy-floor.XXXXXX")
SRC=$WORK/src
trap 'drop_fs "$WORK/dst"; rm -rf "$WORK"' EXIT

echo "== build bench/transport-floor"
dotnet build "$REPO/bench/transport-floor" -c Release -o "$WORK/tf" >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log"; exit 2; }
echo "== data: $FILES files of 1-64 KiB + $BIG_FILES x $BIG_MIB MiB (seed $SEED)"
python3 "$REPO/bench/gen-data.py" tree "$SRC" "$FILES" "$BIG_FILES" "$BIG_MIB" "$SEED"
sync
MIB=$(( ($(du -s --apparent-size --block-size=1 "$SRC" | cut -f1) + 1048575) / 1048576 ))

kernel() { awk '/^cpu / { print $4 + $7 + $8 }' /proc/stat; } # system irq softirq, in ticks
TICK=$(getconf CLK_TCK)
RESULTS=$WORK/results.tsv
# measure KEY COMMAND...: COMMAND onto a fresh ext4, then sync; the machine's kernel CPU and the wall
# time of both recorded as KEY_cpu (ticks) and KEY_wall (s).
measure() {
    local key=$1 b t; shift
    fresh_fs "$WORK/dst"
    b=$(kernel); t=$(date +%s.%N)
    "$@"
    sync
    printf '%s\t%s_cpu\t%s\n%s\t%s_wall\t%s\n' "$run" "$key" "$(( $(kernel) - b ))" "$run" "$key" \
        "$(python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.3f}')" "$t")" >>"$RESULTS"
}
for run in $(seq "$RUNS"); do
    echo "== run $run/$RUNS"
    "$WORK/tf/transport-floor" "$MIB" 1 | while IFS=$'\t' read -r mode _ side wall cpu; do
        printf '%s\t%s_%s_cpu\t%s\n' "$run" "$mode" "$side" "$cpu" >>"$RESULTS"
        printf '%s\t%s_%s_wall\t%s\n' "$run" "$mode" "$side" "$wall" >>"$RESULTS"
    done
    measure small python3 "$REPO/bench/small-files-floor.py" "$SRC" "$WORK/dst" 2
    measure durable python3 "$REPO/bench/small-files-floor.py" "$SRC" "$WORK/dst" 2 durable
    measure big sh -c 'for f in "$1"/big/*; do dd if="$f" of="$2/${f##*/}" bs=4M oflag=direct status=none; done' - "$SRC" "$WORK/dst"
    drop_fs "$WORK/dst"
done

python3 - "$RESULTS" "$TICK" "$(nproc)" "$MIB" "$FILES" "$BIG_FILES" "$BIG_MIB" "$RUNS" <<'PY'
import statistics, sys
from collections import defaultdict
path, tick, cores, mib, files, big_files, big_mib, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:]
v = defaultdict(list)
for line in open(path):
    _, key, val = line.rstrip("\n").split("\t")
    v[key].append(float(val) / (tick if key in ("small_cpu", "durable_cpu", "big_cpu") else 1))
m = {k: statistics.median(x) for k, x in v.items()}
tls = m["tls_send_cpu"] + m["tls_recv_cpu"]
plain = m["plain_send_cpu"] + m["plain_recv_cpu"]
total = tls + m["small_cpu"] + m["big_cpu"]
durable = tls + m["durable_cpu"] + m["big_cpu"]
print(f"Floor of a full mirror of {files} files of 1-64 KiB + {big_files} x {big_mib} MiB ({mib} MiB), {cores} cores, median of {runs} run(s):\n")
print("| part | CPU (s) | wall alone (s) |\n| --- | ---: | ---: |")
print(f"| transport, TLS 1.3 AES-128-GCM (SslStream), send + receive | {tls:.2f} | {m['tls_send_wall']:.2f} |")
print(f"| transport, plain TCP, send + receive (for comparison, not counted) | {plain:.2f} | {m['plain_send_wall']:.2f} |")
print(f"| small files: read, create, write, mtime, close on 2 threads + sync (kernel CPU, whole machine) | {m['small_cpu']:.2f} | {m['small_wall']:.2f} |")
print(f"| small files, published durably: the same, created unnamed (O_TMPFILE), linked in batches of 512 after a syncfs | {m['durable_cpu']:.2f} | {m['durable_wall']:.2f} |")
print(f"| big files: `dd oflag=direct` + sync (kernel CPU, whole machine) | {m['big_cpu']:.2f} | {m['big_wall']:.2f} |")
print(f"| **sum: TLS transport + small + big** | **{total:.2f}** | |")
print(f"| **sum with the durable publish issue 2 asks for** | **{durable:.2f}** | |")
print(f"\nOn {cores} cores, all of them busy all the time, that is at least {total / cores:.2f} s of wall time"
      f" ({durable / cores:.2f} s with the durable publish; TLS alone {tls / cores:.2f} s; over plain TCP the first sum"
      f" would be {(total - tls + plain) / cores:.2f} s), before the source's walk and per-file calls, the agents'"
      " framing, the manifest and starting the CLI.")
PY
