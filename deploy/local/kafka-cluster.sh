#!/usr/bin/env bash
# Three-node KRaft Kafka cluster on loopback from the same Maven Central jars as the single node
# (deploy/local/kafka.sh): `make up BROKERS=3` / YIDI_BROKERS=3. Each node is broker + controller
# with its own ports and data folder under .run/kafka-cluster/node<N>/, secured exactly as the
# single node (SASL_SSL + SCRAM-SHA-512 for clients and between brokers, mutual TLS on the
# controller listener, StandardAuthorizer), sharing its CA, certificate and passwords
# (.run/kafka/secrets), so every client config works unchanged but for the bootstrap list.
# Replication factor 3, min.insync.replicas=2, no unclean leader election (server-cluster.properties.in).
#
# Ports: brokers BASE, BASE+1, BASE+2, controllers BASE+10.. BASE+12, where BASE is
# YIDI_LOCAL_KAFKA_CLUSTER_PORT, else the single node's port + 10 (YIDI_LOCAL_KAFKA_PORT, else the
# port of a loopback YIDI_KAFKA_BOOTSTRAP such as /work/tools/stack.sh exports, else 39092),
# moved 10000 down when that lies in Linux's ephemeral range (ip_local_port_range, 32768-60999
# here): 39102 becomes 29102. A node killed and restarted must bind its ports again, and a port
# in the ephemeral range can meanwhile be the local end of any client's outgoing connection
# (a worker's, another broker's); the restart then failed with "Address already in use" and
# was retried every few seconds (seen in the broker-fault tests: twice in one run, ~40 s each
# on a loaded box). Recorded at first start, so later commands find the same cluster.
#
# Usage: kafka-cluster.sh start|stop|status|bootstrap|pid N|start-node N
#   start       start every node not running (idempotent: also restarts a killed node)
#   stop        stop the nodes this script started (by recorded pid)
#   bootstrap   print the bootstrap list (all three brokers)
#   pid N       print node N's pid (the broker-fault tests kill -9 it)
source "$(dirname "$0")/common.sh"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO_ROOT/deploy/local/pom.xml")"
LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
CDIR="$RUN_DIR/kafka-cluster"
SECRETS="${YIDI_KAFKA_SECRETS_DIR:-$RUN_DIR/kafka/secrets}"
NODES=(1 2 3)
HEAP="${YIDI_LOCAL_KAFKA_CLUSTER_HEAP:-768m}"
declare -A BIND_RETRIES=()

base_port() {
  if [[ -n "${YIDI_LOCAL_KAFKA_CLUSTER_PORT:-}" ]]; then echo "$YIDI_LOCAL_KAFKA_CLUSTER_PORT"; return; fi
  if [[ -f "$CDIR/base-port" ]]; then cat "$CDIR/base-port"; return; fi
  local single="${YIDI_LOCAL_KAFKA_PORT:-}"
  if [[ -z "$single" && "${YIDI_KAFKA_BOOTSTRAP:-}" =~ ^127\.0\.0\.1:([0-9]+)$ ]]; then single="${BASH_REMATCH[1]}"; fi
  local base=$(( ${single:-39092} + 10 )) lo hi
  read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || { lo=32768; hi=60999; }
  if (( base + 12 >= lo && base <= hi && base - 10000 + 12 < lo && base - 10000 > 1024 )); then
    base=$(( base - 10000 ))
  fi
  echo "$base"
}
BASE="$(base_port)"
broker_port() { echo $(( BASE + $1 - 1 )); }
controller_port() { echo $(( BASE + 10 + $1 - 1 )); }
ndir() { echo "$CDIR/node$1"; }
pidfile() { echo "$(ndir "$1")/kafka.pid"; }

bootstrap() {
  local out=() n
  for n in "${NODES[@]}"; do out+=("127.0.0.1:$(broker_port "$n")"); done
  (IFS=,; echo "${out[*]}")
}

voters() {
  local out=() n
  for n in "${NODES[@]}"; do out+=("$n@127.0.0.1:$(controller_port "$n")"); done
  (IFS=,; echo "${out[*]}")
}

write_config() {
  local n="$1" d; d="$(ndir "$n")"
  mkdir -p "$d/data" "$d/logs"
  local admin_password; admin_password="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$SECRETS/users.json")"
  (umask 077
   sed -e "s#@NODE_ID@#$n#g" -e "s#@VOTERS@#$(voters)#g" -e "s#@DATA@#$d/data#g" \
     "$REPO_ROOT/deploy/local/server-cluster.properties.in" > "$d/server.properties"
   sed -e "s#@PORT@#$(broker_port "$n")#g" -e "s#@CONTROLLER_PORT@#$(controller_port "$n")#g" \
     -e "s#@SECRETS@#$SECRETS#g" -e "s#@ADMIN_PASSWORD@#$admin_password#g" \
     -e "s#@KEYSTORE_PASSWORD@#$(cat "$SECRETS/keystore.password")#g" \
     -e "s#@SUPER_USERS@#User:admin;User:CN=yidi-broker#g" \
     "$REPO_ROOT/deploy/local/security.properties.in" >> "$d/server.properties")
}

storage_tool() {
  local n="$1"; shift
  java -Dlog4j2.configurationFile="$REPO_ROOT/deploy/local/log4j2.properties" \
    -Dkafka.logs.dir="$(ndir "$n")/logs" -cp "$LIBS/*" kafka.tools.StorageTool "$@"
}

format_all() {
  # one cluster id for the three nodes; the admin's SCRAM credential in each node's bootstrap
  # metadata (whichever controller becomes active writes it)
  local id n admin_password
  id="$(storage_tool 1 random-uuid)"
  admin_password="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$SECRETS/users.json")"
  for n in "${NODES[@]}"; do
    local d; d="$(ndir "$n")"
    log "formatting node $n storage in $d/data"
    storage_tool "$n" format -t "$id" --add-scram "SCRAM-SHA-512=[name=admin,password=$admin_password]" \
      -c "$d/server.properties" > "$d/logs/format.log" 2>&1 || { cat "$d/logs/format.log"; die "format of node $n failed"; }
  done
  echo "$id" > "$CDIR/cluster-id"
}

start_node() {
  local n="$1" d; d="$(ndir "$n")"
  if pid_alive "$(pidfile "$n")"; then return 0; fi
  port_open "$(broker_port "$n")" && die "port $(broker_port "$n") is taken by a process this script did not start"
  write_config "$n"
  log "starting node $n on 127.0.0.1:$(broker_port "$n") (controller $(controller_port "$n"))"
  # where this start's lines begin in server.log (its "started" line is INFO, logged there only)
  stat -c %s "$d/logs/server.log" 2>/dev/null > "$d/start-offset" || echo 0 > "$d/start-offset"
  nohup java "-Xms256m" "-Xmx$HEAP" -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$REPO_ROOT/deploy/local/log4j2.properties" \
    -Dkafka.logs.dir="$d/logs" -cp "$LIBS/*" kafka.Kafka "$d/server.properties" \
    > "$d/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$(pidfile "$n")"
}

node_ready() {
  local n="$1" d; d="$(ndir "$n")"
  if ! pid_alive "$(pidfile "$n")"; then
    # a port still held: the sockets a killed node leaves behind linger (FIN_WAIT, up to
    # tcp_fin_timeout), and the ports lie in Linux's ephemeral range, so a client's outgoing
    # connection can hold one for a moment; try again, for up to about two minutes
    if grep -q "Address already in use" "$d/logs/stdout.log" && (( ${BIND_RETRIES[$n]:-0} < 40 )); then
      BIND_RETRIES[$n]=$(( ${BIND_RETRIES[$n]:-0} + 1 ))
      log "node $n: a port is still held, starting it again (attempt ${BIND_RETRIES[$n]})"; sleep 3
      start_node "$n"; return 1
    fi
    tail -n 40 "$d/logs/stdout.log" >&2; die "node $n exited"
  fi
  # grep -c reads to the end: grep -q would quit early and fail the pipe (pipefail, SIGPIPE)
  port_open "$(broker_port "$n")" &&
    (( $(tail -c +"$(( $(cat "$d/start-offset" 2>/dev/null || echo 0) + 1 ))" "$d/logs/server.log" 2>/dev/null |
         grep -c "Kafka Server started" || true) > 0 ))
}

all_ready() { local n ready=0; for n in "${NODES[@]}"; do node_ready "$n" || ready=1; done; return "$ready"; }

start() {
  "$REPO_ROOT/deploy/local/kafka.sh" fetch
  "$REPO_ROOT/deploy/local/kafka.sh" secrets
  mkdir -p "$CDIR"
  [[ -f "$CDIR/base-port" ]] || echo "$BASE" > "$CDIR/base-port"
  local n
  for n in "${NODES[@]}"; do mkdir -p "$(ndir "$n")/logs"; write_config "$n"; done
  [[ -f "$CDIR/cluster-id" ]] || format_all
  # all at once: a node waits for a quorum of controllers before it serves
  for n in "${NODES[@]}"; do start_node "$n"; done
  if ! wait_for 300 "kafka cluster $(bootstrap)" all_ready; then
    for n in "${NODES[@]}"; do tail -n 20 "$(ndir "$n")/logs/stdout.log" >&2; done
    die "the cluster did not start within 300 s"
  fi
}

stop() {
  # all at once: one after the other, each node's controlled shutdown waited for its leaders
  # to move to nodes about to stop too (35 s for three, against one node's time at once)
  local n
  for n in "${NODES[@]}"; do stop_pid "$(pidfile "$n")" "kafka node $n" & done
  wait
}

status() {
  local n down=0
  for n in "${NODES[@]}"; do
    if pid_alive "$(pidfile "$n")"; then echo "kafka node $n running (pid $(cat "$(pidfile "$n")")) on 127.0.0.1:$(broker_port "$n")"
    else echo "kafka node $n stopped"; down=1; fi
  done
  return "$down"
}

case "${1:-}" in
  start) start ;;
  start-node) start_node "${2:?node}"; wait_for 300 "kafka node $2" node_ready "$2" || die "node $2 did not start" ;;
  stop) stop ;;
  status) status || exit 3 ;;
  bootstrap) bootstrap ;;
  pid) pid_alive "$(pidfile "${2:?node}")" && cat "$(pidfile "$2")" ;;
  *) echo "usage: $0 start|stop|status|bootstrap|pid N|start-node N" >&2; exit 2 ;;
esac
