"""The error model survives the wire: server-side exceptions come back as the same client-side ones."""

from __future__ import annotations

import grpc
import pytest

from lathe.kit.errors import (
    DataLoss,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    LatheError,
    NotFound,
    Unknown,
    from_rpc_error,
    status_trailer,
)


class FakeRpcError(grpc.RpcError):
    """What a failed call looks like to a client (code, details, trailers)."""

    def __init__(self, code, details, trailers):
        self._code, self._details, self._trailers = code, details, trailers

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailers


@pytest.mark.parametrize("error", [
    InvalidArgument("bad", reason="INVALID_FIELD", field_violations=[FieldViolation("texts[3].content", "empty")]),
    NotFound("no model", reason="MODEL_NOT_FOUND", metadata={"name": "models/x"}),
    FailedPrecondition("aliased", reason="MODEL_ALIASED", domain="registry.lathe.dev"),
])
def test_round_trip_keeps_code_reason_metadata_and_violations(error: LatheError):
    back = from_rpc_error(FakeRpcError(error.code, error.message, status_trailer(error)))
    assert type(back) is type(error)
    assert (back.message, back.reason, back.domain, back.metadata) == (
        error.message, error.reason, error.domain, error.metadata)
    assert back.field_violations == error.field_violations


def test_a_status_without_details_maps_by_code():
    back = from_rpc_error(FakeRpcError(grpc.StatusCode.NOT_FOUND, "gone", ()))
    assert isinstance(back, NotFound) and back.message == "gone"
    assert isinstance(from_rpc_error(FakeRpcError(grpc.StatusCode.DATA_LOSS, "x", ())), DataLoss)
    assert isinstance(from_rpc_error(FakeRpcError(grpc.StatusCode.UNKNOWN, "x", ())), Unknown)
