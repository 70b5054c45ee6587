#!/usr/bin/env python3
"""The kernel's share of writing many small files (bench/mirror-floor.sh).

small-files-floor.py SRC DST THREADS
    Copies every regular file under SRC except SRC/big/ to DST (directories made first), on
    THREADS threads: read the source file, create the target file (O_EXCL), write it in one
    call, set its mtime, close. The least a mirror's two sides must ask of the kernel per small
    file, nothing more (no ownership, no xattrs, no temp names, no durability). The caller
    measures the machine's kernel CPU around it and the sync after it.
"""
import os
import sys
import threading


def main(src, dst, threads):
    files = []
    for root, dirs, names in os.walk(src):
        rel = os.path.relpath(root, src)
        if rel == "big" or rel.startswith("big" + os.sep):
            continue
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        files.extend(os.path.join(rel, n) for n in names)

    def copy(part):
        for rel in part:
            s = os.open(os.path.join(src, rel), os.O_RDONLY)
            st = os.fstat(s)
            data = os.read(s, st.st_size)
            os.close(s)
            d = os.open(os.path.join(dst, rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, st.st_mode & 0o7777)
            os.write(d, data)
            os.utime(d, ns=(st.st_mtime_ns, st.st_mtime_ns))
            os.close(d)

    workers = [threading.Thread(target=copy, args=(files[i::threads],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
