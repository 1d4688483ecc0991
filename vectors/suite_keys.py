#!/usr/bin/env python3
"""Known-answer vectors for each algorithm suite's content key, made with the official AWS
Encryption SDK for Python (its own key derivation), so that envcrypt's derivation is checked
against the reference implementation rather than against itself.

    .venv/bin/python vectors/suite_keys.py            # rewrites vectors/suite-keys.json
    .venv/bin/python vectors/suite_keys.py --check    # fails if the file differs

For every suite: a data key, a message id (16 bytes in format 1, 32 in format 2), and one
AES-GCM encryption under the derived content key (IV, AAD, plaintext, ciphertext, tag).
"""

import json
import pathlib
import sys

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import Algorithm
from aws_encryption_sdk.internal.crypto.data_keys import derive_data_encryption_key
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

OUT = pathlib.Path(__file__).resolve().parent / "suite-keys.json"


def main():
    cases = []
    for algorithm in Algorithm:
        data_key = bytes((algorithm.algorithm_id + i) % 256 for i in range(algorithm.kdf_input_len))
        message_id = bytes((7 * i + 1) % 256 for i in range(algorithm.message_id_length()))
        content_key = derive_data_encryption_key(data_key, algorithm, message_id)
        iv, aad, plaintext = bytes(range(12)), b"envcrypt suite vector", b"sixteen bytes!!!"
        sealed = AESGCM(content_key).encrypt(iv, plaintext, aad)
        cases.append({
            "suite": f"{algorithm.algorithm_id:04x}",
            "data_key": data_key.hex(),
            "message_id": message_id.hex(),
            "iv": iv.hex(),
            "aad": aad.hex(),
            "plaintext": plaintext.hex(),
            "ciphertext": sealed[:-16].hex(),
            "tag": sealed[-16:].hex(),
        })
    document = {
        "description": f"content keys per suite, derived by aws-encryption-sdk {aws_encryption_sdk.__version__}; see suite_keys.py",
        "cases": cases,
    }
    data = json.dumps(document, indent=2).encode() + b"\n"
    if "--check" in sys.argv:
        sys.exit(0 if OUT.exists() and OUT.read_bytes() == data else f"{OUT} is out of date")
    OUT.write_bytes(data)


if __name__ == "__main__":
    main()
