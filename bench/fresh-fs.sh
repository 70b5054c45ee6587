# Sourced by the bench scripts: a fresh ext4 per target, so every tool starts on an empty
# filesystem (see bench/mirror-vs-rsync.sh for why). Needs FRESH_FS (1: loop-mounted ext4, 0: plain
# directories) and IMG_MIB (the sparse image's size) set by the caller.

# fresh_fs DIR: an empty ext4 mounted at DIR (FRESH_FS=1), or an emptied directory.
fresh_fs() {
    local dir=$1 dev
    drop_fs "$dir"
    rm -rf "$dir"; mkdir -p "$dir"
    if [[ $FRESH_FS == 1 ]]; then
        truncate -s "${IMG_MIB}M" "$dir.img"
        mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dir.img"
        dev=$(losetup -f --show --direct-io=on "$dir.img")
        mount "$dev" "$dir"
    fi
    sync
}
drop_fs() {
    local dir=$1 dev
    if mountpoint -q "$dir" 2>/dev/null; then
        dev=$(findmnt -n -o SOURCE "$dir")
        umount "$dir"
        losetup -d "$dev" 2>/dev/null || true
    fi
    rm -f "$dir.img"
}

