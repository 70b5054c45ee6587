#!/usr/bin/env bash
# The etcd witness (issue 22, item 1), in the network-namespace lab (docs/lab.md):
#
#   bench/witness.sh                        # fail-over time with a witness against without: 3 runs each,
#                                           # monitor 1 s × 3 misses, lease 3 s, renew 1 s; medians
#   bench/witness.sh --runs 5 --lease 10 --renew-ms 2000   # the job file's default lease and renewal
#   ... --write-doc                         # also rewrite the figures in docs/performance.md
#   bench/witness.sh --partitions [N]       # test (d) with N (default 50) seeded random partition schedules
#                                           # (UNDERSTUDY_WITNESS_SEED=S: the first seed; CI runs 4)
#
# Timing: each run builds a fresh lab (source, target, client, and with the witness an etcd host), replicates a
# share's directory with a `failover:` section (ICMP on the source's address, automatic trigger, mode add), cuts
# the source's link and times the target's decision and the client's first good read through the share
# (bench/failover-vs-keepalived: the same harness, --witness mode). Runs interleave, at nice -10 (NICE=0: off).
# Not a test and not run by CI: it takes minutes and its figures depend on the machine's load.
# Needs root and: iproute2 iputils-ping samba smbclient etcd-server curl.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
[[ $(id -u) == 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
missing=()
for t in ip:iproute2 ping:iputils-ping smbd:samba smbcontrol:samba smbclient:smbclient etcd:etcd-server curl:curl; do
    command -v "${t%%:*}" >/dev/null 2>&1 || [[ -x /usr/sbin/${t%%:*} ]] || missing+=("${t#*:}")
done
if ((${#missing[@]})); then
    echo "== installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [[ ${1:-} == --partitions ]]; then
    # Test (d) as CI runs it, with more schedules; a failure prints its seed and how to run that schedule again.
    export UNDERSTUDY_WITNESS_SCHEDULES=${2:-50}
    exec dotnet test "$REPO/tests/Understudy.Lab.Tests" --filter "FullyQualifiedName~WitnessPartitionTests" \
        --logger "console;verbosity=detailed"
fi

ARGS=(--witness --runs 3)
for a in "$@"; do
    case "$a" in
        --write-doc) ARGS+=(--write-doc "$REPO/docs/performance.md") ;;
        *) ARGS+=("$a") ;;
    esac
done
DLL=$REPO/bench/failover-vs-keepalived/bin/Release/net10.0/failover-bench.dll
if [[ ! -f $DLL || ${BUILD:-1} == 1 ]]; then
    dotnet build "$REPO/bench/failover-vs-keepalived" -c Release -v quiet -nologo >/dev/null
fi
exec nice -n "${NICE:--10}" dotnet "$DLL" "${ARGS[@]}"
