"""A corpus process killed in the middle of an import: on restart no batch stays stuck, and it completes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid

from lathe.corpus.v1 import corpus_service_pb2 as pb
from lathe.corpus.v1 import import_batch_pb2
from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub
from lathe.kit.clients import create_channel
from lathe.kit.datasets import datasets_dir

Batch = import_batch_pb2.ImportBatch
STACKFAQ = datasets_dir() / "stackfaq.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "services.corpus"], env=env, stdout=log, stderr=subprocess.STDOUT)


async def wait_for(stub, name: str, predicate, limit_s: float) -> Batch:
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        try:
            batch = await stub.GetImportBatch(pb.GetImportBatchRequest(name=name), timeout=5)
            if predicate(batch):
                return batch
        except Exception:  # the server may still be starting
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"batch {name} did not get there in {limit_s}s")
        await asyncio.sleep(0.1)


async def test_kill_minus_9_mid_import_then_restart_completes_the_batch(tmp_path, tokens, postgres_url):
    root = tmp_path / "imports"
    root.mkdir()
    threads = json.loads(STACKFAQ.read_bytes())["root"]["qapair"][:12]
    (root / "faq.json").write_text(json.dumps({"root": {"qapair": threads}}))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATHE_")}
    env.update(
        LATHE_HOME=str(tmp_path / "home"), LATHE_DATABASE_URL=postgres_url,
        LATHE_DATABASE_SCHEMA=f"corpus_{uuid.uuid4().hex[:10]}", LATHE_PORT=str(port),
        LATHE_TOKENS_FILE=str(tokens.file), LATHE_CORPUS_IMPORT_ROOTS=json.dumps([str(root)]),
        LATHE_CORPUS_EMBEDDING_CHUNK_SIZE="16", LATHE_CORPUS_IMPORT_POLL_SECONDS="0.2", LATHE_LOG_FORMAT="json",
    )
    log = (tmp_path / "corpus.log").open("wb")
    process = start(env, log)
    channel = create_channel(f"127.0.0.1:{port}", token=tokens.alice, default_timeout=30)
    try:
        stub = CorpusServiceStub(channel)
        for _ in range(300):
            try:
                response = await stub.ImportFiles(pb.ImportFilesRequest(root=str(root)), timeout=5)
                break
            except Exception:
                await asyncio.sleep(0.1)
        (name,) = response.import_batches
        mid = await wait_for(stub, name, lambda b: b.state == Batch.STATE_EMBEDDING and
                             b.results.embeddings_created > 0, limit_s=60)
        assert mid.results.embeddings_created < mid.results.embeddings_total
        process.send_signal(signal.SIGKILL)
        process.wait(10)

        process = start(env, log)
        done = await wait_for(stub, name, lambda b: b.state in (Batch.STATE_COMPLETED, Batch.STATE_FAILED),
                              limit_s=120)
        assert done.state == Batch.STATE_COMPLETED, done.error.message
        assert done.attempt_count == 2
        notes = [(t.state, t.message) for t in done.state_history]
        assert (Batch.STATE_PENDING, "interrupted by service restart") in notes
        stats = await stub.GetCorpusStats(pb.GetCorpusStatsRequest())
        assert stats.qa_cluster_count == 12  # the second run stored nothing twice
        (counts,) = stats.embedding_counts
        assert counts.question_count == stats.question_count and counts.answer_count == stats.answer_count
        listed = await stub.ListImportBatches(pb.ListImportBatchesRequest(
            filter="state = IMPORTING OR state = EMBEDDING"))
        assert list(listed.import_batches) == []
    finally:
        await channel.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
