"""One error model for every service: domain exceptions that carry their gRPC code and reason.

Servers turn them into a ``google.rpc.Status`` with ``ErrorInfo`` (and ``BadRequest`` field violations) in
the ``grpc-status-details-bin`` trailer; clients turn that trailer back into the same exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"
DEFAULT_DOMAIN = "lathe.dev"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (``model.name``, ``texts[3].content``) and what is wrong."""

    field: str
    description: str


class LatheError(Exception):
    """Base of every error a Lathe service raises on purpose; maps to one canonical gRPC code."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    default_reason: str = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        domain: str = DEFAULT_DOMAIN,
        metadata: Mapping[str, str] | None = None,
        field_violations: Iterable[FieldViolation] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.domain = domain
        self.metadata = dict(metadata or {})
        self.field_violations = tuple(field_violations)

    def to_status(self) -> status_pb2.Status:
        """The ``google.rpc.Status`` this error is sent as."""
        status = status_pb2.Status(code=self.code.value[0], message=self.message)
        info = error_details_pb2.ErrorInfo(reason=self.reason, domain=self.domain, metadata=self.metadata)
        detail = any_pb2.Any()
        detail.Pack(info)
        status.details.append(detail)
        if self.field_violations:
            bad_request = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in self.field_violations
                ]
            )
            detail = any_pb2.Any()
            detail.Pack(bad_request)
            status.details.append(detail)
        return status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, reason={self.reason!r})"


class InvalidArgument(LatheError):
    """The request is malformed; ``field_violations`` name the fields."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"

    @classmethod
    def for_field(cls, field: str, description: str, *, reason: str = "INVALID_FIELD") -> InvalidArgument:
        """An error about one field, with its violation attached."""
        return cls(f"{field}: {description}", reason=reason, field_violations=[FieldViolation(field, description)])


class NotFound(LatheError):
    """The named resource does not exist (or the caller may not know that it does)."""

    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(LatheError):
    """A resource with that name exists already."""

    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class FailedPrecondition(LatheError):
    """The system is not in a state that allows the operation."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class OutOfRange(LatheError):
    """A position (page token, resume token, step) is past what exists or has expired."""

    code = grpc.StatusCode.OUT_OF_RANGE
    default_reason = "OUT_OF_RANGE"


class PermissionDenied(LatheError):
    """The caller is known but not allowed to do this."""

    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class Unauthenticated(LatheError):
    """The caller did not present a valid credential."""

    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class Aborted(LatheError):
    """A concurrency conflict (a lost race, a stale etag); the client may retry the whole operation."""

    code = grpc.StatusCode.ABORTED
    default_reason = "ABORTED"


class ResourceExhausted(LatheError):
    """A quota or size limit is exceeded."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class Unavailable(LatheError):
    """A dependency (database, peer service) cannot be reached now; retrying later may succeed."""

    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UNAVAILABLE"


class DeadlineExceeded(LatheError):
    """The operation did not finish before its deadline."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    default_reason = "DEADLINE_EXCEEDED"


class DataLoss(LatheError):
    """Stored bytes no longer match the checksum they were recorded with."""

    code = grpc.StatusCode.DATA_LOSS
    default_reason = "DATA_LOSS"


class Unimplemented(LatheError):
    """The RPC exists in the contract but its implementation has not landed yet."""

    code = grpc.StatusCode.UNIMPLEMENTED
    default_reason = "NOT_IMPLEMENTED"


class Internal(LatheError):
    """A bug or an unexpected failure on the server; the message never carries internals."""

    code = grpc.StatusCode.INTERNAL
    default_reason = "INTERNAL"


class Cancelled(LatheError):
    """The caller cancelled the call."""

    code = grpc.StatusCode.CANCELLED
    default_reason = "CANCELLED"


class Unknown(LatheError):
    """A status the client could not map to anything more specific."""

    code = grpc.StatusCode.UNKNOWN
    default_reason = "UNKNOWN"


_BY_CODE: dict[grpc.StatusCode, type[LatheError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument, NotFound, AlreadyExists, FailedPrecondition, OutOfRange, PermissionDenied,
        Unauthenticated, Aborted, ResourceExhausted, Unavailable, DeadlineExceeded, DataLoss, Unimplemented,
        Internal, Cancelled, Unknown,
    )
}
_CODE_BY_NUMBER: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


def status_trailer(error: LatheError) -> tuple[tuple[str, bytes], ...]:
    """The trailing metadata that carries ``error`` as a serialized ``google.rpc.Status``."""
    return ((STATUS_DETAILS_KEY, error.to_status().SerializeToString()),)


def decode_status(trailing_metadata: Iterable[tuple[str, str | bytes]] | None) -> status_pb2.Status | None:
    """The ``google.rpc.Status`` in a call's trailers, or None when the server sent none."""
    for key, value in trailing_metadata or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status()
            status.ParseFromString(value)
            return status
    return None


def from_rpc_error(error: grpc.RpcError) -> LatheError:
    """Map a failed call back to the exception the server raised, with its reason and field violations."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = (error.details() if hasattr(error, "details") else None) or ""
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    status = decode_status(trailers)
    reason, domain, metadata, violations = None, DEFAULT_DOMAIN, {}, []
    if status is not None:
        code = _CODE_BY_NUMBER.get(status.code, code)
        details = status.message or details
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = [FieldViolation(v.field, v.description) for v in bad.field_violations]
    cls = _BY_CODE.get(code, Unknown)
    return cls(details, reason=reason, domain=domain, metadata=metadata, field_violations=violations)

