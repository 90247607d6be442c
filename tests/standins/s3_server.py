"""moto's S3 server (a real S3 HTTP API, as localstripe is for Stripe) on a free loopback
port, with one bucket, for tests of uploads in object storage.

    with MotoS3(tmp_path) as s3:
        app.config.update(s3.config())   # endpoint, bucket, fake keys, region, path style

moto keeps everything in memory; ``reset()`` empties it and makes the bucket again, so
one server can serve a whole session. It checks neither signatures nor expiry of
presigned URLs (an anonymous unsigned GET is refused, a stale or tampered signed one is
served): a test can prove a signed URL addresses the object, not that it expires.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from tests.stripe_server import free_port

ACCESS_KEY_ID = "AKIAAIMAKTESTKEY0001"
SECRET_ACCESS_KEY = "aimak-test-secret-key-not-a-real-one"
BUCKET = "aimak-media"
REGION = "us-east-1"


class MotoS3:
    def __init__(self, workdir: Path, bucket: str = BUCKET, region: str = REGION):
        self.workdir = Path(workdir)
        self.bucket = bucket
        self.region = region
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "moto-s3.log"
        self.process: subprocess.Popen | None = None

    def start(self, seconds: float = 30) -> MotoS3:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._wait_until_up(seconds)
        self._create_bucket()
        return self

    def _wait_until_up(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                requests.get(f"{self.url}/moto-api/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"moto's S3 server did not start on {self.url}:\n{tail}")

    def _create_bucket(self) -> None:
        options = {} if self.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": self.region}}
        self.client().create_bucket(Bucket=self.bucket, **options)

    def config(self) -> dict:
        """Settings for the app's S3 storage (names to keep in step with config.py)."""
        return {"S3_ENDPOINT_URL": self.url, "S3_BUCKET": self.bucket, "S3_REGION": self.region,
                "S3_ACCESS_KEY_ID": ACCESS_KEY_ID, "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                # Virtual-host style would ask DNS for <bucket>.127.0.0.1; MinIO wants path style too.
                "S3_ADDRESSING_STYLE": "path"}

    def client(self):
        """A boto3 S3 client on this server, for a test to look into the bucket directly."""
        return boto3.client("s3", endpoint_url=self.url, region_name=self.region,
                            aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                          retries={"max_attempts": 1}))

    def keys(self, prefix: str = "") -> list[str]:
        """The bucket's object keys under ``prefix``, sorted."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def reset(self) -> None:
        """Forget every bucket and object, then make the empty bucket again."""
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        self._create_bucket()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> MotoS3:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    """One moto S3 server for the session (it takes about a second to start)."""
    with MotoS3(tmp_path_factory.mktemp("moto-s3")) as server:
        yield server


@pytest.fixture
def s3_config(moto_s3):
    """The S3 settings for one test, on an empty bucket."""
    moto_s3.reset()
    return moto_s3.config()
