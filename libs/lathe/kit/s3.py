"""The S3-compatible artifact backend (AWS S3, MinIO, Ceph RGW, GCS interop): ``open_store("s3://bucket/prefix")``.

Blobs live at ``<prefix>/sha256/<2 hex>/<64 hex>`` in the bucket, exactly as in the local store, and every read
is verified against the digest the key names, so a replaced or corrupted object raises ``ChecksumMismatch``
instead of being loaded. Connection settings come from the standard AWS environment (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_PROFILE``, web
identity on EKS, ``AWS_ENDPOINT_URL_S3``) plus three of Lathe's own:

- ``LATHE_S3_ENDPOINT_URL``: the S3 API endpoint of a non-AWS store (``http://minio.lathe.svc:9000``);
- ``LATHE_S3_ADDRESSING_STYLE``: ``path`` (the default when an endpoint is set, as MinIO needs), ``virtual``
  or ``auto``;
- ``LATHE_S3_CREATE_BUCKET``: ``true`` creates a missing bucket on first use (a development convenience; in
  production the bucket, its lifecycle and its access policy belong to the operator).

Model folders are stored by name (``put_folder``: ``<prefix>/models/<job>-attempt-<n>/<path>`` plus
``<folder>.manifest``) and read by URI with :func:`open_object` (what ``lathe.kit.artifacts.open_uri`` calls for
``s3://``), through one client per process built from the same environment (:func:`shared_client`), so the
registry and the deployer reach the bucket exactly as the trainer's store does.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

from lathe.kit.artifacts import (
    MANIFEST_SUFFIX,
    ArtifactRef,
    ChecksumMismatch,
    FolderRef,
    _published,
    _verify,
    folder_name,
    sha256_file,
    write_verified,
)
from lathe.kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unavailable
from lathe.kit.manifest import FileEntry, folder_manifest, manifest_text

_CHUNK = 1 << 20
# Up to this size a file is sent in one PUT with Content-MD5, so the server rejects bytes damaged in transit;
# larger files go through boto3's multipart transfer (each part checked by the transfer's own checksums).
_SINGLE_PUT_MAX = 64 << 20
_KEY_TAIL = re.compile(r"sha256/([0-9a-f]{2})/([0-9a-f]{64})")
_TRUE = {"1", "true", "yes", "on"}
# The environment variables of Lathe's own that this backend reads (beside the standard AWS ones).
ENVIRONMENT = ("LATHE_S3_ENDPOINT_URL", "LATHE_S3_ADDRESSING_STYLE", "LATHE_S3_CREATE_BUCKET")
# What a client is built from: a change of any of these (a test's own server, rotated static keys) gets a new one.
# The non-secret settings of the client: a pod a service renders (a model server, a training pod) gets this
# process's values, so it reaches the same store; the keys travel separately, from a Secret.
STORE_SETTINGS = ("LATHE_S3_ENDPOINT_URL", "LATHE_S3_ADDRESSING_STYLE", "AWS_REGION", "AWS_DEFAULT_REGION",
                  "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


def store_settings() -> dict[str, str]:
    """This process's S3 client settings that are set (no credentials), for the pods it renders."""
    return {name: os.environ[name] for name in STORE_SETTINGS if os.environ.get(name)}


_CLIENT_ENVIRONMENT = ("LATHE_S3_ENDPOINT_URL", "LATHE_S3_ADDRESSING_STYLE", "AWS_ACCESS_KEY_ID",
                       "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
                       "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")
_clients: dict[tuple[str | None, ...], Any] = {}
_clients_lock = threading.Lock()


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix")`` (the prefix without slashes at its ends)."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidArgument(f"{uri!r} is not an s3://bucket[/prefix] URI", reason="INVALID_ARTIFACT_URI")
    if parsed.query or parsed.fragment:
        raise InvalidArgument(f"{uri!r} must not have a query or fragment", reason="INVALID_ARTIFACT_URI")
    return parsed.netloc, parsed.path.strip("/")


def client_from_environment() -> Any:
    """A boto3 S3 client configured from the AWS environment plus ``LATHE_S3_ENDPOINT_URL``."""
    import boto3
    from botocore.config import Config

    endpoint = os.environ.get("LATHE_S3_ENDPOINT_URL") or None
    style = os.environ.get("LATHE_S3_ADDRESSING_STYLE") or ("path" if endpoint else "auto")
    if style not in {"auto", "path", "virtual"}:
        raise ValueError(f"LATHE_S3_ADDRESSING_STYLE must be auto, path or virtual, not {style!r}")
    config = Config(
        s3={"addressing_style": style},
        retries={"mode": "standard", "max_attempts": 5},
        # boto3's default CRC checksums on every request are not implemented by every S3-compatible store
        # (GCS interop, older MinIO/Ceph); integrity is ours anyway: Content-MD5 on PUT, sha256 on every read.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)


def shared_client() -> Any:
    """The process's client for the current S3 environment (boto3 clients are thread-safe; building one
    costs tens of milliseconds, too much per file a registry check or a deployment reads)."""
    key = tuple(os.environ.get(name) for name in _CLIENT_ENVIRONMENT)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = client_from_environment()
        return _clients[key]


def open_object(uri: str, *, client: Any | None = None) -> BinaryIO:
    """A streaming reader of the object at ``s3://bucket/key`` (unverified; NotFound when it is missing)."""
    bucket, key = parse_s3_uri(uri)
    s3 = client or shared_client()
    reply = _request("read", uri, lambda: s3.get_object(Bucket=bucket, Key=key))
    return _Body(uri, reply["Body"])  # type: ignore[return-value]


def list_folder(uri: str, *, client: Any | None = None) -> list[tuple[str, int]]:
    """``(relative path, size)`` of every object under the folder ``s3://bucket/prefix/``, sorted by path."""
    bucket, prefix = parse_s3_uri(uri)
    s3 = client or shared_client()
    start = f"{prefix}/" if prefix else ""
    found: list[tuple[str, int]] = []
    pages = _request("list", uri, lambda: list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=start)))
    for page in pages:
        found.extend((item["Key"][len(start):], int(item["Size"])) for item in page.get("Contents", [])
                     if not item["Key"].endswith("/"))  # "folder" placeholders some consoles create
    return sorted(found)


class _Body:
    """A botocore streaming body whose read errors (a connection reset mid-object) become Lathe's."""

    def __init__(self, uri: str, body: Any) -> None:
        self._uri = uri
        self._body = body

    def read(self, size: int = -1) -> bytes:
        return _request("read", self._uri, lambda: self._body.read(None if size < 0 else size))

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class S3ArtifactStore:
    """Content-addressed blobs under ``s3://<bucket>/<prefix>/sha256/…``; thread-safe (one boto3 client)."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any | None = None,
                 create_bucket: bool | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client
        self._create_bucket = (os.environ.get("LATHE_S3_CREATE_BUCKET", "").lower() in _TRUE
                               if create_bucket is None else create_bucket)
        self._bucket_checked = False
        self._lock = threading.Lock()

    @classmethod
    def from_uri(cls, root: str, *, client: Any | None = None) -> S3ArtifactStore:
        """The store at ``s3://bucket[/prefix]``; nothing is contacted until the first call."""
        bucket, prefix = parse_s3_uri(root)
        return cls(bucket, prefix, client=client)

    @property
    def root(self) -> str:
        """``s3://bucket/prefix`` of this store."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    @property
    def client(self) -> Any:
        """The boto3 client, created on first use (importing boto3 costs a few hundred ms)."""
        with self._lock:
            if self._client is None:
                self._client = client_from_environment()
            return self._client

    def _key_of(self, sha256: str) -> str:
        tail = f"sha256/{sha256[:2]}/{sha256}"
        return f"{self.prefix}/{tail}" if self.prefix else tail

    def uri_for(self, sha256: str) -> str:
        """The URI of the blob with this digest."""
        return f"s3://{self.bucket}/{self._key_of(sha256)}"

    def _key(self, uri: str) -> str:
        bucket, key = parse_s3_uri(uri)
        inside = not self.prefix or key.startswith(self.prefix + "/")
        tail = key[len(self.prefix) + 1:] if self.prefix else key
        match = _KEY_TAIL.fullmatch(tail) if inside else None
        if bucket != self.bucket or match is None or match.group(2)[:2] != match.group(1):
            raise InvalidArgument(f"{uri!r} is not a blob of the artifact store {self.root}",
                                  reason="INVALID_ARTIFACT_URI", metadata={"uri": uri, "store": self.root})
        return key

    # Writing.

    def put_bytes(self, data: bytes) -> ArtifactRef:
        sha = hashlib.sha256(data).hexdigest()
        if not self._stored_intact(sha, len(data)):
            md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
            self._call("put", self.uri_for(sha), lambda: self.client.put_object(
                Bucket=self.bucket, Key=self._key_of(sha), Body=data, ContentMD5=md5,
                ContentType="application/octet-stream", Metadata={"sha256": sha}))
        return ArtifactRef(self.uri_for(sha), sha, len(data))

    def put_file(self, path: Path) -> ArtifactRef:
        size = path.stat().st_size
        sha, md5 = _upload_digests(path, size)
        if not self._stored_intact(sha, size):
            self._send_file(self._key_of(sha), path, sha, md5)
        return ArtifactRef(self.uri_for(sha), sha, size)

    def put_folder(self, source: Path, name: str) -> FolderRef:
        key = f"{self.prefix}/{folder_name(name)}" if self.prefix else folder_name(name)
        files = tuple(folder_manifest(source))
        folder = FolderRef(f"s3://{self.bucket}/{key}", files)
        self._ensure_bucket()
        if _published(folder, self._existing(folder.uri + MANIFEST_SUFFIX)):
            return folder
        for entry in files:
            self._put_entry(f"{key}/{entry.path}", source / entry.path, entry)
        text = manifest_text(files)  # last: a folder whose manifest exists is complete
        md5 = base64.b64encode(hashlib.md5(text, usedforsecurity=False).digest()).decode()
        self._call("put", folder.uri + MANIFEST_SUFFIX, lambda: self.client.put_object(
            Bucket=self.bucket, Key=key + MANIFEST_SUFFIX, Body=text, ContentMD5=md5, ContentType="text/plain"))
        return folder

    def _put_entry(self, key: str, path: Path, entry: FileEntry) -> None:
        """Upload one file of a folder, refusing it if it is no longer the file its manifest entry hashed."""
        size = path.stat().st_size
        sha, md5 = _upload_digests(path, size)
        if (size, sha) != (entry.size_bytes, entry.sha256):
            raise ChecksumMismatch(f"{path} changed while its folder was being stored (sha256 {sha}, the manifest "
                                   f"records {entry.sha256})", metadata={"path": entry.path, "uri": path.as_uri()})
        self._send_file(key, path, sha, md5)

    def _send_file(self, key: str, path: Path, sha: str, md5: str | None) -> None:
        """PUT ``path`` at ``key``: with Content-MD5 (the server rejects damaged bytes) when ``md5`` is given,
        else through boto3's multipart transfer; the sha256 goes along as the object's metadata."""
        uri = f"s3://{self.bucket}/{key}"
        if md5 is None:
            self._call("put", uri, lambda: self.client.upload_file(
                str(path), self.bucket, key,
                ExtraArgs={"ContentType": "application/octet-stream", "Metadata": {"sha256": sha}}))
            return
        with open(path, "rb") as body:
            self._call("put", uri, lambda: self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentMD5=md5,
                ContentType="application/octet-stream", Metadata={"sha256": sha}))

    def _existing(self, uri: str) -> bytes | None:
        """The bytes of a small object of this store, or None when there is none."""
        try:
            with open_object(uri, client=self.client) as body:
                return body.read()
        except NotFound:
            return None

    def _stored_intact(self, sha: str, size: int) -> bool:
        """Whether the blob is already there as we wrote it (same size, our digest in its metadata).

        An object someone replaced behind the store's back fails this test and is written again, so storing
        the same bytes repairs it rather than trusting whatever sits under the name.
        """
        self._ensure_bucket()
        head = self._head(self.uri_for(sha))
        return head is not None and head.get("ContentLength") == size and head.get("Metadata", {}).get("sha256") == sha

    def _ensure_bucket(self) -> None:
        if not self._create_bucket or self._bucket_checked:
            return
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise _translate(exc, "create bucket", self.root) from exc
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except ClientError as again:
                if _code(again) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise _translate(again, "create bucket", self.root) from again
        self._bucket_checked = True

    # Reading.

    def open(self, uri: str) -> BinaryIO:
        key = self._key(uri)
        reply = self._call("read", uri, lambda: self.client.get_object(Bucket=self.bucket, Key=key))
        return reply["Body"]  # a botocore StreamingBody: read(n), iter_chunks(), close(), a context manager

    def read_bytes(self, uri: str, *, expected_sha256: str | None = None) -> bytes:
        with self.open(uri) as body:
            data = self._call("read", uri, body.read)
        _verify(uri, hashlib.sha256(data).hexdigest(), expected_sha256)
        return data

    def fetch(self, uri: str, dest: Path, *, expected_sha256: str | None = None) -> Path:
        with self.open(uri) as body:
            return write_verified(uri, self._chunks(uri, body), dest, expected_sha256)

    def _chunks(self, uri: str, body: Any) -> Iterator[bytes]:
        """The body in chunks of 1 MiB, so a multi-GB checkpoint never sits in memory whole."""
        while chunk := self._call("read", uri, lambda: body.read(_CHUNK)):
            yield chunk

    def exists(self, uri: str) -> bool:
        return self._head(uri) is not None

    def _head(self, uri: str) -> dict | None:
        key = self._key(uri)
        try:
            return self._call("stat", uri, lambda: self.client.head_object(Bucket=self.bucket, Key=key))
        except NotFound:
            return None

    def _call(self, action: str, uri: str, fn: Any) -> Any:
        """Run one S3 request, turning botocore's errors into Lathe's (so a service answers with a clear code)."""
        return _request(action, uri, fn, where=f"artifact store {self.root}")


def _request(action: str, uri: str, fn: Any, *, where: str = "the artifact store") -> Any:
    """Run one S3 request, turning botocore's errors into Lathe's (so a service answers with a clear code)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn()
    except ClientError as exc:
        raise _translate(exc, action, uri) from exc
    except BotoCoreError as exc:  # endpoint unreachable, credentials missing, read timeout …
        raise Unavailable(f"{where} could not {action} {uri!r}: {exc}",
                          reason="ARTIFACT_STORE_UNAVAILABLE", metadata={"uri": uri}) from exc


def _upload_digests(path: Path, size: int) -> tuple[str, str | None]:
    """(sha256 hex, base64 MD5 for a single PUT) of a file in one pass; no MD5 above the single-PUT size."""
    if size <= _SINGLE_PUT_MAX:
        return _digests(path)
    return sha256_file(path), None


def _digests(path: Path) -> tuple[str, str]:
    """(sha256 hex, base64 MD5) of a file in one pass."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), base64.b64encode(md5.digest()).decode()


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: Any, action: str, uri: str) -> Exception:
    code = _code(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    meta = {"uri": uri, "s3_error": code}
    if code in {"NoSuchKey", "404", "NotFound"}:
        return NotFound(f"artifact {uri!r} does not exist", reason="ARTIFACT_NOT_FOUND", metadata=meta)
    if code == "NoSuchBucket":
        return FailedPrecondition(f"the artifact bucket of {uri!r} does not exist", reason="ARTIFACT_BUCKET_MISSING",
                                  metadata=meta)
    if code in {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
        return PermissionDenied(f"the artifact store refused to {action} {uri!r} ({code})",
                                reason="ARTIFACT_STORE_ACCESS_DENIED", metadata=meta)
    if code in {"BadDigest", "InvalidDigest"}:
        return Unavailable(f"the bytes of {uri!r} were damaged on the way to the store; retry",
                           reason="ARTIFACT_UPLOAD_CORRUPTED", metadata=meta)
    if (status is not None and int(status) >= 500) or code in {"SlowDown", "ServiceUnavailable", "InternalError"}:
        return Unavailable(f"the artifact store failed to {action} {uri!r} ({code})",
                           reason="ARTIFACT_STORE_UNAVAILABLE", metadata=meta)
    return FailedPrecondition(f"the artifact store could not {action} {uri!r} ({code}: {exc})",
                              reason="ARTIFACT_STORE_ERROR", metadata=meta)
