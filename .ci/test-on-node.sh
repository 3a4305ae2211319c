#!/usr/bin/env bash
# Runs the test suite on another Node.js major (`bash .ci/test-on-node.sh 26`) against the dist/ and
# node_modules/ the machine's Node built: the same artefacts a user installs, started by that Node. Its bin
# directory goes first on PATH, so everything the tests start (the CLI, npm for the package tests, the
# vitest workers) runs on it too. sharp loads its prebuilt binary through Node-API, which is checked first.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$(bash .ci/node.sh "$1")"
export PATH="$(dirname "$binary"):$PATH"
echo "== tests on $(node --version) ($binary)"
node -e 'import("sharp").then(async ({ default: sharp }) => {
  const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: "red" } }).png().toBuffer();
  console.log(`sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}) loads on ${process.version}: ${png.length}-byte PNG`);
})'
[ -d dist ] || { echo "test-on-node: dist/ is missing (run npm ci or npm run build first)" >&2; exit 1; }
node node_modules/vitest/vitest.mjs run
