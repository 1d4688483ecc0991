#!/usr/bin/env bash
# Small files: one 1 KiB file per process against age (paired runs, medians), and many 1 KiB
# files in one `envcrypt seal` / `open` against the same files through examples/backup.rs.
# Not part of CI, and no test asserts a timing.
#
#   bench/files.sh              # 2,000 files
#   bench/files.sh 100000       # 100,000 files (peak memory is the point)
set -euo pipefail
cd "$(dirname "$0")/.."

count=${1:-2000}
cargo build --release --quiet -p envcrypt-cli
cargo build --release --quiet -p envcrypt --example backup
envcrypt=$PWD/target/release/envcrypt
backup=$PWD/target/release/examples/backup
command -v age > /dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq age > /dev/null 2>&1; } || true

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ENVCRYPT_STORE=$work/store
"$envcrypt" key list > /dev/null
mkdir "$work/files"
python3 - "$work/files" "$count" <<'EOF'
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], f"f{i}"), "wb") as f:
        f.write(os.urandom(1024))
EOF
sync

echo "$(date -u +%F), $(nproc) cores, command: bench/files.sh $count"
if command -v age > /dev/null; then
  age-keygen -o "$work/age.key" 2> /dev/null
  python3 - "$envcrypt" "$(age-keygen -y "$work/age.key")" "$work/files/f0" "$work" <<'EOF'
import resource, statistics, subprocess, sys, time
envcrypt, recipient, small, work = sys.argv[1:]
def timed(cmd, faults):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    faults.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before)
    return elapsed
ours, theirs, our_faults, their_faults = [], [], [], []
for _ in range(41):
    ours.append(timed([envcrypt, "seal", "--force", "-o", f"{work}/small.enc", small], our_faults))
    theirs.append(timed(["age", "-r", recipient, "-o", f"{work}/small.age", small], their_faults))
a, b = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
print(f"1 KiB file, one process: envcrypt seal {a:.2f} ms, age {b:.2f} ms (medians of 41 paired runs): {a / b:.2f}x age")
# Most of a short process's time is the kernel mapping pages in: relocated pages of a
# position-independent binary, shared libraries, the heap.
print(f"  page faults per process: envcrypt {statistics.median(our_faults):.0f}, age {statistics.median(their_faults):.0f}")
EOF
else
  echo "age: not installable here; the 1 KiB comparison is skipped" >&2
fi

seconds() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
# calls NAME: how many NAME events the store's audit log holds.
calls() { "$envcrypt" --json audit list | python3 -c "import json, sys; print(sum(e['eventName'] == '$1' for e in json.load(sys.stdin)))"; }
generated=$(calls GenerateDataKey)
decrypted=$(calls Decrypt)
cd "$work/files"
start=$EPOCHREALTIME
/usr/bin/time -f "%M" -o "$work/rss" "$envcrypt" seal -- f* 2> /dev/null || true
echo "envcrypt seal of $count files: $(seconds "$start") s, peak $(($(tail -n 1 "$work/rss") / 1024)) MiB"
start=$EPOCHREALTIME
/usr/bin/time -f "%M" -o "$work/rss" "$envcrypt" open --force -- f*.enc
echo "envcrypt open of $count files: $(seconds "$start") s, peak $(($(tail -n 1 "$work/rss") / 1024)) MiB"
echo "key service calls for the two runs: GenerateDataKey $(($(calls GenerateDataKey) - generated)), Decrypt $(($(calls Decrypt) - decrypted))"
rm -f -- *.enc
start=$EPOCHREALTIME
"$backup" seal "$work/files" "$work/backup" --store "$ENVCRYPT_STORE" > /dev/null
echo "examples/backup.rs seal of the same files: $(seconds "$start") s"
