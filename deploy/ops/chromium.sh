#!/usr/bin/env bash
# Headless Chromium for the ops-page test (tests/e2e/test_ops_queues.py).
#
# Usage:
#   deploy/ops/chromium.sh ensure   install Debian's `chromium` and `chromium-driver` when absent
#                                   (root only: apt-get); idempotent; prints the browser's path
#   deploy/ops/chromium.sh path     print the browser's path, or fail
#
# The test drives the browser itself (--headless --dump-dom / --screenshot); the driver is
# installed with it so that a Selenium-based check can be added without touching the machine.
set -euo pipefail

log() { echo "chromium.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

find_browser() {
  command -v chromium || command -v chromium-browser || true
}

ensure() {
  local browser driver
  browser="$(find_browser)"
  driver="$(command -v chromedriver || true)"
  if [[ -z "$browser" || -z "$driver" ]]; then
    [[ "$(id -u)" == 0 ]] || die "chromium/chromium-driver are missing; install them as root: apt-get install chromium chromium-driver"
    command -v apt-get >/dev/null || die "no apt-get here; install chromium and chromium-driver by hand"
    log "installing chromium and chromium-driver from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-thai-tlwg >&2
    browser="$(find_browser)"
  fi
  [[ -n "$browser" ]] || die "chromium not found after installing"
  echo "$browser"
}

case "${1:-}" in
  ensure) ensure ;;
  path) b="$(find_browser)"; [[ -n "$b" ]] || die "chromium is not installed"; echo "$b" ;;
  *) die "usage: $0 ensure|path" ;;
esac
