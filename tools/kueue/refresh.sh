#!/bin/sh
# Refresh the Kueue CRDs the tests validate `sitekit kueue` against (tests/schemas/kueue-<version>/), from the Go
# module proxy's zip of sigs.k8s.io/kueue at one version, checked against its sha256 (the one recorded in
# tests/schemas/kueue-<version>/README.md). To move to another release: set KUEUE_VERSION and KUEUE_SHA256 (the
# zip's sha256, `sha256sum` of a download you checked), run `make kueue-crds`, update sitekit/facts/kueue.py and the
# README's version and hash, and run the tests.
set -eu
KUEUE_VERSION="${KUEUE_VERSION:-v0.17.0}"
KUEUE_SHA256="${KUEUE_SHA256:-3c2a32fe2714a4ed581dd2de3b95a32fb9b770f5a5a692e2316c4526d8d7e1b8}"
CRDS="kueue.x-k8s.io_topologies.yaml kueue.x-k8s.io_resourceflavors.yaml"
here="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$here/tests/schemas/kueue-$KUEUE_VERSION"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
url="https://proxy.golang.org/sigs.k8s.io/kueue/@v/$KUEUE_VERSION.zip"
curl -fsSL -o "$tmp/kueue.zip" "$url"
got="$(sha256sum "$tmp/kueue.zip" | cut -d' ' -f1)"
if [ "$got" != "$KUEUE_SHA256" ]; then
  echo "refresh.sh: $url has sha256 $got, expected $KUEUE_SHA256; nothing written" >&2
  exit 1
fi
mkdir -p "$dest"
for crd in $CRDS; do
  unzip -p "$tmp/kueue.zip" "sigs.k8s.io/kueue@$KUEUE_VERSION/config/components/crd/bases/$crd" > "$dest/$crd"
done
echo "wrote $(echo "$CRDS" | wc -w) CRDs of Kueue $KUEUE_VERSION into ${dest#"$here"/}"
