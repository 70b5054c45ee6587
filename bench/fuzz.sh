#!/usr/bin/env bash
# Coverage-guided fuzzing of the decoders that read what a peer or a file hands the agent (docs/security.md,
# "Fuzzing"): SharpFuzz instruments Understudy.Core and Understudy.Agent, AFL++ runs each harness of
# fuzz/Understudy.Fuzz for a set time from the seed corpus in fuzz/corpus/HARNESS, and the crashes and hangs it
# saved are replayed through the harness to show their exceptions.
#
#   bench/fuzz.sh                     # every harness, 10 minutes each, one after the other
#   bench/fuzz.sh 30 frame delta      # 30 minutes each for two of them
#   JOBS=2 bench/fuzz.sh 10           # two harnesses at a time (one core each)
# Harnesses: frame delta segment jobfile plan (`dotnet fuzz/.../Understudy.Fuzz.dll list` says what each covers).
# Needs afl-fuzz (Debian: apt-get install afl++; installed here when run as root) and the .NET SDK; the sharpfuzz
# tool (SharpFuzz.CommandLine) is installed into the output folder. Output: bench/out/fuzz/HARNESS (afl's own
# folder: queue/, crashes/, hangs/, fuzzer_stats). Exit status 1 when any harness saved a crash or a hang.
# A finding becomes a regression test in the decoder's own test project; what afl saved is kept, fuzz/corpus is
# only the seeds (add an input there when it reaches code the seeds do not).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
MINUTES=${1:-10}
shift || true
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -gt 0 ]] || HARNESSES=(frame delta segment jobfile plan)
JOBS=${JOBS:-1}
OUT=${OUT:-$REPO/bench/out/fuzz}
SHARPFUZZ_VERSION=2.3.0
# A heap limit turns an unbounded allocation into an OutOfMemoryException, which afl records as a crash.
HEAP_LIMIT=${HEAP_LIMIT:-0x20000000}
TIMEOUT_MS=${TIMEOUT_MS:-2000}

if ! command -v afl-fuzz >/dev/null; then
    [[ $(id -u) == 0 ]] || { echo "afl-fuzz not found: apt-get install afl++" >&2; exit 2; }
    echo "installing afl++ (Debian package)"
    apt-get install -y -q afl++ >/dev/null
fi
mkdir -p "$OUT"
SHARPFUZZ=$OUT/tools/sharpfuzz
if [[ ! -x $SHARPFUZZ ]]; then
    echo "installing the sharpfuzz tool $SHARPFUZZ_VERSION"
    dotnet tool install SharpFuzz.CommandLine --version "$SHARPFUZZ_VERSION" --tool-path "$OUT/tools" >/dev/null
fi

echo "publishing and instrumenting the harnesses"
rm -rf "$OUT/bin"
dotnet publish "$REPO/fuzz/Understudy.Fuzz/Understudy.Fuzz.csproj" -c Release -o "$OUT/bin" -v quiet -nologo >/dev/null
for dll in Understudy.Core.dll Understudy.Agent.dll; do
    "$SHARPFUZZ" "$OUT/bin/$dll" >/dev/null
done
DLL=$OUT/bin/Understudy.Fuzz.dll

# dotnet is not an afl-instrumented binary (the instrumentation is in the assemblies it loads); the machine is shared,
# so no core is pinned; a core pattern that pipes to a crash handler only slows the reports, it loses nothing here.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export DOTNET_GCHeapHardLimit=$HEAP_LIMIT DOTNET_TieredPGO=0
# The segment harness writes and syncs a queue directory per input: on tmpfs that costs no disk.
[[ -d /dev/shm && -w /dev/shm ]] && export TMPDIR=${TMPDIR:-/dev/shm}

run_one() {
    local h=$1
    rm -rf "${OUT:?}/$h"
    afl-fuzz -i "$REPO/fuzz/corpus/$h" -o "$OUT/$h" -t "$TIMEOUT_MS" -m none -V $((MINUTES * 60)) \
        -- dotnet "$DLL" "$h" >"$OUT/$h.log" 2>&1 || echo "afl-fuzz for $h ended with $? (see $OUT/$h.log)"
}

echo "fuzzing ${HARNESSES[*]} for $MINUTES min each, $JOBS at a time"
running=0
for h in "${HARNESSES[@]}"; do
    [[ -d $REPO/fuzz/corpus/$h ]] || { echo "no corpus for harness '$h'" >&2; exit 2; }
    run_one "$h" &
    running=$((running + 1))
    if ((running >= JOBS)); then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

stat() { sed -n "s/^$2 *: *//p" "$OUT/$1/default/fuzzer_stats" 2>/dev/null; }
found=0
printf '\n%-8s %8s %10s %8s %8s %8s %8s %8s\n' harness minutes execs exec/s paths edges crashes hangs
for h in "${HARNESSES[@]}"; do
    if [[ ! -f $OUT/$h/default/fuzzer_stats ]]; then
        echo "$h: no statistics (afl-fuzz did not start; see $OUT/$h.log)"
        found=1
        continue
    fi
    crashes=$(stat "$h" saved_crashes)
    hangs=$(stat "$h" saved_hangs)
    printf '%-8s %8s %10s %8s %8s %8s %8s %8s\n' "$h" $(($(stat "$h" run_time) / 60)) "$(stat "$h" execs_done)" \
        "$(stat "$h" execs_per_sec)" "$(stat "$h" corpus_count)" "$(stat "$h" edges_found)" "$crashes" "$hangs"
    if ((crashes + hangs > 0)); then
        found=1
        for f in "$OUT/$h"/default/crashes/id:* "$OUT/$h"/default/hangs/id:*; do
            [[ -f $f ]] || continue
            echo "--- $f"
            timeout 60 dotnet "$DLL" "$h" "$f" | head -5 || echo "(did not finish in 60 s: a hang)"
        done
    fi
done
exit $found
