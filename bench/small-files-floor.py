#!/usr/bin/env python3
"""The kernel's share of writing many small files (bench/mirror-floor.sh).

small-files-floor.py SRC DST THREADS [durable]
    Copies every regular file under SRC except SRC/big/ to DST (directories made first), on
    THREADS threads: read the source file, create the target file (O_EXCL), write it in one
    call, set its mtime, close. The least a mirror's two sides must ask of the kernel per small
    file, nothing more (no ownership, no xattrs, no temp names, no durability). The caller
    measures the machine's kernel CPU around it and the sync after it.
    With `durable`, each file is created unnamed (O_TMPFILE) and, in batches of 512 per thread,
    given its name (linkat) only after a syncfs: what issue 2 asks of a target ("renames it into
    place only when it is complete and durable"), the way the agent does it.
"""
import ctypes
import os
import sys
import threading

BATCH = 512
O_TMPFILE = getattr(os, "O_TMPFILE", 0o20200000)
AT_FDCWD, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH = -100, 0x400, 0x1000
libc = ctypes.CDLL(None, use_errno=True)


def main(src, dst, threads, durable):
    files = []
    for root, dirs, names in os.walk(src):
        rel = os.path.relpath(root, src)
        if rel == "big" or rel.startswith("big" + os.sep):
            continue
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        files.extend(os.path.join(rel, n) for n in names)

    def publish(pending):
        if libc.syncfs(pending[0][0]) != 0:
            raise OSError(ctypes.get_errno(), "syncfs")
        for fd, rel in pending:
            name = os.path.join(dst, rel).encode()
            # As the agent: by the fd itself where allowed (root), else through /proc, followed.
            if (libc.linkat(fd, b"", AT_FDCWD, name, AT_EMPTY_PATH) != 0
                    and libc.linkat(AT_FDCWD, f"/proc/self/fd/{fd}".encode(), AT_FDCWD, name, AT_SYMLINK_FOLLOW) != 0):
                raise OSError(ctypes.get_errno(), "linkat", name.decode())
            os.close(fd)
        pending.clear()

    def copy(part):
        pending = []
        for rel in part:
            s = os.open(os.path.join(src, rel), os.O_RDONLY)
            st = os.fstat(s)
            data = os.read(s, st.st_size)
            os.close(s)
            if durable:
                d = os.open(os.path.dirname(os.path.join(dst, rel)), O_TMPFILE | os.O_WRONLY, st.st_mode & 0o7777)
            else:
                d = os.open(os.path.join(dst, rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, st.st_mode & 0o7777)
            os.write(d, data)
            os.utime(d, ns=(st.st_mtime_ns, st.st_mtime_ns))
            if durable:
                pending.append((d, rel))
                if len(pending) == BATCH:
                    publish(pending)
            else:
                os.close(d)
        if pending:
            publish(pending)

    failed = []

    def run(part):
        try:
            copy(part)
        except OSError as e:
            failed.append(e)

    workers = [threading.Thread(target=run, args=(files[i::threads],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failed:
        sys.exit(f"small-files-floor: {failed[0]}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:] == ["durable"])
