"""Decrypts a message with the official AWS Encryption SDK for Python (strict KMS provider).

usage: sdk_decrypt.py KEY_ARN INPUT OUTPUT CONTEXT_JSON
AWS_ENDPOINT_URL points botocore at the KMS stand-in. Exits non-zero if the SDK refuses the
message or if the context it reports lacks a pair of CONTEXT_JSON.
"""
import json
import sys

import aws_encryption_sdk
from aws_encryption_sdk import CommitmentPolicy

key_arn, source, target, expected = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_arn])
with open(source, "rb") as f:
    plaintext, header = client.decrypt(source=f.read(), key_provider=provider)
for k, v in expected.items():
    if header.encryption_context.get(k) != v:
        sys.exit(f"context pair {k}={v} missing from {header.encryption_context}")
with open(target, "wb") as f:
    f.write(plaintext)
