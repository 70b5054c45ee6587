#!/usr/bin/env bash
# The convergence soak (issue 16): the randomized convergence test of tests/Understudy.Agent.Tests
# (Replication/Convergence) run for a long time on fresh seeds. Each seed is an episode against real
# agents: churn of every kind (creates, overwrites, appends, truncates, holes, same-size rewrites with
# the old mtime, renames onto existing names and onto empty directories, directory moves in and out,
# hard links, xattrs, chmod/chown, symlinks) interleaved with kill -9 of either agent, link cuts,
# pauses and restarts; at every idle point the trees are compared by an independent walker.
#
#   bench/convergence-soak.sh                 # 30 minutes of seeds, scale 1 (the CI episode sizes)
#   MINUTES=60 SCALE=5 bench/convergence-soak.sh   # longer, with 5x the operations per episode
#   FROM=123 bench/convergence-soak.sh        # start at seed 123 (default: random, printed)
#   LANES=1 bench/convergence-soak.sh         # one agent pair at a time (default 2; CI runs 3)
#   CONFIG=Debug bench/convergence-soak.sh    # use the build `dotnet build Understudy.slnx` made (default Release)
#   ... --write-doc                           # also record the result in docs/performance.md
#
# Prints one line per seed (ok / FAIL, the plan, seconds) and a summary; a failing seed's details
# (differences, churn log, events, agent logs) are in the TRX file it names. Exit 0: no divergence.
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${MINUTES:-30}
SCALE=${SCALE:-1}
LANES=${LANES:-2}
FROM=${FROM:-$(( (RANDOM << 15 | RANDOM) % 900000000 + 1000 ))}
OUT=${OUT:-/tmp/understudy-soak}
CONFIG=${CONFIG:-Release}
write_doc=0
[[ ${1:-} == --write-doc ]] && write_doc=1

mkdir -p "$OUT"
dotnet build tests/Understudy.Agent.Tests -c "$CONFIG" -v q -nologo >/dev/null
started=$(date +%s)
set +e
UNDERSTUDY_CONVERGENCE_SEEDS=100000 UNDERSTUDY_CONVERGENCE_FROM=$FROM UNDERSTUDY_CONVERGENCE_SCALE=$SCALE UNDERSTUDY_CONVERGENCE_LANES=$LANES \
UNDERSTUDY_CONVERGENCE_BUDGET_S=$(( MINUTES * 60 )) \
  dotnet test tests/Understudy.Agent.Tests -c "$CONFIG" --no-build \
    --filter "FullyQualifiedName~ConvergenceTests.RandomSeeds" \
    --logger "console;verbosity=detailed" --logger "trx;LogFileName=soak.trx" --results-directory "$OUT" \
    >"$OUT/soak.log" 2>&1
status=$?
set -e
elapsed=$(( $(date +%s) - started ))
grep -E '^ +(ok  |FAIL) seed' "$OUT/soak.log" | sed 's/^ *//' | sed 's/^\(ok  \|FAIL\) seed/\1 seed/' || true
summary=$(grep -Eo '[0-9]+ seeds in [0-9.]+ s, [0-9]+ diverged' "$OUT/soak.log" | tail -1)
echo "${summary:-no summary: see $OUT/soak.log} (seeds from $FROM, scale $SCALE, $LANES lanes, $(( elapsed / 60 )) min; log $OUT/soak.log)"

if (( write_doc )) && [[ -n $summary ]]; then
  line="| $(date -u +%Y-%m-%d) | $(git rev-parse --short HEAD) | $MINUTES min | $SCALE | $FROM | $summary |"
  python3 - "$line" <<'PY'
import sys, re
doc = "docs/performance.md"
text = open(doc).read()
head = "## Convergence soak"
row = sys.argv[1]
if head not in text:
    text += f"""
{head}

`bench/convergence-soak.sh` (see its header): the randomized convergence test on fresh seeds for a fixed time;
every idle point of every episode compared by an independent walker. A row per recorded run.

| date | commit | length | scale | first seed | result |
| --- | --- | --- | --- | --- | --- |
"""
text = text.rstrip("\n") + "\n" + row + "\n"
open(doc, "w").write(text)
PY
fi
exit $status
