"""boto3, unchanged, against `envcrypt serve`: the calls an application makes, and the errors
it relies on. Prints "ok" when every check held; any failed check raises.

    boto3_flow.py ENDPOINT OTHER_ACCESS_KEY_ID OTHER_SECRET

The first credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION); the second set is the one a key policy denies.
"""

import json
import sys

import boto3
from botocore.exceptions import ClientError

ACCOUNT = "111122223333"


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} succeeded but should have failed")


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
    assert error_code(kms.disable_key, KeyId="alias/boto3-flow") == "NotFoundException"
    kms.enable_key(KeyId=key["KeyId"])

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


if __name__ == "__main__":
    main(*sys.argv[1:])
