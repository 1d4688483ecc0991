"""Opens every message of an Encryption SDK decrypt manifest (version 2, raw keys) with the
official AWS Encryption SDK for Python, and checks each plaintext.

usage: decrypt_manifest.py MANIFEST
Prints "N decrypted" and exits 0 only if every test decrypts to its plaintext.
"""
import base64
import json
import os
import sys

import aws_encryption_sdk
import aws_encryption_sdk.exceptions
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey

AES = {
    128: WrappingAlgorithm.AES_128_GCM_IV12_TAG16_NO_PADDING,
    192: WrappingAlgorithm.AES_192_GCM_IV12_TAG16_NO_PADDING,
    256: WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
}
RSA = {
    ("pkcs1", None): WrappingAlgorithm.RSA_PKCS1,
    ("oaep-mgf1", "sha1"): WrappingAlgorithm.RSA_OAEP_SHA1_MGF1,
    ("oaep-mgf1", "sha256"): WrappingAlgorithm.RSA_OAEP_SHA256_MGF1,
    ("oaep-mgf1", "sha384"): WrappingAlgorithm.RSA_OAEP_SHA384_MGF1,
    ("oaep-mgf1", "sha512"): WrappingAlgorithm.RSA_OAEP_SHA512_MGF1,
}


def read(directory, uri):
    assert uri.startswith("file://"), uri
    with open(os.path.join(directory, uri[len("file://"):]), "rb") as f:
        return f.read()


def master_key(keys, spec):
    entry = keys[spec["key"]]
    if spec["encryption-algorithm"] == "aes":
        wrapping = WrappingKey(
            wrapping_algorithm=AES[entry["bits"]],
            wrapping_key=base64.b64decode(entry["material"]),
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        )
    else:
        kind = EncryptionKeyType.PRIVATE if entry["type"] == "private" else EncryptionKeyType.PUBLIC
        wrapping = WrappingKey(
            wrapping_algorithm=RSA[(spec["padding-algorithm"], spec.get("padding-hash"))],
            wrapping_key=entry["material"].encode(),
            wrapping_key_type=kind,
        )
    return RawMasterKey(provider_id=spec["provider-id"], key_id=entry["key-id"].encode(), wrapping_key=wrapping)


def main(path):
    directory = os.path.dirname(os.path.abspath(path))
    with open(path) as f:
        manifest = json.load(f)
    assert manifest["manifest"] == {"type": "awses-decrypt", "version": 2}, manifest["manifest"]
    keys = json.loads(read(directory, manifest["keys"]))["keys"]
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)
    decrypted = 0
    built = {}
    for name, test in manifest["tests"].items():
        ciphertext = read(directory, test["ciphertext"])
        failures = []
        # Each key on its own, in order, as a multi-keyring tries them: a key that cannot
        # decrypt (an RSA public key) is not fatal while another one can.
        for spec in test["master-keys"]:
            try:
                # Loading an RSA-4096 private key is the slow part: each key is built once.
                spec_id = json.dumps(spec, sort_keys=True)
                if spec_id not in built:
                    built[spec_id] = master_key(keys, spec)
                plaintext, _ = client.decrypt(source=ciphertext, key_provider=built[spec_id])
                break
            except aws_encryption_sdk.exceptions.AWSEncryptionSDKClientError as error:
                failures.append(f"{spec['key']}: {error!r}")
        else:
            sys.exit(f"{name}: no key decrypts: {failures}")
        if plaintext != read(directory, test["result"]["output"]["plaintext"]):
            sys.exit(f"{name}: wrong plaintext")
        decrypted += 1
    print(f"{decrypted} decrypted")


if __name__ == "__main__":
    main(sys.argv[1])
