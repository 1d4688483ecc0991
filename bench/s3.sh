#!/usr/bin/env bash
# S3 benchmark against moto_server on loopback: upload/download throughput and peak memory of
# envcrypt's streaming S3 paths, beside a plain (unencrypted) boto3 transfer and the official
# S3 Encryption Client for Python on the same data in the same run. Not part of CI.
#
#   bench/s3.sh          # 2 GiB object (the bounded-memory check)
#   bench/s3.sh 256      # 256 MiB
#
# moto keeps objects on its own side (memory and temporary files) and is itself the slowest
# part: the figures are an upper bound on envcrypt's cost, not S3's speed. Peak RSS is
# envcrypt's own process (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-2048}
bytes=$((mib * 1024 * 1024))
cargo build --release --quiet -p envcrypt-cli
envcrypt=$PWD/target/release/envcrypt
python=$PWD/.venv/bin/python

work=$(mktemp -d)
cleanup() { rm -rf "$work"; scripts/moto.sh stop; }
trap cleanup EXIT
eval "$(scripts/moto.sh start)"
scripts/moto.sh bucket bench 2>/dev/null
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
  AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null ENVCRYPT_STORE=$work/store
endpoint=$ENVCRYPT_TEST_MOTO_ENDPOINT
head -c "$bytes" /dev/urandom > "$work/data"

rows=()
# measure NAME COMMAND...: one run; records MB/s over the object size and peak RSS in MiB.
measure() {
  local name=$1
  shift
  local start=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o "$work/time" "$@"
  local secs
  secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  rows+=("$name|$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.0f", b / s / 1e6 }')|$secs|$(( $(tail -n 1 "$work/time") / 1024 ))")
}

e=("$envcrypt" --endpoint-url "$endpoint")
measure "envcrypt seal FILE -o s3:// (sealed, 8 MiB parts, 4 in flight)" "${e[@]}" seal "$work/data" -o s3://bench/data.enc
measure "envcrypt seal - -o s3:// (stdin, length recorded after)" sh -c "cat '$work/data' | '$envcrypt' --endpoint-url '$endpoint' seal - -o s3://bench/stdin.enc"
measure "envcrypt open s3:// -o FILE (sealed)" "${e[@]}" open s3://bench/data.enc -o "$work/out"
cmp "$work/data" "$work/out"
rm -f "$work/out"
measure "envcrypt open s3:// -o - (sealed, to /dev/null)" sh -c "'$envcrypt' --endpoint-url '$endpoint' open s3://bench/data.enc -o - > /dev/null"
measure "envcrypt seal --format s3ec (V3)" "${e[@]}" seal "$work/data" -o s3://bench/data.s3ec --format s3ec
measure "envcrypt open s3ec -o FILE" "${e[@]}" open s3://bench/data.s3ec -o "$work/out"
cmp "$work/data" "$work/out"
rm -f "$work/out"
measure "envcrypt inspect s3:// (one ranged read)" sh -c "'$envcrypt' --endpoint-url '$endpoint' inspect s3://bench/data.enc > /dev/null"

cat > "$work/peer.py" <<'PY'
import os, sys, boto3
from boto3.s3.transfer import TransferConfig
endpoint, action, path = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])
config = TransferConfig(multipart_chunksize=8 * 1024 * 1024, max_concurrency=4)
if action == "upload":
    s3.upload_file(path, "bench", "plain", Config=config)
elif action == "download":
    s3.download_file("bench", "plain", path, Config=config)
else:
    from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
    from s3_encryption.materials.kms_keyring import KmsKeyring
    kms = boto3.client("kms", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])
    key = kms.create_key()["KeyMetadata"]["Arn"]
    client = S3EncryptionClient(wrapped_s3_client=s3,
                                config=S3EncryptionClientConfig(keyring=KmsKeyring(kms_client=kms, kms_key_id=key)))
    with open(path, "rb") as f:
        client.put_object(Bucket="bench", Key="official", Body=f.read())
    body = client.get_object(Bucket="bench", Key="official")["Body"].read()
    assert len(body) == int(sys.argv[4])
PY
peer=("$python" "$work/peer.py" "$endpoint")
measure "boto3 upload_file (no encryption, 8 MiB parts, 4 threads)" "${peer[@]}" upload "$work/data"
measure "boto3 download_file (no encryption)" "${peer[@]}" download "$work/out"
rm -f "$work/out"
if [ "$mib" -le 512 ]; then
  measure "official S3 Encryption Client (Python): put + get, in memory" "${peer[@]}" official "$work/data" "$bytes"
else
  echo "(the official Python S3 Encryption Client reads whole objects into memory; run with 512 or less to include it)"
fi

openssl_kbs=$(openssl speed -evp aes-256-gcm -bytes 16384 -seconds 2 2>/dev/null | awk '/^AES-256-GCM/ { print $NF }')
openssl_mbs=$(awk -v k="${openssl_kbs%k}" 'BEGIN { printf "%.0f", k * 1000 / 1e6 }')

printf '\n%s MiB object, moto_server %s on loopback, %s cores; openssl speed -evp aes-256-gcm (16 KiB, one core): %s MB/s\n\n' \
  "$mib" "$("$python" -c 'import moto; print(moto.__version__)')" "$(nproc)" "$openssl_mbs"
printf '| %-66s | %8s | %8s | %9s | %12s |\n' "run" "MB/s" "seconds" "peak RSS" "vs openssl"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..68})" "----------" "----------" "-----------" "--------------"
for row in "${rows[@]}"; do
  IFS='|' read -r name rate secs rss <<< "$row"
  printf '| %-66s | %8s | %8s | %6s MiB | %11s× |\n' "$name" "$rate" "$secs" "$rss" \
    "$(awk -v r="$rate" -v o="$openssl_mbs" 'BEGIN { printf "%.2f", r / o }')"
done
