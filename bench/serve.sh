#!/usr/bin/env bash
# KMS endpoint benchmark: `envcrypt serve` (local store, audit log on) against moto_server on the
# same machine in the same run. Not part of CI, and no test asserts a timing.
#
#   bench/serve.sh          # 5 s per measurement
#   bench/serve.sh 10       # 10 s per measurement
#
# For GenerateDataKey and Decrypt with 1, 8 and 64 concurrent clients, each a SigV4-signing
# client on its own keep-alive connection (crates/envcrypt-server/examples/kms_load.rs, signing
# with the AWS SDK's aws-sigv4), prints requests per second, p50 and p99 latency, and the ratio
# of envcrypt serve's rate to moto's. The report also goes to bench/results/serve-DATE.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-5}
cargo build --release --quiet -p envcrypt-cli
cargo build --release --quiet -p envcrypt-server --example kms_load
envcrypt=$PWD/target/release/envcrypt
load=$PWD/target/release/examples/kms_load

work=$(mktemp -d)
served=""
cleanup() {
  [ -n "$served" ] && kill "$served" 2>/dev/null
  rm -rf "$work"
  scripts/moto.sh stop
}
trap cleanup EXIT
export ENVCRYPT_STORE=$work/store

credentials=$("$envcrypt" --json credentials create --principal user/bench)
access_key=$(printf '%s' "$credentials" | sed -n 's/.*"AccessKeyId": *"\([^"]*\)".*/\1/p')
secret=$(printf '%s' "$credentials" | sed -n 's/.*"SecretAccessKey": *"\([^"]*\)".*/\1/p')
"$envcrypt" serve --listen 127.0.0.1:0 > "$work/serve.out" &
served=$!
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
serve_url=$(awk '{ print $3; exit }' "$work/serve.out")
eval "$(scripts/moto.sh start)"
moto_url=$ENVCRYPT_TEST_MOTO_ENDPOINT

# measure URL KEY SECRET OPERATION CLIENTS: one JSON line from the load generator.
measure() { "$load" "$1" "$4" "$5" "$seconds" "$2" "$3"; }
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<< "$1"; }

report() {
  echo "$(date -u +%F), $(nproc) cores, ${seconds} s each, command: bench/serve.sh $seconds"
  printf '| %-15s | %7s | %12s | %8s | %8s | %12s | %8s | %8s | %14s |\n' operation clients "serve req/s" "p50 ms" "p99 ms" "moto req/s" "p50 ms" "p99 ms" "serve ÷ moto"
  printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' -----------------  --------- -------------- ---------- ---------- -------------- ---------- ---------- ----------------
  for operation in GenerateDataKey Decrypt; do
    for clients in 1 8 64; do
      local ours theirs
      ours=$(measure "$serve_url" "$access_key" "$secret" "$operation" "$clients")
      theirs=$(measure "$moto_url" bench bench "$operation" "$clients")
      [ "$(field "$ours" errors)" = 0 ] || { echo "envcrypt serve answered errors: $ours" >&2; exit 1; }
      printf '| %-15s | %7s | %12.0f | %8.2f | %8.2f | %12.0f | %8.2f | %8.2f | %14.1f |\n' "$operation" "$clients" \
        "$(field "$ours" per_second)" "$(field "$ours" p50_ms)" "$(field "$ours" p99_ms)" \
        "$(field "$theirs" per_second)" "$(field "$theirs" p50_ms)" "$(field "$theirs" p99_ms)" \
        "$(awk -v a="$(field "$ours" per_second)" -v b="$(field "$theirs" per_second)" 'BEGIN { printf "%.1f", a / b }')"
    done
  done
}
report | tee "bench/results/serve-$(date -u +%F).txt"
