"""Files in an S3-compatible bucket through boto3 (AWS S3, MinIO, Yandex Object Storage, moto)."""
from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class S3Storage:
    name = "s3"

    def __init__(self, bucket: str, client):
        self.bucket = bucket
        self.client = client

    @classmethod
    def from_config(cls, config) -> S3Storage:
        client = boto3.client(
            "s3",
            endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            region_name=config.get("S3_REGION") or None,
            aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
            # A bucket that does not answer must not hold a request for long; one retry.
            config=Config(signature_version="s3v4", connect_timeout=3, read_timeout=20,
                          retries={"max_attempts": 2, "mode": "standard"},
                          s3={"addressing_style": config.get("S3_ADDRESSING_STYLE") or "path"}))
        return cls(config["S3_BUCKET"], client)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def keys(self, prefix: str = ""):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"]

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def signed_url(self, key: str, seconds: int, download_name: str, content_type: str) -> str:
        """A link that opens this one object for `seconds` (for a document too large to pass through)."""
        return self.client.generate_presigned_url("get_object", ExpiresIn=seconds, Params={
            "Bucket": self.bucket, "Key": key, "ResponseContentType": content_type,
            "ResponseContentDisposition": f'attachment; filename="{download_name}"'})
