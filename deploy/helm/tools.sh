#!/usr/bin/env bash
# What the chart's tests need to render and validate deploy/helm/songtor offline.
#
# Usage (from anywhere):
#   deploy/helm/tools.sh ensure      make every piece available (idempotent: instant when there)
#   deploy/helm/tools.sh path helm   print the helm binary's path, or exit 1
#   deploy/helm/tools.sh path crds   print the folder of the CRD files, or exit 1
#
# Everything lands under <repo>/.data/tools, one folder per version, so a bump fetches anew:
#   helm-<v>/helm             Helm 3, built from its Go module (go install; ~2 minutes the first
#                             time on 2 cores, then cached)
#   crds/keda-<v>/            KEDA's ScaledObject and TriggerAuthentication CRDs, from the
#                             config/crd/bases of KEDA's own Go module (go mod download)
#   crds/strimzi-<v>/         Strimzi's KafkaTopic and KafkaUser CRDs, written by Strimzi's CRD
#                             generator (Maven Central, deploy/helm/schemas/pom.xml) from its
#                             published API classes, as Strimzi's build writes them; needs Java 21+
#
# Only stdout carries a result (a path); progress and errors go to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
TOOLS="$REPO_ROOT/.data/tools"
HELM_VERSION="v3.19.0"
KEDA_VERSION="v2.21.0"
STRIMZI_POM="$HERE/schemas/pom.xml"
STRIMZI_VERSION="$(sed -n 's:.*<strimzi.version>\(.*\)</strimzi.version>.*:\1:p' "$STRIMZI_POM")"

HELM_DIR="$TOOLS/helm-$HELM_VERSION"
CRDS="$TOOLS/crds"
KEDA_DIR="$CRDS/keda-$KEDA_VERSION"
STRIMZI_DIR="$CRDS/strimzi-$STRIMZI_VERSION"

log() { echo "helm/tools.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

ensure_helm() {
  [[ -x "$HELM_DIR/helm" ]] && return 0
  command -v go >/dev/null || die "go not found: Helm is built from its Go module"
  log "building helm $HELM_VERSION with go install (one-time, about 2 minutes) ..."
  mkdir -p "$HELM_DIR"
  # Stamped as Helm's release build stamps it (its Makefile): its version, and the Kubernetes
  # version of its client-go (v0.34 -> 1.34) as the default of --kube-version; unstamped, a chart
  # that asks for Kubernetes 1.29+ is refused as if the cluster were 1.20.
  local stamp="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for package in lint/rules chartutil; do
    stamp+=" -X helm.sh/helm/v3/pkg/$package.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$package.k8sVersionMinor=34"
  done
  GOBIN="$HELM_DIR" go install -ldflags "$stamp" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
}

ensure_keda_crds() {
  [[ -f "$KEDA_DIR/keda.sh_scaledobjects.yaml" && -f "$KEDA_DIR/keda.sh_triggerauthentications.yaml" ]] && return 0
  command -v go >/dev/null || die "go not found: KEDA's CRDs come from its Go module"
  log "fetching KEDA $KEDA_VERSION's CRDs (its Go module, ~16 MB) ..."
  local module_dir
  module_dir="$(go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$module_dir/config/crd/bases" ]] || die "KEDA module $KEDA_VERSION has no config/crd/bases"
  mkdir -p "$KEDA_DIR.tmp"
  cp "$module_dir/config/crd/bases/keda.sh_scaledobjects.yaml" \
     "$module_dir/config/crd/bases/keda.sh_triggerauthentications.yaml" "$KEDA_DIR.tmp/"
  rm -rf "$KEDA_DIR" && mv "$KEDA_DIR.tmp" "$KEDA_DIR"
}

find_java21() {
  local candidate version
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [[ -n "$candidate" && -x "$candidate/bin/java" ]] || continue
    version="$("$candidate/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
    if [[ -n "$version" && "$version" -ge 21 ]]; then echo "$candidate/bin/java"; return 0; fi
  done
  return 1
}

ensure_strimzi_crds() {
  [[ -f "$STRIMZI_DIR/kafkatopic.yaml" && -f "$STRIMZI_DIR/kafkauser.yaml" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  local java work
  java="$(find_java21)" || die "Strimzi's CRD generator needs Java 21+; none found under /usr/lib/jvm (set JAVA_HOME)"
  work="$(mktemp -d)"
  log "fetching Strimzi $STRIMZI_VERSION's API and CRD generator from Maven Central (~40 MB) ..."
  mvn -q -B -f "$STRIMZI_POM" dependency:copy-dependencies -DoutputDirectory="$work/libs" >&2 \
    || { rm -rf "$work"; die "Maven could not fetch Strimzi $STRIMZI_VERSION"; }
  mkdir -p "$work/out"
  "$java" -cp "$work/libs/*" io.strimzi.crdgenerator.CrdGenerator \
    --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
    "io.strimzi.api.kafka.model.topic.KafkaTopic=$work/out/kafkatopic.yaml" \
    "io.strimzi.api.kafka.model.user.KafkaUser=$work/out/kafkauser.yaml" >&2 \
    || { rm -rf "$work"; die "Strimzi's CRD generator failed"; }
  mkdir -p "$CRDS"
  rm -rf "$STRIMZI_DIR" && mv "$work/out" "$STRIMZI_DIR"
  rm -rf "$work"
}

case "${1:-} ${2:-}" in
  "ensure ")
    ensure_helm
    ensure_keda_crds
    ensure_strimzi_crds
    "$HELM_DIR/helm" version --short >&2
    ;;
  "path helm") [[ -x "$HELM_DIR/helm" ]] && echo "$HELM_DIR/helm" ;;
  "path crds")
    [[ -f "$KEDA_DIR/keda.sh_scaledobjects.yaml" && -f "$STRIMZI_DIR/kafkauser.yaml" ]] || exit 1
    echo "$KEDA_DIR"
    echo "$STRIMZI_DIR"
    ;;
  *) die "usage: $0 ensure | path helm | path crds" ;;
esac
