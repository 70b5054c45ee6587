#!/usr/bin/env python3
"""Turns bench/mirror-vs-rsync.sh results (run, metric, value) into a Markdown table of medians.

report.py RESULTS.tsv FILES BIG_FILES BIG_MIB RUNS ARGS   -> Markdown on stdout
report.py --splice DOC.md REPORT.md                        -> replaces the marked section of DOC.md
"""
import datetime
import os
import platform
import statistics
import sys

BEGIN, END = "<!-- bench:mirror:begin -->", "<!-- bench:mirror:end -->"


def medians(path):
    values = {}
    for line in open(path):
        run, metric, value = line.rstrip("\n").split("\t")
        if value not in ("", "null"):
            values.setdefault(metric, []).append(float(value))
    return {k: (statistics.median(v), v) for k, v in values.items()}


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def report(path, files, big_files, big_mib, runs, args):
    m = medians(path)

    def med(k):
        return m[k][0] if k in m else float("nan")

    def runs_of(k):
        return ", ".join(f"{x:g}" for x in m.get(k, (0, []))[1])

    rows = [
        ("full mirror (s), rsync + sync", "rsync_full_s", "us_full_s", 0.67, "≤ 0.67 (≥ 1.5× faster)"),
        ("no-change re-mirror (s)", "rsync_nochange_s", "us_nochange_s", 1.0, "≤ 1.0"),
        ("1 % delta: bytes sent", "rsync_delta_sent_bytes", "us_delta_sent_bytes", 1.1, "≤ 1.1"),
        ("1 % delta: time (s), + sync", "rsync_delta_s", "us_delta_s", None, "(no target)"),
        ("1 % delta, `different` mode: bytes sent", "rsync_delta2_sent_bytes", "us_delta_different_sent_bytes", None, "(no target)"),
        ("1 % delta, `different` mode: time (s), + sync", "rsync_delta2_s", "us_delta_different_s", None, "(no target)"),
    ]
    out = []
    fresh = os.environ.get("FRESH_FS", "1") == "1"
    cmd = ("sudo " if fresh else "FRESH_FS=0 ") + "bench/mirror-vs-rsync.sh" + (f" {args}" if args else "")
    if (files, big_files, big_mib, runs) != ("50000", "4", "512", "3") and "--quick" not in args:
        cmd = cmd.replace("bench/", f"FILES={files} BIG_FILES={big_files} BIG_MIB={big_mib} RUNS={runs} bench/", 1)
    out.append(f"Measured {datetime.date.today().isoformat()} on {os.cpu_count()} cores ({cpu_model()}), "
               f"shared with other builds, loopback; source on ext4 under /tmp, "
               + ("each tool's target a fresh ext4 (loop device, direct I/O to its image on the same disk) every run; "
                  if fresh else "targets plain directories under /tmp; ")
               + f"{files} files of 1–64 KiB + {big_files} × {big_mib} MiB; median of {runs} run(s).")
    out.append("")
    out.append(f"Reproduce: `{cmd}` (it publishes the ReadyToRun build it runs)")
    out.append("")
    out.append("| case | rsync | Understudy | ratio (ours ÷ rsync) | target | met | runs: rsync / ours |")
    out.append("| --- | ---: | ---: | ---: | --- | --- | --- |")
    for label, rk, uk, limit, target in rows:
        r, u = med(rk), med(uk)
        ratio = u / r if r else float("nan")
        met = "" if limit is None else ("yes" if ratio <= limit else "**no**")
        fmt = (lambda x: f"{x:,.0f}") if "bytes" in rk else (lambda x: f"{x:.2f}")
        out.append(f"| {label} | {fmt(r)} | {fmt(u)} | {ratio:.2f} | {target} | {met} | {runs_of(rk)} / {runs_of(uk)} |")
    for label, k in [("source agent", "us_source_hwm_mb"), ("target agent", "us_target_hwm_mb")]:
        v = med(k)
        out.append(f"| peak RSS (VmHWM), {label} (MB) | | {v:.0f} | | < 200 | {'yes' if v < 200 else '**no**'} | {runs_of(k)} |")
    if "floor_full_s" in m:
        f, u, r = med("floor_full_s"), med("us_full_s"), med("rsync_full_s")
        out.append("")
        out.append(f"Floor, in the same runs: a local `cp -a` of the source onto a fresh ext4 of the same kind, then `sync` "
                   f"(no network, no protocol, no encryption, one process) took {f:.2f} s (runs {runs_of('floor_full_s')}); "
                   f"rsync + sync ÷ floor {r / f:.2f}, Understudy ÷ floor {u / f:.2f}. The full-mirror target "
                   f"(0.67 × rsync = {0.67 * r:.2f} s) is {0.67 * r / f:.2f} × the floor.")
    out.append("")
    out.append(f"rsync's literal data in the delta case: {med('rsync_delta_literal_bytes'):,.0f} bytes "
               f"(its total also carries the file list). Understudy's full mirror sent {med('us_full_sent_bytes'):,.0f} bytes; "
               f"the no-change re-mirror sent {med('us_nochange_files'):.0f} files.")
    return "\n".join(out) + "\n"


def splice(doc, rep):
    text = open(doc).read()
    body = open(rep).read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = f"{head}{BEGIN}\n{body}{END}{tail}"
    else:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{body}{END}\n"
    open(doc, "w").write(text)


if __name__ == "__main__":
    if sys.argv[1] == "--splice":
        splice(sys.argv[2], sys.argv[3])
    else:
        print(report(*sys.argv[1:7]), end="")
