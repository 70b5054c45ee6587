#!/usr/bin/env bash
# How long one CLI call takes against a running local agent, and how much memory it uses (issue 21, "The CLI is
# instant": every verb ≤ 50 ms wall median on an idle machine, ≤ 40 MB RSS).
#
#   bench/cli-latency.sh                       # publishes both CLIs into the work dir, 10 runs per verb
#   APP=DIR bench/cli-latency.sh               # an existing `dotnet publish` of src/Understudy.Cli (DIR/understudy.dll)
#   NATIVE=FILE bench/cli-latency.sh           # an existing Native AOT client (src/Understudy.Cli.Native); NATIVE=none: managed only
#   ALSO="pie=FILE other=FILE" bench/cli-latency.sh   # further clients in the same run (e.g. builds of the native
#                                              # client with other link options), interleaved with the others
#   RUNS=20 FILES=200 bench/cli-latency.sh
#
# Two agents on loopback (source and target, from APP), trusted both ways, one job over FILES small files, mirrored
# before anything is timed. Then, per client (the managed `understudy` apphost; the Native AOT one), RUNS calls of each
# verb, interleaved verb by verb so both clients see the same load: `--version`, `status`, `status --json`,
# `wait JOB` (the job is idle and mirrored), `wait JOB --until idle`, `mirror JOB --wait` (a difference mirror that
# finds nothing to do), `job list`, `events --limit 5`; and `curl` to GET /api/v1/status for reference.
# Each call's wall time (fork to exit) and CPU time are measured by the Python driver, its peak RSS by GNU time
# (/usr/bin/time, package `time`; a program the client execs counts in the same process); the table gives medians,
# the RSS column the maximum.
# The 1-minute load average before and after is printed: on this 2-core shared machine it decides the numbers.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-10}
FILES=${FILES:-100}
WORK=$(mktemp -d "${WORK_PARENT:-/tmp}/understudy-cli.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z ${APP:-} ]]; then
    APP=$WORK/app
    echo "== dotnet publish src/Understudy.Cli into $APP" >&2
    dotnet publish "$REPO/src/Understudy.Cli" -c Release -o "$APP" >"$WORK/publish.log" 2>&1 || { cat "$WORK/publish.log"; exit 2; }
fi
if [[ -z ${NATIVE:-} ]]; then
    NATIVE=$WORK/native/understudy
    echo "== dotnet publish src/Understudy.Cli.Native (Native AOT) into $WORK/native" >&2
    dotnet publish "$REPO/src/Understudy.Cli.Native" -c Release -o "$WORK/native" >"$WORK/publish-native.log" 2>&1 \
        || { cat "$WORK/publish-native.log"; exit 2; }
fi
[[ -f $APP/understudy.dll ]] || { echo "no $APP/understudy.dll" >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
us() { local dir=$1; shift; "$APP/understudy" "$@" --data-dir "$dir"; }
start_agent() { # name -> AG_DIR AG_PEER
    local name=$1 dir=$WORK/agent-$1 peer api
    peer=$(free_port); api=$(free_port)
    mkdir -p "$dir"
    "$APP/understudy" agent --data-dir "$dir" --listen "127.0.0.1:$peer" --api-listen "127.0.0.1:$api" --name "$name" >"$dir.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 600); do [[ -f $dir/api-address ]] && break; sleep 0.1; done
    [[ -f $dir/api-address ]] || { echo "agent $name did not start:"; cat "$dir.log"; exit 1; }
    AG_DIR=$dir; AG_PEER=127.0.0.1:$peer
}

start_agent source; S=$AG_DIR
start_agent target; T=$AG_DIR; TPEER=$AG_PEER
SID=$(us "$S" id); TID=$(us "$T" id)
us "$S" trust add "$TID" --name target >/dev/null
us "$T" trust add "$SID" --name source --root "$WORK" >/dev/null
mkdir -p "$WORK/data"
for i in $(seq "$FILES"); do head -c $((i * 37 % 4096 + 1)) /dev/urandom >"$WORK/data/f$i"; done
cat >"$WORK/job.yaml" <<EOF
name: bench
source:
  paths: [$WORK/data]
target:
  address: $TPEER
  id: $TID
  path: $WORK/replica
mirror:
  mode: different
EOF
us "$S" job apply "$WORK/job.yaml" >/dev/null
us "$S" wait bench --until idle --timeout 120

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"
CLIENTS="managed=$APP/understudy"
[[ $NATIVE == none ]] || CLIENTS="$CLIENTS native=$NATIVE"
[[ -z ${ALSO:-} ]] || CLIENTS="$CLIENTS $ALSO"
python3 - "$RUNS" "$S" "$CLIENTS" <<'PY'
import os, statistics, subprocess, sys, time
runs, data_dir, clients = int(sys.argv[1]), sys.argv[2], [c.split("=", 1) for c in sys.argv[3].split()]
os.environ["UNDERSTUDY_DATA_DIR"] = data_dir  # not --data-dir: `--version` takes no other option
api = open(os.path.join(data_dir, "api-address")).readline().strip().rstrip("/")
token = open(os.path.join(data_dir, "api-token")).read().strip()
verbs = [["--version"], ["status"], ["status", "--json"], ["wait", "bench"], ["wait", "bench", "--until", "idle"],
         ["mirror", "bench", "--wait"], ["job", "list"], ["events", "--limit", "5"]]

def timed(argv):
    # Peak RSS from GNU time (%M: ru_maxrss of its child), not from our own wait4: a child forked from this Python
    # process counts Python's pages in its high-water mark until it execs (~14 MB); time's own image is ~1 MB.
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"cli-latency-{os.getpid()}.rss")
    t = time.perf_counter()
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", out, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace"); p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)}: exit {os.waitstatus_to_exitcode(status)}: {err}")
    with open(out) as f:
        rss_kb = int(f.read().split()[-1])
    os.unlink(out)
    return wall * 1000, rss_kb / 1024, (ru.ru_utime + ru.ru_stime) * 1000

rows = []
for verb in verbs:
    samples = {name: [] for name, _ in clients}
    for _ in range(runs):
        for name, exe in clients:  # interleaved: both clients see the same load
            samples[name].append(timed([exe, *verb]))
    for name, _ in clients:
        s = samples[name]
        rows.append((" ".join(verb), name, statistics.median(x[0] for x in s), max(x[1] for x in s), statistics.median(x[2] for x in s)))
curl = [timed(["curl", "-sf", "-H", f"Authorization: Bearer {token}", f"{api}/api/v1/status"]) for _ in range(runs)]
rows.append(("GET /api/v1/status", "curl", statistics.median(x[0] for x in curl), max(x[1] for x in curl), statistics.median(x[2] for x in curl)))
print(f"| verb | client | wall median (ms) | peak RSS max (MB) | CPU median (ms) |   ({runs} runs each)")
print("| --- | --- | ---: | ---: | ---: |")
for verb, name, wall, rss, cpu in rows:
    print(f"| `{verb}` | {name} | {wall:.0f} | {rss:.1f} | {cpu:.0f} |")
PY
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
