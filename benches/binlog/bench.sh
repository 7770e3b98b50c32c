#!/usr/bin/env bash
# replog vs mariadb-binlog on the same large ROW binlog, in one run.
#
#   bash benches/binlog/bench.sh
#
# 1. Generates (or reuses from $CACHE) a ROW-format MariaDB binlog of at least
#    50 MB (INT PK, BIGINT, VARCHAR(40), DECIMAL(10,2), DATETIME(6), nullable
#    TEXT; INSERT ... SELECT doubling, multi-row UPDATEs and DELETEs, plus many
#    small single-row transactions; binlog_row_image=FULL,
#    binlog_row_metadata=FULL, CRC32 checksums, one binlog file), and a ~1 GB
#    binlog for the peak-memory measurement (deleted on exit).
# 2. Times, REPS times each (round-robin, so drifting load hits all tools alike):
#      mariadb-binlog --no-defaults -v --base64-output=DECODE-ROWS FILE
#      replog inspect --decode-rows FILE                 (table output)
#      replog inspect --decode-rows --format ndjson FILE
#      replog verify FILE
#    all with stdout to /dev/null, under /usr/bin/time -f '%e %M', and prints
#    best/median seconds, MB/s, peak RSS and the speed ratio to mariadb-binlog.
#    Target: replog inspect --decode-rows >= 5x faster than mariadb-binlog -v.
# 3. Peak RSS of `replog verify` and `replog inspect --decode-rows --format
#    ndjson` on the ~1 GB binlog. Target: < 64 MiB.
# 4. Flashback, REPS times each, round-robin, on the same binlog:
#      mariadb-binlog --no-defaults --flashback FILE       (stdout > /dev/null)
#      replog invert --skip-ddl -o OUT FILE                (OUT in the temp dir;
#                                      --flashback leaves DDL out as well)
#    and prints the speed ratio and both peak RSS figures.
#    Target: replog invert at least as fast as mariadb-binlog --flashback.
#    (SMALL_MIN_MB=200 BASE_DOUBLINGS=21 makes the cached binlog >= 200 MB.)
#
# Environment knobs:
#   CACHE=/tmp/replog-bench-binlog   where the 50 MB binlog is kept for reruns
#   REPS=3                           repetitions per measurement
#   BIG=1                            0 skips the ~1 GB memory measurement
#   BIG_MB=1000                      size of the big binlog in MB (10^6 bytes)
#   REGEN=1                          regenerate the cached 50 MB binlog
#   REPLOG=target/release/replog     binary to test (built unless NO_BUILD=1)
#   FLASHBACK_ONLY=1                 time only the flashback comparison
#   GENERATE_ONLY=1                  only make the cached binlog (BIG=0 too)
#
# The private MariaDB server lives in a temp dir (own datadir, unix socket,
# TCP bound to 127.0.0.1 on a free port, --user=root); it is only used to
# produce the binlogs and is shut down before anything is timed. The script
# never connects to anything but that socket. Everything except the cached
# 50 MB binlog is removed on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE=${CACHE:-/tmp/replog-bench-binlog}
REPS=${REPS:-3}
BIG=${BIG:-1}
BIG_MB=${BIG_MB:-1000}
REGEN=${REGEN:-0}
REPLOG=${REPLOG:-$ROOT/target/release/replog}
SMALL_MIN=$((${SMALL_MIN_MB:-50} * 1000 * 1000))   # "at least 50 MB"
BIG_BYTES=$((BIG_MB * 1000 * 1000))
BASE_DOUBLINGS=${BASE_DOUBLINGS:-19} # 2^19 = 524288 rows in the base table
SMALL_TXNS=${SMALL_TXNS:-20000}      # single-row transactions in the 50 MB log

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- tools ---------------------------------------------------------------------
export PATH="$PATH:/usr/sbin:/usr/bin"
if ! command -v mariadbd >/dev/null 2>&1; then
  log "mariadbd not found; installing mariadb-server mariadb-client"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update && apt-get install -y mariadb-server mariadb-client
fi
if ! [ -x /usr/bin/time ]; then
  log "GNU time not found; installing it"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y time || { apt-get update && apt-get install -y time; }
fi
for tool in mariadbd mariadb mariadb-admin mariadb-binlog mariadb-install-db; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
if [ "${NO_BUILD:-0}" != 1 ]; then
  log "cargo build --release -p replog"
  (cd "$ROOT" && cargo build --release -p replog) >&2
fi
[ -x "$REPLOG" ] || die "$REPLOG not found"

# --- temp dir, server, cleanup ---------------------------------------------------
TMPROOT="$(mktemp -d "${TMPDIR:-/tmp}/replog-bench-binlog.XXXXXX")"
SERVER_PID=""
cleanup() {
  local i
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for i in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMPROOT"   # the server's datadir and the ~1 GB binlog
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free loopback port found"
}

SRV="$TMPROOT/srv"
client() { mariadb --no-defaults --socket="$SRV/sock" --user=root --default-character-set=utf8mb4 "$@"; }

start_server() {
  local port i
  mkdir -p "$SRV/data" "$SRV/binlog" "$SRV/tmp"
  mariadb-install-db --no-defaults --datadir="$SRV/data" --user=root \
    --auth-root-authentication-method=normal --skip-test-db \
    >"$SRV/install.log" 2>&1 || { cat "$SRV/install.log" >&2; die "mariadb-install-db failed"; }
  port="$(free_port)"
  SERVER_ARGS=(
    --no-defaults
    --datadir="$SRV/data"
    --socket="$SRV/sock"
    --port="$port"
    --bind-address=127.0.0.1
    --pid-file="$SRV/mariadbd.pid"
    --log-error="$SRV/error.log"
    --tmpdir="$SRV/tmp"
    --user=root
    --server-id=1
    --log-bin="$SRV/binlog/mariadb-bin"
    --binlog-format=ROW
    --binlog-row-image=FULL
    --binlog-row-metadata=FULL
    --binlog-checksum=CRC32
    --max-binlog-size=1073741824   # the maximum: each phase lands in one file
    --sync-binlog=0
    --character-set-server=utf8mb4
    --collation-server=utf8mb4_general_ci
    --default-time-zone=+00:00
    --skip-name-resolve
    --innodb-buffer-pool-size=512M
    --innodb-log-file-size=256M
    --innodb-flush-log-at-trx-commit=0
    --max-allowed-packet=64M
  )
  mariadbd "${SERVER_ARGS[@]}" >"$SRV/stdout.log" 2>&1 &
  SERVER_PID=$!
  for i in $(seq 1 600); do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SRV/error.log" >&2 || true; die "mariadbd exited during startup"; }
    if [ -S "$SRV/sock" ] && mariadb-admin --no-defaults --socket="$SRV/sock" --user=root ping >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  die "mariadbd did not come up within 60s"
}

stop_server() {
  local i
  mariadb-admin --no-defaults --socket="$SRV/sock" --user=root shutdown
  for i in $(seq 1 600); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; return 0
    fi
    sleep 0.1
  done
  die "mariadbd did not shut down within 60s"
}

# The binlog file the server is writing now.
current_binlog() { client --batch --skip-column-names -e "SHOW MASTER STATUS" | cut -f1; }
binlog_size() { stat -c %s "$SRV/binlog/$1"; }

# --- workloads -------------------------------------------------------------------
# Base: schema, 2^BASE_DOUBLINGS rows by INSERT ... SELECT doubling, bulk
# UPDATEs (before+after images) and DELETEs, then SMALL_TXNS single-row
# autocommit transactions (insert/update/delete mix) from a stored procedure.
base_workload() {
  cat <<SQL
CREATE DATABASE bench;
USE bench;
CREATE TABLE t (
  id   INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  b    BIGINT NOT NULL,
  name VARCHAR(40) NOT NULL,
  amt  DECIMAL(10,2) NOT NULL,
  ts   DATETIME(6) NOT NULL,
  note TEXT NULL
) ENGINE=InnoDB;
INSERT INTO t (b, name, amt, ts, note) VALUES
  (1234567890123, 'customer-000001', 19.99, '2024-05-01 12:00:00.000001', 'first order');
SQL
  local i
  for i in $(seq 1 "$BASE_DOUBLINGS"); do
    cat <<SQL
INSERT INTO t (b, name, amt, ts, note)
  SELECT FLOOR(RAND() * 1e15) + $i,
         LEFT(CONCAT('customer-', LPAD(FLOOR(RAND() * 1000000), 6, '0'), '-', SHA1(RAND())), 10 + FLOOR(RAND() * 31)),
         ROUND(RAND() * 99999, 2),
         TIMESTAMPADD(MICROSECOND, FLOOR(RAND() * 86400000000), ts),
         IF(RAND() < 0.3, NULL, LEFT(REPEAT(MD5(RAND()), 4), FLOOR(RAND() * 80)))
  FROM t;
SQL
  done
  cat <<'SQL'
UPDATE t SET amt = amt + 1.25, ts = TIMESTAMPADD(SECOND, 1, ts) WHERE id % 4 = 0;
UPDATE t SET note = IF(note IS NULL, 'now set', NULL), b = b + 1 WHERE id % 16 = 1;
DELETE FROM t WHERE id % 8 = 3;
DELIMITER //
CREATE PROCEDURE small_txns(n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE maxid INT;
  DECLARE k INT;
  SELECT MAX(id) INTO maxid FROM t;
  WHILE i < n DO
    SET k = 1 + FLOOR(RAND() * maxid);
    CASE i % 4
      WHEN 0 THEN INSERT INTO t (b, name, amt, ts, note)
                  VALUES (i, CONCAT('new-', i), i / 100, NOW(6), IF(i % 3 = 0, NULL, CONCAT('small txn ', i)));
      WHEN 3 THEN DELETE FROM t WHERE id = k;
      ELSE        UPDATE t SET amt = amt + 0.01, note = CONCAT('touched ', i) WHERE id = k;
    END CASE;
    SET i = i + 1;
  END WHILE;
END//
DELIMITER ;
SQL
  printf 'CALL small_txns(%d);\n' "$SMALL_TXNS"
}

# One round for the big binlog: a bulk UPDATE of every row (before+after
# images), a bulk DELETE, re-inserting the deleted share, and some small
# transactions.
big_round() { # big_round <n>
  cat <<SQL
USE bench;
UPDATE t SET amt = amt + 0.5, ts = TIMESTAMPADD(MICROSECOND, $1, ts), b = b + $1;
DELETE FROM t WHERE id % 16 = $(( $1 % 16 ));
INSERT INTO t (b, name, amt, ts, note)
  SELECT b, name, amt, ts, note FROM t WHERE id % 16 = $(( ($1 + 1) % 16 ));
CALL small_txns(1000);
SQL
}

# --- generate the binlogs ---------------------------------------------------------
mkdir -p "$CACHE"
SMALL="$CACHE/mariadb-bin-small.000001"
BIGFILE=""
need_small=0
if [ "$REGEN" = 1 ] || ! [ -s "$SMALL" ] || [ "$(stat -c %s "$SMALL")" -lt "$SMALL_MIN" ]; then
  need_small=1
fi
if [ "$BIG" = 1 ]; then
  avail_kib=$(df -Pk "$TMPROOT" | awk 'NR==2 {print $4}')
  # the big binlog, the server's datadir and its temp files: ~3x the binlog
  need_kib=$(( BIG_BYTES / 1024 * 3 + 1024 * 1024 ))
  if [ "$avail_kib" -lt "$need_kib" ]; then
    log "not enough space in $(dirname "$TMPROOT") for the ${BIG_MB} MB binlog (${avail_kib} KiB free, need ${need_kib} KiB): skipping the memory measurement"
    df -h "$(dirname "$TMPROOT")" >&2
    BIG=0
  fi
fi

if [ "$need_small" = 1 ] || [ "$BIG" = 1 ]; then
  log "starting a private mariadbd in $SRV"
  start_server
  t0=$(date +%s)
  log "base workload: 2^$BASE_DOUBLINGS rows, bulk UPDATE/DELETE, $SMALL_TXNS small transactions"
  base_workload | client --batch >/dev/null
  first="$(current_binlog)"
  client -e "FLUSH BINARY LOGS"
  log "base binlog $first: $(binlog_size "$first") bytes ($(( $(date +%s) - t0 )) s)"
  if [ "$need_small" = 1 ]; then
    [ "$(binlog_size "$first")" -ge "$SMALL_MIN" ] || die "$first is smaller than $SMALL_MIN bytes; raise BASE_DOUBLINGS"
    cp "$SRV/binlog/$first" "$SMALL.tmp" && mv "$SMALL.tmp" "$SMALL"
  fi
  if [ "$BIG" = 1 ]; then
    cur="$(current_binlog)"
    n=0
    while [ "$(binlog_size "$cur")" -lt "$BIG_BYTES" ]; do
      n=$((n + 1))
      big_round "$n" | client --batch >/dev/null
      [ "$(current_binlog)" = "$cur" ] || die "binlog rotated before reaching ${BIG_MB} MB"
      log "big binlog $cur: round $n, $(binlog_size "$cur") bytes"
    done
    client -e "FLUSH BINARY LOGS"
    BIGFILE="$SRV/binlog/$cur"
  fi
  stop_server
  log "generation took $(( $(date +%s) - t0 )) s; server stopped"
else
  log "reusing cached $SMALL"
fi

# GENERATE_ONLY=1: the cached binlog is what the caller wants (another bench
# measures on it, e.g. benches/export/bench.sh).
if [ "${GENERATE_ONLY:-0}" = 1 ]; then
  log "generated $SMALL"
  exit 0
fi

# --- measurement helpers ----------------------------------------------------------
RAW="$TMPROOT/raw.tsv"
: >"$RAW"
# measure <label> <file> <cmd...>: one timed run, stdout to /dev/null; appends
# label, wall seconds (ns clock), %e, %M (KiB) to $RAW.
measure() {
  local label="$1" file="$2"; shift 2
  local tf="$TMPROOT/time.out" t0 t1 rc=0
  t0=$(date +%s%N)
  /usr/bin/time -f '%e %M' -o "$tf" "$@" "$file" >/dev/null 2>"$TMPROOT/stderr.out" || rc=$?
  t1=$(date +%s%N)
  if [ "$rc" -gt "${OK_RC:-0}" ]; then
    cat "$TMPROOT/stderr.out" >&2
    die "$label exited with $rc"
  fi
  read -r e m < <(tail -n 1 "$tf")
  printf '%s\t%s\t%s\t%s\n' "$label" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')" "$e" "$m" >>"$RAW"
  printf '  %-34s wall %6.3f s  (%%e %5s s)  maxrss %7.1f MiB\n' "$label" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')" "$e" "$(awk -v m="$m" 'BEGIN{printf "%.1f", m/1024}')" >&2
}

LABELS=("mariadb-binlog -v" "replog inspect --decode-rows" "replog inspect (ndjson)" "replog verify")
cmd_for() { # cmd_for <index>: prints nothing, sets CMD
  case "$1" in
    0) CMD=(mariadb-binlog --no-defaults -v --base64-output=DECODE-ROWS) ;;
    1) CMD=("$REPLOG" inspect --decode-rows) ;;
    2) CMD=("$REPLOG" inspect --decode-rows --format ndjson) ;;
    3) CMD=("$REPLOG" verify) ;;
  esac
}

# --- sanity: both tools see the same row images -----------------------------------
size=$(stat -c %s "$SMALL")
log "checking row counts on $SMALL ($size bytes)"
"$REPLOG" verify "$SMALL" >&2 || die "replog verify reported damage"
peer_rows=$(mariadb-binlog --no-defaults -v --base64-output=DECODE-ROWS "$SMALL" \
  | grep -cE '^### (INSERT INTO|UPDATE|DELETE FROM) ')
replog_rows=$("$REPLOG" inspect --decode-rows "$SMALL" | grep -cE '^\|[^|]*\|[^|]*\|[^|]*\|   row ')
log "row changes: mariadb-binlog $peer_rows, replog $replog_rows"
[ "$peer_rows" = "$replog_rows" ] || die "row counts differ"

# --- timing ----------------------------------------------------------------------
cat "$SMALL" >/dev/null   # page cache warm for everyone
log "timing: $REPS rounds over ${#LABELS[@]} commands (round-robin)"
for rep in $(seq 1 "$([ "${FLASHBACK_ONLY:-0}" = 1 ] && echo 0 || echo "$REPS")"); do
  log "round $rep"
  for i in "${!LABELS[@]}"; do
    cmd_for "$i"
    measure "${LABELS[$i]}" "$SMALL" "${CMD[@]}"
  done
done

FB_LABELS=("mariadb-binlog --flashback" "replog invert")
fb_cmd_for() { # fb_cmd_for <index>: sets CMD
  case "$1" in
    0) CMD=(mariadb-binlog --no-defaults --flashback) ;;
    1) CMD=("$REPLOG" invert --skip-ddl -o "$TMPROOT/undo.replog") ;;
  esac
}
log "flashback: $REPS rounds (round-robin)"
for rep in $(seq 1 "$REPS"); do
  for i in "${!FB_LABELS[@]}"; do
    fb_cmd_for "$i"
    rm -f "$TMPROOT/undo.replog"
    # replog invert exits 1 when it reports something (DDL left out).
    OK_RC=$i measure "${FB_LABELS[$i]}" "$SMALL" "${CMD[@]}"
  done
done
rm -f "$TMPROOT/undo.replog"

if [ "$BIG" = 1 ]; then
  bsize=$(stat -c %s "$BIGFILE")
  cat "$BIGFILE" >/dev/null 2>&1 || true
  log "memory: $BIGFILE ($bsize bytes)"
  for rep in $(seq 1 "$REPS"); do
    measure "BIG replog verify" "$BIGFILE" "$REPLOG" verify
    measure "BIG replog inspect (ndjson)" "$BIGFILE" "$REPLOG" inspect --decode-rows --format ndjson
  done
fi

# --- report ----------------------------------------------------------------------
stats() { # stats <label> -> "best median maxrss_kib"
  awk -F'\t' -v l="$1" '$1 == l { print $2, $4 }' "$RAW" | sort -n \
    | awk '{ t[NR] = $1; if ($2 > m) m = $2 } END {
        med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
        printf "%.3f %.3f %d\n", t[1], med, m }'
}

echo
echo "== replog vs mariadb-binlog: ROW binlog decoding =="
echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:   nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
echo "mariadb:   $(mariadbd --version)"
echo "           $(mariadb-binlog --version)"
echo "replog:    $("$REPLOG" --version) ($REPLOG)"
echo "binlog:    $SMALL"
echo "           $size bytes ($(awk -v s="$size" 'BEGIN{printf "%.1f", s/1e6}') MB), $peer_rows row changes"
echo "runs:      $REPS each, round-robin, stdout > /dev/null, page cache warm; seconds = wall clock"
echo
if [ "${FLASHBACK_ONLY:-0}" != 1 ]; then
read -r peer_best peer_med _ < <(stats "${LABELS[0]}")
printf '%-30s %8s %8s %8s %9s %14s %14s\n' "tool / mode" "best s" "median s" "MB/s" "RSS MiB" "x mdb (best)" "x mdb (median)"
for i in "${!LABELS[@]}"; do
  read -r best med rss < <(stats "${LABELS[$i]}")
  printf '%-30s %8.3f %8.3f %8.1f %9.1f %14s %14s\n' "${LABELS[$i]}" "$best" "$med" \
    "$(awk -v s="$size" -v t="$best" 'BEGIN{printf "%.1f", s/1e6/t}')" \
    "$(awk -v m="$rss" 'BEGIN{printf "%.1f", m/1024}')" \
    "$(awk -v p="$peer_best" -v t="$best" 'BEGIN{printf "%.2fx", p/t}')" \
    "$(awk -v p="$peer_med" -v t="$med" 'BEGIN{printf "%.2fx", p/t}')"
done
echo "(x mdb = mariadb-binlog -v time / this time; > 1 means replog is faster)"
read -r ins_best ins_med _ < <(stats "${LABELS[1]}")
ratio_best=$(awk -v p="$peer_best" -v t="$ins_best" 'BEGIN{printf "%.2f", p/t}')
ratio_med=$(awk -v p="$peer_med" -v t="$ins_med" 'BEGIN{printf "%.2f", p/t}')
if awk -v r="$ratio_med" 'BEGIN{exit !(r >= 5)}'; then verdict=PASS; else verdict=MISS; fi
echo
echo "target 1: replog inspect --decode-rows >= 5x faster than mariadb-binlog -v: $verdict (${ratio_med}x median, ${ratio_best}x best)"
fi

if [ "$BIG" = 1 ]; then
  echo
  echo "big binlog: $bsize bytes ($(awk -v s="$bsize" 'BEGIN{printf "%.1f", s/1e6}') MB)"
  printf '%-30s %8s %8s %8s %9s\n' "tool / mode" "best s" "median s" "MB/s" "RSS MiB"
  worst=0
  for l in "BIG replog verify" "BIG replog inspect (ndjson)"; do
    read -r best med rss < <(stats "$l")
    [ "$rss" -gt "$worst" ] && worst=$rss
    printf '%-30s %8.3f %8.3f %8.1f %9.1f\n' "${l#BIG }" "$best" "$med" \
      "$(awk -v s="$bsize" -v t="$best" 'BEGIN{printf "%.1f", s/1e6/t}')" \
      "$(awk -v m="$rss" 'BEGIN{printf "%.1f", m/1024}')"
  done
  if [ "$worst" -lt $((64 * 1024)) ]; then verdict=PASS; else verdict=MISS; fi
  echo "target 2: peak RSS < 64 MiB on the big binlog: $verdict ($(awk -v m="$worst" 'BEGIN{printf "%.1f", m/1024}') MiB max)"
else
  echo "target 2: not measured (BIG=0 or not enough disk)"
fi

echo
echo "== flashback: replog invert vs mariadb-binlog --flashback (same binlog) =="
printf '%-30s %8s %8s %8s %9s %14s %14s\n' "tool / mode" "best s" "median s" "MB/s" "RSS MiB" "x mdb (best)" "x mdb (median)"
read -r fb_best fb_med _ < <(stats "${FB_LABELS[0]}")
for i in "${!FB_LABELS[@]}"; do
  read -r best med rss < <(stats "${FB_LABELS[$i]}")
  printf '%-30s %8.3f %8.3f %8.1f %9.1f %14s %14s\n' "${FB_LABELS[$i]}" "$best" "$med" \
    "$(awk -v s="$size" -v t="$best" 'BEGIN{printf "%.1f", s/1e6/t}')" \
    "$(awk -v m="$rss" 'BEGIN{printf "%.1f", m/1024}')" \
    "$(awk -v p="$fb_best" -v t="$best" 'BEGIN{printf "%.2fx", p/t}')" \
    "$(awk -v p="$fb_med" -v t="$med" 'BEGIN{printf "%.2fx", p/t}')"
done
read -r inv_best inv_med _ < <(stats "${FB_LABELS[1]}")
fb_ratio=$(awk -v p="$fb_med" -v t="$inv_med" 'BEGIN{printf "%.2f", p/t}')
if awk -v r="$fb_ratio" 'BEGIN{exit !(r >= 1)}'; then verdict=PASS; else verdict=MISS; fi
echo "target 3: replog invert at least as fast as mariadb-binlog --flashback: $verdict (${fb_ratio}x median, $(awk -v p="$fb_best" -v t="$inv_best" 'BEGIN{printf "%.2f", p/t}')x best)"

echo
echo "commands (FILE = the binlog above; each under /usr/bin/time -f '%e %M', stdout > /dev/null):"
for i in "${!LABELS[@]}"; do cmd_for "$i"; echo "  ${CMD[*]} FILE"; done
for i in "${!FB_LABELS[@]}"; do fb_cmd_for "$i"; echo "  ${CMD[*]} FILE"; done
[ "$BIG" = 1 ] && echo "  big binlog: $REPLOG verify BIGFILE; $REPLOG inspect --decode-rows --format ndjson BIGFILE"
echo
echo "raw runs (label, wall s, %e s, maxrss KiB):"
sed 's/^/  /' "$RAW"
