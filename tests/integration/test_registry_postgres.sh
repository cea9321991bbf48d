#!/usr/bin/env bash
# Every unit test program of the registry module (tests/unit/registry/test_*.c, built as
# $MMSP_BUILD_DIR/tests/unit_registry_test_*) again, against a real PostgreSQL server: ctest
# runs them on SQLite, this script starts PostgreSQL (pg.sh) and runs each with
# MMSP_TEST_PG_URL=$PG_URL, so testdb.h hands them fresh PostgreSQL schemas. Fails when any
# fails, when a test source has no up-to-date program, or when none ran on PostgreSQL.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg.sh"

pg_start

mapfile -t programs < <(find "$MMSP_BUILD_DIR/tests" -maxdepth 1 -type f \
  -name 'unit_registry_test_*' -perm -u+x | sort)
if [ ${#programs[@]} -eq 0 ]; then
  fail "no registry unit test programs under $MMSP_BUILD_DIR/tests (unit_registry_test_*)"
fi
# Each source must have its program (a stale build would skip a store test silently).
for src in "$MMSP_SOURCE_DIR"/tests/unit/registry/test_*.c; do
  [ -e "$src" ] || continue
  prog="$MMSP_BUILD_DIR/tests/unit_registry_$(basename "$src" .c)"
  if [ -x "$prog" ] && [ "$prog" -nt "$src" ]; then
    pass
  else
    fail "$prog is missing or older than $src (build first)"
  fi
done

ran=0
on_pg=0
for prog in "${programs[@]}"; do
  name=$(basename "$prog")
  log="$WORK/$name.log"
  if MMSP_TEST_PG_URL="$PG_URL" "$prog" >"$log" 2>&1; then
    pass
  else
    fail "$name failed against PostgreSQL:"
    tail -60 "$log" >&2
  fi
  # testdb.h says so when it hands out a PostgreSQL schema; a program that does not use
  # testdb.h (no database at all, e.g. artifacts) just ran once more.
  if grep -q "^testdb: postgres" "$log"; then
    on_pg=$((on_pg + 1))
  else
    echo "note: $name opened no test database" >&2
  fi
  ran=$((ran + 1))
done
echo "test_registry_postgres: ran $ran registry unit test programs, $on_pg of them on PostgreSQL"
if [ "$on_pg" -gt 0 ]; then pass; else fail "no program used a PostgreSQL database"; fi

# A clean stop, and no backend crashed on the way.
pg_stop || fail "PostgreSQL did not stop cleanly"
if grep -q "PANIC\|server process .* was terminated by signal" "$PG_DIR/server.log"; then
  fail "PostgreSQL log shows a crash:"
  grep "PANIC\|terminated by signal" "$PG_DIR/server.log" >&2
else
  pass
fi
finish
