# Shared helpers for the local runtime scripts (sourced, not run).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="${YIDI_RUN_DIR:-$REPO_ROOT/.run}"
CACHE_DIR="${YIDI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/yidi}"
mkdir -p "$RUN_DIR"

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# pid_alive FILE: true when FILE holds the pid of a live process.
pid_alive() {
  [[ -f "$1" ]] || return 1
  local pid; pid="$(cat "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# port_open PORT: true when something accepts TCP on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds.
wait_for() {
  local secs="$1" what="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    (( SECONDS < deadline )) || return 1
    sleep 0.3
  done
  log "$what ready"
}

# stop_pid FILE NAME: TERM the recorded process, wait, KILL if it lingers.
stop_pid() {
  local file="$1" name="$2"
  if ! pid_alive "$file"; then
    log "$name not running"; rm -f "$file"; return 0
  fi
  local pid; pid="$(cat "$file")"
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in 20 s, killing"; kill -KILL "$pid"; fi
  rm -f "$file"
  log "$name stopped (pid $pid)"
}
