"""An S3 API server (moto in server mode) on loopback, and the environment a Lathe process reads it from.

Helpers, not fixtures, so each test module decides the fixtures' scope: the server is cheap to share across a
module, the environment is set per test (``monkeypatch``) so no other test sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

_CLEARED = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "LATHE_S3_CREATE_BUCKET",
            "LATHE_S3_ADDRESSING_STYLE")


@contextmanager
def moto_server() -> Iterator[str]:
    """Run an S3 API server on 127.0.0.1 (a free port); yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def use_s3(monkeypatch: pytest.MonkeyPatch, endpoint: str, bucket: str) -> Any:
    """Point this process (and the worker processes it starts) at ``endpoint`` the way the manifests do
    (AWS credentials plus ``LATHE_S3_ENDPOINT_URL``), create ``bucket``, and return a plain boto3 client: what
    an operator, or an attacker, can do behind Lathe's back."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "lathe-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "lathe-test-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("LATHE_S3_ENDPOINT_URL", endpoint)
    client = boto3.client("s3", endpoint_url=endpoint)
    try:
        client.create_bucket(Bucket=bucket)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return client
