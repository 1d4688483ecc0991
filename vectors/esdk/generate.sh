#!/usr/bin/env bash
# Makes vectors/esdk/python-raw.tar.gz: the official test vectors, written by the official
# Python Encryption SDK's test-vector handlers from the framework's canonical decrypt-generation
# manifest (version 2), keeping every test whose keys are raw (AES or RSA; the AWS KMS ones need
# an AWS account). Run by hand; CI only reads the result (the handlers are not a registry package).
#
# usage: vectors/esdk/generate.sh PYTHON_SDK_CHECKOUT FRAMEWORK_CHECKOUT
#   PYTHON_SDK_CHECKOUT  aws/aws-encryption-sdk-python at 51089773be9578ef844dd208c119acd54b2d8a14
#   FRAMEWORK_CHECKOUT   awslabs/aws-crypto-tools-test-vector-framework at c3d73fae260fd9e9cc9e746f09a7ffbab83576e2
set -euo pipefail
sdk=$(realpath "$1")
framework=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$sdk" "$sdk/test_vector_handlers"

manifests="$framework/features/CANONICAL-GENERATED-MANIFESTS"
python3 - "$manifests" "$work" <<'PY'
import json, sys
manifests, work = sys.argv[1], sys.argv[2]
keys = json.load(open(f"{manifests}/0002-keys.v3.json"))
keys["keys"] = {name: key for name, key in keys["keys"].items() if key["type"] != "aws-kms"}
json.dump(keys, open(f"{work}/keys.json", "w"), indent=2)
generation = json.load(open(f"{manifests}/0006-awses-message-decryption-generation.v2.json"))
def raw(test):
    scenario = test["encryption-scenario"]
    return all(key["type"] == "raw" for key in scenario["master-keys"] + test.get("decryption-master-keys", []))
generation["tests"] = {name: test for name, test in generation["tests"].items() if raw(test)}
generation["keys"] = "file://keys.json"
json.dump(generation, open(f"{work}/generate.json", "w"), indent=2)
print(f"{len(generation['tests'])} raw-key generation tests", file=sys.stderr)
PY

# The handlers never need AWS here; keep botocore from probing for instance credentials.
(cd "$work" && AWS_EC2_METADATA_DISABLED=true "$work/venv/bin/awses-full-message-decrypt-generate" \
    --input generate.json --output python-raw)
# The handlers decrypt what they wrote, as a check of the set itself.
(cd "$work" && AWS_EC2_METADATA_DISABLED=true "$work/venv/bin/awses-full-message-decrypt" \
    --input python-raw/manifest.json)
# Same files, same bytes: a re-run that makes the same vectors leaves the archive unchanged.
tar -C "$work" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - python-raw | gzip -n > "$here/python-raw.tar.gz"
echo "wrote $here/python-raw.tar.gz ($(du -h "$here/python-raw.tar.gz" | cut -f1))"
