#!/usr/bin/env bash
# The S3 walkthrough of docs/s3.md, run as written against a local S3 (moto_server, which serves S3
# and KMS on one loopback port): seal a file and stdin into objects, inspect, open, re-wrap
# server-side, and the S3 Encryption Client format. scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

# ENVCRYPT_BIN: a binary already built (scripts/test.sh passes its own).
if [ -z "${ENVCRYPT_BIN:-}" ]; then
  scripts/packages.sh build
  cargo build --release --quiet -p envcrypt-cli
fi
bin=$(mktemp -d)
ln -s "${ENVCRYPT_BIN:-$PWD/target/release/envcrypt}" "$bin/envcrypt"
PATH=$bin:$PATH
work=$(mktemp -d)
trap 'rm -rf "$work" "$bin"; scripts/moto.sh stop' EXIT
export ENVCRYPT_STORE=$work/store

# --- the walkthrough's commands, from here on ---
eval "$(scripts/moto.sh start)"                  # exports ENVCRYPT_TEST_MOTO_ENDPOINT
scripts/moto.sh bucket backups
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=$ENVCRYPT_TEST_MOTO_ENDPOINT   # or --endpoint-url on each command

head -c 20000000 /dev/urandom > "$work/db.dump"
envcrypt seal "$work/db.dump" -o s3://backups/db.dump.enc --context host=db1
envcrypt inspect s3://backups/db.dump.enc          # one ranged read of the header
envcrypt open s3://backups/db.dump.enc -o "$work/db.restored" --context host=db1
cmp "$work/db.dump" "$work/db.restored"

tar c -C "$work" db.dump | envcrypt seal - -o s3://backups/db.tar.enc --part-size 16MiB
envcrypt open s3://backups/db.tar.enc -o - | tar t

envcrypt key create --alias alias/next-year
envcrypt --json rewrap --to alias/next-year s3://backups/db.dump.enc   # body stays in S3

envcrypt seal "$work/db.dump" -o s3://backups/db.dump.s3ec --format s3ec
envcrypt inspect s3://backups/db.dump.s3ec
envcrypt open s3://backups/db.dump.s3ec -o - | cmp - "$work/db.dump"
