#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker+controller in one JVM) for
# development and tests, run straight from Maven Central jars: no Docker, no
# tarball download, only Java 17+ and Maven.
#
# Usage (from anywhere):
#   deploy/kafka/kafka.sh fetch                      download jars into deploy/kafka/.libs (skipped when up to date)
#   deploy/kafka/kafka.sh start [--topics-file FILE] fetch, format storage (first time), start, wait until
#                                                    the broker answers, create topics from FILE; prints
#                                                    the bootstrap address (127.0.0.1:PORT) on stdout.
#                                                    Already running → no-op apart from creating topics.
#   deploy/kafka/kafka.sh create-topics [FILE]       create missing topics listed in FILE (default: stdin)
#   deploy/kafka/kafka.sh status                     exit 0 and print the bootstrap address if up and answering
#   deploy/kafka/kafka.sh stop                       SIGTERM, wait up to 30 s, then SIGKILL
#   deploy/kafka/kafka.sh reset                      stop and delete the data dir
#
# Topics file: one topic per line, optional second column = partition count
# (default $KAFKA_PARTITIONS); blank lines and lines starting with # are ignored.
#     songs.uploaded
#     songs.tagged 6
#
# Environment (all optional):
#   KAFKA_PORT=9092                       client listener, 127.0.0.1 only
#   KAFKA_CONTROLLER_PORT=KAFKA_PORT+1    KRaft controller listener
#   KAFKA_PARTITIONS=3                    default partitions (auto-created and create-topics)
#   KAFKA_DATA_DIR=<repo>/.data/kafka     data, server.log, kafka.pid, generated server.properties
#   KAFKA_HEAP=512m                       broker -Xmx
#   KAFKA_START_TIMEOUT=60                seconds to wait for the broker to answer
#   JAVA_HOME / JAVA                      which java to use (default: java on PATH)
#
# Only stdout carries results (the bootstrap address, status); progress and
# errors go to stderr, so `BOOTSTRAP=$(deploy/kafka/kafka.sh start)` works.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
LIBS="$HERE/.libs"
# Holds the sha256 of pom.xml the jars were fetched for; written last, so its
# presence also means the previous fetch finished.
STAMP="$LIBS/.pom.sha256"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_PARTITIONS="${KAFKA_PARTITIONS:-3}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$REPO_ROOT/.data/kafka}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"

# Kafka itself is started with cwd = data dir, so keep every path absolute.
case "$KAFKA_DATA_DIR" in /*) ;; *) KAFKA_DATA_DIR="$PWD/$KAFKA_DATA_DIR" ;; esac
KAFKA_DATA_DIR="${KAFKA_DATA_DIR%/}"

BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
PROPS="$KAFKA_DATA_DIR/server.properties"
LOG_FILE="$KAFKA_DATA_DIR/server.log"
PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
LOG_DIRS="$KAFKA_DATA_DIR/logs"   # Kafka's "log.dirs": partitions + KRaft metadata
# Marks a data dir as ours, so `reset` never rm -rf's a directory someone
# pointed KAFKA_DATA_DIR at by mistake.
MARKER="$KAFKA_DATA_DIR/.songtor-kafka"

if [[ -n "${JAVA:-}" ]]; then :
elif [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"
else JAVA=java
fi

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

for v in KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_PARTITIONS KAFKA_START_TIMEOUT; do
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

# TopicCommand with short client timeouts (tools-admin.properties), so a dead
# broker makes it fail in seconds instead of the 60 s AdminClient default.
topic_cmd() {
  kafka_tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$BOOTSTRAP" --command-config "$HERE/tools-admin.properties" "$@"
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
broker_answers() { port_open "$KAFKA_PORT" && topic_cmd --list >/dev/null 2>&1; }

# The port this data dir's broker was configured with, from its server.properties.
configured_port() { sed -n 's#^listeners=PLAINTEXT://127\.0\.0\.1:\([0-9]*\),.*#\1#p' "$PROPS" 2>/dev/null; }

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
  until port_open "$KAFKA_PORT"; do
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

# Regenerated on every start, so env changes (partitions, ports) take effect.
write_server_properties() {
  cat >"$PROPS" <<EOF
# Generated by deploy/kafka/kafka.sh on every start -- edit the script, not this file.
# Single KRaft node acting as broker and controller, local tests only.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$LOG_DIRS

auto.create.topics.enable=true
num.partitions=$KAFKA_PARTITIONS

# One node: every replication factor / min ISR must be 1, or internal topics
# (__consumer_offsets, __transaction_state, __share_group_state) can't be
# created and consumer groups / idempotent+transactional producers hang.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests start consumers and expect them to get partitions immediately,
# not after the default 3 s wait for more group members.
group.initial.rebalance.delay.ms=0
EOF
}

# Format once per data dir: --standalone makes this node the sole KRaft
# voter; the cluster id is random (one per data dir, kept across restarts).
format_storage_if_needed() {
  [[ -f "$LOG_DIRS/meta.properties" ]] && return 0
  local cluster_id
  cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid)"
  log "formatting $LOG_DIRS (cluster id $cluster_id)"
  local out
  if ! out="$(kafka_tool kafka.tools.StorageTool format --standalone --ignore-formatted \
                -t "$cluster_id" -c "$PROPS" 2>&1)"; then
    echo "$out" >&2
    die "formatting $LOG_DIRS failed"
  fi
}

# ------------------------------------------------------------- topics -----

# Reads "topic [partitions]" lines on stdin; creates the missing ones.
create_topics_from_stdin() {
  local existing name parts rest failed=0
  existing="$(topic_cmd --list)" || die "cannot list topics on $BOOTSTRAP (is the broker running?)"
  while IFS=$' \t\r' read -r name parts rest || [[ -n "$name" ]]; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    parts="${parts:-$KAFKA_PARTITIONS}"
    [[ "$parts" =~ ^[1-9][0-9]*$ ]] || die "bad partition count '$parts' for topic '$name'"
    if grep -qxF -- "$name" <<<"$existing"; then
      continue
    fi
    # One JVM per topic (TopicCommand creates one topic per call), but only
    # for topics that are actually missing, so re-running is cheap.
    # --if-not-exists: a producer may auto-create it in the meantime.
    if topic_cmd --create --if-not-exists --topic "$name" \
         --partitions "$parts" --replication-factor 1 >/dev/null; then
      log "created topic $name ($parts partitions)"
    else
      log "failed to create topic $name"
      failed=1
    fi
  done
  return "$failed"
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
  local topics_file=""
  while (($#)); do
    case "$1" in
      --topics-file) [[ $# -ge 2 ]] || die "--topics-file needs a file"; topics_file="$2"; shift 2 ;;
      --topics-file=*) topics_file="${1#*=}"; shift ;;
      *) die "start: unknown argument '$1'" ;;
    esac
  done
  [[ -z "$topics_file" || -r "$topics_file" ]] || die "cannot read topics file '$topics_file'"

  require_java
  fetch

  local pid
  if pid="$(running_pid)"; then
    local port
    port="$(configured_port)"
    [[ "$port" == "$KAFKA_PORT" ]] ||
      die "the broker for $KAFKA_DATA_DIR is already running on port ${port:-?}, not $KAFKA_PORT; stop it first"
    # Might have been started a moment ago by a concurrent caller.
    wait_until_ready "$pid"
    log "already running (pid $pid)"
  else
    rm -f "$PID_FILE"
    if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
      die "port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT on 127.0.0.1 is already in use by another process (not a broker for $KAFKA_DATA_DIR); set KAFKA_PORT"
    fi
    mkdir -p "$KAFKA_DATA_DIR"
    if [[ ! -e "$MARKER" && -n "$(ls -A "$KAFKA_DATA_DIR")" ]]; then
      die "$KAFKA_DATA_DIR is not empty and was not created by kafka.sh; refusing to use it"
    fi
    touch "$MARKER"
    write_server_properties
    format_storage_if_needed

    log "starting Kafka on $BOOTSTRAP (log: $LOG_FILE)"
    echo "==== $(date '+%F %T') kafka.sh start ====" >>"$LOG_FILE"
    # setsid: own session, so Ctrl-C / hangup of the calling terminal or test
    # runner doesn't reach the broker. The inner bash writes its own pid and
    # then execs java, so the pid file holds the JVM's pid whatever setsid
    # does. All three std streams are redirected so a caller capturing our
    # output (e.g. subprocess.run(capture_output=True)) isn't kept waiting on
    # a pipe the broker holds open. 9>&-: nor may it inherit our lock (fd 9),
    # which it would otherwise hold for as long as it runs.
    (
      cd "$KAFKA_DATA_DIR"
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
    pid="$(cat "$PID_FILE" 2>/dev/null)" || die "broker did not start (no pid file)"
    wait_until_ready "$pid" kill-on-timeout
    log "started (pid $pid)"
  fi

  if [[ -n "$topics_file" ]]; then
    create_topics_from_stdin <"$topics_file"
  fi
  echo "$BOOTSTRAP"
}

cmd_create_topics() {
  require_java
  fetch
  if (($#)); then
    [[ -r "$1" ]] || die "cannot read topics file '$1'"
    create_topics_from_stdin <"$1"
  else
    create_topics_from_stdin
  fi
}

cmd_stop() {
  if [[ -z "$(broker_pids)" ]]; then
    log "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  stop_all_brokers TERM
  log "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)" && [[ -d "$LIBS" ]] && broker_answers; then
    echo "$BOOTSTRAP"
    return 0
  fi
  if [[ -n "${pid:-}" ]]; then
    log "broker process $pid is running but does not answer on $BOOTSTRAP"
  else
    log "not running"
  fi
  return 1
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
  create-topics) cmd_create_topics "$@" ;;
  stop) take_lock; cmd_stop ;;
  status) cmd_status ;;
  reset) take_lock; cmd_reset ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
