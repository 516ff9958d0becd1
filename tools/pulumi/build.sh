#!/bin/sh
# `make pulumi`: the Pulumi CLI and sitekit's Python language host in .pulumi/bin/, built from Go modules,
# only when missing or of another version. A compatible `pulumi` already on PATH (>= 3.221, with Pulumi's own
# language host beside it) is used as it is; SITEKIT_BUILD_PULUMI=1 builds anyway.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/.pulumi/bin"
version=$(sed -n 's/^[[:space:]]*github.com\/pulumi\/pulumi\/pkg\/v3 \(v[0-9.]*\).*/\1/p' "$here/go.mod" | head -n 1)
ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version"

if [ -z "${SITEKIT_BUILD_PULUMI:-}" ] && [ ! -x "$bin/pulumi" ] && command -v pulumi >/dev/null 2>&1; then
    have=$(pulumi version 2>/dev/null | sed -n 's/^v\{0,1\}\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p')
    set -- $have
    if [ "${1:-0}" -gt 3 ] || { [ "${1:-0}" -eq 3 ] && [ "${2:-0}" -ge 221 ]; }; then
        echo "pulumi: using $(command -v pulumi) ($(pulumi version)); SITEKIT_BUILD_PULUMI=1 builds $version instead"
        exit 0
    fi
fi

# The language host is rebuilt when its source or the module pins change (a stamp of their hashes).
stamp="$bin/.sitekit-build"
want="$version $(cat "$here/go.mod" "$here/go.sum" "$here"/cmd/pulumi-language-python/*.go | sha256sum | cut -c1-16)"
cli_ok=no
[ -x "$bin/pulumi" ] && [ "$("$bin/pulumi" version 2>/dev/null)" = "$version" ] && cli_ok=yes
host_ok=no
[ "$cli_ok" = yes ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$bin/pulumi-language-python" ] && host_ok=yes
if [ "$host_ok" = yes ]; then
    echo "pulumi: $version in .pulumi/bin is up to date"
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "pulumi: building the Pulumi CLI $version needs Go >= 1.26 (https://go.dev/dl) and the Go module proxy; or put pulumi >= 3.221 on PATH" >&2
    exit 2
fi

mkdir -p "$bin"
cd "$here"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -modcacherw"

if [ "$cli_ok" = no ]; then
    echo "pulumi: building the Pulumi CLI $version into .pulumi/bin (several minutes the first time)"
    start=$(date +%s)
    go build -trimpath -ldflags "$ldflags" -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    seconds=$(( $(date +%s) - start ))
    echo "$seconds" > "$bin/.build-seconds"  # bench/engine_bench.py reports it
    echo "pulumi: built in $seconds s"
    rm -f "$stamp"
fi
if [ "$host_ok" = no ]; then
    go build -trimpath -ldflags "$ldflags" -o "$bin/pulumi-language-python" ./cmd/pulumi-language-python
    # the executor script of the sdk module at the same version, which the language host runs programs with
    sdk=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
    install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$bin/pulumi-language-python-exec"
    echo "$want" > "$stamp"
fi
echo "pulumi: $("$bin/pulumi" version) in .pulumi/bin (with sitekit's pulumi-language-python)"
