"""Wraps key material for KMS ImportKeyMaterial with Python's `cryptography`, as a KMS user
would: `wrap_material.py ALGORITHM PUBLIC_KEY_DER MATERIAL_FILE OUT_FILE`.

ALGORITHM is a KMS wrapping algorithm: RSAES_OAEP_SHA_1 and RSAES_OAEP_SHA_256 encrypt the
material with RSA-OAEP; RSA_AES_KEY_WRAP_SHA_1 and _SHA_256 encrypt a fresh AES-256 key with
RSA-OAEP and append the material wrapped under it with AES key wrap with padding (RFC 5649).
"""

import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

algorithm, public_key_file, material_file, out_file = sys.argv[1:]
with open(public_key_file, "rb") as f:
    public_key = serialization.load_der_public_key(f.read())
with open(material_file, "rb") as f:
    material = f.read()

digest = hashes.SHA1() if algorithm.endswith("_SHA_1") else hashes.SHA256()
oaep = padding.OAEP(mgf=padding.MGF1(algorithm=digest), algorithm=digest, label=None)
if algorithm.startswith("RSAES_OAEP_"):
    wrapped = public_key.encrypt(material, oaep)
elif algorithm.startswith("RSA_AES_KEY_WRAP_"):
    aes_key = os.urandom(32)
    wrapped = public_key.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)
else:
    sys.exit(f"unknown wrapping algorithm {algorithm}")
with open(out_file, "wb") as f:
    f.write(wrapped)
