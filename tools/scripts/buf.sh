#!/usr/bin/env bash
# Runs the buf CLI from its platform package (@bufbuild/buf-<os>-<arch>, an optional dependency):
# the registry this project installs from serves the linux-x64 build, so the umbrella
# @bufbuild/buf package (which lists every platform) cannot be locked here.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=buf-linux-x64 ;;
  Linux-aarch64) pkg=buf-linux-aarch64 ;;
  Darwin-arm64) pkg=buf-darwin-arm64 ;;
  Darwin-x86_64) pkg=buf-darwin-x64 ;;
  *) echo "buf.sh: no buf build known for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
bin="$root/node_modules/@bufbuild/$pkg/bin/buf"
if [ ! -x "$bin" ]; then
  echo "buf.sh: $bin is missing: run 'npm install' (or 'npm install --no-save @bufbuild/$pkg@1.59.0' on this platform)" >&2
  exit 1
fi
exec "$bin" "$@"
