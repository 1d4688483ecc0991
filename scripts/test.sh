#!/usr/bin/env bash
# Installs what the tests need and runs every test. This is the README's test command and
# what .ci/run calls; it must pass on a brand-new machine.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# Python tools in a project-local venv: `cryptography` re-derives the known-answer vectors,
# `moto[server]` is the AWS KMS stand-in.
say "python venv (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt

say "Debian packages: OpenSSL headers, SoftHSM2 (PKCS#11 tokens for the HSM tests)"
scripts/packages.sh test

say "moto_server (AWS KMS stand-in) on a free loopback port"
eval "$(scripts/moto.sh start)"
trap 'scripts/moto.sh stop' EXIT
echo "moto at $ENVCRYPT_TEST_MOTO_ENDPOINT"

say "known-answer vectors are reproducible from vectors/generate.py"
.venv/bin/python vectors/generate.py --check
.venv/bin/python vectors/suite_keys.py --check

# One build profile for everything (release): the tests include a 100 MiB round trip and
# Argon2id at full strength.
say "cargo test --release --workspace"
# `--all-targets` builds examples as test harnesses; backup_example.rs runs the real binary.
cargo build --release --workspace --examples
cargo test --release --workspace --all-targets
cargo test --release --workspace --doc

say "layering (ARCHITECTURE.md) and the man pages (docs/man/) are current"
python3 scripts/check-architecture.py
ENVCRYPT_BIN=$PWD/target/release/envcrypt scripts/man.sh --check

# The examples built above, run as built: `cargo run -p PACKAGE` would resolve each package's
# features on its own and compile the AWS SDK again.
say "examples"
examples=$PWD/target/release/examples
"$examples/seal_and_open"
"$examples/key_service"
"$examples/governance"
"$examples/hsm_cluster"
"$examples/s3_objects"
backup=$(mktemp -d)
"$examples/backup" seal crates "$backup/target" --store "$backup/store"
"$examples/backup" restore "$backup/target" "$backup/restored" --store "$backup/store"
diff -r crates "$backup/restored"
rm -rf "$backup"

say "fuzz targets: a short smoke run of each (scripts/fuzz.sh SECONDS for a campaign)"
scripts/fuzz.sh 5

say "docs/s3.md walkthrough (scripts/try-s3.sh, against its own moto)"
(unset ENVCRYPT_TEST_MOTO_ENDPOINT; ENVCRYPT_BIN=$PWD/target/release/envcrypt scripts/try-s3.sh > /dev/null)
echo "scripts/try-s3.sh: ok"

say "README main command"
ENVCRYPT_BIN=$PWD/target/release/envcrypt scripts/try.sh > /dev/null
echo "scripts/try.sh: ok"
