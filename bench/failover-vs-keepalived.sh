#!/usr/bin/env bash
# Understudy fail-over vs keepalived, side by side in the network-namespace lab (issue 4, §8).
#
#   bench/failover-vs-keepalived.sh                      # 10 runs each, interval 1 s, misses 3
#   bench/failover-vs-keepalived.sh --runs 3 --verbose   # fewer runs, the target's events per run
#   bench/failover-vs-keepalived.sh --arp-count 1        # Understudy with one gratuitous ARP (see docs/performance.md)
#   bench/failover-vs-keepalived.sh --rpo --rate 200     # RPO: a write stream cut by a fail-over
#   ... --write-doc                                      # also rewrite the results in docs/performance.md
#                                                        # (with --rpo: docs/failover-planning.md)
#
# Each run builds a fresh lab (source, target, client namespaces on a bridge; docs/lab.md):
#   Understudy: smbd on source and target, two agents, a job replicating the share's directory
#               with a `failover:` section (ICMP on the source's address, automatic trigger, mode
#               add, the service address and share [data]); keepalived: the same smbds (the
#               target's share on a copy), keepalived MASTER on the source, BACKUP on the target,
#               moving the service address. The client reads //SERVICE/data once (its ARP cache
#               points at the source), the source's link is cut, and a fresh `smbclient` read
#               starts every 100 ms until one returns the file.
# The whole lab runs at nice -10 (NICE=0 to turn off), see below.
# Not a test and not run by CI: it takes minutes and its figures depend on the machine's load.
# Needs root and: iproute2 iputils-ping samba smbclient keepalived (installed below when missing).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ARGS=()
RPO=0
WRITE_DOC=0
for a in "$@"; do
    case "$a" in
        --write-doc) WRITE_DOC=1 ;;
        --rpo) RPO=1; ARGS+=("$a") ;;
        *) ARGS+=("$a") ;;
    esac
done
if [[ $WRITE_DOC == 1 ]]; then
    if [[ $RPO == 1 ]]; then ARGS+=(--write-doc "$REPO/docs/failover-planning.md"); else ARGS+=(--write-doc "$REPO/docs/performance.md"); fi
fi

[[ $(id -u) == 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
missing=()
for t in ip:iproute2 ping:iputils-ping smbd:samba smbcontrol:samba smbclient:smbclient keepalived:keepalived; do
    command -v "${t%%:*}" >/dev/null 2>&1 || [[ -x /usr/sbin/${t%%:*} ]] || missing+=("${t#*:}")
done
if ((${#missing[@]})); then
    echo "== installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

DLL=$REPO/bench/failover-vs-keepalived/bin/Release/net10.0/failover-bench.dll
if [[ ! -f $DLL || ${BUILD:-1} == 1 ]]; then
    dotnet build "$REPO/bench/failover-vs-keepalived" -c Release -v quiet -nologo >/dev/null
fi
# The lab's processes (agents, smbd, keepalived, smbclient) inherit the bench's priority. On a machine
# shared with builds (load averages of 25-40 on 2 cores here) the neighbours' compilers otherwise
# decide the timings; NICE=0 measures without it. Both subjects always run at the same priority.
exec nice -n "${NICE:--10}" dotnet "$DLL" "${ARGS[@]}"
