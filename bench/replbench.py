#!/usr/bin/env python3
"""Workload generator and measurer for bench/replication-vs-lsyncd.sh (issue 3, §6).

replbench.py churn SRC DST --rate R --seconds S [--dirs N] [--size B] [--pid P]... [--children]
    Writes R new files of B bytes a second for S seconds into SRC/d00..d(N-1) (file i in
    d(i mod N)/f<i>; every file opened, written, closed under its final name) and, in a child
    process, watches DST/d00.. with inotify. Latency of a file = the moment the observer sees
    it under its final name on the target with its full size (IN_MOVED_TO / IN_CLOSE_WRITE,
    then a stat) minus the moment close(2) returned on the source, both CLOCK_MONOTONIC.
    Prints one JSON object: p50/p99/max, achieved rate, whether the lag grew, CPU of --pid
    (utime+stime; with --children also the waited-for children, i.e. lsyncd's rsyncs).
replbench.py tree make DIR [--top 100] [--sub 999]
    DIR/d00..d99/s000..s998: 100 + 99,900 = 100,000 directories; prints the last one.
replbench.py tree-run SRC DST LAST --after 0.2 [--timeout 120] -- CMD...
    Starts CMD (protection of SRC: `understudy job apply` or lsyncd), writes LAST/marker
    `--after` seconds after the start, and polls DST for it (every 2 ms) until it is there
    with its full size. Prints {"seconds": start → arrival}.
replbench.py proc PID...
    {"cpu_s": utime+stime, "hwm_mb": VmHWM} of each PID.
replbench.py report RESULTS.tsv META.json            -> Markdown on stdout
replbench.py splice DOC.md REPORT.md                 -> replaces the bench:replication section
"""
import ctypes
import json
import os
import select
import struct
import subprocess
import sys
import time

# IN_CREATE too: Understudy's target publishes a small file complete with linkat(2) of an O_TMPFILE (one
# IN_CREATE, no IN_CLOSE_WRITE or IN_MOVED_TO in the directory); rsync renames a temp (IN_MOVED_TO). The size
# check in check() keeps a file created empty and written after from counting early.
IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE, IN_Q_OVERFLOW = 0x8, 0x80, 0x100, 0x4000
CLK_TCK = os.sysconf("SC_CLK_TCK")
BEGIN, END = "<!-- bench:replication:begin -->", "<!-- bench:replication:end -->"


def now():
    return time.monotonic()


def payload(i, size):
    head = f"file {i}\n".encode()
    return head + b"x" * (size - len(head))


def proc_cpu(pid, children):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after the command: state is field 3, utime 14, stime 15, cutime 16, cstime 17 (1-based)
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def proc_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(xs, p):
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


# ---- observer (child process) ---------------------------------------------------------------

def observe(dst, dirs, size, timeout):
    """Reports arrivals on stdout once told on stdin how many files to expect."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    wds = {}
    for d in range(dirs):
        path = os.path.join(dst, f"d{d:02d}")
        wd = libc.inotify_add_watch(fd, path.encode(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")
        wds[wd] = path
    arrived = {}
    overflowed = 0
    print("ready", flush=True)
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    poll.register(sys.stdin.fileno(), select.POLLIN)
    expect = None
    deadline = None

    def check(path, name):
        if not name.startswith(b"f") or not name[1:].isdigit():
            return
        i = int(name[1:])
        if i in arrived:
            return
        try:
            if os.stat(os.path.join(path.encode(), name)).st_size == size:
                arrived[i] = now()
        except FileNotFoundError:
            pass

    def scan():
        for path in wds.values():
            for name in os.listdir(path.encode()):
                check(path, name)

    while expect is None or len(arrived) < expect:
        if deadline is not None and now() > deadline:
            break
        for fdno, _ in poll.poll(100):
            if fdno == fd:
                while True:
                    try:
                        buf = os.read(fd, 1 << 20)
                    except BlockingIOError:
                        break
                    off = 0
                    while off + 16 <= len(buf):
                        wd, mask, _, ln = struct.unpack_from("iIII", buf, off)
                        name = buf[off + 16:off + 16 + ln].rstrip(b"\0")
                        off += 16 + ln
                        if mask & IN_Q_OVERFLOW:
                            overflowed += 1
                            scan()
                        elif wd in wds:
                            check(wds[wd], name)
            else:
                line = sys.stdin.readline()
                if line.startswith("expect "):
                    expect = int(line.split()[1])
                    deadline = now() + timeout
                    poll.unregister(sys.stdin.fileno())
    if expect is not None and len(arrived) < expect:
        scan()  # last look (a lost event would otherwise count as missing)
    json.dump({"arrived": {str(k): v for k, v in arrived.items()}, "overflows": overflowed}, sys.stdout)
    sys.stdout.flush()


# ---- churn ------------------------------------------------------------------------------------

def churn(a):
    src, dst = a["src"], a["dst"]
    rate, seconds, dirs, size = float(a["rate"]), float(a["seconds"]), int(a["dirs"]), int(a["size"])
    for d in range(dirs):
        os.makedirs(os.path.join(src, f"d{d:02d}"), exist_ok=True)
    # The subject must have created the directories on the target before the observer can watch them.
    deadline = now() + float(a["timeout"])
    while not all(os.path.isdir(os.path.join(dst, f"d{d:02d}")) for d in range(dirs)):
        if now() > deadline:
            raise SystemExit(f"target directories did not appear under {dst}")
        time.sleep(0.05)
    obs = subprocess.Popen([sys.executable, __file__, "observe", dst, str(dirs), str(size), a["timeout"]],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert obs.stdout.readline().strip() == "ready"
    pids = [int(p) for p in a["pid"]]
    cpu0 = [proc_cpu(p, a["children"]) for p in pids]
    n = int(rate * seconds)
    closed = [0.0] * n
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    paths = [os.path.join(src, f"d{i % dirs:02d}", f"f{i}").encode() for i in range(n)]
    t0 = now()
    for i in range(n):
        due = t0 + i / rate
        t = now()
        if due - t > 0.0005:
            time.sleep(due - t)
        fd = os.open(paths[i], flags, 0o644)
        os.write(fd, payload(i, size))
        os.close(fd)
        closed[i] = now()
    t_end = now()
    obs.stdin.write(f"expect {n}\n")
    obs.stdin.flush()
    out, _ = obs.communicate()
    cpu1 = [proc_cpu(p, a["children"]) for p in pids]
    res = json.loads(out)
    arrived = {int(k): v for k, v in res["arrived"].items()}
    lat = [arrived[i] - closed[i] for i in range(n) if i in arrived]
    last = max(arrived.values()) if arrived else t_end
    span = t_end - t0

    def window(lo, hi):
        return [arrived[i] - closed[i] for i in range(n) if i in arrived and lo <= closed[i] - t0 < hi]

    # Growing lag: files closed in the last quarter wait clearly longer than those of the second
    # (more than 1.5 x + 100 ms: a steady sawtooth of batches passes, a backlog that builds up does not).
    q2, q4 = window(span * 0.25, span * 0.5), window(span * 0.75, span + 1)
    p90_q2, p90_q4 = percentile(q2, 90), percentile(q4, 90)
    achieved = n / span if span > 0 else float("nan")
    missing = n - len(lat)
    grew = not (p90_q4 <= 1.5 * p90_q2 + 0.1)
    out = {
        "files": n, "rate": rate, "achieved_rate": round(achieved, 1), "missing": missing,
        "p50_ms": round(percentile(lat, 50) * 1000, 2), "p99_ms": round(percentile(lat, 99) * 1000, 2),
        "max_ms": round(max(lat) * 1000, 2) if lat else None,
        "p90_q2_ms": round(p90_q2 * 1000, 2), "p90_q4_ms": round(p90_q4 * 1000, 2),
        "drain_s": round(last - t_end, 3), "overflows": res["overflows"],
        "sustained": missing == 0 and achieved >= 0.95 * rate and not grew,
        "cpu_s": [round(b - c, 3) for b, c in zip(cpu1, cpu0)],
    }
    print(json.dumps(out))


# ---- the 100,000-directory tree --------------------------------------------------------------

def tree_make(root, top, sub):
    last = None
    for t in range(top):
        for s in range(sub):
            last = os.path.join(root, f"d{t:02d}", f"s{s:03d}")
            os.makedirs(last, exist_ok=True)
    print(last)


def tree_run(src, dst, last, after, timeout, cmd):
    rel = os.path.relpath(os.path.join(last, "marker"), src)
    target = os.path.join(dst, rel)
    body = payload(0, 4096)
    t0 = now()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    time.sleep(after)
    with open(os.path.join(last, "marker"), "wb") as f:
        f.write(body)
    deadline = t0 + timeout
    seconds = None
    while now() < deadline:
        try:
            if os.stat(target).st_size == len(body):
                seconds = now() - t0
                break
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    # A daemon (lsyncd) keeps running: its pid goes to the script, which stops it.
    print(json.dumps({"seconds": None if seconds is None else round(seconds, 3), "pid": p.pid}))


# ---- report -----------------------------------------------------------------------------------

def load(path):
    values = {}
    for line in open(path):
        run, metric, value = line.rstrip("\n").split("\t")
        if value not in ("", "null", "None", "nan"):
            values.setdefault(metric, []).append(float(value))
    return values


def median(xs):
    s = sorted(xs)
    if not s:
        return float("nan")
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def report(results, meta_path):
    v = load(results)
    meta = json.load(open(meta_path))

    def med(k):
        return median(v.get(k, []))

    def runs(k, fmt="{:g}"):
        return ", ".join(fmt.format(x) for x in v.get(k, [])) or "–"

    def f(x, digits=0):
        return "–" if x != x else f"{x:,.{digits}f}"

    out = [
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores ({cpu_model()}), shared with other builds "
        f"(load average {meta['load']} at the end), at nice {meta['nice']}; ext4 on a loop device per side; "
        f"{meta['size']}-byte files in {meta['dirs']} directories; latency steps of {meta['lat_seconds']} s, "
        f"rate steps of {meta['step_seconds']} s; Understudy `replication.coalesce: {meta['coalesce']}` "
        f"({meta['capture']}); lsyncd {meta['lsyncd']}, rsync {meta['rsync']}; median of {meta['runs']} run(s), "
        f"subjects interleaved (order rotated each run).",
        "",
        f"Reproduce: `dotnet build src/Understudy.Cli -c Release && {meta['command']}`",
        "",
        "| measure | lsyncd default | lsyncd `delay = 0` | Understudy | ratio (ours ÷ tuned lsyncd) | target | met | runs: default / tuned / ours |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]

    def row(label, key, limit, target, digits=1, lower_better=True, absolute=None):
        d, t, u = med(f"ld_{key}"), med(f"lt_{key}"), med(f"us_{key}")
        ratio = u / t if t and t == t else float("nan")
        if limit is None and absolute is None:
            met = ""
        else:
            ok = True
            if absolute is not None:
                ok = ok and (u <= absolute if lower_better else u >= absolute)
            if limit is not None:
                ok = ok and (ratio <= limit if lower_better else ratio >= limit)
            met = "yes" if ok else "**no**"
        out.append(f"| {label} | {f(d, digits)} | {f(t, digits)} | {f(u, digits)} | {f(ratio, 2)} | {target} | {met} | "
                   f"{runs('ld_' + key)} / {runs('lt_' + key)} / {runs('us_' + key)} |")

    row("latency p50 at 100 files/s (ms)", "100_p50_ms", None, "")
    row("latency p99 at 100 files/s (ms)", "100_p99_ms", 1.0, "≤ 20 ms and < tuned lsyncd", absolute=20)
    row("latency p50 at 1,000 files/s (ms)", "1000_p50_ms", None, "")
    row("latency p99 at 1,000 files/s (ms)", "1000_p99_ms", 1.0, "≤ 50 ms and < tuned lsyncd", absolute=50)
    row("highest sustained creation rate (files/s)", "sustained_rate", None, "≥ 5,000", digits=0, lower_better=False,
        absolute=5000)
    row("100,000-directory tree protected (s)", "tree_s", 0.5, "≤ 0.5 (≥ 2× faster)", digits=2)
    row("CPU at 1,000 files/s (s per 1,000 files)", "1000_cpu_per_k", None, "", digits=3)
    row("peak RSS (VmHWM) over the run (MB)", "hwm_mb", None, "< 200 (source agent)", digits=0,
        absolute=200)
    out.append("")
    out.append("Latency: close(2) on the source → the file under its final name on the target with its full size "
               "(inotify on the target directories). CPU: the source agent's utime+stime; lsyncd's includes its rsync "
               "children (not the rsync daemon, as the target agent is not counted for Understudy). Sustained: the "
               "highest rate of the ramp " + ", ".join(meta["ramp"]) + " files/s at which the writer kept up, every "
               "file arrived and the p90 latency of the step's last quarter stayed ≤ 1.5 × that of its second quarter "
               "+ 0.1 s; the ramp stops at the first rate that fails (lsyncd with its defaults is not ramped).")
    steps = [k for k in v if k.startswith(("us_ramp_", "lt_ramp_")) and k.endswith("_p90_q4_ms")]
    if steps:
        out.append("")
        out.append("Ramp, per rate: median p90 latency of the last quarter (ms), and runs sustained:")
        out.append("")
        out.append("| files/s | lsyncd `delay = 0` | Understudy |")
        out.append("| ---: | ---: | ---: |")
        for r in meta["ramp"]:
            cells = []
            for s in ("lt", "us"):
                k = f"{s}_ramp_{r}"
                if f"{k}_p90_q4_ms" in v:
                    ok = sum(1 for x in v.get(f"{k}_ok", []) if x)
                    cells.append(f"{f(med(k + '_p90_q4_ms'), 0)} ({ok}/{len(v.get(k + '_ok', []))})")
                else:
                    cells.append("–")
            out.append(f"| {r} | {cells[0]} | {cells[1]} |")
    return "\n".join(out) + "\n"


def splice(doc, rep):
    text = open(doc).read()
    body = open(rep).read()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{doc} has no {BEGIN} … {END} section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    open(doc, "w").write(f"{head}{BEGIN}\n{body}{END}{tail}")


def parse(args, multi=("pid",), flags=("children",)):
    out = {k: [] for k in multi}
    out.update({k: False for k in flags})
    pos = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            k = args[i][2:]
            if k in flags:
                out[k] = True
            elif k in multi:
                out[k].append(args[i + 1])
                i += 1
            else:
                out[k] = args[i + 1]
                i += 1
        else:
            pos.append(args[i])
        i += 1
    return pos, out


def main(argv):
    verb = argv[0]
    if verb == "observe":
        observe(argv[1], int(argv[2]), int(argv[3]), float(argv[4]))
    elif verb == "churn":
        pos, a = parse(argv[1:])
        a.setdefault("dirs", "20")
        a.setdefault("size", "4096")
        a.setdefault("timeout", "120")
        a["src"], a["dst"] = pos
        churn(a)
    elif verb == "tree" and argv[1] == "make":
        pos, a = parse(argv[2:])
        tree_make(pos[0], int(a.get("top", 100)), int(a.get("sub", 999)))
    elif verb == "tree-run":
        split = argv.index("--")
        pos, a = parse(argv[1:split])
        tree_run(pos[0], pos[1], pos[2], float(a.get("after", 0.2)), float(a.get("timeout", 120)), argv[split + 1:])
    elif verb == "proc":
        print(json.dumps({p: {"cpu_s": proc_cpu(int(p), False), "hwm_mb": round(proc_hwm_mb(int(p)))} for p in argv[1:]}))
    elif verb == "report":
        print(report(argv[1], argv[2]), end="")
    elif verb == "splice":
        splice(argv[1], argv[2])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
