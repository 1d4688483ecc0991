#!/usr/bin/env bash
# The man pages in docs/man/, generated from the CLI's clap definition (`envcrypt man --dir`):
#   scripts/man.sh          regenerates them; commit the result with the change that made it
#   scripts/man.sh --check  fails if they differ from what the built binary generates (CI)
# Uses $ENVCRYPT_BIN, else target/release/envcrypt (build it first).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${ENVCRYPT_BIN:-$root/target/release/envcrypt}
pages=$root/docs/man
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
"$bin" man --dir "$fresh"
if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$pages" "$fresh" > "$fresh.diff" 2>&1; then
    cat "$fresh.diff" >&2
    rm -f "$fresh.diff"
    echo "docs/man/ is stale: run scripts/man.sh and commit the pages" >&2
    exit 1
  fi
  rm -f "$fresh.diff"
  echo "docs/man/: $(ls "$pages" | wc -l) pages, current"
else
  rm -rf "$pages"
  mkdir -p "$pages"
  cp "$fresh"/*.1 "$pages"/
  echo "docs/man/: $(ls "$pages" | wc -l) pages written"
fi
