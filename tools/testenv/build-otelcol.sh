#!/usr/bin/env bash
# Builds the OpenTelemetry Collector the tests send traces to (a real OTLP receiver) from Go
# modules (Go module proxy only, pinned versions) into a versioned cache outside the repo, and
# prints the bin dir. It uses the official OpenTelemetry Collector Builder (ocb) with the
# manifest below: the otlp receiver (gRPC and HTTP), the file exporter (OTLP JSON lines, what the
# tests read), the debug exporter, the batch processor and the health_check extension.
# A warm re-run finds the binary and takes milliseconds.
#
#   tools/testenv/build-otelcol.sh            # build it if it is missing
#   CHORUS_CACHE=/somewhere tools/testenv/build-otelcol.sh
#
# The build runs under `nice -n 19` so a shared 2-core machine stays usable. A cold build (empty
# Go module and build caches) took 164 s on 2 busy cores (ocb 23 s, go mod tidy and download 60 s,
# compile 81 s; 525 MB of modules, 570 MB of build cache, a 34 MB binary); a warm run, milliseconds.
set -euo pipefail

# All collector modules at one release: the contrib file exporter and health check pass
# `go mod tidy` on Go 1.26 at v0.161.0, which goes with the core's v0.161.0 / v1.67.0 modules.
OTELCOL_VERSION="0.161.0"   # go.opentelemetry.io/collector/* (v0.x modules) and cmd/builder
OTELCOL_STABLE="1.67.0"     # go.opentelemetry.io/collector/* (v1.x modules: confmap providers)
CONTRIB_VERSION="0.161.0"   # github.com/open-telemetry/opentelemetry-collector-contrib/*

CACHE="${CHORUS_CACHE:-/var/cache/chorus/v1}"
ROOT="$CACHE/otelcol-$OTELCOL_VERSION"
BIN="$ROOT/bin"
SRC="$ROOT/src"
NAME="otelcol-chorus"
mkdir -p "$BIN" "$SRC"

# One build per cache at a time: a second run (another `npm test`) waits, then finds the binary.
exec 9>"$ROOT/.build.lock"
flock 9

export CGO_ENABLED=0
export GOFLAGS="-buildvcs=false -mod=mod"
NICE=(nice -n 19)

log() { printf '[testenv/build-otelcol] %s\n' "$*" >&2; }
elapsed() { echo "$(($(date +%s) - $1))s"; }

if [[ -x "$BIN/$NAME" ]]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "go is not installed"; exit 1; }
log "go: $(go version)"
T0=$(date +%s)

# The builder itself, pinned to the collector's release.
log "building ocb (go.opentelemetry.io/collector/cmd/builder v$OTELCOL_VERSION)"
GOBIN="$ROOT/tools" "${NICE[@]}" go install -trimpath -ldflags "-s -w" \
  "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION"

core="go.opentelemetry.io/collector"
contrib="github.com/open-telemetry/opentelemetry-collector-contrib"
cat >"$SRC/builder.yaml" <<YAML
dist:
  module: chorus.local/testenv/otelcol
  name: $NAME
  description: OpenTelemetry Collector for Chorus tests (OTLP in, JSON lines on disk out)
  version: $OTELCOL_VERSION-chorus
  output_path: $SRC/dist

receivers:
  - gomod: $core/receiver/otlpreceiver v$OTELCOL_VERSION
exporters:
  - gomod: $core/exporter/debugexporter v$OTELCOL_VERSION
  - gomod: $contrib/exporter/fileexporter v$CONTRIB_VERSION
processors:
  - gomod: $core/processor/batchprocessor v$OTELCOL_VERSION
extensions:
  - gomod: $contrib/extension/healthcheckextension v$CONTRIB_VERSION

providers:
  - gomod: $core/confmap/provider/envprovider v$OTELCOL_STABLE
  - gomod: $core/confmap/provider/fileprovider v$OTELCOL_STABLE
  - gomod: $core/confmap/provider/yamlprovider v$OTELCOL_STABLE

telemetry:
  gomod: $core/service v$OTELCOL_VERSION
  import: $core/service/telemetry/otelconftelemetry
YAML

log "building $NAME v$OTELCOL_VERSION with ocb"
rm -rf "$SRC/dist" "$SRC/tmp"
mkdir -p "$SRC/tmp"
# ocb writes the sources, runs `go mod tidy`, checks that every module resolved to the release
# named above (strict versioning), and compiles with -trimpath -ldflags "-s -w". Its own temp dir
# (and go's) goes under src/, so nothing is left in /tmp.
TMPDIR="$SRC/tmp" "${NICE[@]}" "$ROOT/tools/builder" --config "$SRC/builder.yaml" --skip-strict-versioning=false
rm -rf "$SRC/tmp"
mv "$SRC/dist/$NAME" "$BIN/$NAME.tmp"
mv "$BIN/$NAME.tmp" "$BIN/$NAME"
"$BIN/$NAME" components >/dev/null
log "$NAME done in $(elapsed "$T0")"
echo "$BIN"
