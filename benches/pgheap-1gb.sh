#!/usr/bin/env bash
# Heap WAL decoding at scale (issue 14, BENCHMARKS.md): at least 1 GB of
# WAL written by Debian's PostgreSQL 15, holding one 50,000-row transaction
# (6 KB rows, out of line: about 300 MB of changes, more than the reorder
# buffer's 256 MiB) open while other sessions commit about 3,000 small
# transactions, decoded by `replog convert --to logical` with its catalog
# file; wall time, peak RSS and the reorder buffer's spill are printed.
#
#   bash benches/pgheap-1gb.sh gen DIR    # as root; a few minutes: DIR/pg_wal,
#                                         # DIR/catalog.tsv (about 1.3 GB)
#   cargo build --release -p replog
#   bash benches/pgheap-1gb.sh run DIR    # decode it; DIR/out.replog
#   SPILL_LIMIT=64M bash benches/pgheap-1gb.sh run DIR   # with --spill-limit
#
# `run` prints the wall and CPU time, WAL bytes per CPU second, the peak
# RSS, and what the reorder buffer spilled (from the JSON report). Spill
# files go to TMPDIR (else /tmp).
#
# The server runs as the unprivileged user `postgres` in a temporary
# directory, listening only on a unix socket there, and is stopped and
# removed at the end; its WAL and the catalog file are moved to DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
REPLOG=${REPLOG:-${CARGO_TARGET_DIR:-$ROOT/target}/release/replog}
PG15=/usr/lib/postgresql/15/bin
MODE=${1:?gen DIR or run DIR}
DIR=${2:?gen DIR or run DIR}
if [ "$MODE" = run ]; then
  [ -x "$REPLOG" ] || { echo "build it first: cargo build --release -p replog" >&2; exit 2; }
  wal=$(du -cb "$DIR"/pg_wal/0* | tail -1 | cut -f1)
  echo "WAL: $(ls "$DIR"/pg_wal/0* | wc -l) segments, $wal bytes"
  grep -m1 'model name' /proc/cpuinfo
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  spill=()
  [ -n "${SPILL_LIMIT:-}" ] && spill=(--spill-limit "$SPILL_LIMIT")
  /usr/bin/time -v "$REPLOG" convert "$DIR/pg_wal" --catalog "$DIR/catalog.tsv" \
    --to logical -o "$DIR/out.replog" --format json "${spill[@]}" 2>"$DIR/time.txt" >"$DIR/convert.json" || true
  grep -E 'Elapsed|Maximum resident|User time|System time|Exit status' "$DIR/time.txt"
  python3 - "$DIR/convert.json" "$DIR/time.txt" "$wal" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))["decoded"]
t = open(sys.argv[2]).read()
cpu = sum(float(re.search(p + r": ([0-9.]+)", t).group(1)) for p in (r"User time \(seconds\)", r"System time \(seconds\)"))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print(f"committed {d['committed']}, changes {d['changes']}, undecoded {len(d['undecoded'])}")
print(f"spilled {d['spilled_bytes']} bytes in {d['spilled_transactions']} transaction(s); peak buffered {d['peak_buffered']} bytes")
print(f"CPU {cpu:.2f} s: {int(sys.argv[3]) / cpu / 1e6:.0f} MB of WAL per CPU second; peak RSS {rss / 1024:.0f} MiB")
PY
  echo "output: $(stat -c %s "$DIR/out.replog") bytes"
  exit 0
fi
mkdir -p "$DIR"
as_pg() { runuser -u postgres -- "$@"; }

work=$(mktemp -d /tmp/replog-pg1gb.XXXXXX)
chown postgres "$work"
chmod 755 "$work"
as_pg $PG15/initdb -D "$work/data" -A trust -U postgres --no-sync --locale=C -E UTF8 >"$work/initdb.log"
cat >>"$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
port = 5432
wal_level = logical
max_wal_size = 8GB
wal_keep_size = 8GB
checkpoint_timeout = 1h
autovacuum = off
fsync = off
synchronous_commit = off
CONF
as_pg $PG15/pg_ctl -D "$work/data" -l "$work/server.log" -w start >/dev/null
trap 'as_pg '$PG15'/pg_ctl -D "'"$work"'/data" -m immediate stop >/dev/null 2>&1; rm -rf "'"$work"'"' EXIT
q=($PG15/psql -X -q -v ON_ERROR_STOP=1 -h "$work" -p 5432 -U postgres -d postgres)

as_pg "${q[@]}" <<'SQL'
CREATE TABLE big (id integer PRIMARY KEY, pad text);
ALTER TABLE big ALTER COLUMN pad SET STORAGE EXTERNAL;
CREATE TABLE small (id bigserial PRIMARY KEY, n integer, note text);
SQL
# The large transaction: 50,000 rows of 6,080 characters, in two halves
# with a pause between, while the small transactions commit.
as_pg "${q[@]}" >/dev/null <<'SQL' &
BEGIN;
INSERT INTO big SELECT g, (SELECT string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 190) i)
  FROM generate_series(1, 25000) g;
SELECT pg_sleep(5);
INSERT INTO big SELECT g, (SELECT string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 190) i)
  FROM generate_series(25001, 50000) g;
COMMIT;
SQL
big=$!
as_pg "${q[@]}" >/dev/null <<'SQL'
DO $$
BEGIN
  FOR t IN 1..3000 LOOP
    INSERT INTO small (n, note) SELECT g, repeat('note ', 20) || t FROM generate_series(1, 1000) g;
    UPDATE small SET n = -n WHERE id = t * 1000;
    COMMIT;
  END LOOP;
END $$;
SQL
wait $big
as_pg "${q[@]}" -A -F $'\t' -P footer=off -f "$ROOT/fixtures/postgres/catalog.sql" >"$work/catalog.tsv"
as_pg "${q[@]}" -c CHECKPOINT >/dev/null
as_pg $PG15/pg_ctl -D "$work/data" -w -m fast stop >/dev/null
rm -rf "$DIR/pg_wal"
mv "$work/data/pg_wal" "$DIR/pg_wal"
mv "$work/catalog.tsv" "$DIR/catalog.tsv"
rm -rf "$work"
trap - EXIT
echo "WAL: $(ls "$DIR"/pg_wal/0* | wc -l) segments, $(du -cb "$DIR"/pg_wal/0* | tail -1 | cut -f1) bytes in $DIR/pg_wal"
