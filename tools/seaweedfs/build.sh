#!/bin/sh
# `make s3`: SeaweedFS's `weed` (a real S3 server, for the engine tests of the S3 state backend) built from Go
# modules into .tools/bin/, only when missing or built from other pins (a stamp of the version and go.mod/go.sum).
# SITEKIT_WEED=/path/to/weed makes the tests use that one instead, and this script does nothing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/.tools/bin"
module=github.com/seaweedfs/seaweedfs
version=$(sed -n 's/^[[:space:]]*github.com\/seaweedfs\/seaweedfs \(v[^ ]*\).*/\1/p' "$here/go.mod" | head -n 1)
[ -n "$version" ] || { echo "weed: no github.com/seaweedfs/seaweedfs version in $here/go.mod" >&2; exit 2; }
commit=${version##*-}  # the pseudo-version's commit, which `weed version` then prints
ldflags="-s -w -X $module/weed/util/version.COMMIT=$commit"

if [ -n "${SITEKIT_WEED:-}" ]; then
    echo "weed: using SITEKIT_WEED=$SITEKIT_WEED"
    exit 0
fi

stamp="$bin/.weed-build"
want="$version $(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$bin/weed" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "weed: $version in .tools/bin is up to date"
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "weed: building SeaweedFS $version needs Go >= 1.26.6 (https://go.dev/dl) and the Go module proxy" >&2
    exit 2
fi

mkdir -p "$bin"
cd "$here"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -modcacherw"
echo "weed: building SeaweedFS $version into .tools/bin (several minutes the first time)"
start=$(date +%s)
go build -trimpath -ldflags "$ldflags" -o "$bin/weed.new" "$module/weed"
mv "$bin/weed.new" "$bin/weed"
seconds=$(( $(date +%s) - start ))
echo "$seconds" > "$bin/.weed-build-seconds"
echo "$want" > "$stamp"
echo "weed: built in $seconds s: $("$bin/weed" version 2>/dev/null | head -n 1)"
