#!/usr/bin/env python3
"""Generates envcrypt's known-answer vectors from the published formats, independently of
the Rust code: it uses only Python's `cryptography` package (AES-GCM, HKDF) and the byte
layouts of the AWS Encryption SDK specification (message format v2, suite 0x0478; message
format v1 with the unsigned legacy suites, framed and non-framed), of the
Amazon S3 Encryption Client's object formats (V3 and V2), and of envcrypt's local and PKCS#11
ciphertext blobs.

Every input is derived from fixed labels, so running this again reproduces the files:

    python3 vectors/generate.py            # rewrites vectors/*.json and the seeds in fuzz/seeds/
    python3 vectors/generate.py --check    # exits 1 if the committed files differ

The Rust tests (tests/vectors.rs) decrypt each expected message with the
given data key and re-encrypt the plaintext with the same message id, requiring identical bytes.
"""
import base64
import hashlib
import json
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SUITE = 0x0478
HERE = Path(__file__).resolve().parent


def fixed(label: str, n: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"envcrypt-vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def serialize_context(ctx: dict) -> bytes:
    if not ctx:
        return b""
    items = sorted((k.encode(), v.encode()) for k, v in ctx.items())
    out = u16(len(items))
    for k, v in items:
        out += u16(len(k)) + k + u16(len(v)) + v
    return out


def hkdf(ikm, salt, info, n=32):
    return HKDF(algorithm=hashes.SHA512(), length=n, salt=salt, info=info).derive(ikm)


def message(data_key, message_id, ctx, edks, frame_length, plaintext):
    content_key = hkdf(data_key, message_id, u16(SUITE) + b"DERIVEKEY")
    commitment = hkdf(data_key, message_id, b"COMMITKEY")
    body = bytes([0x02]) + u16(SUITE) + message_id
    ser = serialize_context(ctx)
    body += u16(len(ser)) + ser + u16(len(edks))
    for provider_id, info, ct in edks:
        for field in (provider_id.encode(), info.encode(), ct):
            body += u16(len(field)) + field
    body += bytes([0x02]) + u32(frame_length) + commitment
    aead = AESGCM(content_key)
    header_tag = aead.encrypt(bytes(12), b"", body)  # empty plaintext: the output is the tag
    out = body + header_tag

    return out + framed_body(aead, message_id, frame_length, plaintext), commitment


def framed_body(aead, message_id, frame_length, plaintext):
    """Every full frame is a regular frame; the final frame holds the rest, 0 to
    frame_length - 1 bytes (the official SDKs refuse a final frame of frame_length bytes)."""
    out = b""
    seq = 1
    rest = plaintext
    while len(rest) >= frame_length:
        chunk, rest = rest[:frame_length], rest[frame_length:]
        iv = bytes(8) + u32(seq)
        aad = message_id + b"AWSKMSEncryptionClient Frame" + u32(seq) + struct.pack(">Q", len(chunk))
        out += u32(seq) + iv + aead.encrypt(iv, chunk, aad)
        seq += 1
    iv = bytes(8) + u32(seq)
    aad = message_id + b"AWSKMSEncryptionClient Final Frame" + u32(seq) + struct.pack(">Q", len(rest))
    return out + u32(0xFFFFFFFF) + u32(seq) + iv + u32(len(rest)) + aead.encrypt(iv, rest, aad)


# The unsigned format-1 suites: data key length and HKDF hash (None: the data key is the content key).
LEGACY_SUITES = {0x0014: (16, None), 0x0046: (24, None), 0x0078: (32, None),
                 0x0114: (16, hashes.SHA256()), 0x0146: (24, hashes.SHA256()), 0x0178: (32, hashes.SHA256())}


def message_v1(suite, data_key, message_id, ctx, edks, frame_length, plaintext):
    """A format-1 message: framed, or non-framed (one block) when frame_length is 0."""
    key_len, hash_ = LEGACY_SUITES[suite]
    content_key = data_key if hash_ is None else HKDF(
        algorithm=hash_, length=key_len, salt=None, info=u16(suite) + message_id).derive(data_key)
    body = bytes([0x01, 0x80]) + u16(suite) + message_id
    ser = serialize_context(ctx)
    body += u16(len(ser)) + ser + u16(len(edks))
    for provider_id, info, ct in edks:
        for field in (provider_id.encode(), info.encode(), ct):
            body += u16(len(field)) + field
    body += bytes([0x02 if frame_length else 0x01]) + u32(0) + bytes([12]) + u32(frame_length)
    aead = AESGCM(content_key)
    header_iv = bytes(12)
    out = body + header_iv + aead.encrypt(header_iv, b"", body)
    if frame_length == 0:
        iv = bytes(11) + b"\x01"
        aad = message_id + b"AWSKMSEncryptionClient Single Block" + u32(1) + struct.pack(">Q", len(plaintext))
        sealed = aead.encrypt(iv, plaintext, aad)
        return out + iv + struct.pack(">Q", len(plaintext)) + sealed
    return out + framed_body(aead, message_id, frame_length, plaintext)


def legacy_message_cases():
    arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    cases = [
        ("non-framed, identity key", 0x0078, 0, 1000, {"purpose": "esdk-1.x"}),
        ("non-framed, empty", 0x0014, 0, 0, {}),
        ("framed, HKDF-SHA-256", 0x0178, 256, 700, {"b": "2", "a": "1"}),
        ("framed, AES-192, exact multiple", 0x0146, 128, 256, {"purpose": "esdk-1.x"}),
        ("framed, AES-128 HKDF", 0x0114, 4096, 5000, {}),
        ("framed, AES-192 identity", 0x0046, 512, 100, {"unicode-ключ": "värde"}),
    ]
    out = []
    for i, (name, suite, frame_length, size, ctx) in enumerate(cases):
        data_key = fixed(f"v1/data-key/{i}", LEGACY_SUITES[suite][0])
        message_id = fixed(f"v1/message-id/{i}", 16)
        plaintext = fixed(f"v1/plaintext/{i}", size)
        edks = [("aws-kms", arn, fixed(f"v1/edk/{i}", 184))]
        out.append({
            "name": name,
            "suite": f"0x{suite:04x}",
            "data_key": data_key.hex(),
            "frame_length": frame_length,
            "encryption_context": ctx,
            "plaintext": plaintext.hex(),
            "message": message_v1(suite, data_key, message_id, ctx, edks, frame_length, plaintext).hex(),
        })
    return out


def message_cases():
    arn = "arn:envcrypt:kms:local:000000000000:key/6f1c2a4e-8b3d-4e5f-9a01-23456789abcd"
    cases = [
        ("empty plaintext", 64, 0, {}),
        ("exactly one frame", 64, 64, {"purpose": "vectors"}),
        ("one frame plus one byte", 64, 65, {"purpose": "vectors"}),
        ("several frames", 64, 200, {"b": "2", "a": "1", "unicode-ключ": "värde"}),
        ("default frame size, short", 262144, 1000, {"purpose": "vectors"}),
    ]
    out = []
    for i, (name, frame_length, size, ctx) in enumerate(cases):
        data_key = fixed(f"data-key/{i}", 32)
        message_id = fixed(f"message-id/{i}", 32)
        plaintext = fixed(f"plaintext/{i}", size)
        edks = [("envcrypt-local", arn, fixed(f"edk/{i}", 85))]
        if i == 3:
            edks.append(("aws-kms", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", fixed(f"edk2/{i}", 184)))
        msg, commitment = message(data_key, message_id, ctx, edks, frame_length, plaintext)
        out.append({
            "name": name,
            "suite": "0x0478",
            "data_key": data_key.hex(),
            "message_id": message_id.hex(),
            "frame_length": frame_length,
            "encryption_context": ctx,
            "encrypted_data_keys": [
                {"provider_id": p, "provider_info": info, "ciphertext": ct.hex()} for p, info, ct in edks
            ],
            "plaintext": plaintext.hex(),
            "commitment": commitment.hex(),
            "message": msg.hex(),
        })
    return out


def local_blob(backing_key, key_id, number, iv, ctx, plaintext):
    prefix = b"ECK\x01" + bytes.fromhex(key_id.replace("-", "")) + u32(number) + iv
    return prefix + AESGCM(backing_key).encrypt(iv, plaintext, prefix + serialize_context(ctx))


def blob_case_list(cases, labels, key_id, number_field, make_blob):
    """Known-answer blobs of one key service: each case is (name, key number, size, context)."""
    out = []
    for i, (name, number, size, ctx) in enumerate(cases):
        key = fixed(f"{labels['key']}/{i}", 32)
        iv = fixed(f"{labels['iv']}/{i}", 12)
        plaintext = fixed(f"{labels['plaintext']}/{i}", size)
        out.append({
            "name": name,
            labels["key_field"]: key.hex(),
            "key_id": key_id,
            number_field: number,
            "iv": iv.hex(),
            "encryption_context": ctx,
            "plaintext": plaintext.hex(),
            "blob": make_blob(key, key_id, number, iv, ctx, plaintext).hex(),
        })
    return out


def blob_cases():
    cases = [
        ("32-byte data key, empty context", 1, 32, {}),
        ("32-byte data key, context", 1, 32, {"purpose": "vectors", "team": "ops"}),
        ("after two rotations", 3, 16, {"purpose": "vectors"}),
        ("4096-byte plaintext", 2, 4096, {}),
    ]
    labels = {"key": "backing-key", "iv": "blob-iv", "plaintext": "blob-plaintext", "key_field": "backing_key"}
    return blob_case_list(cases, labels, "6f1c2a4e-8b3d-4e5f-9a01-23456789abcd", "backing_key_number", local_blob)


def hsm_blob(key, key_id, version, iv, ctx, plaintext):
    prefix = b"ECH\x01" + bytes.fromhex(key_id.replace("-", "")) + u32(version)
    return prefix + iv + AESGCM(key).encrypt(iv, plaintext, prefix + serialize_context(ctx))


def hsm_blob_cases():
    cases = [
        ("32-byte data key, empty context", 1, 32, {}),
        ("32-byte data key, context", 1, 32, {"purpose": "vectors", "zone": "az-a"}),
        ("second key version", 2, 16, {"purpose": "vectors"}),
        ("4096-byte plaintext", 1, 4096, {}),
    ]
    labels = {"key": "hsm-key", "iv": "hsm-iv", "plaintext": "hsm-plaintext", "key_field": "key"}
    return blob_case_list(cases, labels, "2b7e1516-28ae-4d2a-8f15-d2a6abf71588", "key_version", hsm_blob)


def s3ec_object(version, data_key, nonce, wrapped_key, ctx, plaintext):
    """An Amazon S3 Encryption Client object: its metadata and body (ciphertext ‖ tag)."""
    kms_ctx = dict(ctx, **{"aws:x-amz-cek-alg": "115" if version == "v3" else "AES/GCM/NoPadding"})
    ctx_json = json.dumps(kms_ctx, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    b64 = lambda b: base64.b64encode(b).decode()
    if version == "v3":
        suite = b"\x00\x73"
        key = hkdf_sha512(data_key, nonce, suite + b"DERIVEKEY", 32)
        commitment = hkdf_sha512(data_key, nonce, suite + b"COMMITKEY", 28)
        body = AESGCM(key).encrypt(b"\x01" * 12, plaintext, suite)
        metadata = {"x-amz-3": b64(wrapped_key), "x-amz-c": "115", "x-amz-w": "12", "x-amz-t": ctx_json,
                    "x-amz-i": b64(nonce), "x-amz-d": b64(commitment)}
    else:
        body = AESGCM(data_key).encrypt(nonce, plaintext, None)
        metadata = {"x-amz-key-v2": b64(wrapped_key), "x-amz-iv": b64(nonce), "x-amz-cek-alg": "AES/GCM/NoPadding",
                    "x-amz-wrap-alg": "kms+context", "x-amz-matdesc": ctx_json, "x-amz-tag-len": "128"}
    metadata["x-amz-unencrypted-content-length"] = str(len(plaintext))
    return metadata, body


def hkdf_sha512(ikm, salt, info, n):
    return HKDF(algorithm=hashes.SHA512(), length=n, salt=salt, info=info).derive(ikm)


def s3ec_cases():
    cases = [
        ("v3, empty context", "v3", {}, 100),
        ("v3, context with non-ASCII", "v3", {"department": "finance", "owner": "Zoë"}, 5000),
        ("v3, empty object", "v3", {"purpose": "vectors"}, 0),
        ("v2, context", "v2", {"department": "finance"}, 4096),
        ("v2, empty context", "v2", {}, 1),
    ]
    out = []
    for i, (name, version, ctx, size) in enumerate(cases):
        data_key = fixed(f"s3ec-data-key/{i}", 32)
        nonce = fixed(f"s3ec-nonce/{i}", 28 if version == "v3" else 12)
        wrapped_key = fixed(f"s3ec-wrapped-key/{i}", 184)
        plaintext = fixed(f"s3ec-plaintext/{i}", size)
        metadata, body = s3ec_object(version, data_key, nonce, wrapped_key, ctx, plaintext)
        out.append({
            "name": name,
            "version": version,
            "data_key": data_key.hex(),
            "encryption_context": ctx,
            "plaintext": plaintext.hex(),
            "metadata": metadata,
            "body": body.hex(),
        })
    return out


def s3ec_seed(metadata, body):
    """The s3ec_object fuzz target's input: `key: value` lines, an empty line, the body."""
    return "".join(f"{k}: {v}\n" for k, v in sorted(metadata.items())).encode() + b"\n" + body


# The decrypt fuzz target opens messages with this data key (fuzz/fuzz_targets/decrypt.rs).
FUZZ_DATA_KEY = fixed("fuzz/data-key", 32)


def fuzz_seeds(messages, legacy, blobs, hsm_blobs, s3ec):
    """Seed corpora for the fuzz targets, from the same cases as the vectors."""
    seeds = {}
    for i, case in enumerate(legacy):
        seeds[f"header/v1-message-{i}"] = bytes.fromhex(case["message"])
        # The 32-byte-key legacy suites re-made under the fuzz target's data key.
        if int(case["suite"], 16) in (0x0078, 0x0178):
            msg = message_v1(int(case["suite"], 16), FUZZ_DATA_KEY, fixed(f"v1/message-id/{i}", 16),
                             case["encryption_context"], [("aws-kms", "arn", b"edk")], case["frame_length"],
                             bytes.fromhex(case["plaintext"])[:300])
            seeds[f"decrypt/v1-message-{i}"] = msg
            seeds[f"open_parallel/v1-message-{i}"] = bytes([1 + i % 4]) + msg
    for i, case in enumerate(messages):
        seeds[f"header/message-{i}"] = bytes.fromhex(case["message"])
        seeds[f"context/context-{i}"] = serialize_context(case["encryption_context"])
        # The same case sealed under the fuzz target's fixed data key.
        edks = [(e["provider_id"], e["provider_info"], bytes.fromhex(e["ciphertext"])) for e in case["encrypted_data_keys"]]
        msg, _ = message(FUZZ_DATA_KEY, bytes.fromhex(case["message_id"]), case["encryption_context"], edks,
                         min(case["frame_length"], 64), bytes.fromhex(case["plaintext"])[:300])
        seeds[f"decrypt/message-{i}"] = msg
        # The parallel open target takes its thread count from a first byte.
        seeds[f"open_parallel/message-{i}"] = bytes([1 + i % 4]) + msg
    for i, case in enumerate(blobs):
        seeds[f"local_blob/blob-{i}"] = bytes.fromhex(case["blob"])
    for i, case in enumerate(hsm_blobs):
        # The target's first byte picks the parser: even for a blob.
        seeds[f"pkcs11_blob/blob-{i}"] = b"\x00" + bytes.fromhex(case["blob"])
    for i, case in enumerate(s3ec):
        # Re-made under the fuzz target's data key, so that the content decryption is reached.
        nonce = fixed(f"s3ec-nonce/{i}", 28 if case["version"] == "v3" else 12)
        metadata, body = s3ec_object(case["version"], FUZZ_DATA_KEY, nonce, b"wrapped", case["encryption_context"],
                                     bytes.fromhex(case["plaintext"])[:200])
        seeds[f"s3ec_object/object-{i}"] = s3ec_seed(metadata, body)
    # KMS requests as `envcrypt serve` receives them: Authorization header, target, JSON body.
    authorization = (b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, "
                     b"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + b"0" * 64)
    requests = [
        (b"CreateKey", {"Description": "fuzz", "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT"}),
        (b"CreateAlias", {"AliasName": "alias/fuzz", "TargetKeyId": "alias/envcrypt/default"}),
        (b"GenerateDataKey", {"KeyId": "alias/envcrypt/default", "KeySpec": "AES_256",
                              "EncryptionContext": {"purpose": "fuzz"}}),
        (b"Encrypt", {"KeyId": "alias/envcrypt/default", "Plaintext": "c2VjcmV0", "GrantTokens": []}),
        (b"Decrypt", {"CiphertextBlob": "AQIDBA==", "EncryptionContext": {"a": "b"}}),
        (b"ReEncrypt", {"CiphertextBlob": "AQIDBA==", "DestinationKeyId": "alias/envcrypt/default"}),
        (b"ListKeys", {"Limit": 2, "Marker": "AAAA"}),
        (b"ListAliases", {"KeyId": "alias/envcrypt/default", "Limit": 1}),
        (b"PutKeyPolicy", {"KeyId": "alias/envcrypt/default", "PolicyName": "default",
                           "Policy": '{"Version":"2012-10-17","Statement":[]}'}),
        (b"CreateGrant", {"KeyId": "alias/envcrypt/default", "GranteePrincipal": "arn:aws:iam::111122223333:user/a",
                          "Operations": ["Decrypt"], "Constraints": {"EncryptionContextSubset": {"a": "b"}}}),
        (b"ScheduleKeyDeletion", {"KeyId": "alias/envcrypt/default", "PendingWindowInDays": 7}),
        (b"GenerateRandom", {"NumberOfBytes": 16}),
    ]
    for i, (operation, body) in enumerate(requests):
        # The target's first byte says which headers are sent: Host and X-Amz-Date (see fuzzing.rs).
        request = b"\x03" + authorization + b"\nTrentService." + operation + b"\n" + json.dumps(body).encode()
        seeds[f"serve_request/request-{i}"] = request
    return seeds


def main():
    messages, blobs, hsm_blobs, s3ec = message_cases(), blob_cases(), hsm_blob_cases(), s3ec_cases()
    legacy = legacy_message_cases()
    outputs = {
        HERE / "messages-v1.json": json.dumps(
            {"description": "AWS Encryption SDK message format v1, the unsigned legacy suites, framed and "
                            "non-framed; see generate.py", "cases": legacy},
            indent=2, ensure_ascii=False).encode() + b"\n",
        HERE / "messages.json": json.dumps(
            {"description": "AWS Encryption SDK message format v2, suite 0x0478; see generate.py", "cases": messages},
            indent=2, ensure_ascii=False).encode() + b"\n",
        HERE / "local-blobs.json": json.dumps(
            {"description": "envcrypt local ciphertext blob v1; see generate.py", "cases": blobs},
            indent=2, ensure_ascii=False).encode() + b"\n",
        HERE / "pkcs11-blobs.json": json.dumps(
            {"description": "envcrypt PKCS#11 ciphertext blob v1; see generate.py", "cases": hsm_blobs},
            indent=2, ensure_ascii=False).encode() + b"\n",
        HERE / "s3ec-objects.json": json.dumps(
            {"description": "Amazon S3 Encryption Client objects, V3 (suite 115) and V2; see generate.py",
             "cases": s3ec},
            indent=2, ensure_ascii=False).encode() + b"\n",
    }
    for name, data in fuzz_seeds(messages, legacy, blobs, hsm_blobs, s3ec).items():
        outputs[HERE.parent / "fuzz" / "seeds" / name] = data
    check = "--check" in sys.argv
    stale = False
    for path, data in outputs.items():
        if check:
            if not path.exists() or path.read_bytes() != data:
                print(f"{path} is out of date", file=sys.stderr)
                stale = True
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    sys.exit(1 if stale else 0)


if __name__ == "__main__":
    main()
