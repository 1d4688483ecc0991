#!/usr/bin/env bash
# Throughput per algorithm suite, in one run: seal and open of the same data under each suite
# family (unsigned and signed, committing and legacy), on one thread and on every core, next to
# `openssl speed` for AES-256-GCM and for the signed suites' hash (SHA-384, SHA-256). Not part
# of CI, and no test asserts a timing.
#
#   bench/suites.sh                       # 1 GiB
#   bench/suites.sh 512 /path/to/envcrypt # also measures the default suite with another build
#                                         # (the before of a before/after)
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-1024}
before=${2:-}
bytes=$((mib * 1024 * 1024))
cores=$(nproc)
cargo build --release --quiet --workspace
envcrypt=$PWD/target/release/envcrypt

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ENVCRYPT_STORE=$work/store
head -c "$bytes" /dev/urandom > "$work/data"
"$envcrypt" key list > /dev/null

# best_mbs COMMAND...: MB/s of the fastest of three runs, output to /dev/null.
best_mbs() {
  local best=""
  for _ in 1 2 3; do
    local start=$EPOCHREALTIME
    "$@" > /dev/null
    local secs
    secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }')
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; fi
  done
  awk -v b="$bytes" -v s="$best" 'BEGIN { printf "%.0f", b / s / 1e6 }'
}

openssl_mbs() {
  local algorithm=$1
  shift
  openssl speed "$@" -evp "$algorithm" -bytes 16384 -seconds 3 2>/dev/null |
    awk 'tolower($1) ~ /^(aes-256-gcm|sha384|sha256)$/ { v = $NF } END { sub(/k$/, "", v); printf "%.0f", v * 1000 / 1e6 }'
}

echo "$(date -u +%F), $cores cores, ${mib} MiB, command: bench/suites.sh $*"
printf '| %-40s | %9s | %9s | %9s | %9s |\n' "suite" "seal 1 thr" "seal $cores thr" "open 1 thr" "open $cores thr"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------------" "-----------" "-----------" "-----------" "-----------"
row() {
  local label=$1 binary=$2
  shift 2
  "$binary" seal "$@" -o "$work/sealed" "$work/data"
  local open_flags=(--commitment-policy require-encrypt-allow-decrypt)
  [ "$binary" = "$before" ] && open_flags=()
  printf '| %-40s | %9s | %9s | %9s | %9s |\n' "$label" \
    "$(best_mbs "$binary" seal --threads 1 "$@" -o - "$work/data")" \
    "$(best_mbs "$binary" seal --threads "$cores" "$@" -o - "$work/data")" \
    "$(best_mbs "$binary" open "${open_flags[@]}" --threads 1 -o - "$work/sealed")" \
    "$(best_mbs "$binary" open "${open_flags[@]}" --threads "$cores" -o - "$work/sealed")"
  rm -f "$work/sealed"
}
if [ -n "$before" ]; then
  row "0x0478 (default), before: $(basename "$before")" "$before"
fi
row "0x0478 (default)" "$envcrypt"
row "0x0578 (signed, P-384)" "$envcrypt" --suite 0x0578
legacy=(--commitment-policy forbid-encrypt-allow-decrypt --suite)
row "0x0378 (ESDK 1.x default, P-384)" "$envcrypt" "${legacy[@]}" 0x0378
row "0x0214 (signed, P-256)" "$envcrypt" "${legacy[@]}" 0x0214
row "0x0178 (HKDF-SHA-256)" "$envcrypt" "${legacy[@]}" 0x0178
row "0x0146 (AES-192, RustCrypto)" "$envcrypt" "${legacy[@]}" 0x0146
row "0x0078 (no KDF)" "$envcrypt" "${legacy[@]}" 0x0078
echo
echo "openssl speed, 16 KiB blocks: aes-256-gcm $(openssl_mbs aes-256-gcm) MB/s (1 core), $(openssl_mbs aes-256-gcm -multi "$cores") MB/s (-multi $cores);" \
  "sha384 $(openssl_mbs sha384) MB/s, sha256 $(openssl_mbs sha256) MB/s (1 core)"
