#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests: private data dir, 127.0.0.1 only,
# trust auth, fsync off. Never point this at data you care about.
#
# Usage (from anywhere):
#   deploy/postgres/pg.sh start           install the server if absent (root only: apt-get),
#                                         initdb once, start, wait until it answers, create the
#                                         database "songtor"; prints the URL. Idempotent.
#   deploy/postgres/pg.sh stop            pg_ctl stop -m fast
#   deploy/postgres/pg.sh status          exit 0 and print the URL if running and answering
#   deploy/postgres/pg.sh url             print the SQLAlchemy URL of the "songtor" database
#   deploy/postgres/pg.sh fresh-db NAME   drop and re-create database NAME (starting the
#                                         server if needed); prints its URL
#
# Environment (all optional):
#   PG_PORT=55432                     TCP port on 127.0.0.1 (a non-default port, so it can't
#                                     clash with a system PostgreSQL on 5432)
#   PG_DATA_DIR=<repo>/.data/postgres cluster directory (see "running as root" below)
#   PG_BIN=/usr/lib/postgresql/N/bin  server binaries (default: newest installed)
#   PG_START_TIMEOUT=60               seconds to wait for the server to accept connections
#
# Running as root: PostgreSQL refuses to run as root, so the server runs as the
# "postgres" system user (runuser) and the data dir is chowned to it. That
# user must be able to reach the data dir; if it can't reach the default one
# (e.g. the checkout is under a 0700 home directory), the cluster goes to
# /tmp/songtor-pg-<hash of the repo path> instead, and start says so.
#
# Only stdout carries results (URLs); progress and errors go to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"

PG_PORT="${PG_PORT:-55432}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"
PG_USER=postgres     # superuser created by initdb; trust auth, so no password
PG_DB=songtor

log() { echo "pg.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$PG_PORT" =~ ^[1-9][0-9]*$ ]] || die "PG_PORT must be a port number, got '$PG_PORT'"

IS_ROOT=0
[[ "$(id -u)" == 0 ]] && IS_ROOT=1

url_for() { echo "postgresql+psycopg://$PG_USER@127.0.0.1:$PG_PORT/$1"; }

# ------------------------------------------------------------ data dir ----

# Can the postgres system user reach (cd into) directory $1?
pg_user_can_reach() {
  (cd / && runuser -u postgres -- test -x "$1") 2>/dev/null
}

# Decides where the cluster lives; sets PGDATA. Deterministic, so that
# start/stop/status/fresh-db all agree without any state file.
resolve_data_dir() {
  local dir="${PG_DATA_DIR:-}" explicit=1
  if [[ -z "$dir" ]]; then
    dir="$REPO_ROOT/.data/postgres"
    explicit=0
  fi
  case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
  dir="${dir%/}"
  PGDATA="$dir"
  ((IS_ROOT)) || return 0
  id postgres >/dev/null 2>&1 ||
    die "running as root, but there is no 'postgres' system user to run the server as (install the postgresql package, or run as a normal user)"

  # The server process (user postgres) must be able to traverse every parent
  # of the data dir. Test on the nearest existing ancestor (the rest will be
  # created by root with mode 755).
  local probe
  probe="$(dirname "$dir")"
  while [[ ! -d "$probe" ]]; do probe="$(dirname "$probe")"; done
  if pg_user_can_reach "$probe"; then
    return 0
  fi
  if ((explicit)); then
    die "PG_DATA_DIR=$dir is not reachable by the 'postgres' user (check the permissions of its parent directories)"
  fi
  PGDATA="/tmp/songtor-pg-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)"
  RELOCATED_FROM="$dir"
}

# ------------------------------------------------------------ binaries ----

# Newest installed server, preferring the major version an existing cluster
# was created with (a cluster can only be run by its own major version).
find_pg_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then
    [[ -x "$PG_BIN/initdb" ]] || die "PG_BIN=$PG_BIN has no initdb"
    return 0
  fi
  if [[ -f "$PGDATA/PG_VERSION" ]]; then
    local v
    v="$(cat "$PGDATA/PG_VERSION" 2>/dev/null || true)"
    if [[ -n "$v" && -x "/usr/lib/postgresql/$v/bin/initdb" ]]; then
      PG_BIN="/usr/lib/postgresql/$v/bin"
      return 0
    fi
  fi
  local d
  # shellcheck disable=SC2012  # fixed Debian layout, plain version numbers
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [[ -n "$d" && -x "$d/initdb" ]]; then
    PG_BIN="$d"
    return 0
  fi
  # Non-Debian layouts (Homebrew, Fedora): initdb on PATH.
  if command -v initdb >/dev/null 2>&1; then
    PG_BIN="$(dirname "$(command -v initdb)")"
    return 0
  fi
  return 1
}

install_postgres() {
  ((IS_ROOT)) ||
    die "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb). Install them with 'sudo apt-get install postgresql', or set PG_BIN, or re-run as root to let this script install them"
  command -v apt-get >/dev/null || die "PostgreSQL is not installed and apt-get is not available; install it and/or set PG_BIN"
  log "PostgreSQL server not installed; installing it with apt-get (one-time) ..."
  # Quiet on success, full output on failure.
  local out
  if ! out="$(apt-get update 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql 2>&1)"; then
    echo "$out" | tail -n 30 >&2
    die "apt-get install postgresql failed"
  fi
  # Debian's package may also create and start its own default cluster on
  # port 5432; we never use it (ours is private and on $PG_PORT).
}

# Runs a server-side command as the user that owns the cluster. `cd /`: the
# postgres user may not be allowed into the caller's working directory.
as_pg() {
  if ((IS_ROOT)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# ------------------------------------------------------------- helpers ----

pg_running() { [[ -f "$PGDATA/postmaster.pid" ]] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

# Port of the running server, from the 4th line of postmaster.pid.
running_port() { sed -n 4p "$PGDATA/postmaster.pid" 2>/dev/null; }

pg_answers() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -U "$PG_USER" -t 3; }

# psql over TCP as the superuser (trust auth), stopping on the first error.
psql_admin() {
  PGCONNECT_TIMEOUT=10 PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
    -U "$PG_USER" -d postgres "$@"
}

dump_log_tail() {
  log "last lines of $PGDATA/server.log:"
  tail -n 30 "$PGDATA/server.log" >&2 2>/dev/null || true
}

# start/stop/fresh-db take an exclusive lock, so parallel test workers calling
# `start` at the same time get one server instead of racing initdb/pg_ctl.
# The lock file sits next to the data dir, which may not exist yet.
take_lock() {
  mkdir -p "$(dirname "$PGDATA")"
  exec 9>>"$PGDATA.lock"
  flock -w 180 9 || die "timed out waiting for another pg.sh on $PGDATA"
}

# ----------------------------------------------------------------- init ----

init_cluster() {
  mkdir -p "$PGDATA"
  if ((IS_ROOT)); then
    chown postgres:postgres "$PGDATA"
  fi
  chmod 700 "$PGDATA"
  log "creating a new cluster in $PGDATA ($("$PG_BIN/postgres" --version))"
  # trust auth for local and 127.0.0.1/::1 connections (test only);
  # --no-sync: the cluster is throwaway; C locale + UTF8: fast, same everywhere.
  local out
  if ! out="$(as_pg "$PG_BIN/initdb" -D "$PGDATA" -U "$PG_USER" --auth=trust \
                --encoding=UTF8 --no-locale --no-sync 2>&1)"; then
    echo "$out" >&2
    die "initdb failed"
  fi
  # Our settings live in their own file, rewritten on every start (so a new
  # PG_PORT takes effect); postgresql.conf just includes it.
  echo "include_if_exists = 'songtor.conf'" | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
}

write_settings() {
  # Unix sockets have a ~107 byte path limit; with a very long data dir path,
  # go TCP-only (everything in this script and the tests uses TCP anyway).
  local sockdir="$PGDATA"
  if ((${#PGDATA} + 20 > 100)); then sockdir=""; fi
  as_pg tee "$PGDATA/songtor.conf" >/dev/null <<EOF
# Written by deploy/postgres/pg.sh on every start -- edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockdir'
# Tests only: durability traded for speed. A crash can corrupt this cluster;
# delete the data dir and start again.
fsync = off
synchronous_commit = off
full_page_writes = off
# Several services x a connection pool each, plus the tests themselves.
max_connections = 200
EOF
}

# ------------------------------------------------------------- commands ----

# Starts the server if needed and ensures the songtor database exists.
ensure_running() {
  if ! find_pg_bin; then
    install_postgres
    find_pg_bin || die "PostgreSQL installed, but no initdb found under /usr/lib/postgresql/*/bin"
  fi
  if [[ -n "${RELOCATED_FROM:-}" ]]; then
    log "the postgres user cannot reach $RELOCATED_FROM; using $PGDATA instead"
  fi

  if [[ -f "$PGDATA/PG_VERSION" ]]; then
    local have want
    have="$(cat "$PGDATA/PG_VERSION")"
    want="$("$PG_BIN/postgres" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')"
    [[ "$have" == "$want" ]] ||
      die "$PGDATA was created by PostgreSQL $have, but the server found is $want; stop it and delete the directory (it is throwaway), or set PG_BIN"
  else
    init_cluster
  fi

  if pg_running; then
    local port
    port="$(running_port)"
    [[ "$port" == "$PG_PORT" ]] ||
      die "the cluster in $PGDATA is already running on port ${port:-?}, not $PG_PORT; stop it first"
  else
    write_settings
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $PGDATA/server.log)"
    # pg_ctl detaches the server into its own session (no Ctrl-C from the
    # caller's terminal) and points its output at the log file, so callers
    # capturing our output aren't left waiting on an open pipe.
    # 9>&-: the server must not inherit our lock, or it would hold it forever.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" \
          -w -t "$PG_START_TIMEOUT" start >/dev/null 2>&1 9>&-; then
      dump_log_tail
      die "PostgreSQL did not start (is port $PG_PORT already in use?)"
    fi
  fi

  local deadline=$((SECONDS + PG_START_TIMEOUT))
  until pg_answers; do
    ((SECONDS < deadline)) || { dump_log_tail; die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT"; }
    sleep 0.2
  done

  if [[ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]]; then
    psql_admin -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    log "created database $PG_DB"
  fi
}

cmd_start() {
  take_lock
  ensure_running
  url_for "$PG_DB"
}

cmd_stop() {
  take_lock
  if find_pg_bin && pg_running; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null
    log "stopped"
  else
    log "not running"
  fi
}

cmd_status() {
  if find_pg_bin && pg_running && pg_answers; then
    url_for "$PG_DB"
    return 0
  fi
  log "not running on 127.0.0.1:$PG_PORT"
  return 1
}

cmd_fresh_db() {
  local name="${1:-}"
  # Identifier rules kept strict so the name is safe to splice into SQL.
  [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] ||
    die "fresh-db needs a database name of letters, digits and _ (max 63), got '$name'"
  [[ "$name" != postgres && "$name" != template0 && "$name" != template1 ]] ||
    die "refusing to re-create the system database '$name'"
  take_lock
  ensure_running
  # WITH (FORCE) (PostgreSQL 13+) disconnects leftover sessions of a previous
  # test run instead of failing.
  psql_admin -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" -c "CREATE DATABASE \"$name\"" >/dev/null
  url_for "$name"
}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; }

cmd="${1:-}"
(($#)) && shift
case "$cmd" in
  start) resolve_data_dir; cmd_start ;;
  stop) resolve_data_dir; cmd_stop ;;
  status) resolve_data_dir; cmd_status ;;
  url) url_for "$PG_DB" ;;
  fresh-db) resolve_data_dir; cmd_fresh_db "$@" ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
