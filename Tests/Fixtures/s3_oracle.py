"""boto3 as an independent S3 client for ObjectStoreTests.

Usage: s3_oracle.py ENDPOINT BUCKET PREFIX, with AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY in the environment (never on the command line).

Lists PREFIX + "swift/" (two keys a page, so boto3 follows continuation tokens
too) and reads every object there, then writes objects under PREFIX + "boto3/":
small ones with keys that need percent-encoding and a 6 MiB one that boto3
uploads in parts. Prints one JSON object: {"listed": {key: sha256}, "wrote": {key: sha256}}.
"""

import hashlib
import io
import json
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, bucket, prefix = sys.argv[1:4]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    region_name=os.environ.get("S3_REGION", "us-east-1"),
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)

listed = {}
for page in s3.get_paginator("list_objects_v2").paginate(
    Bucket=bucket, Prefix=prefix + "swift/", PaginationConfig={"PageSize": 2}
):
    for entry in page.get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        assert len(body) == entry["Size"], entry
        listed[entry["Key"]] = hashlib.sha256(body).hexdigest()

wrote = {}
for name in ["plain.txt", "with space + plus.txt", "ünïcødé/模型 ☃.onnx", "a&b=c;d?e#f.txt"]:
    body = ("written by boto3: " + name).encode()
    s3.put_object(Bucket=bucket, Key=prefix + "boto3/" + name, Body=body)
    wrote[prefix + "boto3/" + name] = hashlib.sha256(body).hexdigest()
large = os.urandom(6 << 20)
parts = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
s3.upload_fileobj(io.BytesIO(large), bucket, prefix + "boto3/large in parts.bin", Config=parts)
wrote[prefix + "boto3/large in parts.bin"] = hashlib.sha256(large).hexdigest()
head = s3.head_object(Bucket=bucket, Key=prefix + "boto3/large in parts.bin")
assert head["ETag"].endswith('-2"'), head["ETag"]

print(json.dumps({"listed": listed, "wrote": wrote}))
