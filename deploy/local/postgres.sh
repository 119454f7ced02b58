#!/usr/bin/env bash
# A private PostgreSQL cluster on loopback with the project's database.
# Usage: postgres.sh start|stop|status. Idempotent: start twice is harmless.
# Uses Debian's postgresql server binaries (installed on demand when root).
source "$(dirname "$0")/common.sh"

PORT="${YIDI_LOCAL_PG_PORT:-55432}"
PGDIR="$RUN_DIR/pg"
PIDFILE="$PGDIR/postgres.pid"

find_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -z "$d" || ! -x "$d/initdb" ]]; then
    [[ "$(id -u)" == 0 ]] || die "PostgreSQL server binaries not found; install Debian's 'postgresql' package"
    log "installing Debian's postgresql package"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    d="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  echo "$d"
}

# PostgreSQL refuses to run as root: as root, the cluster runs as 'postgres'
# in a directory that user can reach (a clone may sit under a private tmp dir).
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The data directory belongs to this run directory (.run/), never to the clone's path: as root it
# lives outside the clone under a name drawn when .run/pg is first used and recorded there. A
# name derived from the clone's path let a fresh clone at the same path (CI) start on a previous
# clone's database: its stored sink positions ran ahead of the fresh broker's empty topics and
# the ledger waited for offsets that never came.
data_dir() {
  if [[ -f "$PGDIR/data_dir" ]]; then cat "$PGDIR/data_dir"; return 0; fi
  if [[ "$(id -u)" == 0 ]]; then
    local legacy; legacy="/var/tmp/yidi-pg-$(printf '%s' "$REPO_ROOT" | sha1sum | cut -c1-10)"
    # an earlier script's directory for this path, left by a clone whose .run/ is gone
    if [[ -d "$legacy" ]]; then log "removing $legacy (no .run/ of this clone refers to it)"; rm -rf "$legacy"; fi
    mktemp -d /var/tmp/yidi-pg-XXXXXXXXXX
  else
    echo "$PGDIR/data"
  fi
}

start() {
  mkdir -p "$PGDIR"
  if pid_alive "$PIDFILE"; then log "already running (pid $(cat "$PIDFILE"))"; ensure_roles; return 0; fi
  port_open "$PORT" && die "port $PORT is taken by a process this script did not start"
  local bin data; bin="$(find_bindir)"; data="$(data_dir)"
  echo "$data" > "$PGDIR/data_dir"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initialising cluster in $data"
    mkdir -p "$data"
    [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1 \
      || { cat "$PGDIR/initdb.log"; die "initdb failed"; }
  fi
  log "starting postgres on 127.0.0.1:$PORT"
  as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$data -c fsync=on -c max_connections=200 -c shared_buffers=1GB -c max_wal_size=4GB -c checkpoint_timeout=15min" start >/dev/null \
    || { tail -n 30 "$data/server.log" >&2; die "postgres did not start"; }
  head -n 1 "$data/postmaster.pid" > "$PIDFILE"
  wait_for 30 "postgres (pid $(cat "$PIDFILE"))" as_owner "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT"
  ensure_roles
}

# The owner role (yidi: owns the tables, runs migrations, is the ops role) may create the
# per-service roles; `yidi db migrate` creates those (yidi_ledger, ...) and their grants
# (services/runtime/db_roles.py). Local authentication is trust on 127.0.0.1: no passwords.
# Idempotent, and run on every start (also when already running) so an older cluster gets it.
ensure_roles() {
  local bin; bin="$(find_bindir)"
  as_owner "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAq -v ON_ERROR_STOP=1 <<SQL
SELECT 'CREATE ROLE yidi LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yidi') \gexec
ALTER ROLE yidi CREATEDB CREATEROLE;
SELECT 'CREATE DATABASE yidi OWNER yidi' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'yidi') \gexec
SQL
}

stop() {
  if pid_alive "$PIDFILE" && [[ -f "$PGDIR/data_dir" ]]; then
    local bin; bin="$(find_bindir)"
    as_owner "$bin/pg_ctl" -D "$(cat "$PGDIR/data_dir")" -m fast -w -t 60 stop >/dev/null || true
  fi
  stop_pid "$PIDFILE" postgres
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if pid_alive "$PIDFILE"; then echo "postgres running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; else echo "postgres stopped"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
