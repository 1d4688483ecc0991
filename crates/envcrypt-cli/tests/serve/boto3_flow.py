"""boto3, unchanged, against `envcrypt serve`: the calls an application makes, and the errors
it relies on. Prints "ok" when every check held; any failed check raises.

    boto3_flow.py ENDPOINT OTHER_ACCESS_KEY_ID OTHER_SECRET

The first credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION); the second set is the one a key policy denies.
"""

import datetime
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

ACCOUNT = "111122223333"


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} succeeded but should have failed")


def import_material(kms, key_id, material, valid_to=None):
    """GetParametersForImport, the material wrapped with RSA_AES_KEY_WRAP_SHA_256, ImportKeyMaterial."""
    params = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    public_key = serialization.load_der_public_key(params["PublicKey"])
    sha256 = hashes.SHA256()
    aes_key = os.urandom(32)
    wrapped = public_key.encrypt(
        aes_key, padding.OAEP(mgf=padding.MGF1(algorithm=sha256), algorithm=sha256, label=None)
    ) + aes_key_wrap_with_padding(aes_key, material)
    expiry = {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
    if valid_to is not None:
        expiry = {"ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": valid_to}
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped, **expiry)


def bring_your_own_key(kms):
    """A key with imported material, as the AWS documentation walks through it with boto3."""
    key = kms.create_key(Origin="EXTERNAL", Description="imported")["KeyMetadata"]
    assert key["KeyState"] == "PendingImport" and key["Origin"] == "EXTERNAL", key
    material = os.urandom(32)
    valid_to = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
    import_material(kms, key["KeyId"], material, valid_to)
    described = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert described["KeyState"] == "Enabled" and described["ExpirationModel"] == "KEY_MATERIAL_EXPIRES", described
    assert abs((described["ValidTo"] - valid_to).total_seconds()) < 2, described
    sealed = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"byok")["CiphertextBlob"]
    kms.delete_imported_key_material(KeyId=key["KeyId"])
    assert error_code(kms.decrypt, CiphertextBlob=sealed) == "KMSInvalidStateException"
    try:
        import_material(kms, key["KeyId"], os.urandom(32))
        raise AssertionError("other key material was imported")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "IncorrectKeyMaterialException", e.response
    import_material(kms, key["KeyId"], material)
    assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"byok"
    assert error_code(kms.enable_key_rotation, KeyId=key["KeyId"]) == "UnsupportedOperationException"


def rotation_schedule(kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] and status["RotationPeriodInDays"] == 180, status
    days = (status["NextRotationDate"] - datetime.datetime.now(datetime.timezone.utc)).days
    assert 178 <= days <= 180, status
    kms.rotate_key_on_demand(KeyId=key_id)
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"], rotations
    kms.disable_key_rotation(KeyId=key_id)
    assert not kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]


def main(endpoint, other_id, other_secret):
    kms = boto3.client("kms", endpoint_url=endpoint)
    other = boto3.client(
        "kms", endpoint_url=endpoint, aws_access_key_id=other_id, aws_secret_access_key=other_secret
    )

    key = kms.create_key(Description="boto3 flow")["KeyMetadata"]
    assert key["Arn"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/"), key["Arn"]
    assert key["KeyState"] == "Enabled" and key["KeyUsage"] == "ENCRYPT_DECRYPT", key
    kms.create_alias(AliasName="alias/boto3-flow", TargetKeyId=key["KeyId"])
    aliases = kms.list_aliases(KeyId=key["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/boto3-flow"], aliases

    context = {"purpose": "boto3"}
    data_key = kms.generate_data_key(KeyId="alias/boto3-flow", KeySpec="AES_256", EncryptionContext=context)
    assert len(data_key["Plaintext"]) == 32 and data_key["KeyId"] == key["Arn"]
    opened = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"], EncryptionContext=context)
    assert opened["Plaintext"] == data_key["Plaintext"] and opened["KeyId"] == key["Arn"]
    assert error_code(kms.decrypt, CiphertextBlob=data_key["CiphertextBlob"]) == "InvalidCiphertextException"

    sealed = kms.encrypt(KeyId=key["Arn"], Plaintext=b"secret", EncryptionContext=context)["CiphertextBlob"]
    second = kms.create_key()["KeyMetadata"]
    moved = kms.re_encrypt(
        CiphertextBlob=sealed,
        SourceEncryptionContext=context,
        DestinationKeyId=second["KeyId"],
        DestinationEncryptionContext=context,
    )
    assert moved["SourceKeyId"] == key["Arn"] and moved["KeyId"] == second["Arn"], moved
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext=context)["Plaintext"] == b"secret"

    bring_your_own_key(kms)
    signing_and_macs(kms)
    rotation_schedule(kms, key["KeyId"])

    # The other credentials may use the key while its policy allows them, not once it denies them.
    def policy(deny_other):
        users = [f"arn:aws:iam::{ACCOUNT}:user/app", f"arn:aws:iam::{ACCOUNT}:user/other"]
        statements = [{"Effect": "Allow", "Principal": {"AWS": users}, "Action": "kms:*", "Resource": "*"}]
        if deny_other:
            statements.append({"Effect": "Deny", "Principal": {"AWS": users[1]}, "Action": "kms:*", "Resource": "*"})
        document = {"Version": "2012-10-17", "Statement": statements}
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(document))

    policy(deny_other=False)
    assert other.encrypt(KeyId=key["Arn"], Plaintext=b"x")["KeyId"] == key["Arn"]
    policy(deny_other=True)
    assert error_code(other.encrypt, KeyId=key["Arn"], Plaintext=b"x") == "AccessDeniedException"
    assert kms.encrypt(KeyId=key["Arn"], Plaintext=b"x")["KeyId"] == key["Arn"]

    kms.disable_key(KeyId=key["KeyId"])
    assert error_code(kms.encrypt, KeyId=key["Arn"], Plaintext=b"x") == "DisabledException"
    assert error_code(kms.encrypt, KeyId=key["Arn"], Plaintext=b"x", DryRun=True) == "DisabledException"
    assert error_code(kms.disable_key, KeyId="alias/boto3-flow") == "NotFoundException"
    kms.enable_key(KeyId=key["KeyId"])
    assert error_code(kms.encrypt, KeyId=key["Arn"], Plaintext=b"x", DryRun=True) == "DryRunOperationException"
    assert error_code(kms.decrypt, CiphertextBlob=sealed, EncryptionContext=context, DryRun=True) == (
        "DryRunOperationException"
    )

    # DryRun on grants: each is checked, and nothing is created or removed.
    app = f"arn:aws:iam::{ACCOUNT}:user/app"
    grants = lambda: [g["GrantId"] for g in kms.list_grants(KeyId=key["KeyId"])["Grants"]]  # noqa: E731
    before = grants()
    dry_grant = dict(KeyId=key["KeyId"], GranteePrincipal=app, Operations=["Decrypt"], DryRun=True)
    assert error_code(kms.create_grant, **dry_grant) == "DryRunOperationException"
    assert grants() == before
    grant_id = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=app, Operations=["Decrypt"])["GrantId"]
    assert error_code(kms.revoke_grant, KeyId=key["KeyId"], GrantId=grant_id, DryRun=True) == (
        "DryRunOperationException"
    )
    assert error_code(kms.retire_grant, KeyId=key["KeyId"], GrantId=grant_id, DryRun=True) == (
        "DryRunOperationException"
    )
    assert grant_id in grants()
    assert error_code(kms.revoke_grant, KeyId=key["KeyId"], GrantId="0" * 64, DryRun=True) == "NotFoundException"
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant_id)
    assert grants() == before

    for n in range(3):
        kms.create_key(Description=f"page {n}")
    pages = kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2})
    listed = [k["KeyArn"] for page in pages for k in page["Keys"]]
    assert key["Arn"] in listed and len(listed) == len(set(listed)) >= 5, listed

    deletion = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert deletion["KeyState"] == "PendingDeletion", deletion
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert error_code(kms.encrypt, KeyId=key["Arn"], Plaintext=b"x") == "KMSInvalidStateException"
    assert len(kms.generate_random(NumberOfBytes=16)["Plaintext"]) == 16
    print("ok")


def signing_and_macs(kms):
    """An ECDSA key signs what `cryptography` verifies with its public key; an HMAC key MACs."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    signer = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert signer["SigningAlgorithms"] == ["ECDSA_SHA_256"], signer
    signed = dict(KeyId=signer["KeyId"], Message=b"release 1.4.2", SigningAlgorithm="ECDSA_SHA_256")
    signature = kms.sign(**signed)["Signature"]
    verified = kms.verify(Signature=signature, **signed)
    assert verified["SignatureValid"] and verified["KeyId"] == signer["Arn"], verified
    assert error_code(kms.verify, Signature=signature, **{**signed, "Message": b"release 1.4.3"}) == (
        "KMSInvalidSignatureException"
    )
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=signer["KeyId"])["PublicKey"])
    public.verify(signature, b"release 1.4.2", ec.ECDSA(hashes.SHA256()))
    assert error_code(kms.encrypt, KeyId=signer["KeyId"], Plaintext=b"x") in (
        "InvalidKeyUsageException",
        "AccessDeniedException",
    )

    mac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    maced = dict(KeyId=mac_key["KeyId"], Message=b"user=42", MacAlgorithm="HMAC_SHA_256")
    mac = kms.generate_mac(**maced)["Mac"]
    assert kms.verify_mac(Mac=mac, **maced)["MacValid"]
    assert error_code(kms.verify_mac, Mac=bytes(32), **maced) == "KMSInvalidMacException"

    # RSA encryption: what `cryptography` encrypts with the exported key, the key decrypts.
    from cryptography.hazmat.primitives.asymmetric import padding

    rsa_key = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    assert rsa_key["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"], rsa_key
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=rsa_key["KeyId"])["PublicKey"])
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    opened = kms.decrypt(
        KeyId=rsa_key["KeyId"], CiphertextBlob=public.encrypt(b"secret", oaep), EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )
    assert opened["Plaintext"] == b"secret" and opened["EncryptionAlgorithm"] == "RSAES_OAEP_SHA_256", opened
    with_context = dict(KeyId=rsa_key["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert error_code(kms.encrypt, EncryptionContext={"a": "b"}, **with_context) == "ValidationException"

    # A data key pair: its private key comes back from Decrypt under the same context.
    symmetric = kms.create_key()["KeyMetadata"]
    context = {"app": "signer"}
    pair = kms.generate_data_key_pair(KeyId=symmetric["KeyId"], KeyPairSpec="ECC_NIST_P256", EncryptionContext=context)
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], None)
    assert private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == pair["PublicKey"]
    opened = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext=context)
    assert opened["Plaintext"] == pair["PrivateKeyPlaintext"]
    sealed_only = kms.generate_data_key_pair_without_plaintext(
        KeyId=symmetric["KeyId"], KeyPairSpec="RSA_2048", EncryptionContext=context
    )
    assert "PrivateKeyPlaintext" not in sealed_only and sealed_only["KeyPairSpec"] == "RSA_2048"


if __name__ == "__main__":
    main(*sys.argv[1:])
