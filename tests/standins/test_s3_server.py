"""moto's S3 server answers boto3 and plain HTTP as S3 does, from the config it hands out."""
from __future__ import annotations

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.standins.s3_server import MotoS3, moto_s3, s3_config  # noqa: F401 (fixtures)

PHOTO = b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 100


def client_from(config: dict):
    """A boto3 client built only from the config dict, as the app's storage will build one."""
    return boto3.client("s3", endpoint_url=config["S3_ENDPOINT_URL"], region_name=config["S3_REGION"],
                        aws_access_key_id=config["S3_ACCESS_KEY_ID"],
                        aws_secret_access_key=config["S3_SECRET_ACCESS_KEY"],
                        config=Config(s3={"addressing_style": config["S3_ADDRESSING_STYLE"]}))


def test_put_and_get_an_object_with_boto3(s3_config, moto_s3):
    s3 = client_from(s3_config)
    s3.put_object(Bucket=s3_config["S3_BUCKET"], Key="products/7/photo.jpg", Body=PHOTO, ContentType="image/jpeg",
                  CacheControl="public, max-age=31536000, immutable")
    got = s3.get_object(Bucket=s3_config["S3_BUCKET"], Key="products/7/photo.jpg")
    assert got["Body"].read() == PHOTO
    assert got["ContentType"] == "image/jpeg" and got["ContentLength"] == len(PHOTO)
    assert got["CacheControl"] == "public, max-age=31536000, immutable"
    assert moto_s3.keys("products/") == ["products/7/photo.jpg"]


def test_a_presigned_get_url_serves_the_object_to_plain_http(s3_config):
    s3 = client_from(s3_config)
    s3.put_object(Bucket=s3_config["S3_BUCKET"], Key="certificates/12/organic.pdf", Body=b"%PDF-1.4 cert",
                  ContentType="application/pdf")
    url = s3.generate_presigned_url("get_object", ExpiresIn=60,
                                    Params={"Bucket": s3_config["S3_BUCKET"], "Key": "certificates/12/organic.pdf",
                                            "ResponseContentDisposition": 'attachment; filename="organic.pdf"'})
    assert url.startswith(f"{s3_config['S3_ENDPOINT_URL']}/{s3_config['S3_BUCKET']}/certificates/12/organic.pdf?")
    response = requests.get(url, timeout=5)
    assert response.status_code == 200 and response.content == b"%PDF-1.4 cert"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="organic.pdf"'
    # The same object without a signature is refused: the bucket is private.
    unsigned = requests.get(url.split("?")[0], timeout=5)
    assert unsigned.status_code == 403


def test_each_test_starts_with_an_empty_bucket(s3_config, moto_s3):
    assert moto_s3.keys() == []
    client_from(s3_config).put_object(Bucket=s3_config["S3_BUCKET"], Key="left-behind", Body=b"x")
    moto_s3.reset()
    assert moto_s3.keys() == []


def test_a_missing_object_is_no_such_key(s3_config):
    with pytest.raises(ClientError) as missing:
        client_from(s3_config).get_object(Bucket=s3_config["S3_BUCKET"], Key="nothing/here.jpg")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"


def test_a_bucket_outside_us_east_1_and_a_clean_stop(tmp_path):
    with MotoS3(tmp_path, bucket="aimak-kz", region="eu-central-1") as server:
        s3 = client_from(server.config())
        assert s3.get_bucket_location(Bucket="aimak-kz")["LocationConstraint"] == "eu-central-1"
        s3.put_object(Bucket="aimak-kz", Key="a", Body=b"1")
        assert server.keys() == ["a"]
        url = server.url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/moto-api/", timeout=2)
