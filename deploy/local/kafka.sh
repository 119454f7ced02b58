#!/usr/bin/env bash
# One-node KRaft Kafka (broker + controller) on loopback from Maven Central jars.
# Usage: kafka.sh fetch|start|stop|status. Idempotent: start twice is harmless.
source "$(dirname "$0")/common.sh"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO_ROOT/deploy/local/pom.xml")"
LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
KDIR="$RUN_DIR/kafka"
PIDFILE="$KDIR/kafka.pid"
PORT="${YIDI_LOCAL_KAFKA_PORT:-39092}"
CONTROLLER_PORT="${YIDI_LOCAL_KAFKA_CONTROLLER_PORT:-39093}"

fetch() {
  if [[ -f "$LIBS/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null || die "Maven (mvn) is required to fetch the Kafka jars"
  command -v java >/dev/null || die "Java 17+ is required to run the Kafka broker"
  log "fetching Kafka $KAFKA_VERSION jars into $LIBS"
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  mvn -q -B -Dstyle.color=never -f "$REPO_ROOT/deploy/local/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$LIBS" -DincludeScope=runtime
  touch "$LIBS/.complete"
}

write_config() {
  mkdir -p "$KDIR/data" "$KDIR/logs"
  sed -e "s#@PORT@#$PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" -e "s#@DATA@#$KDIR/data#g" \
    "$REPO_ROOT/deploy/local/server.properties.in" > "$KDIR/server.properties"
}

storage_tool() {
  java -Dlog4j2.configurationFile="$REPO_ROOT/deploy/local/log4j2.properties" \
    -Dkafka.logs.dir="$KDIR/logs" -cp "$LIBS/*" kafka.tools.StorageTool "$@"
}

start() {
  if pid_alive "$PIDFILE"; then log "already running (pid $(cat "$PIDFILE"))"; return 0; fi
  port_open "$PORT" && die "port $PORT is taken by a process this script did not start"
  fetch
  write_config
  if [[ ! -f "$KDIR/data/meta.properties" ]]; then
    log "formatting storage in $KDIR/data"
    storage_tool format --standalone -t "$(storage_tool random-uuid)" \
      -c "$KDIR/server.properties" > "$KDIR/logs/format.log" 2>&1 || { cat "$KDIR/logs/format.log"; die "format failed"; }
  fi
  log "starting broker on 127.0.0.1:$PORT"
  nohup java -Xms256m -Xmx1g -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$REPO_ROOT/deploy/local/log4j2.properties" \
    -Dkafka.logs.dir="$KDIR/logs" -cp "$LIBS/*" kafka.Kafka "$KDIR/server.properties" \
    > "$KDIR/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  if ! wait_for 90 "kafka (pid $(cat "$PIDFILE"))" broker_ready; then
    tail -n 40 "$KDIR/logs/stdout.log" >&2; die "broker did not start within 90 s"
  fi
}

broker_ready() {
  pid_alive "$PIDFILE" || { tail -n 40 "$KDIR/logs/stdout.log" >&2; die "broker process exited"; }
  port_open "$PORT" && grep -q "Kafka Server started" "$KDIR/logs/stdout.log" "$KDIR/logs/server.log" 2>/dev/null
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop_pid "$PIDFILE" kafka ;;
  status) if pid_alive "$PIDFILE"; then echo "kafka running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; else echo "kafka stopped"; exit 3; fi ;;
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
