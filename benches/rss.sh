#!/usr/bin/env bash
# Peak memory (max RSS) and wall time of the `replog` CLI on a large log.
#
#   bash benches/rss.sh                 # 2 GiB physical log, one segment file
#   KIND=logical SIZE=2G LAYOUT=dir BODY=512 bash benches/rss.sh
#
# KIND: physical|logical|statement (default physical); SIZE: e.g. 2G, 512M;
# BODY: record body bytes (default 4096: whole-page PAGE_IMAGEs for physical);
# LAYOUT: file (one segment, LogWriter over BufWriter<File>) or dir (64 MiB
# segments, DirWriter with Durability::Os). The log is written to a temporary
# directory under ${TMPDIR:-/tmp} and deleted on exit. Target: max RSS < 64 MiB.
set -euo pipefail

KIND=${KIND:-physical}
SIZE=${SIZE:-2G}
BODY=${BODY:-4096}
LAYOUT=${LAYOUT:-file}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}

if ! [ -x /usr/bin/time ]; then
    echo "installing GNU time" >&2
    apt-get install -y time >/dev/null
fi

tmpbase=${TMPDIR:-/tmp}
df -h "$tmpbase"
need_kib=$(( $(numfmt --from=iec "$SIZE") / 1024 + 1024 * 1024 ))
avail_kib=$(df -Pk "$tmpbase" | awk 'NR==2 {print $4}')
if [ "$avail_kib" -lt "$need_kib" ]; then
    echo "not enough free space in $tmpbase: ${avail_kib} KiB, need ${need_kib} KiB" >&2
    exit 2
fi

cargo build --release -p replog
cargo build --release -p replog-benches --bin genlog

tmp=$(mktemp -d "$tmpbase/replog-rss.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ "$LAYOUT" = dir ]; then
    log=$tmp/wal
    "$target/release/genlog" --kind "$KIND" --size "$SIZE" --body "$BODY" --dir "$log"
else
    log=$tmp/log.replog
    "$target/release/genlog" --kind "$KIND" --size "$SIZE" --body "$BODY" --out "$log"
fi
bytes=$(du -sb "$log" | cut -f1)
echo "log: $log ($bytes bytes, $KIND, layout $LAYOUT; page cache warm: just written)"

run() {
    local name=$1; shift
    local rc=0 t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -v "$target/release/replog" "$@" >"$tmp/out" 2>"$tmp/time" || rc=$?
    t1=$(date +%s%N)
    local rss wall
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time")
    printf '%-16s exit %d  max RSS %6.1f MiB (%s KiB)  wall %s (%.3f s, %.2f GB/s)\n' \
        "$name" "$rc" "$(echo "$rss / 1024" | bc -l)" "$rss" "$wall" \
        "$(echo "($t1 - $t0) / 1000000000" | bc -l)" "$(echo "$bytes / ($t1 - $t0)" | bc -l)"
    sed 's/^/    | /' "$tmp/out" | head -8
}

run "verify" verify "$log"
run "inspect --stats" inspect --stats "$log"
