"""Fixtures of the history integration tests: the real history server and stubs per principal."""

from __future__ import annotations

import pytest

from lathe.history.v1.history_service_pb2_grpc import HistoryServiceStub


@pytest.fixture
async def history(start_service, tokens, channel_to):
    """A function returning a stub to a fresh history server, authenticated as the given token."""
    server = await start_service("history", export_chunk_bytes=2048)

    def stub(token: str | None = tokens.alice) -> HistoryServiceStub:
        return HistoryServiceStub(channel_to(server, token=token))

    return stub

