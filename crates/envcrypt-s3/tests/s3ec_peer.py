"""The official Amazon S3 Encryption Client (PyPI amazon-s3-encryption-client-python) as a peer.

    s3ec_peer.py put ENDPOINT KEY_ID v3|v2 BUCKET OBJECT FILE [k=v ...]
    s3ec_peer.py get ENDPOINT KEY_ID v3|v2 BUCKET OBJECT FILE [k=v ...]

`put` encrypts FILE into the object; `get` decrypts the object into FILE. v3 is the client's
default (key-committing, REQUIRE_ENCRYPT_REQUIRE_DECRYPT); v2 writes the non-committing format
and reads either (FORBID_ENCRYPT_ALLOW_DECRYPT). The context pairs go to EncryptionContext.
Credentials and region come from the environment (moto's test values); KMS calls go to
S3EC_PEER_KMS_ENDPOINT if it is set (an `envcrypt serve`), else to ENDPOINT.
"""

import os
import sys

import boto3
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.materials.kms_keyring import KmsKeyring
from s3_encryption.materials.materials import AlgorithmSuite, CommitmentPolicy


def main(argv):
    action, endpoint, key_id, version, bucket, key, path, *pairs = argv
    context = dict(pair.split("=", 1) for pair in pairs)
    region = os.environ["AWS_REGION"]
    kms_endpoint = os.environ.get("S3EC_PEER_KMS_ENDPOINT", endpoint)
    kms = boto3.client("kms", endpoint_url=kms_endpoint, region_name=region)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region)
    keyring = KmsKeyring(kms_client=kms, kms_key_id=key_id)
    if version == "v3":
        config = S3EncryptionClientConfig(keyring=keyring)
    else:
        config = S3EncryptionClientConfig(
            keyring=keyring,
            encryption_algorithm=AlgorithmSuite.ALG_AES_256_GCM_IV12_TAG16_NO_KDF,
            commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
        )
    client = S3EncryptionClient(wrapped_s3_client=s3, config=config)
    extra = {"EncryptionContext": context} if context else {}
    if action == "put":
        with open(path, "rb") as f:
            client.put_object(Bucket=bucket, Key=key, Body=f.read(), **extra)
    else:
        body = client.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
        with open(path, "wb") as f:
            f.write(body)


if __name__ == "__main__":
    main(sys.argv[1:])
