#!/usr/bin/env bash
# replog export --to parquet and replog query against replog's own readers,
# on the same ROW binlog, in one run.
#
#   bash benches/columnar/bench.sh [BINLOG]
#
# BINLOG defaults to the 50 MB ROW binlog benches/binlog/bench.sh caches in
# /tmp/replog-bench-binlog (run that script once to make it; BIG_MB there
# makes a larger one). Times, REPS times each (round-robin, so drifting load
# hits all commands alike), stdout to /dev/null, under /usr/bin/time:
#
#   A  replog inspect --decode-rows --format ndjson BINLOG
#   B  replog export --to parquet -o OUT BINLOG          (OUT removed after each run)
#   C  replog inspect --stats BINLOG
#   D  replog query "SELECT database_name, table_name, count(*) ... GROUP BY ..." BINLOG
#
# and prints best/median seconds, MB/s and peak RSS of each, and the ratios.
# Targets (issue 15): B at least as fast as A; D within 1.5x of C; peak RSS
# of every command < 128 MiB.
#
#   REPS=3                         repetitions
#   REPLOG=target/release/replog   binary (built unless NO_BUILD=1)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BINLOG=${1:-/tmp/replog-bench-binlog/mariadb-bin-small.000001}
REPS=${REPS:-3}
REPLOG=${REPLOG:-$ROOT/target/release/replog}
[ -f "$BINLOG" ] || { echo "no $BINLOG: run benches/binlog/bench.sh first (it caches one)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time) is needed: apt-get install time" >&2; exit 2; }
if [ "${NO_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release -p replog) >&2
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SIZE=$(stat -c %s "$BINLOG")
QUERY="SELECT database_name, table_name, count(*) AS n FROM changes GROUP BY database_name, table_name ORDER BY 1, 2"

run() { # name command...
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$TMP/t" "$@" >/dev/null 2>"$TMP/err" || {
    echo "$name failed:" >&2; cat "$TMP/err" >&2; exit 1; }
  echo "$name $(cat "$TMP/t")" >>"$TMP/results"
  rm -rf "$TMP/out"
}
: >"$TMP/results"
for _ in $(seq "$REPS"); do
  run A "$REPLOG" inspect --decode-rows --format ndjson "$BINLOG"
  run B "$REPLOG" export --to parquet -o "$TMP/out" "$BINLOG"
  run C "$REPLOG" inspect --stats "$BINLOG"
  run D "$REPLOG" query "$QUERY" "$BINLOG"
done

echo "binlog: $BINLOG ($SIZE bytes), $REPS runs each; CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
python3 - "$TMP/results" "$SIZE" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
size = int(sys.argv[2])
names = {"A": "inspect --decode-rows --format ndjson", "B": "export --to parquet",
         "C": "inspect --stats", "D": "query (rows per table)"}
best = {}
for k in "ABCD":
    t = [float(r[1]) for r in rows if r[0] == k]
    m = [int(r[2]) for r in rows if r[0] == k]
    best[k] = min(t)
    print(f"{k} {names[k]:40} best {min(t):7.2f} s  median {statistics.median(t):7.2f} s  "
          f"{size / min(t) / 1e6:7.1f} MB/s  peak RSS {max(m) / 1024:6.1f} MiB")
print(f"export --to parquet / inspect --decode-rows ndjson: {best['B'] / best['A']:.2f}x the time (target <= 1.00)")
print(f"query / inspect --stats: {best['D'] / best['C']:.2f}x the time (target <= 1.50)")
PY
