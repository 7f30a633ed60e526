#!/usr/bin/env bash
# promtool for the test suite (checks prometheus.yml, alerts.yml and runs alerts.test.yml).
#
# Usage (from anywhere):
#   deploy/prometheus/promtool.sh ensure   make promtool available; prints its path. Idempotent:
#                                          instant when already there.
#   deploy/prometheus/promtool.sh path     print its path, or exit 1 when there is none
#
# Where it looks, in order: $PROMTOOL, <repo>/.data/tools/bin/promtool, promtool on PATH.
# When none is found, ensure fetches Debian's "prometheus" package with apt-get download and
# extracts only usr/bin/promtool into .data/tools/bin: installing the package itself would add a
# system user and a Prometheus server that starts on boot, none of which the tests want.
# apt-get update runs first only when the package index does not know the package (root only).
# Without apt, and with Go on PATH, it is built from the Go module proxy instead (slower).
#
# Only stdout carries the result (the path); progress and errors go to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
TOOLS_BIN="$REPO_ROOT/.data/tools/bin"
# Go module version of Prometheus v3.5.0, the image docker-compose runs.
GO_PROMTOOL="github.com/prometheus/prometheus/cmd/promtool@v0.305.0"

log() { echo "promtool.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

find_promtool() {
  local candidate
  for candidate in "${PROMTOOL:-}" "$TOOLS_BIN/promtool" "$(command -v promtool || true)"; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

apt_knows_prometheus() {
  # Captured first: grep -q would close the pipe early, and pipefail would call that a failure.
  local policy
  policy="$(apt-cache policy prometheus 2>/dev/null || true)"
  [[ "$policy" == *"Candidate: "[0-9]* ]]
}

from_debian_package() {
  command -v apt-get >/dev/null || return 1
  if ! apt_knows_prometheus; then
    [[ "$(id -u)" == 0 ]] || { log "apt does not know the prometheus package and only root can run apt-get update"; return 1; }
    log "apt-get update (the package index does not list prometheus yet) ..."
    apt-get update -qq >&2 || return 1
  fi
  local work
  work="$(mktemp -d)"
  # apt downloads as its sandbox user "_apt", which must own the directory.
  if id _apt >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then chown _apt "$work"; fi
  log "downloading Debian's prometheus package to extract promtool (one-time, ~19 MB) ..."
  if ! (cd "$work" && apt-get download -qq prometheus >&2); then
    rm -rf "$work"
    return 1
  fi
  mkdir -p "$TOOLS_BIN"
  dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$work" ./usr/bin/promtool
  install -m 755 "$work/usr/bin/promtool" "$TOOLS_BIN/promtool"
  rm -rf "$work"
}

from_go_proxy() {
  command -v go >/dev/null || return 1
  log "building promtool with go install $GO_PROMTOOL (one-time, a few minutes) ..."
  mkdir -p "$TOOLS_BIN"
  GOBIN="$TOOLS_BIN" go install "$GO_PROMTOOL" >&2
}

ensure() {
  if find_promtool; then
    return 0
  fi
  from_debian_package || from_go_proxy || die "could not install promtool: neither apt-get (Debian package prometheus) nor go worked"
  local found
  found="$(find_promtool)" || die "promtool still missing after install"
  log "installed: $("$found" --version 2>&1 | head -1)"
  echo "$found"
}

case "${1:-}" in
  ensure) ensure ;;
  path) find_promtool ;;
  *) die "usage: $0 ensure|path" ;;
esac
