#!/usr/bin/env bash
# The main job on the embedded local store: build envcrypt, seal a file, inspect it, open it,
# and check the bytes came back. Uses ENVCRYPT_STORE if set, else a throwaway store.
set -euo pipefail
cd "$(dirname "$0")/.."

# ENVCRYPT_BIN: a binary already built (scripts/test.sh passes its own, which a build of the
# CLI alone would compile again with other dependency features).
if [ -z "${ENVCRYPT_BIN:-}" ]; then
  scripts/packages.sh build
  cargo build --release --quiet -p envcrypt-cli
fi
envcrypt=${ENVCRYPT_BIN:-$PWD/target/release/envcrypt}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ENVCRYPT_STORE=${ENVCRYPT_STORE:-$work/store}

cp README.md "$work/README.md"
"$envcrypt" seal --context purpose=demo "$work/README.md"
"$envcrypt" inspect "$work/README.md.enc"
"$envcrypt" open --context purpose=demo -o "$work/README.opened" "$work/README.md.enc"
cmp "$work/README.md" "$work/README.opened"
echo
echo "sealed and opened $(wc -c < "$work/README.md") bytes with the local store at $ENVCRYPT_STORE"
"$envcrypt" key list
