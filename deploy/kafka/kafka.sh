#!/usr/bin/env bash
# Local Apache Kafka (KRaft, each node broker+controller in one JVM) for
# development and tests, run straight from Maven Central jars: no Docker, no
# tarball download, only Java 17+, Maven and openssl. One node by default;
# KAFKA_BROKERS=3 makes a three-node cluster on this machine (three voters,
# replication 3, min.insync.replicas 2), as a real deployment runs it.
#
# Secured like a real cluster (docs/kafka-security.md):
#   client listener     SASL_SSL, SCRAM-SHA-512, TLS from a local CA made here
#   inter-broker        SASL_SSL, SCRAM-SHA-512 as songtor-broker (own port)
#   controller          SASL_PLAINTEXT, PLAIN as songtor-controller, loopback only
#                       (KRaft controllers cannot use SCRAM: its credentials live in
#                       the metadata the controller serves)
#   StandardAuthorizer, allow.everyone.if.no.acl.found=false, no auto-created topics.
# The broker knows only its super users (songtor-admin, -broker, -controller); the
# topics, the other principals and their ACLs are laid down by the set-up:
#   python -m shared.kafka.provision (see `provision` below).
#
# Usage (from anywhere):
#   deploy/kafka/kafka.sh fetch       download jars into deploy/kafka/.libs (skipped when up to date)
#   deploy/kafka/kafka.sh start       fetch, make the CA and secrets, format storage (first time),
#                                     start every node not running, wait until each answers; prints
#                                     the bootstrap addresses (127.0.0.1:PORT[,...]) on stdout.
#                                     Everything running: no-op (so it also restarts a killed node).
#   deploy/kafka/kafka.sh status      exit 0 and print the bootstrap addresses if every node answers
#   deploy/kafka/kafka.sh stop        SIGTERM, wait up to 30 s, then SIGKILL (every node)
#   deploy/kafka/kafka.sh nodes       one line per node: node id, client port, pid (- if not running)
#   deploy/kafka/kafka.sh reset       stop and delete the data dir (secrets and CA included)
#   deploy/kafka/kafka.sh certs DIR HOST   a CA and a broker keystore for host HOST in DIR
#                                     (docker-compose; KAFKA_KEYSTORE_PASSWORD sets its password)
#
# Files in the data dir a client needs:
#   tls/ca.pem                         the CA to trust (KAFKA_SSL_CAFILE)
#   secrets/<principal>.password       one password per principal, mode 0600; kafka.sh writes
#                                      the super users', the set-up writes the others'
#   admin.properties                   Kafka CLI tools' client config as songtor-admin
#
# Environment (all optional):
#   KAFKA_BROKERS=1                       nodes: 1, or 3 for a replicated cluster (a data dir keeps
#                                         the count it was formatted with; `reset` to change it)
#   KAFKA_PORT=9092                       client listener of node 1, 127.0.0.1 only; node N listens
#                                         on KAFKA_PORT+3(N-1) (client), +1 (controller), +2 (broker)
#   KAFKA_CONTROLLER_PORT=KAFKA_PORT+1    KRaft controller listener (one node only)
#   KAFKA_BROKER_PORT=KAFKA_PORT+2        inter-broker listener (one node only)
#   KAFKA_PARTITIONS=3                    num.partitions (topics themselves come from the set-up)
#   KAFKA_DATA_DIR=<repo>/.data/kafka     data, server.log, kafka.pid, generated server.properties
#                                         (a cluster: one node-N/ folder each; CA and secrets shared)
#   KAFKA_HEAP=512m                       broker -Xmx (per node; 384m when there are 3)
#   KAFKA_START_TIMEOUT=60                seconds to wait for the broker to answer
#   JAVA_HOME / JAVA                      which java to use (default: java on PATH)
#
# Only stdout carries results (the bootstrap address, status); progress and
# errors go to stderr, so `BOOTSTRAP=$(deploy/kafka/kafka.sh start)` works.
# Passwords are never printed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
LIBS="$HERE/.libs"
# Holds the sha256 of pom.xml the jars were fetched for; written last, so its
# presence also means the previous fetch finished.
STAMP="$LIBS/.pom.sha256"

KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$REPO_ROOT/.data/kafka}"
# Kafka itself is started with cwd = data dir, so keep every path absolute.
case "$KAFKA_DATA_DIR" in /*) ;; *) KAFKA_DATA_DIR="$PWD/$KAFKA_DATA_DIR" ;; esac
KAFKA_DATA_DIR="${KAFKA_DATA_DIR%/}"
# Where the formatted node count is kept: a data dir never changes shape under a running cluster.
SHAPE_FILE="$KAFKA_DATA_DIR/.brokers"
# Unset, the count is the data dir's own, so `stop` and `status` need not be told.
KAFKA_BROKERS="${KAFKA_BROKERS:-$(cat "$SHAPE_FILE" 2>/dev/null || echo 1)}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
if [[ "$KAFKA_BROKERS" != 1 && ( -n "${KAFKA_CONTROLLER_PORT:-}" || -n "${KAFKA_BROKER_PORT:-}" ) ]]; then
  echo "kafka.sh: error: KAFKA_CONTROLLER_PORT and KAFKA_BROKER_PORT are for one node; a cluster's ports follow KAFKA_PORT" >&2
  exit 1
fi
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_BROKER_PORT="${KAFKA_BROKER_PORT:-$((KAFKA_PORT + 2))}"
KAFKA_PARTITIONS="${KAFKA_PARTITIONS:-3}"
if [[ "$KAFKA_BROKERS" == 1 ]]; then KAFKA_HEAP="${KAFKA_HEAP:-512m}"; else KAFKA_HEAP="${KAFKA_HEAP:-384m}"; fi
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"

# Every node's client address: what clients bootstrap from.
BOOTSTRAP_ALL="$(for ((n = 1; n <= KAFKA_BROKERS; n++)); do printf '%s127.0.0.1:%d' "$([[ $n == 1 ]] || echo ,)" $((KAFKA_PORT + 3 * (n - 1))); done)"
CLUSTER_ID_FILE="$KAFKA_DATA_DIR/cluster.id"

# The node the functions below act on (select_node N sets these). One node keeps the layout of
# before clusters (its files straight in the data dir); a cluster's node N lives in node-N/.
select_node() {
  NODE="$1"
  if [[ "$KAFKA_BROKERS" == 1 ]]; then
    NODE_DIR="$KAFKA_DATA_DIR" NODE_PORT="$KAFKA_PORT"
    NODE_CONTROLLER_PORT="$KAFKA_CONTROLLER_PORT" NODE_BROKER_PORT="$KAFKA_BROKER_PORT"
  else
    NODE_DIR="$KAFKA_DATA_DIR/node-$NODE" NODE_PORT=$((KAFKA_PORT + 3 * (NODE - 1)))
    NODE_CONTROLLER_PORT=$((NODE_PORT + 1)) NODE_BROKER_PORT=$((NODE_PORT + 2))
  fi
  BOOTSTRAP="127.0.0.1:$NODE_PORT"
  PROPS="$NODE_DIR/server.properties"
  LOG_FILE="$NODE_DIR/server.log"
  PID_FILE="$NODE_DIR/kafka.pid"
  LOG_DIRS="$NODE_DIR/logs"   # Kafka's "log.dirs": partitions + KRaft metadata
}
select_node 1
# Marks a data dir as ours, so `reset` never rm -rf's a directory someone
# pointed KAFKA_DATA_DIR at by mistake.
MARKER="$KAFKA_DATA_DIR/.songtor-kafka"
TLS_DIR="$KAFKA_DATA_DIR/tls"
SECRETS_DIR="$KAFKA_DATA_DIR/secrets"
ADMIN_PROPS="$KAFKA_DATA_DIR/admin.properties"
# The super users: the set-up (admin), the broker to itself, the broker to its controller.
SUPER_USERS=(songtor-admin songtor-broker songtor-controller)

if [[ -n "${JAVA:-}" ]]; then :
elif [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"
else JAVA=java
fi

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

for v in KAFKA_BROKERS KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_BROKER_PORT KAFKA_PARTITIONS KAFKA_START_TIMEOUT; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done

# ---------------------------------------------------------------- jars ----

pom_hash() { sha256sum "$HERE/pom.xml" | cut -d' ' -f1; }
jars_ready() { [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(pom_hash)" ]]; }

require_java() {
  command -v "$JAVA" >/dev/null || die "java not found (Kafka 4 needs Java 17+; apt-get install openjdk-17-jre-headless)"
  local spec
  spec="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
  [[ "$spec" =~ ^[0-9]+$ && "$spec" -ge 17 ]] || die "Kafka 4 needs Java 17+, '$JAVA' is '${spec:-unknown}'"
}

fetch() {
  jars_ready && return 0
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  log "fetching Kafka jars from Maven Central into $LIBS (only when pom.xml changed) ..."
  # Copy into a temp dir and swap it in at the end: an interrupted or failed
  # fetch never leaves a half-filled .libs, and a version bump never mixes
  # old and new jars on one classpath.
  local tmp="$HERE/.libs.tmp.$$"
  rm -rf "$tmp"
  # Maven's output is only shown when it fails.
  local out
  if ! out="$(mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies \
                -Dsongtor.libs.dir="$tmp" 2>&1)"; then
    echo "$out" >&2
    rm -rf "$tmp"
    die "maven could not fetch the Kafka jars (see output above)"
  fi
  pom_hash >"$tmp/.pom.sha256"
  # Another kafka.sh (other data dir) may have fetched concurrently.
  if jars_ready; then
    rm -rf "$tmp"
    return 0
  fi
  rm -rf "$LIBS"
  # -T: fail instead of moving tmp *into* a .libs someone just created.
  if ! mv -T "$tmp" "$LIBS" 2>/dev/null; then
    rm -rf "$tmp"
    jars_ready || die "could not install jars into $LIBS"
  fi
}

# Short-lived Kafka CLI tool. Serial GC + C1 only: these JVMs live ~1-2 s,
# so startup time is all that matters. Logging: warnings only, to stderr.
kafka_tool() {
  "$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/tools-log4j2.properties" \
    -cp "$LIBS/*" "$@"
}

# TopicCommand as songtor-admin with short client timeouts (admin.properties), so
# a dead broker makes it fail in seconds instead of the 60 s AdminClient default.
topic_cmd() {
  kafka_tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_PROPS" "$@"
}

# ------------------------------------------------------------- process ----

# Alive and not a zombie: the broker is not our child once this script has
# exited, and if PID 1 in a container doesn't reap, a dead broker lingers as
# a zombie that `kill -0` still reports as present.
alive() {
  local stat
  stat="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n "$stat" && "$stat" != Z* ]]
}

# Pids of live brokers for this data dir, found by command line rather than
# only trusting the pid file: survives a deleted pid file, ignores pid reuse,
# and lets `stop` catch a broker whose start was aborted half-way. (The
# pattern goes through the environment: passed as an argument, it would
# appear in awk's own command line and match itself.)
broker_pids() {
  ps -ww -eo pid=,stat=,args= |
    BROKER_CMD="kafka.Kafka $PROPS" awk '
      BEGIN { want = ENVIRON["BROKER_CMD"]; if (want == "") exit 1 }
      $1 > 1 && $2 !~ /^Z/ && $3 ~ /java$/ && index($0, want) { print $1 }'
}

# Prints the pid of the running broker for this data dir (and keeps the pid
# file in step with it).
running_pid() {
  local pid
  pid="$(broker_pids | head -n 1)"
  [[ -n "$pid" ]] || return 1
  if [[ -d "$KAFKA_DATA_DIR" && "$(cat "$PID_FILE" 2>/dev/null)" != "$pid" ]]; then
    echo "$pid" >"$PID_FILE"
  fi
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A TCP accept only means the socket is bound; a metadata round trip (list
# topics) means the broker has joined the KRaft quorum and serves clients.
broker_answers() { port_open "$NODE_PORT" && topic_cmd --list >/dev/null 2>&1; }

# The port this data dir's broker was configured with, from its server.properties.
configured_port() { sed -n 's#^listeners=CLIENT://127\.0\.0\.1:\([0-9]*\),.*#\1#p' "$PROPS" 2>/dev/null; }

# Last lines written since the most recent start (kafka.sh writes a "===="
# marker line into server.log before each start).
dump_log_tail() {
  log "last lines of $LOG_FILE since this start:"
  awk '/^==== .* kafka\.sh start ====$/ { n = 0 } { buf[n++ % 40] = $0 }
       END { for (i = (n > 40 ? n - 40 : 0); i < n; i++) print buf[i % 40] }' \
    "$LOG_FILE" >&2 2>/dev/null || true
}

kill_and_wait() {  # pid [TERM|KILL]
  local pid="$1" sig="${2:-TERM}" i
  kill -"$sig" "$pid" 2>/dev/null || true
  # A clean KRaft shutdown (flush, close logs) takes a few seconds.
  for ((i = 0; i < 300; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "broker (pid $pid) still running after 30 s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  die "could not kill broker pid $pid"
}

# Stops every broker process for this data dir (normally exactly one).
stop_all_brokers() {  # [TERM|KILL]
  local pid
  for pid in $(broker_pids); do
    log "stopping broker (pid $pid)"
    kill_and_wait "$pid" "${1:-TERM}"
  done
  rm -f "$PID_FILE"
}

wait_until_ready() {  # pid [kill-on-timeout]
  local pid="$1" kill_on_timeout="${2:-}" deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  # Cheap TCP polling first, then real metadata calls (each one is a JVM).
  until port_open "$NODE_PORT"; do
    alive "$pid" || { dump_log_tail; die "broker exited during startup"; }
    ((SECONDS < deadline)) || break
    sleep 0.2
  done
  while ((SECONDS < deadline)); do
    topic_cmd --list >/dev/null 2>&1 && return 0
    alive "$pid" || { dump_log_tail; die "broker exited during startup"; }
    sleep 0.5
  done
  dump_log_tail
  if [[ -n "$kill_on_timeout" ]]; then
    # Don't leave a broker we just launched behind, half-started, holding the
    # ports and the data dir; it serves no one, so no graceful stop needed.
    stop_all_brokers KILL
    die "broker did not answer on $BOOTSTRAP within ${KAFKA_START_TIMEOUT}s (killed it)"
  fi
  die "broker (pid $pid) is running but did not answer on $BOOTSTRAP within ${KAFKA_START_TIMEOUT}s"
}

# ------------------------------------------------------------- config -----

# ------------------------------------------------------- secrets, TLS -----

secret_file() { echo "$SECRETS_DIR/$1.password"; }

# A random password per super user, made once per data dir (hex: safe inside the
# JAAS strings of server.properties). The set-up makes the other principals'.
ensure_secrets() {
  mkdir -p "$SECRETS_DIR"
  chmod 700 "$SECRETS_DIR"
  local user file
  for user in "${SUPER_USERS[@]}"; do
    file="$(secret_file "$user")"
    [[ -s "$file" ]] && continue
    (umask 077; openssl rand -hex 24 >"$file")
  done
}

secret() { tr -d '\n' <"$(secret_file "$1")"; }

# A CA of this data dir alone and a broker certificate it signs (SAN 127.0.0.1 and
# localhost), so clients verify the broker instead of trusting any TLS peer. The
# CA's key is deleted once it has signed: it can sign nothing else.
make_tls_material() (
  cd "$TLS_DIR" || exit 1
  umask 077
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.pem \
    -subj "/CN=Songtor local Kafka CA $(basename "$KAFKA_DATA_DIR")" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" || exit 1
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout broker.key -out broker.csr -subj "/CN=localhost" || exit 1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
    "${EXTRA_SAN:+,DNS:$EXTRA_SAN}" >broker.ext
  openssl x509 -req -sha256 -days 825 -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -extfile broker.ext -out broker.pem || exit 1
  if [[ -n "${KAFKA_KEYSTORE_PASSWORD:-}" ]]; then
    printf '%s\n' "$KAFKA_KEYSTORE_PASSWORD" >keystore.password
  else
    openssl rand -hex 24 >keystore.password || exit 1
  fi
  openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
    -out broker.p12 -passout "file:keystore.password" || exit 1
  rm -f ca.key ca.srl broker.key broker.csr broker.ext
  chmod 644 ca.pem
)

ensure_tls() {
  [[ -s "$TLS_DIR/broker.p12" && -s "$TLS_DIR/ca.pem" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
  log "making a local CA and the broker's certificate in $TLS_DIR"
  rm -rf "$TLS_DIR"
  mkdir -p "$TLS_DIR"
  chmod 700 "$TLS_DIR"
  # errexit does not hold inside a tested command, so every step checks itself.
  local out
  if ! out="$(make_tls_material 2>&1)"; then
    echo "$out" >&2
    die "could not make the TLS material in $TLS_DIR"
  fi
}

# Client config of the Kafka CLI tools, as songtor-admin (mode 0600: it holds the password).
write_admin_properties() {
  (umask 077; cat >"$ADMIN_PROPS" <<EOF
# Generated by deploy/kafka/kafka.sh: the Kafka CLI tools as songtor-admin.
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="songtor-admin" password="$(secret songtor-admin)";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
# Short timeouts so that probing a broker that is down or still starting fails
# within seconds (kafka.sh retries) instead of after the 60 s default.
request.timeout.ms=5000
default.api.timeout.ms=8000
EOF
  )
}

# ------------------------------------------------------------- config -----

# One node is its own quorum (formatted --standalone, dynamic quorum). A cluster's nodes are
# all voters, listed statically: the quorum is fixed at format time, as on a real deployment.
quorum_properties() {
  if [[ "$KAFKA_BROKERS" == 1 ]]; then
    echo "controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT"
    return
  fi
  local voters="" n
  for ((n = 1; n <= KAFKA_BROKERS; n++)); do
    voters+="${voters:+,}$n@127.0.0.1:$((KAFKA_PORT + 3 * (n - 1) + 1))"
  done
  echo "controller.quorum.voters=$voters"
}

# The broker's own topics follow the cluster's size: with three nodes, every write to them is on
# two before it counts, as the project's topics are (shared/kafka/topology.py sets theirs).
replication_properties() {
  local factor=$((KAFKA_BROKERS < 3 ? KAFKA_BROKERS : 3)) isr
  isr=$((factor > 1 ? factor - 1 : 1))
  cat <<EOF
# Replication of the broker's internal topics (__consumer_offsets, __transaction_state,
# __share_group_state) and of any topic created without a factor: $factor replicas, $isr in sync.
# One node: every factor must be 1, or the internal topics can't be created and consumer groups /
# idempotent producers hang.
default.replication.factor=$factor
min.insync.replicas=$isr
offsets.topic.replication.factor=$factor
transaction.state.log.replication.factor=$factor
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$factor
share.coordinator.state.topic.min.isr=$isr
EOF
}

# Regenerated on every start, so env changes (partitions, ports) take effect.
# Mode 0600: it holds the broker's and controller's passwords.
write_server_properties() {
  local controller_pw
  controller_pw="$(secret songtor-controller)"
  (umask 077; cat >"$PROPS" <<EOF
# Generated by deploy/kafka/kafka.sh on every start -- edit the script, not this file.
# KRaft node $NODE of $KAFKA_BROKERS, broker and controller in one, local development and tests.
process.roles=broker,controller
node.id=$NODE
$(quorum_properties)
controller.listener.names=CONTROLLER
listeners=CLIENT://127.0.0.1:$NODE_PORT,BROKER://127.0.0.1:$NODE_BROKER_PORT,CONTROLLER://127.0.0.1:$NODE_CONTROLLER_PORT
advertised.listeners=CLIENT://127.0.0.1:$NODE_PORT,BROKER://127.0.0.1:$NODE_BROKER_PORT,CONTROLLER://127.0.0.1:$NODE_CONTROLLER_PORT
inter.broker.listener.name=BROKER
listener.security.protocol.map=CLIENT:SASL_SSL,BROKER:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
log.dirs=$LOG_DIRS

# Authentication. Clients and the broker itself: SCRAM-SHA-512 over TLS.
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.broker.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="songtor-broker" password="$(secret songtor-broker)";
# The controller listener: PLAIN (SCRAM credentials are metadata the controller itself serves),
# bound to the loopback interface only.
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="songtor-controller" password="$controller_pw" user_songtor-controller="$controller_pw";
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/broker.p12
ssl.keystore.password=$(tr -d '\n' <"$TLS_DIR/keystore.password")
ssl.key.password=$(tr -d '\n' <"$TLS_DIR/keystore.password")
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem

# Authorization: nothing is allowed that an ACL does not allow.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:songtor-admin;User:songtor-broker;User:songtor-controller

# Topics come from the set-up's declaration (shared/kafka/topology.py), never from a client.
auto.create.topics.enable=false
num.partitions=$KAFKA_PARTITIONS

$(replication_properties)
# A replica that fell out of sync never becomes leader: that would silently drop the writes it
# missed (Kafka's default too, stated because durability depends on it).
unclean.leader.election.enable=false

# Tests start consumers and expect them to get partitions immediately,
# not after the default 3 s wait for more group members.
group.initial.rebalance.delay.ms=0
EOF
  )
}

# Format once per data dir: --standalone makes this node the sole KRaft
# voter; the cluster id is random (one per data dir, kept across restarts).
format_storage_if_needed() {
  if [[ -f "$LOG_DIRS/meta.properties" && ! -e "$KAFKA_DATA_DIR/.secured" ]]; then
    # Formatted by a kafka.sh from before authentication: its metadata has no SCRAM
    # users, so no one could log in. Local data only; start it afresh.
    log "$LOG_DIRS predates authentication: deleting it and formatting afresh"
    rm -rf "$LOG_DIRS"
  fi
  [[ -f "$LOG_DIRS/meta.properties" ]] && return 0
  # Every node of a cluster is formatted with the same id, made once for the data dir.
  [[ -s "$CLUSTER_ID_FILE" ]] || kafka_tool kafka.tools.StorageTool random-uuid >"$CLUSTER_ID_FILE"
  local cluster_id quorum=()
  cluster_id="$(tr -d '\n' <"$CLUSTER_ID_FILE")"
  [[ "$KAFKA_BROKERS" == 1 ]] && quorum=(--standalone)
  log "formatting $LOG_DIRS (cluster id $cluster_id)"
  local out
  # The SCRAM credentials of the admin and the broker must exist before the broker
  # can authenticate anyone, itself included: they go into the first metadata.
  if ! out="$(kafka_tool kafka.tools.StorageTool format "${quorum[@]}" --ignore-formatted \
                -t "$cluster_id" -c "$PROPS" \
                --add-scram "SCRAM-SHA-512=[name=songtor-admin,password=$(secret songtor-admin)]" \
                --add-scram "SCRAM-SHA-512=[name=songtor-broker,password=$(secret songtor-broker)]" 2>&1)"; then
    echo "$out" >&2
    die "formatting $LOG_DIRS failed"
  fi
  touch "$KAFKA_DATA_DIR/.secured"
}

# A data dir keeps the node count it was formatted with: a node added or dropped by a changed
# KAFKA_BROKERS would not be a voter of the quorum the others know.
check_shape() {
  local formatted
  if [[ -s "$SHAPE_FILE" ]]; then
    formatted="$(cat "$SHAPE_FILE")"
  elif [[ -f "$KAFKA_DATA_DIR/logs/meta.properties" ]]; then
    formatted=1  # formatted before clusters existed
  else
    echo "$KAFKA_BROKERS" >"$SHAPE_FILE"
    return 0
  fi
  [[ "$formatted" == "$KAFKA_BROKERS" ]] ||
    die "$KAFKA_DATA_DIR holds a $formatted-node cluster, not $KAFKA_BROKERS (KAFKA_BROKERS); set KAFKA_BROKERS=$formatted, or 'kafka.sh reset' it first"
  [[ -s "$SHAPE_FILE" ]] || echo "$formatted" >"$SHAPE_FILE"
}

# ----------------------------------------------------------- commands -----

# start/stop/reset take an exclusive lock, so that e.g. several pytest-xdist
# workers calling `start` at once get one broker rather than a race in which
# the losers' JVMs die on Kafka's data-dir lock. The lock file sits next to
# the data dir because `reset` deletes the data dir itself.
take_lock() {
  mkdir -p "$(dirname "$KAFKA_DATA_DIR")"
  exec 9>>"$KAFKA_DATA_DIR.lock"
  flock -w 180 9 || die "timed out waiting for another kafka.sh on $KAFKA_DATA_DIR"
}

cmd_fetch() { fetch; }

cmd_start() {
  (($# == 0)) || die "start: unknown argument '$1' (topics come from python -m shared.kafka.provision)"
  require_java
  fetch
  mkdir -p "$KAFKA_DATA_DIR"
  if [[ ! -e "$MARKER" && -n "$(ls -A "$KAFKA_DATA_DIR")" ]]; then
    die "$KAFKA_DATA_DIR is not empty and was not created by kafka.sh; refusing to use it"
  fi
  touch "$MARKER"
  check_shape
  ensure_secrets
  ensure_tls
  write_admin_properties

  # Every node not running is launched first, then each is waited for: a cluster's quorum needs a
  # majority of its voters up before any of them answers.
  local n pid launched=()
  for ((n = 1; n <= KAFKA_BROKERS; n++)); do
    select_node "$n"
    if pid="$(running_pid)"; then
      local port
      port="$(configured_port)"
      [[ "$port" == "$NODE_PORT" ]] ||
        die "node $n for $KAFKA_DATA_DIR is already running on port ${port:-?}, not $NODE_PORT; stop it first"
    else
      launch_node
      launched+=("$n")
    fi
  done
  for ((n = 1; n <= KAFKA_BROKERS; n++)); do
    select_node "$n"
    pid="$(running_pid)" || { dump_log_tail; die "node $n exited during startup"; }
    # Might have been started a moment ago by a concurrent caller: wait for it either way.
    if [[ " ${launched[*]} " == *" $n "* ]]; then
      wait_until_ready "$pid" kill-on-timeout
      log "node $n started on $BOOTSTRAP (pid $pid)"
    else
      wait_until_ready "$pid"
      log "node $n already running (pid $pid)"
    fi
  done
  echo "$BOOTSTRAP_ALL"
}

# Starts the selected node's JVM and returns once its pid is known (not once it answers).
launch_node() {
  rm -f "$PID_FILE"
  if port_open "$NODE_PORT" || port_open "$NODE_CONTROLLER_PORT" || port_open "$NODE_BROKER_PORT"; then
    die "port $NODE_PORT, $NODE_CONTROLLER_PORT or $NODE_BROKER_PORT on 127.0.0.1 is already in use by another process (not node $NODE for $KAFKA_DATA_DIR); set KAFKA_PORT"
  fi
  mkdir -p "$NODE_DIR"
  write_server_properties
  format_storage_if_needed

  log "starting Kafka node $NODE on $BOOTSTRAP (log: $LOG_FILE)"
  echo "==== $(date '+%F %T') kafka.sh start ====" >>"$LOG_FILE"
  # setsid: own session, so Ctrl-C / hangup of the calling terminal or test
  # runner doesn't reach the broker. The inner bash writes its own pid and
  # then execs java, so the pid file holds the JVM's pid whatever setsid
  # does. All three std streams are redirected so a caller capturing our
  # output (e.g. subprocess.run(capture_output=True)) isn't kept waiting on
  # a pipe the broker holds open. 9>&-: nor may it inherit our lock (fd 9),
  # which it would otherwise hold for as long as it runs.
  (
    cd "$NODE_DIR"
    # shellcheck disable=SC2016  # $$ and $@ are for the inner bash
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
      "$JAVA" -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
      -Dsongtor.kafka.log="$LOG_FILE" \
      -cp "$LIBS/*" kafka.Kafka "$PROPS" \
      </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  )
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s "$PID_FILE" ]] && break
    sleep 0.1
  done
  [[ -s "$PID_FILE" ]] || die "node $NODE did not start (no pid file)"
}

# TLS material for a broker elsewhere (docker-compose): CA + certificate for host name $2.
cmd_certs() {
  [[ $# -eq 2 ]] || die "usage: kafka.sh certs DIR BROKER_HOSTNAME"
  TLS_DIR="$1" EXTRA_SAN="$2"
  case "$TLS_DIR" in /*) ;; *) TLS_DIR="$PWD/$TLS_DIR" ;; esac
  [[ -s "$TLS_DIR/broker.p12" ]] && { log "$TLS_DIR already holds a keystore; delete it to make a new one"; return 0; }
  mkdir -p "$TLS_DIR"
  rm -f "$TLS_DIR/broker.p12" "$TLS_DIR/ca.pem"
  ensure_tls
  log "CA: $TLS_DIR/ca.pem (give it to clients); broker keystore: $TLS_DIR/broker.p12"
}

cmd_stop() {
  local n any=""
  for ((n = KAFKA_BROKERS; n >= 1; n--)); do
    select_node "$n"
    [[ -n "$(broker_pids)" ]] || { rm -f "$PID_FILE"; continue; }
    any=1
    stop_all_brokers TERM
  done
  [[ -n "$any" ]] && log "stopped" || log "not running"
}

cmd_status() {
  local n pid
  for ((n = 1; n <= KAFKA_BROKERS; n++)); do
    select_node "$n"
    if pid="$(running_pid)" && [[ -d "$LIBS" ]] && broker_answers; then
      continue
    fi
    if [[ -n "${pid:-}" ]]; then
      log "node $n (process $pid) is running but does not answer on $BOOTSTRAP"
    else
      log "node $n is not running"
    fi
    return 1
  done
  echo "$BOOTSTRAP_ALL"
}

# For the fault tests and operators: which process is which node (node id = Kafka's broker id).
cmd_nodes() {
  local n pid
  for ((n = 1; n <= KAFKA_BROKERS; n++)); do
    select_node "$n"
    pid="$(running_pid)" || pid=-
    echo "$n $NODE_PORT $pid"
  done
}

cmd_reset() {
  cmd_stop
  [[ -d "$KAFKA_DATA_DIR" ]] || return 0
  [[ -e "$MARKER" ]] || die "$KAFKA_DATA_DIR was not created by kafka.sh; not deleting it"
  rm -rf "$KAFKA_DATA_DIR"
  log "deleted $KAFKA_DATA_DIR"
}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; }

cmd="${1:-}"
(($#)) && shift
case "$cmd" in
  fetch) cmd_fetch "$@" ;;
  start) take_lock; cmd_start "$@" ;;
  certs) cmd_certs "$@" ;;
  stop) take_lock; cmd_stop ;;
  status) cmd_status ;;
  nodes) cmd_nodes ;;
  reset) take_lock; cmd_reset ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
