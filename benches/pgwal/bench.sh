#!/usr/bin/env bash
# replog against pg_waldump on the same ≥ 1 GB of PostgreSQL 15 WAL, in one run.
#
#   bash benches/pgwal/bench.sh [WAL_DIR]
#   bash benches/pgwal/bench.sh --generate DIR   # only write the WAL into DIR
#
# Without WAL_DIR, a private PostgreSQL 15 server (Debian's postgresql-15,
# as the unprivileged user `postgres`, on a unix socket in a temporary
# directory; 16 MB segments, wal_compression off) runs pgbench until it has
# written at least 1.1 GB of WAL, and those segments are used. Prints, per
# mode, the best and the median wall time of RUNS (default 5) runs of each
# tool, run alternately, the ratios pg_waldump / replog of the bests and of
# the medians (above 1: replog is faster), replog's peak RSS, and the load
# average before and after (the timings are only as steady as the machine):
#
#   stats    pg_waldump --stats=record     vs  replog inspect --stats
#   listing  pg_waldump (default listing)  vs  replog inspect      (both > /dev/null)
#   verify   pg_waldump --quiet            vs  replog verify
#
# Needs: postgresql-15 (installed if missing, as root), a release build of
# replog (built here, unless REPLOG names a binary), /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PG=/usr/lib/postgresql/15/bin
if [ ! -x $PG/pg_waldump ]; then apt-get update && apt-get install -y postgresql-15; fi
id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres

WAL=${1:-}
KEEP=
if [ "$WAL" = --generate ]; then KEEP=$2; WAL=; fi
if [ -z "$WAL" ]; then
  work=$(mktemp -d /tmp/replog-pgwal-bench.XXXXXX)
  chown postgres "$work"
  trap 'runuser -u postgres -- $PG/pg_ctl -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  runuser -u postgres -- $PG/initdb -D "$work/data" -A trust -U postgres --no-sync >/dev/null
  cat >>"$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
wal_keep_size = 4GB
max_wal_size = 4GB
checkpoint_timeout = 30s
fsync = off
synchronous_commit = off
autovacuum = off
CONF
  runuser -u postgres -- $PG/pg_ctl -D "$work/data" -l "$work/log" -w start >/dev/null
  q() { runuser -u postgres -- $PG/psql -X -q -h "$work" -U postgres -d postgres -tAc "$1"; }
  start=$(q "SELECT pg_current_wal_insert_lsn()")
  runuser -u postgres -- $PG/pgbench -h "$work" -U postgres -i -s 20 -q postgres >/dev/null 2>&1
  while [ "$(q "SELECT pg_current_wal_insert_lsn() - '$start'::pg_lsn > 1200000000")" != t ]; do
    runuser -u postgres -- $PG/pgbench -h "$work" -U postgres -c 4 -j 2 -t 20000 -n postgres >/dev/null 2>&1
  done
  q "CHECKPOINT" >/dev/null
  runuser -u postgres -- $PG/pg_ctl -D "$work/data" -m fast -w stop >/dev/null
  WAL=$work/data/pg_wal
  if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    mv "$WAL"/0* "$KEEP"/
    exit 0
  fi
fi
files=$(ls "$WAL" | grep -E '^[0-9A-F]{24}$' | sort)
first=$(echo "$files" | head -1)
last=$(echo "$files" | tail -1)
bytes=$(du -cb $(for f in $files; do echo "$WAL/$f"; done) | tail -1 | cut -f1)

if [ -n "${REPLOG:-}" ]; then
  R=$REPLOG
else
  CARGO_PROFILE_RELEASE_DEBUG=0 cargo build --release -p replog >/dev/null 2>&1
  R=$ROOT/target/release/replog
fi
RUNS=${RUNS:-5}

# one TOOL-ARGS...: wall seconds and peak RSS (KiB) of one run.
one() {
  local tf out
  tf=$(mktemp)
  # pg_waldump ends with an error at the end of WAL: the status is ignored.
  /usr/bin/time -f "%e %M" -o "$tf" "$@" >/dev/null 2>&1 || true
  out=$(tail -1 "$tf")
  rm -f "$tf"
  echo "$out"
}

# stat FILE: best and median of the first column, and the largest second.
stat() {
  sort -n "$1" | awk '{t[NR]=$1; if ($2>m) m=$2} END {printf "%s %s %s", t[1], (NR%2 ? t[(NR+1)/2] : (t[NR/2]+t[NR/2+1])/2), m}'
}

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "WAL: $WAL, $first .. $last, $bytes bytes"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %9s %9s %9s %9s %10s %10s %14s\n' mode pg_best pg_median rl_best rl_median ratio_best ratio_med replog_rss_MiB
for mode in stats listing verify; do
  case $mode in
    stats)   a=($PG/pg_waldump --stats=record -p "$WAL" "$first" "$last"); b=($R inspect --stats "$WAL") ;;
    listing) a=($PG/pg_waldump -p "$WAL" "$first" "$last"); b=($R inspect "$WAL") ;;
    verify)  a=($PG/pg_waldump --quiet -p "$WAL" "$first" "$last"); b=($R verify "$WAL") ;;
  esac
  fa=$(mktemp); fb=$(mktemp)
  for _ in $(seq "$RUNS"); do
    one "${a[@]}" >>"$fa"
    one "${b[@]}" >>"$fb"
  done
  read -r pb pm _ <<<"$(stat "$fa")"
  read -r rb rm mb <<<"$(stat "$fb")"
  rm -f "$fa" "$fb"
  printf '%-8s %9s %9s %9s %9s %10s %10s %14s\n' $mode "$pb" "$pm" "$rb" "$rm" \
    "$(awk "BEGIN{printf \"%.2f\", $pb/$rb}")" "$(awk "BEGIN{printf \"%.2f\", $pm/$rm}")" \
    "$(awk "BEGIN{printf \"%.1f\", $mb/1024}")"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
