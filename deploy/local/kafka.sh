#!/usr/bin/env bash
# One-node KRaft Kafka (broker + controller) on loopback from Maven Central jars.
# Usage: kafka.sh fetch|secrets|start|stop|status. Idempotent: start twice is harmless.
# The three-node cluster (YIDI_BROKERS=3) is deploy/local/kafka-cluster.sh; it shares these secrets.
# Secured by default (SASL_SSL + SCRAM-SHA-512, StandardAuthorizer): docs/security.md, "Broker".
source "$(dirname "$0")/common.sh"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO_ROOT/deploy/local/pom.xml")"
LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
KDIR="$RUN_DIR/kafka"
PIDFILE="$KDIR/kafka.pid"
PORT="${YIDI_LOCAL_KAFKA_PORT:-39092}"
CONTROLLER_PORT="${YIDI_LOCAL_KAFKA_CONTROLLER_PORT:-39093}"
SECURITY="${YIDI_LOCAL_KAFKA_SECURITY:-sasl_ssl}"   # sasl_ssl (default) | off (benchmark comparison only)
SECRETS="${YIDI_KAFKA_SECRETS_DIR:-$KDIR/secrets}"
CREDENTIALS="$SECRETS/users.json"

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

# fetch-tools: Kafka's perf tools (kafka-tools and its runtime classpath) in a directory of
# their own, the broker's classpath untouched; prints the directory. `yidi bench pipeline`
# runs ProducerPerformance / ConsumerPerformance from it as the Java client's ceiling.
TOOLS="$CACHE_DIR/kafka-$KAFKA_VERSION/perf-tools"
fetch_tools() {
  if [[ ! -f "$TOOLS/.complete" ]]; then
    command -v mvn >/dev/null || die "Maven (mvn) is required to fetch Kafka's perf tools"
    log "fetching Kafka $KAFKA_VERSION perf tools into $TOOLS" >&2
    rm -rf "$TOOLS"; mkdir -p "$TOOLS"
    mvn -q -B -Dstyle.color=never -Dkafka.version="$KAFKA_VERSION" \
      -f "$REPO_ROOT/deploy/local/perf-tools-pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$TOOLS" -DincludeScope=runtime >&2
    touch "$TOOLS/.complete"
  fi
  echo "$TOOLS"
}

# secrets: a local CA, the broker's certificate (signed by it, naming 127.0.0.1 and localhost)
# in a PKCS12 keystore, and the admin's SCRAM password. Made once; every file 0600 under .run/.
secrets() {
  command -v openssl >/dev/null || die "openssl is required to make the local CA"
  (umask 077; mkdir -p "$SECRETS")
  chmod 700 "$SECRETS"
  local old_umask; old_umask="$(umask)"; umask 077
  if [[ ! -f "$SECRETS/ca.pem" ]]; then
    log "creating the local CA and the broker's certificate in $SECRETS"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=yidi local CA" \
      -keyout "$SECRETS/ca.key" -out "$SECRETS/ca.pem.tmp" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=yidi-broker" \
      -keyout "$SECRETS/broker.key" -out "$SECRETS/broker.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > "$SECRETS/broker.ext"
    openssl x509 -req -in "$SECRETS/broker.csr" -CA "$SECRETS/ca.pem.tmp" -CAkey "$SECRETS/ca.key" \
      -CAcreateserial -days 825 -extfile "$SECRETS/broker.ext" -out "$SECRETS/broker.pem" 2>/dev/null
    openssl rand -hex 24 > "$SECRETS/keystore.password"
    openssl pkcs12 -export -in "$SECRETS/broker.pem" -inkey "$SECRETS/broker.key" \
      -certfile "$SECRETS/ca.pem.tmp" -name broker -passout "file:$SECRETS/keystore.password" \
      -out "$SECRETS/broker.p12"
    rm -f "$SECRETS/broker.csr" "$SECRETS/broker.ext"
    mv "$SECRETS/ca.pem.tmp" "$SECRETS/ca.pem"   # last: its presence means the set is complete
  fi
  if [[ ! -f "$CREDENTIALS" ]]; then
    printf '{"admin": "%s"}\n' "$(openssl rand -hex 24)" > "$CREDENTIALS.tmp"
    mv "$CREDENTIALS.tmp" "$CREDENTIALS"
  fi
  umask "$old_umask"
  chmod 600 "$SECRETS"/* 2>/dev/null || true
  chmod 644 "$SECRETS/ca.pem"   # the CA certificate is public; its key is not
  ADMIN_PASSWORD="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$CREDENTIALS")"
  # the admin tooling's client config (Kafka's Java tools: kafka-acls, kafka-configs)
  (umask 077; cat > "$SECRETS/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$ADMIN_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$SECRETS/ca.pem
PROPS
  )
}

write_config() {
  mkdir -p "$KDIR/data" "$KDIR/logs"
  (umask 077
   sed -e "s#@PORT@#$PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" -e "s#@DATA@#$KDIR/data#g" \
     "$REPO_ROOT/deploy/local/server.properties.in" > "$KDIR/server.properties"
   if [[ "$SECURITY" == off ]]; then
     printf '%s\n' "listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT" \
       "advertised.listeners=PLAINTEXT://127.0.0.1:$PORT" "inter.broker.listener.name=PLAINTEXT" \
       "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT" >> "$KDIR/server.properties"
   else
     # the broker reaches its controller over the mutual-TLS controller listener as
     # User:CN=yidi-broker (its certificate): that principal is a super user, for the controller
     sed -e "s#@PORT@#$PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" -e "s#@SECRETS@#$SECRETS#g" \
       -e "s#@ADMIN_PASSWORD@#$ADMIN_PASSWORD#g" -e "s#@KEYSTORE_PASSWORD@#$(cat "$SECRETS/keystore.password")#g" \
       -e "s#@SUPER_USERS@#User:admin;User:CN=yidi-broker#g" \
       "$REPO_ROOT/deploy/local/security.properties.in" >> "$KDIR/server.properties"
   fi)
}

storage_tool() {
  java -Dlog4j2.configurationFile="$REPO_ROOT/deploy/local/log4j2.properties" \
    -Dkafka.logs.dir="$KDIR/logs" -cp "$LIBS/*" kafka.tools.StorageTool "$@"
}

start() {
  if pid_alive "$PIDFILE"; then log "already running (pid $(cat "$PIDFILE"))"; return 0; fi
  port_open "$PORT" && die "port $PORT is taken by a process this script did not start"
  fetch
  [[ "$SECURITY" == off ]] || secrets
  write_config
  if [[ -f "$KDIR/data/meta.properties" ]]; then
    [[ "$(cat "$KDIR/data/.yidi-security" 2>/dev/null || echo off)" == "$SECURITY" ]] ||
      die "storage in $KDIR/data was formatted with security $(cat "$KDIR/data/.yidi-security" 2>/dev/null || echo off), not $SECURITY: run \`make clean\` first"
  else
    log "formatting storage in $KDIR/data (security: $SECURITY)"
    local scram=()
    [[ "$SECURITY" == off ]] || scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=$ADMIN_PASSWORD]")
    storage_tool format --standalone -t "$(storage_tool random-uuid)" "${scram[@]}" \
      -c "$KDIR/server.properties" > "$KDIR/logs/format.log" 2>&1 || { cat "$KDIR/logs/format.log"; die "format failed"; }
    echo "$SECURITY" > "$KDIR/data/.yidi-security"
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
  fetch-tools) fetch_tools ;;
  secrets) secrets ;;
  start) start ;;
  stop) stop_pid "$PIDFILE" kafka ;;
  status) if pid_alive "$PIDFILE"; then echo "kafka running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; else echo "kafka stopped"; exit 3; fi ;;
  *) echo "usage: $0 fetch|fetch-tools|secrets|start|stop|status" >&2; exit 2 ;;
esac
