#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 60) and prints executions per target.
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh 5               # the CI smoke run
#   scripts/fuzz.sh 3600 decrypt    # a long campaign on one target
# New corpus entries go to fuzz/corpus/<target> (not committed); seeds are in fuzz/seeds/<target>.
# Crashes are saved under fuzz/artifacts/<target>/ and make the script fail.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(header decrypt open_parallel local_blob context store_record governance pkcs11_blob s3ec_object serve_request key_pair)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi

# The code under test forbids `unsafe`, so the fuzzers run without a sanitizer (`-s none`):
# stable Rust cannot build AddressSanitizer, and coverage-guided search is what finds panics.
cd fuzz
cargo fuzz build -O -s none
status=0
printf '%-14s %14s %10s\n' target executions exec/s
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  log=$(mktemp)
  if ! cargo fuzz run -O -s none "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 > "$log" 2>&1; then
    echo "fuzz target $target failed:" >&2
    tail -40 "$log" >&2
    status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  printf '%-14s %14s %10s\n' "$target" "${execs:-?}" "${rate:-?}"
  rm -f "$log"
done
exit $status
