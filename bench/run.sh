#!/usr/bin/env bash
# Throughput benchmark: envcrypt against the hardware limit and its peers, on the same data in
# one run. Not part of CI, and no test asserts a timing.
#
#   bench/run.sh            # 1 GiB of random data
#   bench/run.sh 256        # 256 MiB
#
# Measures envcrypt seal/open (one thread and one per core, to /dev/null, stdout to a file, and
# file to file with fsync; a frame-size sweep), `openssl speed -evp aes-256-gcm` (one core and
# -multi), the official aws-encryption-cli (in .venv, against a moto KMS on loopback) and age
# (installed from Debian if it can be). Prints MB/s (best of 3 for envcrypt), the ratio to
# envcrypt's, and peak RSS from /usr/bin/time; then peak RSS for 4 GiB through a pipe and the
# median wall time of `envcrypt seal` on a 1 KiB file.
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-1024}
bytes=$((mib * 1024 * 1024))
cores=$(nproc)
cargo build --release --quiet -p envcrypt-cli
envcrypt=$PWD/target/release/envcrypt

work=$(mktemp -d)
cleanup() { rm -rf "$work"; scripts/moto.sh stop; }
trap cleanup EXIT
export ENVCRYPT_STORE=$work/store
head -c "$bytes" /dev/urandom > "$work/data"
sync

rows=()
# measure NAME PAIR OUT RUNS COMMAND...: runs RUNS times with stdout to OUT and records MB/s of
# the fastest run (wall clock) and the largest peak RSS. PAIR names the envcrypt row a peer is
# compared with (empty for envcrypt's own rows).
measure() {
  local name=$1 pair=$2 out=$3 runs=$4 best="" kb=0
  shift 4
  for _ in $(seq "$runs"); do
    sync
    local start=$EPOCHREALTIME
    /usr/bin/time -f "%M" -o "$work/time" "$@" > "$out"
    local secs
    secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; fi
    local run_kb
    run_kb=$(tail -n 1 "$work/time")
    [ "$run_kb" -gt "$kb" ] && kb=$run_kb
  done
  rows+=("$name|$(awk -v b="$bytes" -v s="$best" 'BEGIN { printf "%.0f", b / s / 1e6 }')|$best|$((kb / 1024))|$pair")
}

"$envcrypt" key list > /dev/null
"$envcrypt" seal -o "$work/data.enc" "$work/data"
for threads in 1 "$cores"; do
  measure "envcrypt seal, $threads thread(s) (/dev/null)" "" /dev/null 3 "$envcrypt" seal --threads "$threads" -o - "$work/data"
  measure "envcrypt open, $threads thread(s) (/dev/null)" "" /dev/null 3 "$envcrypt" open --threads "$threads" -o - "$work/data.enc"
done
for frame in 65536 1048576 4194304; do
  "$envcrypt" seal --frame-size "$frame" -o "$work/frame.enc" "$work/data"
  measure "envcrypt seal, frame $((frame / 1024)) KiB (/dev/null)" "" /dev/null 3 "$envcrypt" seal --frame-size "$frame" -o - "$work/data"
  measure "envcrypt open, frame $((frame / 1024)) KiB (/dev/null)" "" /dev/null 3 "$envcrypt" open -o - "$work/frame.enc"
  rm -f "$work/frame.enc"
done
rm -f "$work/data.enc"
# "stdout" rows write through a shell redirection without fsync, as the peers do; file outputs
# are fsynced and renamed into place.
measure "envcrypt seal (stdout to file)" "" "$work/data.enc" 3 "$envcrypt" seal -o - "$work/data"
measure "envcrypt open (stdout to file)" "" "$work/data.out" 3 "$envcrypt" open -o - "$work/data.enc"
cmp "$work/data" "$work/data.out"
rm -f "$work/data.out" "$work/data.enc"
measure "envcrypt seal (file, fsync)" "" /dev/null 1 "$envcrypt" seal -o "$work/data.enc" "$work/data"
measure "envcrypt open (file, fsync)" "" /dev/null 1 "$envcrypt" open -o "$work/data.out" "$work/data.enc"
cmp "$work/data" "$work/data.out"
rm -f "$work/data.out" "$work/data.enc"

openssl_mbs() {
  openssl speed "$@" -evp aes-256-gcm -bytes 16384 -seconds 3 2>/dev/null | awk '/^AES-256-GCM|^aes-256-gcm/ { v = $NF } END { sub(/k$/, "", v); printf "%.0f", v * 1000 / 1e6 }'
}
rows+=("openssl aes-256-gcm, 1 core (16 KiB)|$(openssl_mbs)|-|-|envcrypt seal, 1 thread(s) (/dev/null)")
rows+=("openssl aes-256-gcm, -multi $cores (16 KiB)|$(openssl_mbs -multi "$cores")|-|-|envcrypt seal, $cores thread(s) (/dev/null)")

# The official CLI against moto KMS (one KMS call per file).
if [ -x .venv/bin/aws-encryption-cli ] || .venv/bin/pip install -q -r scripts/requirements-test.txt; then
  eval "$(scripts/moto.sh start)"
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=$ENVCRYPT_TEST_MOTO_ENDPOINT
  key=$("$envcrypt" --json --backend aws key create | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["Arn"])')
  cli=(.venv/bin/aws-encryption-cli --wrapping-keys "key=$key" --commitment-policy require-encrypt-require-decrypt -S)
  measure "aws-encryption-cli encrypt (file)" "envcrypt seal (stdout to file)" /dev/null 1 \
    "${cli[@]}" --encrypt -i "$work/data" -o "$work/data.esdk"
  measure "aws-encryption-cli decrypt (file)" "envcrypt open (stdout to file)" /dev/null 1 \
    "${cli[@]}" --decrypt -i "$work/data.esdk" -o "$work/data.out"
  cmp "$work/data" "$work/data.out"
  rm -f "$work/data.esdk" "$work/data.out"
fi

if command -v age > /dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq age > /dev/null 2>&1; }; then
  age-keygen -o "$work/age.key" 2> /dev/null
  measure "age encrypt (file)" "envcrypt seal (stdout to file)" /dev/null 3 \
    age -r "$(age-keygen -y "$work/age.key")" -o "$work/data.age" "$work/data"
  measure "age decrypt (file)" "envcrypt open (stdout to file)" /dev/null 3 \
    age -d -i "$work/age.key" -o "$work/data.out" "$work/data.age"
  cmp "$work/data" "$work/data.out"
else
  echo "age: not installable here; skipped" >&2
fi

mbs_of() { printf '%s\n' "${rows[@]}" | awk -F'|' -v n="$1" '$1 == n { print $2 }'; }
# The report goes to stdout and to bench/results/, from which bench/plot.py draws the figures.
report() {
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

  ratio() { awk -v a="$(mbs_of "$1")" -v b="$(mbs_of "$2")" 'BEGIN { printf "%.2f", a / b }'; }
  echo
  echo "speed-up with $cores threads: seal $(ratio "envcrypt seal, $cores thread(s) (/dev/null)" "envcrypt seal, 1 thread(s) (/dev/null)")x, open $(ratio "envcrypt open, $cores thread(s) (/dev/null)" "envcrypt open, 1 thread(s) (/dev/null)")x"

  # Peak memory for 4 GiB through pipes: no file of that size is needed.
  rss() { /usr/bin/time -f "%M" -o "$work/rss.$1" "${@:2}"; }
  head -c $((4 << 30)) /dev/zero | rss seal "$envcrypt" seal -o - - | rss open "$envcrypt" open -o - - | wc -c > "$work/count"
  [ "$(cat "$work/count")" = $((4 << 30)) ]
  echo "4 GiB through a pipe: peak RSS seal $(($(tail -n 1 "$work/rss.seal") / 1024)) MiB, open $(($(tail -n 1 "$work/rss.open") / 1024)) MiB"

  # Whole-process wall time for a 1 KiB file with the local store.
  head -c 1024 /dev/urandom > "$work/small"
  times=()
  for _ in $(seq 31); do
    start=$EPOCHREALTIME
    "$envcrypt" seal --force -o "$work/small.enc" "$work/small"
    times+=("$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", (b - a) * 1000 }')")
  done
  echo "envcrypt seal of a 1 KiB file: median $(printf '%s\n' "${times[@]}" | sort -n | sed -n 16p) ms of 31 processes"
}
result=bench/results/run-$(date -u +%F).txt
echo
report | tee "$result"
bench/plot.py "$result"
