#!/bin/sh
# Vendors uPlot from npm into static/vendor/: the pinned version, checked against its pinned
# sha512 integrity, so that `go build` never needs npm and the page makes no external request.
set -eu

UPLOT_VERSION=1.6.32
UPLOT_INTEGRITY='sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw=='

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "uplot@$UPLOT_VERSION" >/dev/null 2>&1)
tarball="$tmp/uplot-$UPLOT_VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 | tr -d '\n')"
if [ "$got" != "$UPLOT_INTEGRITY" ]; then
	echo "vendor.sh: uplot@$UPLOT_VERSION integrity mismatch: got $got" >&2
	exit 1
fi

tar -xzf "$tarball" -C "$tmp"
mkdir -p "$here/static/vendor"
cp "$tmp/package/dist/uPlot.iife.min.js" "$here/static/vendor/uPlot.iife.min.js"
cp "$tmp/package/dist/uPlot.min.css" "$here/static/vendor/uPlot.min.css"
cp "$tmp/package/LICENSE" "$here/static/vendor/LICENSE.uPlot"
echo "uplot@$UPLOT_VERSION $UPLOT_INTEGRITY" > "$here/static/vendor/VERSION"
