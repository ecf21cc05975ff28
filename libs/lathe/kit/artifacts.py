"""The content-addressed artifact store: every blob is named by its sha256 and verified when read.

``open_store(root)`` picks the backend by URI scheme: a path or ``file://`` is a local folder (the embedded
default, ``<home>/artifacts``); ``s3://bucket/prefix`` is any S3-compatible object store (lathe.kit.s3). Blobs live at
``sha256/<2 hex>/<64 hex>``, so the same bytes are stored once and a name can never point at other bytes.

A model folder is stored by name instead (``put_folder``: ``<root>/models/<job>-attempt-<n>/<path>``, written
once), with its manifest beside it (``<folder>.manifest``: the lines :func:`lathe.kit.manifest.manifest_digest`
hashes, so the manifest read back is checked by the digest the registry records). Folders are read by URI,
whichever store wrote them (:func:`read_folder`, :func:`fetch_folder`, :func:`open_uri`): the registry, the
deployer and the trainer's parent-version reads hold no store of their own.

The methods are synchronous (file and network I/O); async callers run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlparse

from lathe.kit.errors import FailedPrecondition, InvalidArgument, NotFound
from lathe.kit.manifest import FileEntry, folder_manifest, manifest_digest, manifest_text, parse_manifest_text

_CHUNK = 1 << 20
# The manifest of a stored folder sits beside it, at ``<folder URI>`` + this suffix; it is written last, so a
# folder whose manifest exists is complete.
MANIFEST_SUFFIX = ".manifest"


@dataclass(frozen=True)
class ArtifactRef:
    """Where a blob is, and what it must hash to."""

    uri: str
    sha256: str
    size: int


@dataclass(frozen=True)
class FolderRef:
    """A stored model folder: its URI and the manifest of its files (hashed before they were uploaded)."""

    uri: str
    files: tuple[FileEntry, ...]

    @property
    def digest(self) -> str:
        """``sha256:<hex>``, the registry's manifest digest."""
        return manifest_digest(self.files)

    def entry(self, path: str) -> FileEntry:
        """The manifest entry of ``path``; NotFound when the folder has no such file."""
        for entry in self.files:
            if entry.path == path:
                return entry
        raise NotFound(f"{self.uri} has no file {path!r}", reason="ARTIFACT_NOT_FOUND",
                       metadata={"uri": self.uri, "path": path})


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

    def put_folder(self, source: Path, name: str) -> FolderRef:
        """Store every file of ``source`` under ``<root>/<name>/``, then its manifest beside it.

        The manifest is computed from ``source`` first and every file is checked against it on its way in.
        A folder is written once: storing the same files under the same name again is a no-op, other files
        under a published name are FAILED_PRECONDITION (``ARTIFACT_FOLDER_EXISTS``).
        """
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

    def put_folder(self, source: Path, name: str) -> FolderRef:
        target = self.root / folder_name(name)
        files = tuple(folder_manifest(source))
        folder = FolderRef(target.as_uri(), files)
        marker = target.with_name(target.name + MANIFEST_SUFFIX)
        if _published(folder, marker.read_bytes() if marker.exists() else None):
            return folder
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".incoming-{target.name}-"))
        try:
            for entry in files:
                with open(source / entry.path, "rb") as handle:
                    _copy_checked((source / entry.path).as_uri(), iter(lambda h=handle: h.read(_CHUNK), b""),
                                  staging / entry.path, entry)
            if target.exists():  # an earlier upload cut short before its manifest: it was never published
                shutil.rmtree(target)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._write_atomically(marker, lambda handle: handle.write(manifest_text(files)))
        return folder


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


def folder_name(name: str) -> str:
    """``name`` if it is a normalized relative path (``models/x-attempt-1``); INVALID_ARGUMENT otherwise."""
    if (not name or name.startswith("/") or "\\" in name or posixpath.normpath(name) != name
            or name.split("/", 1)[0] == ".." or name == "."):
        raise InvalidArgument(f"{name!r} is not a folder name inside the artifact store",
                              reason="INVALID_ARTIFACT_NAME")
    return name


def open_uri(uri: str) -> BinaryIO:
    """A reader of the file at ``uri`` (a path, ``file://`` or ``s3://bucket/key``), unverified.

    NotFound when nothing is there; INVALID_ARGUMENT (``UNSUPPORTED_ARTIFACT_URI``) for another scheme;
    an S3 store that cannot be reached is UNAVAILABLE.
    """
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        path = Path(unquote(parsed.path) if parsed.scheme else uri)
        if not path.is_file():
            raise NotFound(f"artifact {uri!r} does not exist", reason="ARTIFACT_NOT_FOUND", metadata={"uri": uri})
        return open(path, "rb")
    if parsed.scheme == "s3":
        from lathe.kit.s3 import open_object

        return open_object(uri)
    raise InvalidArgument(f"cannot read {uri!r}: artifacts are file:// or s3:// URIs",
                          reason="UNSUPPORTED_ARTIFACT_URI", metadata={"uri": uri})


def folder_file_uri(folder_uri: str, path: str) -> str:
    """The URI of the file ``path`` (relative, normalized) of the folder at ``folder_uri``."""
    parsed = urlparse(folder_uri)
    if parsed.scheme in ("", "file"):
        return (Path(unquote(parsed.path) if parsed.scheme else folder_uri) / path).as_uri()
    return f"{folder_uri.rstrip('/')}/{path}"


def read_folder(uri: str, digest: str, *, opener: Callable[[str], BinaryIO] = open_uri) -> FolderRef:
    """The stored folder at ``uri`` with the manifest written beside it, which must hash to ``digest``.

    ``digest`` is the manifest digest (``sha256:<hex>`` or bare hex) from a trusted record (the worker's
    success event, the registry): a manifest replaced in the store is ChecksumMismatch, a missing one NotFound.
    """
    marker = uri.rstrip("/") + MANIFEST_SUFFIX
    with opener(marker) as handle:
        data = handle.read()
    actual, wanted = hashlib.sha256(data).hexdigest(), digest.removeprefix("sha256:")
    if actual != wanted:
        raise ChecksumMismatch(f"the manifest {marker!r} hashes to {actual}, expected {wanted}: it was modified",
                               metadata={"uri": marker, "expected_sha256": wanted, "actual_sha256": actual})
    return FolderRef(uri, tuple(parse_manifest_text(data)))


def read_folder_file(folder: FolderRef, path: str, *, opener: Callable[[str], BinaryIO] = open_uri) -> bytes:
    """The bytes of one (small) file of ``folder``, checked against its manifest entry."""
    entry = folder.entry(path)
    uri = folder_file_uri(folder.uri, path)
    with opener(uri) as handle:
        data = handle.read()
    _check_entry(uri, entry, len(data), hashlib.sha256(data).hexdigest())
    return data


def fetch_folder(folder: FolderRef, dest: Path, *, opener: Callable[[str], BinaryIO] = open_uri) -> Path:
    """Copy every file of ``folder`` into ``dest``, each checked against the manifest while it streams.

    The first file that differs raises ChecksumMismatch naming it (a missing one NotFound); ``dest`` is then
    left as it was, since the copy is assembled in a staging folder beside it and moved in place at the end.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        for entry in folder.files:
            target = staging / folder_name(entry.path)
            uri = folder_file_uri(folder.uri, entry.path)
            with opener(uri) as source:
                _copy_checked(uri, iter(lambda s=source: s.read(_CHUNK), b""), target, entry)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def _copy_checked(uri: str, chunks: Iterable[bytes], dest: Path, entry: FileEntry) -> None:
    """Write ``chunks`` (the file at ``uri``) to ``dest`` while hashing them; ChecksumMismatch unless they are
    exactly ``entry``'s bytes (the caller removes its staging folder)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(dest, "wb") as sink:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            sink.write(chunk)
    _check_entry(uri, entry, size, digest.hexdigest())


def _check_entry(uri: str, entry: FileEntry, size: int, sha256: str) -> None:
    if size != entry.size_bytes or sha256 != entry.sha256:
        raise ChecksumMismatch(
            f"{entry.path} ({uri}) is {size} bytes with sha256 {sha256}, but the manifest records "
            f"{entry.size_bytes} bytes with sha256 {entry.sha256}: it was modified or corrupted",
            metadata={"path": entry.path, "uri": uri, "expected_sha256": entry.sha256, "actual_sha256": sha256})


def _published(folder: FolderRef, existing_manifest: bytes | None) -> bool:
    """Whether ``folder`` is already stored as it is now; FAILED_PRECONDITION when its name holds other files."""
    if existing_manifest is None:
        return False
    if existing_manifest == manifest_text(folder.files):
        return True
    raise FailedPrecondition(f"the artifact folder {folder.uri} already holds other files; a folder is written "
                             "once and never overwritten", reason="ARTIFACT_FOLDER_EXISTS",
                             metadata={"uri": folder.uri})


def open_store(root: str) -> ArtifactStore:
    """The store at ``root``: a folder path or ``file://`` URI, or ``s3://bucket[/prefix]`` (see lathe.kit.s3)."""
    parsed = urlparse(root)
    if parsed.scheme in ("", "file"):
        return LocalArtifactStore(Path(parsed.path if parsed.scheme else root))
    if parsed.scheme == "s3":
        from lathe.kit.s3 import S3ArtifactStore  # boto3 is imported only by suites that use S3

        return S3ArtifactStore.from_uri(root)
    raise ValueError(f"unsupported artifact store {root!r}: use a folder path, file:// or s3:// URI")
