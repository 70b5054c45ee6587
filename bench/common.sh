# Sourced by bench/mirror-vs-rsync.sh and bench/mirror-floor.sh: the benchmark data's settings (the
# same defaults, so both measure the same data) and a fresh ext4 per target, so every tool starts on
# an empty filesystem (see bench/mirror-vs-rsync.sh for why).

FILES=${FILES:-50000}
BIG_FILES=${BIG_FILES:-4}
BIG_MIB=${BIG_MIB:-512}
RUNS=${RUNS:-3}
SEED=${SEED:-20261125}
FRESH_FS=${FRESH_FS:-1} # 1: each target a loop-mounted ext4 (root); 0: plain directories

# fresh_fs DIR: an empty ext4 mounted at DIR (FRESH_FS=1), or an emptied directory.
fresh_fs() {
    local dir=$1 dev
    drop_fs "$dir"
    rm -rf "$dir"; mkdir -p "$dir"
    if [[ $FRESH_FS == 1 ]]; then
        truncate -s "$(( (BIG_FILES * BIG_MIB + FILES * 40 / 1024) * 2 + 2048 ))M" "$dir.img"
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

