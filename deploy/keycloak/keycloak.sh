#!/usr/bin/env bash
# Local Keycloak (the identity provider the services trust) for development and tests, run from
# the keycloak-quarkus-dist zip on Maven Central: no Docker, only Java 21+ and Maven.
#
# Usage:
#   deploy/keycloak/keycloak.sh fetch        download the distribution (skipped when present)
#   deploy/keycloak/keycloak.sh start        unpack (first time), start, wait until the realm answers,
#                                            load deploy/keycloak/songtor-realm.json (again whenever
#                                            the file changed); prints the issuer URL on stdout
#   deploy/keycloak/keycloak.sh status       exit 0 and print the issuer URL if up
#   deploy/keycloak/keycloak.sh token USER   print an access token of a demo user (password = user name,
#                                            demo realm only) from the songtor-cli client
#   deploy/keycloak/keycloak.sh admin-token  print a token of the bootstrap admin (tests rotate keys with it)
#   deploy/keycloak/keycloak.sh stop         SIGTERM, wait, then SIGKILL
#
# Environment (all optional):
#   KEYCLOAK_PORT=18080                      HTTP port, 127.0.0.1 only; management (health) on PORT+1
#   KEYCLOAK_DATA_DIR=<repo>/.data/keycloak  unpacked server, its H2 database, log, pid, admin password
#   KEYCLOAK_START_TIMEOUT=300               seconds to wait (the first start builds Quarkus: ~40-100 s)
#   KEYCLOAK_JAVA_HOME                       a Java 21+ home (default: the newest JDK 21+ found)
#
# The data directory is kept between runs, so users, sessions and keys survive a restart and the
# second start skips the build. The bootstrap admin's password is generated on first start and kept
# (mode 600) in the data directory: nothing here has a fixed password except the demo users of the
# demo realm, which exist for `make run` and the tests only.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
VERSION="26.7.3"
DIST_ZIP="$HERE/.dist/keycloak-quarkus-dist-$VERSION.zip"
REALM_FILE="$HERE/songtor-realm.json"
REALM="songtor"

KEYCLOAK_PORT="${KEYCLOAK_PORT:-18080}"
KEYCLOAK_DATA_DIR="${KEYCLOAK_DATA_DIR:-$REPO_ROOT/.data/keycloak}"
KEYCLOAK_START_TIMEOUT="${KEYCLOAK_START_TIMEOUT:-300}"
case "$KEYCLOAK_DATA_DIR" in /*) ;; *) KEYCLOAK_DATA_DIR="$PWD/$KEYCLOAK_DATA_DIR" ;; esac
KEYCLOAK_DATA_DIR="${KEYCLOAK_DATA_DIR%/}"
HOME_DIR="$KEYCLOAK_DATA_DIR/keycloak-$VERSION"
PID_FILE="$KEYCLOAK_DATA_DIR/keycloak.pid"
LOG_FILE="$KEYCLOAK_DATA_DIR/keycloak.log"
ADMIN_FILE="$KEYCLOAK_DATA_DIR/admin-password"
REALM_STAMP="$KEYCLOAK_DATA_DIR/realm.sha256"
BASE="http://127.0.0.1:$KEYCLOAK_PORT"
ISSUER="$BASE/realms/$REALM"

log() { echo "keycloak.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$KEYCLOAK_PORT" =~ ^[1-9][0-9]*$ ]] || die "KEYCLOAK_PORT must be a port number, got '$KEYCLOAK_PORT'"

find_java_home() {
  if [[ -n "${KEYCLOAK_JAVA_HOME:-}" ]]; then echo "$KEYCLOAK_JAVA_HOME"; return; fi
  local candidate version best="" best_version=0
  for candidate in /usr/lib/jvm/* "${JAVA_HOME:-}"; do
    [[ -x "$candidate/bin/java" ]] || continue
    version="$("$candidate/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
    if [[ -n "$version" && "$version" -ge 21 && "$version" -gt "$best_version" ]]; then best="$candidate"; best_version="$version"; fi
  done
  [[ -n "$best" ]] || die "Keycloak $VERSION needs Java 21+; none found under /usr/lib/jvm (set KEYCLOAK_JAVA_HOME)"
  echo "$best"
}

fetch() {
  [[ -f "$DIST_ZIP" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  mkdir -p "$HERE/.dist"
  log "fetching org.keycloak:keycloak-quarkus-dist:$VERSION from Maven Central"
  mvn -q -B dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$VERSION:zip" \
    -DoutputDirectory="$HERE/.dist.tmp" >&2
  mv "$HERE/.dist.tmp/keycloak-quarkus-dist-$VERSION.zip" "$DIST_ZIP"
  rm -rf "$HERE/.dist.tmp"
}

unpack() {
  [[ -x "$HOME_DIR/bin/kc.sh" ]] && return 0
  mkdir -p "$KEYCLOAK_DATA_DIR"
  log "unpacking into $KEYCLOAK_DATA_DIR"
  rm -rf "$KEYCLOAK_DATA_DIR/unpack.tmp"
  unzip -q "$DIST_ZIP" -d "$KEYCLOAK_DATA_DIR/unpack.tmp"
  mv "$KEYCLOAK_DATA_DIR/unpack.tmp/keycloak-$VERSION" "$HOME_DIR"
  rm -rf "$KEYCLOAK_DATA_DIR/unpack.tmp"
}

admin_password() {
  if [[ ! -s "$ADMIN_FILE" ]]; then
    mkdir -p "$KEYCLOAK_DATA_DIR"
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$ADMIN_FILE")
  fi
  cat "$ADMIN_FILE"
}

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid; pid="$(cat "$PID_FILE")"
  kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

realm_answers() { curl -fs -o /dev/null --max-time 3 "$ISSUER/.well-known/openid-configuration"; }
master_answers() { curl -fs -o /dev/null --max-time 3 "$BASE/realms/master/.well-known/openid-configuration"; }

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

admin_token() {
  curl -fsS --max-time 20 -d client_id=admin-cli -d grant_type=password -d username=admin \
    --data-urlencode "password=$(admin_password)" "$BASE/realms/master/protocol/openid-connect/token" \
    | json_field access_token
}

load_realm_if_changed() {
  local want; want="$(sha256sum "$REALM_FILE" | cut -d' ' -f1)"
  if [[ -f "$REALM_STAMP" && "$(cat "$REALM_STAMP")" == "$want" ]] && realm_answers; then return 0; fi
  local token; token="$(admin_token)"
  log "loading realm '$REALM' from $REALM_FILE"
  curl -sS -o /dev/null --max-time 30 -X DELETE -H "Authorization: Bearer $token" "$BASE/admin/realms/$REALM" || true
  curl -fsS -o /dev/null --max-time 60 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data @"$REALM_FILE" "$BASE/admin/realms" || die "Keycloak refused the realm file $REALM_FILE"
  echo "$want" > "$REALM_STAMP"
}

cmd_start() {
  if running_pid >/dev/null && master_answers; then load_realm_if_changed; echo "$ISSUER"; return 0; fi
  fetch
  unpack
  local java_home; java_home="$(find_java_home)"
  local password; password="$(admin_password)"
  log "starting Keycloak $VERSION on $BASE (log: $LOG_FILE)"
  (
    cd "$KEYCLOAK_DATA_DIR"
    # start-dev: plain HTTP on loopback, H2 file database in the data dir; a deployment runs
    # `kc.sh start` behind TLS with its own database instead (docs/identity.md).
    JAVA_HOME="$java_home" KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD="$password" \
      nohup "$HOME_DIR/bin/kc.sh" start-dev --http-host=127.0.0.1 --http-port="$KEYCLOAK_PORT" \
      --http-management-port="$((KEYCLOAK_PORT + 1))" --hostname-strict=false \
      >"$LOG_FILE" 2>&1 &
    echo $! > "$PID_FILE"
  )
  local deadline=$((SECONDS + KEYCLOAK_START_TIMEOUT))
  until master_answers; do
    running_pid >/dev/null || { tail -n 40 "$LOG_FILE" >&2; die "Keycloak exited during start"; }
    (( SECONDS < deadline )) || { tail -n 40 "$LOG_FILE" >&2; die "Keycloak did not answer within ${KEYCLOAK_START_TIMEOUT}s"; }
    sleep 2
  done
  load_realm_if_changed
  log "ready after ${SECONDS}s"
  echo "$ISSUER"
}

cmd_status() { running_pid >/dev/null && realm_answers && echo "$ISSUER"; }

cmd_token() {
  local user="${1:-}"; [[ -n "$user" ]] || die "usage: keycloak.sh token USER (e.g. clerk-6406)"
  realm_answers || die "Keycloak is not answering on $BASE: start it with 'make run' (or keycloak.sh start)"
  curl -fsS --max-time 20 -d client_id=songtor-cli -d grant_type=password -d "username=$user" \
    --data-urlencode "password=$user" "$ISSUER/protocol/openid-connect/token" | json_field access_token \
    || die "no token for '$user' (demo users: see deploy/keycloak/songtor-realm.json)"
}

cmd_stop() {
  local pid; pid="$(running_pid)" || return 0
  # kc.sh execs java, so the recorded pid is the server's.
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; return 0; }; sleep 1; done
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
}

case "${1:-}" in
  fetch) fetch ;;
  start) cmd_start ;;
  status) cmd_status ;;
  token) shift; cmd_token "$@" ;;
  admin-token) admin_token ;;
  stop) cmd_stop ;;
  *) die "usage: keycloak.sh fetch|start|status|token USER|admin-token|stop" ;;
esac
