#!/usr/bin/env bash
# Sign and Verify per second on the local store (one thread, audit log on, a DIGEST per call),
# the primitive alone (src/crypto/key_pair.rs on material of the same spec), and `openssl speed`
# for the same algorithms on one core, in the same run.
# Not part of CI, and no test asserts a timing.
#
#   bench/signing.sh        # 3 seconds per measurement
#   bench/signing.sh 10
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-3}
cargo build --release --quiet -p envcrypt --example sign_rate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl speed -seconds "$seconds" rsa2048 rsa3072 rsa4096 ecdsap256 ecdsap384 ecdsap521 > "$work/openssl" 2> /dev/null
target/release/examples/sign_rate "$seconds" > "$work/envcrypt"

echo "$(date -u +%F), $(nproc) cores, $(openssl version | cut -d' ' -f1-2), command: bench/signing.sh $seconds"
python3 - "$work/openssl" "$work/envcrypt" <<'PY'
import re, sys
openssl = {}
for line in open(sys.argv[1]):
    m = re.match(r"\s*rsa\s+(\d+) bits\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", line)
    if m:
        openssl[f"RSA_{m[1]}"] = (float(m[2]), float(m[3]))
    m = re.match(r"\s*(\d+) bits ecdsa \(nistp(\d+)\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", line)
    if m:
        openssl[f"ECC_NIST_P{m[2]}"] = (float(m[3]), float(m[4]))
print("| key spec | algorithm | sign/s: store | primitive | openssl | store ÷ openssl | verify/s: store | primitive | openssl | store ÷ openssl |")
print("|---|---|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[2]):
    spec, algorithm, *rates = line.split()
    sign, verify, raw_sign, raw_verify = map(float, rates)
    peer = openssl.get(spec) if "PSS" not in algorithm else None
    theirs = (f"{peer[0]:,.0f}", f"{sign / peer[0]:.2f}×", f"{peer[1]:,.0f}", f"{verify / peer[1]:.2f}×") if peer else ("—",) * 4
    print(f"| {spec} | {algorithm} | {sign:,.0f} | {raw_sign:,.0f} | {theirs[0]} | {theirs[1]} | {verify:,.0f} | {raw_verify:,.0f} | {theirs[2]} | {theirs[3]} |")
PY
