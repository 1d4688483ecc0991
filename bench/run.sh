#!/usr/bin/env bash
# Throughput benchmark: envcrypt against the hardware limit and its peers, on the same data in
# one run. Not part of CI, and no test asserts a timing.
#
#   bench/run.sh            # 1 GiB of random data
#   bench/run.sh 256        # 256 MiB
#
# Measures envcrypt seal/open (file to file, and to /dev/null), `openssl speed -evp
# aes-256-gcm` (one core and -multi), the official aws-encryption-cli (in .venv, against a
# moto KMS on loopback) and age (installed from Debian if it can be). Prints MB/s, the ratio to
# envcrypt's, and peak RSS from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-1024}
bytes=$((mib * 1024 * 1024))
cargo build --release --quiet -p envcrypt-cli
envcrypt=$PWD/target/release/envcrypt

work=$(mktemp -d)
cleanup() { rm -rf "$work"; scripts/moto.sh stop; }
trap cleanup EXIT
export ENVCRYPT_STORE=$work/store
head -c "$bytes" /dev/urandom > "$work/data"
sync

rows=()
# measure NAME PAIR OUT COMMAND...: runs once with stdout to OUT, records MB/s, seconds and peak
# RSS. PAIR names the envcrypt row a peer is compared with (empty for envcrypt's own rows).
measure() {
  local name=$1 pair=$2 out=$3
  shift 3
  sync
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$out"
  read -r secs kb < "$work/time"
  rows+=("$name|$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.0f", b / s / 1e6 }')|$secs|$((kb / 1024))|$pair")
}

"$envcrypt" key list > /dev/null
# File outputs are fsynced and renamed into place; "stdout" rows write through a shell
# redirection without fsync, as the peers do.
measure "envcrypt seal (file, fsync)" "" /dev/null "$envcrypt" seal -o "$work/data.enc" "$work/data"
measure "envcrypt open (file, fsync)" "" /dev/null "$envcrypt" open -o "$work/data.out" "$work/data.enc"
cmp "$work/data" "$work/data.out"
rm -f "$work/data.out" "$work/data.enc"
measure "envcrypt seal (stdout to file)" "" "$work/data.enc" "$envcrypt" seal -o - "$work/data"
measure "envcrypt open (stdout to file)" "" "$work/data.out" "$envcrypt" open -o - "$work/data.enc"
cmp "$work/data" "$work/data.out"
rm -f "$work/data.out"
measure "envcrypt seal (/dev/null)" "" /dev/null "$envcrypt" seal -o - "$work/data"
measure "envcrypt open (/dev/null)" "" /dev/null "$envcrypt" open -o - "$work/data.enc"
rm -f "$work/data.enc"

openssl_mbs() {
  openssl speed "$@" -evp aes-256-gcm -bytes 16384 -seconds 3 2>/dev/null | awk '/^AES-256-GCM|^aes-256-gcm/ { v = $NF } END { sub(/k$/, "", v); printf "%.0f", v * 1000 / 1e6 }'
}
rows+=("openssl aes-256-gcm, 1 core (16 KiB)|$(openssl_mbs)|-|-|envcrypt seal (/dev/null)")
rows+=("openssl aes-256-gcm, -multi $(nproc) (16 KiB)|$(openssl_mbs -multi "$(nproc)")|-|-|envcrypt seal (/dev/null)")

# The official CLI against moto KMS (one KMS call per file).
if [ -x .venv/bin/aws-encryption-cli ] || .venv/bin/pip install -q -r scripts/requirements-test.txt; then
  eval "$(scripts/moto.sh start)"
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=$ENVCRYPT_TEST_MOTO_ENDPOINT
  key=$("$envcrypt" --json --backend aws key create | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["Arn"])')
  cli=(.venv/bin/aws-encryption-cli --wrapping-keys "key=$key" --commitment-policy require-encrypt-require-decrypt -S)
  measure "aws-encryption-cli encrypt (file)" "envcrypt seal (stdout to file)" /dev/null \
    "${cli[@]}" --encrypt -i "$work/data" -o "$work/data.esdk"
  measure "aws-encryption-cli decrypt (file)" "envcrypt open (stdout to file)" /dev/null \
    "${cli[@]}" --decrypt -i "$work/data.esdk" -o "$work/data.out"
  cmp "$work/data" "$work/data.out"
  rm -f "$work/data.esdk" "$work/data.out"
fi

if command -v age > /dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq age > /dev/null 2>&1; }; then
  age-keygen -o "$work/age.key" 2> /dev/null
  measure "age encrypt (file)" "envcrypt seal (stdout to file)" /dev/null \
    age -r "$(age-keygen -y "$work/age.key")" -o "$work/data.age" "$work/data"
  measure "age decrypt (file)" "envcrypt open (stdout to file)" /dev/null \
    age -d -i "$work/age.key" -o "$work/data.out" "$work/data.age"
  cmp "$work/data" "$work/data.out"
else
  echo "age: not installable here; skipped" >&2
fi

mbs_of() { printf '%s\n' "${rows[@]}" | awk -F'|' -v n="$1" '$1 == n { print $2 }'; }
echo
echo "$(date -u +%F), $(nproc) cores, ${mib} MiB, command: bench/run.sh $mib"
printf '| %-44s | %6s | %7s | %8s | %-50s |\n' "what" "MB/s" "seconds" "peak MiB" "envcrypt ÷ this (the envcrypt row compared)"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "--------" "---------" "----------" "$(printf -- '-%.0s' {1..52})"
for row in "${rows[@]}"; do
  IFS='|' read -r name mbs secs rss pair <<< "$row"
  ratio=""
  if [ -n "$pair" ]; then
    ratio="$(awk -v a="$(mbs_of "$pair")" -v b="$mbs" 'BEGIN { printf "%.2f", a / b }') ($pair)"
  fi
  printf '| %-44s | %6s | %7s | %8s | %-50s |\n' "$name" "$mbs" "$secs" "$rss" "$ratio"
done
