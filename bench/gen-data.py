#!/usr/bin/env python3
"""Seeded, incompressible benchmark data for bench/mirror-vs-rsync.sh.

gen-data.py tree DIR FILES BIG_FILES BIG_MIB SEED
    FILES small files of 1-64 KiB in nested directories (d00/s0/f00000.bin, 100 files a
    directory, 10 directories per top-level directory) and BIG_FILES files of BIG_MIB MiB
    in DIR/big/. The same arguments always produce the same bytes.
gen-data.py evict DIR
    Drops DIR's (synced, clean) pages from the page cache, so the tool timed next starts with
    as much free memory as the one timed before it.
gen-data.py touch FILE PERCENT SEED
    Overwrites PERCENT % of FILE in 64 scattered places, in place (size unchanged), with
    seeded random bytes: the "1 % change" of the delta case.
"""
import os
import random
import sys

CHUNK = 4 * 1024 * 1024


def tree(root, files, big_files, big_mib, seed):
    rnd = random.Random(seed)
    for i in range(files):
        d = os.path.join(root, f"d{i // 1000:02d}", f"s{(i // 100) % 10}")
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        size = rnd.randint(1024, 64 * 1024)
        with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
            f.write(rnd.randbytes(size))
    big = os.path.join(root, "big")
    os.makedirs(big, exist_ok=True)
    for b in range(big_files):
        left = big_mib * 1024 * 1024
        with open(os.path.join(big, f"large{b}.bin"), "wb") as f:
            while left > 0:
                n = min(CHUNK, left)
                f.write(rnd.randbytes(n))
                left -= n


def touch(path, percent, seed):
    rnd = random.Random(seed)
    size = os.path.getsize(path)
    places = 64
    each = int(size * percent / 100 / places)
    stride = size // places
    with open(path, "r+b") as f:
        for p in range(places):
            off = p * stride + rnd.randint(0, stride - each)
            f.seek(off)
            f.write(rnd.randbytes(each))
    print(places * each)


def evict(root):
    for d, _, names in os.walk(root):
        for n in names:
            fd = os.open(os.path.join(d, n), os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


if __name__ == "__main__":
    if sys.argv[1] == "tree":
        tree(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    elif sys.argv[1] == "evict":
        evict(sys.argv[2])
    elif sys.argv[1] == "touch":
        touch(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
