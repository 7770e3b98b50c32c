#!/usr/bin/env bash
# replog export --to debezium against mariadb-binlog -v on the same ROW
# binlog, in one run: both write one text record per row change.
#
#   bash benches/export/bench.sh
#
# 1. Uses the cached ROW binlog of benches/binlog/bench.sh ($BINLOG; made by
#    it with GENERATE_ONLY=1 BIG=0 when missing: a private MariaDB, INT PK,
#    BIGINT, VARCHAR(40), DECIMAL(10,2), DATETIME(6), nullable TEXT, bulk
#    INSERT ... SELECT, UPDATE and DELETE transactions and many single-row
#    ones; binlog_row_image=FULL, binlog_row_metadata=FULL, CRC32).
# 2. Checks that both see the same number of row changes (debezium records
#    without tombstones; mariadb-binlog's ### INSERT/UPDATE/DELETE lines).
# 3. Times, REPS times each, round-robin (drifting load hits both alike):
#      mariadb-binlog --no-defaults -v --base64-output=DECODE-ROWS FILE
#      replog export --to debezium FILE
#      replog export --to debezium --schemas --transactions FILE
#    stdout to /dev/null, under /usr/bin/time -f '%e %M'; prints best and
#    median seconds, MB/s, peak RSS, and the ratio to mariadb-binlog.
#    Targets: export to Debezium JSON >= 2x faster than mariadb-binlog -v;
#    peak RSS < 128 MiB.
#
# Environment knobs:
#   BINLOG=/tmp/replog-bench-binlog/mariadb-bin-small.000001
#   REPS=3                       repetitions per command
#   REPLOG=target/release/replog binary to test (built unless NO_BUILD=1)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BINLOG=${BINLOG:-/tmp/replog-bench-binlog/mariadb-bin-small.000001}
REPS=${REPS:-3}
REPLOG=${REPLOG:-$ROOT/target/release/replog}

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if ! [ -s "$BINLOG" ]; then
  log "no binlog at $BINLOG: making it with benches/binlog/bench.sh"
  CACHE="$(dirname "$BINLOG")" GENERATE_ONLY=1 BIG=0 NO_BUILD=1 bash "$ROOT/benches/binlog/bench.sh"
fi
[ -s "$BINLOG" ] || die "$BINLOG was not made"
command -v mariadb-binlog >/dev/null 2>&1 || die "mariadb-binlog not found (apt-get install mariadb-client)"
if ! [ -x /usr/bin/time ]; then
  apt-get install -y time >/dev/null || { apt-get update && apt-get install -y time >/dev/null; }
fi
if [ "${NO_BUILD:-0}" != 1 ]; then
  log "cargo build --release -p replog"
  (cd "$ROOT" && cargo build --release -p replog) >&2
fi
[ -x "$REPLOG" ] || die "$REPLOG not found"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/replog-bench-export.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
RAW="$TMP/raw.tsv"
: >"$RAW"

# measure <label> <cmd...>: one run, stdout to /dev/null; appends label,
# wall seconds, max RSS (KiB) to $RAW.
measure() {
  local label="$1"; shift
  local t0 t1 e m
  t0=$(date +%s%N)
  /usr/bin/time -f '%e %M' -o "$TMP/time.out" "$@" >/dev/null 2>"$TMP/err.out" \
    || { cat "$TMP/err.out" >&2; die "$label failed"; }
  t1=$(date +%s%N)
  read -r e m < <(tail -n 1 "$TMP/time.out")
  local wall
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
  printf '%s\t%s\t%s\n' "$label" "$wall" "$m" >>"$RAW"
  printf '  %-44s wall %7.3f s  maxrss %7.1f MiB\n' "$label" "$wall" "$(awk -v m="$m" 'BEGIN{printf "%.1f", m/1024}')" >&2
}

LABELS=("mariadb-binlog -v" "replog export --to debezium" "replog export --to debezium --schemas --transactions")
cmd_for() {
  case "$1" in
    0) CMD=(mariadb-binlog --no-defaults -v --base64-output=DECODE-ROWS "$BINLOG") ;;
    1) CMD=("$REPLOG" export "$BINLOG" --to debezium) ;;
    2) CMD=("$REPLOG" export "$BINLOG" --to debezium --schemas --transactions) ;;
  esac
}

size=$(stat -c %s "$BINLOG")
log "checking row counts on $BINLOG ($size bytes)"
peer_rows=$(mariadb-binlog --no-defaults -v --base64-output=DECODE-ROWS "$BINLOG" \
  | grep -cE '^### (INSERT INTO|UPDATE|DELETE FROM) ')
replog_rows=$("$REPLOG" export "$BINLOG" --to debezium --no-tombstones --value-only | wc -l)
log "row changes: mariadb-binlog $peer_rows, replog export $replog_rows"
[ "$peer_rows" = "$replog_rows" ] || die "row counts differ"

cat "$BINLOG" >/dev/null
for rep in $(seq 1 "$REPS"); do
  log "round $rep"
  for i in "${!LABELS[@]}"; do
    cmd_for "$i"
    measure "${LABELS[$i]}" "${CMD[@]}"
  done
done

stats() { # stats <label> -> "best median maxrss_kib"
  awk -F'\t' -v l="$1" '$1 == l { print $2, $3 }' "$RAW" | sort -n \
    | awk '{ t[NR] = $1; if ($2 > m) m = $2 } END {
        med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
        printf "%.3f %.3f %d\n", t[1], med, m }'
}

echo
echo "== replog export --to debezium vs mariadb-binlog -v =="
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tools:   $(mariadb-binlog --version); $("$REPLOG" --version)"
echo "binlog:  $BINLOG, $size bytes ($(awk -v s="$size" 'BEGIN{printf "%.1f", s/1e6}') MB), $peer_rows row changes"
echo "runs:    $REPS each, round-robin, stdout > /dev/null, page cache warm"
echo
read -r peer_best peer_med _ < <(stats "${LABELS[0]}")
printf '%-54s %8s %8s %8s %9s %12s\n' "command" "best s" "median s" "MB/s" "RSS MiB" "x mdb (med)"
worst_rss=0
for i in "${!LABELS[@]}"; do
  read -r best med rss < <(stats "${LABELS[$i]}")
  printf '%-54s %8.3f %8.3f %8.1f %9.1f %12s\n' "${LABELS[$i]}" "$best" "$med" \
    "$(awk -v s="$size" -v t="$med" 'BEGIN{printf "%.1f", s/1e6/t}')" \
    "$(awk -v m="$rss" 'BEGIN{printf "%.1f", m/1024}')" \
    "$(awk -v p="$peer_med" -v t="$med" 'BEGIN{printf "%.2fx", p/t}')"
  [ "$i" -gt 0 ] && [ "$rss" -gt "$worst_rss" ] && worst_rss=$rss
done
read -r _ exp_med _ < <(stats "${LABELS[1]}")
ratio=$(awk -v p="$peer_med" -v t="$exp_med" 'BEGIN{printf "%.2f", p/t}')
echo
if awk -v r="$ratio" 'BEGIN{exit !(r >= 2)}'; then v=PASS; else v=MISS; fi
echo "target: export to Debezium JSON >= 2x faster than mariadb-binlog -v: $v (${ratio}x, medians)"
rss_mib=$(awk -v m="$worst_rss" 'BEGIN{printf "%.1f", m/1024}')
if awk -v m="$worst_rss" 'BEGIN{exit !(m < 128 * 1024)}'; then v=PASS; else v=MISS; fi
echo "target: peak RSS < 128 MiB: $v (${rss_mib} MiB)"
