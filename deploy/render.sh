#!/usr/bin/env bash
# Regenerates deploy/loomstack.yaml (tun mode) and deploy/loomstack-wireguard.yaml (wireguard mode)
# from the chart with Helm 3, no Maven needed. Each file's leading comment block is kept; everything
# after it is the render. DeployManifestsTest checks the result.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v helm >/dev/null; then
  echo "render.sh needs helm 3 on PATH; without it:" >&2
  echo "  ./mvnw -B -ntp test -Dtest=DeployManifestsTest -Dloomstack.deploy.regenerate=true" >&2
  exit 1
fi
render() {
  local out=$1 values=$2 header rendered
  header=$(sed -n '/^#/!q;p' "$out")
  rendered=$(helm template loomstack helm/loomstack --namespace loomstack --values "$values")
  printf '%s\n%s\n' "$header" "$rendered" >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "rendered $out"
}
render deploy/loomstack.yaml deploy/render-values.yaml
render deploy/loomstack-wireguard.yaml deploy/render-values-wireguard.yaml
