"""Fixtures of the corpus integration tests: an import root, a started corpus service, and polling helpers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lathe.corpus.v1 import corpus_service_pb2 as pb
from lathe.corpus.v1 import import_batch_pb2
from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub
from lathe.kit.datasets import datasets_dir

DATASETS = datasets_dir()
STACKFAQ = DATASETS / "stackfaq.json"
SHAKESPEARE = DATASETS / "tinyshakespeare.txt"
DONE = {import_batch_pb2.ImportBatch.STATE_COMPLETED, import_batch_pb2.ImportBatch.STATE_FAILED}


@pytest.fixture
def import_root(tmp_path: Path) -> Path:
    """The single configured import root of the test's service."""
    root = tmp_path / "imports"
    root.mkdir()
    return root


@pytest.fixture
async def corpus(start_service, tokens, channel_to, import_root):
    """A stub factory for a corpus server that imports from ``import_root`` without embedding."""
    server = await start_service("corpus", import_roots=[import_root], corpus_embed_on_import=False,
                                 corpus_import_poll_seconds=0.2)

    def stub(token: str | None = tokens.alice) -> CorpusServiceStub:
        return CorpusServiceStub(channel_to(server, token=token))

    return stub


async def wait_batches(stub: CorpusServiceStub, names: list[str], limit_s: float = 60) -> list:
    """Poll until every named batch is COMPLETED or FAILED; returns them in order."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        batches = [await stub.GetImportBatch(pb.GetImportBatchRequest(name=n)) for n in names]
        if all(b.state in DONE for b in batches):
            return batches
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"batches still running: {[(b.path, b.state) for b in batches]}")
        await asyncio.sleep(0.1)


@pytest.fixture
def wait_for_batches():
    """The :func:`wait_batches` helper, as a fixture."""
    return wait_batches
