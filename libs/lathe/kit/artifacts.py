"""The content-addressed artifact store: every blob is named by its sha256 and verified when read.

``open_store(root)`` picks the backend by URI scheme: a path or ``file://`` is a local folder (the embedded
default, ``<home>/artifacts``); ``s3://bucket/prefix`` is any S3-compatible object store (lathe.kit.s3). Blobs live at
``sha256/<2 hex>/<64 hex>``, so the same bytes are stored once and a name can never point at other bytes.
The methods are synchronous (file and network I/O); async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from lathe.kit.errors import FailedPrecondition, InvalidArgument, NotFound

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArtifactRef:
    """Where a blob is, and what it must hash to."""

    uri: str
    sha256: str
    size: int


class ChecksumMismatch(FailedPrecondition):
    """A blob's bytes no longer hash to the digest it was stored (and is named) under."""

    default_reason = "ARTIFACT_CHECKSUM_MISMATCH"


class ArtifactStore(Protocol):
    """What every backend offers."""

    def put_bytes(self, data: bytes) -> ArtifactRef:
        """Store ``data``; returns its reference (storing the same bytes twice is a no-op)."""
        ...

    def put_file(self, path: Path) -> ArtifactRef:
        """Store a file's content, streamed."""
        ...

    def open(self, uri: str) -> BinaryIO:
        """A binary reader of the blob (unverified: prefer :meth:`read_bytes` or :meth:`fetch`)."""
        ...

    def read_bytes(self, uri: str, *, expected_sha256: str | None = None) -> bytes:
        """The blob's bytes, verified against its digest (and ``expected_sha256`` when given)."""
        ...

    def fetch(self, uri: str, dest: Path, *, expected_sha256: str | None = None) -> Path:
        """Copy the blob to ``dest``, verified on the way; a mismatch leaves nothing at ``dest``."""
        ...

    def exists(self, uri: str) -> bool:
        """Whether the blob is stored."""
        ...


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def digest_of(uri: str) -> str:
    """The sha256 a content-addressed URI names (its last path segment)."""
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    if len(name) != 64 or any(c not in "0123456789abcdef" for c in name):
        raise InvalidArgument(f"{uri!r} is not a content-addressed artifact URI", reason="INVALID_ARTIFACT_URI")
    return name


class LocalArtifactStore:
    """Blobs in a local folder; writes go through a temporary file and an atomic rename."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        (self.root / "sha256").mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256

    def uri_for(self, sha256: str) -> str:
        """The URI of the blob with this digest."""
        return self._path(sha256).as_uri()

    def _local(self, uri: str) -> Path:
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise InvalidArgument(f"{uri!r} is not in this local store", reason="INVALID_ARTIFACT_URI")
        path = Path(parsed.path).resolve()
        if self.root not in path.parents:
            raise InvalidArgument(f"{uri!r} is outside the artifact store", reason="INVALID_ARTIFACT_URI")
        return path

    def put_bytes(self, data: bytes) -> ArtifactRef:
        sha = hashlib.sha256(data).hexdigest()
        target = self._path(sha)
        if not target.exists():
            self._write_atomically(target, lambda handle: handle.write(data))
        return ArtifactRef(self.uri_for(sha), sha, len(data))

    def put_file(self, path: Path) -> ArtifactRef:
        sha = sha256_file(path)
        target = self._path(sha)
        if not target.exists():
            self._write_atomically(target, lambda handle: _copy(path, handle))
        return ArtifactRef(self.uri_for(sha), sha, target.stat().st_size)

    def _write_atomically(self, target: Path, write: object) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)  # type: ignore[operator]
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, uri: str) -> BinaryIO:
        path = self._local(uri)
        if not path.exists():
            raise NotFound(f"artifact {uri!r} does not exist", reason="ARTIFACT_NOT_FOUND")
        return open(path, "rb")

    def read_bytes(self, uri: str, *, expected_sha256: str | None = None) -> bytes:
        with self.open(uri) as handle:
            data = handle.read()
        _verify(uri, hashlib.sha256(data).hexdigest(), expected_sha256)
        return data

    def fetch(self, uri: str, dest: Path, *, expected_sha256: str | None = None) -> Path:
        with self.open(uri) as source:
            return write_verified(uri, iter(lambda: source.read(_CHUNK), b""), dest, expected_sha256)

    def exists(self, uri: str) -> bool:
        return self._local(uri).exists()


def write_verified(uri: str, chunks: Iterable[bytes], dest: Path, expected_sha256: str | None) -> Path:
    """Write ``chunks`` (the blob at ``uri``) to ``dest`` only if they hash to its digest; else nothing."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".fetch-")
    try:
        with os.fdopen(fd, "wb") as sink:
            for chunk in chunks:
                digest.update(chunk)
                sink.write(chunk)
        _verify(uri, digest.hexdigest(), expected_sha256)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def _copy(path: Path, handle: BinaryIO) -> None:
    with open(path, "rb") as source:
        shutil.copyfileobj(source, handle, _CHUNK)


def _verify(uri: str, actual: str, expected: str | None) -> None:
    named = digest_of(uri)
    for wanted in {named, expected or named}:
        if actual != wanted:
            raise ChecksumMismatch(
                f"artifact {uri!r} hashes to {actual}, expected {wanted}: it was modified or corrupted",
                metadata={"uri": uri, "expected_sha256": wanted, "actual_sha256": actual},
            )


def open_store(root: str) -> ArtifactStore:
    """The store at ``root``: a folder path or ``file://`` URI, or ``s3://bucket[/prefix]`` (see lathe.kit.s3)."""
    parsed = urlparse(root)
    if parsed.scheme in ("", "file"):
        return LocalArtifactStore(Path(parsed.path if parsed.scheme else root))
    if parsed.scheme == "s3":
        from lathe.kit.s3 import S3ArtifactStore  # boto3 is imported only by suites that use S3

        return S3ArtifactStore.from_uri(root)
    raise ValueError(f"unsupported artifact store {root!r}: use a folder path, file:// or s3:// URI")
