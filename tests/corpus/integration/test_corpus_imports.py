"""Change-detected imports through the real corpus server and stub, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil

import grpc
import pytest

from lathe.corpus.v1 import corpus_service_pb2 as pb
from lathe.corpus.v1 import import_batch_pb2
from lathe.kit.datasets import datasets_dir
from lathe.kit.errors import from_rpc_error

Batch = import_batch_pb2.ImportBatch
DATASETS = str(datasets_dir())


async def scan(stub, root, **kw) -> pb.ImportFilesResponse:
    return await stub.ImportFiles(pb.ImportFilesRequest(root=str(root), **kw))


async def test_stackfaq_and_shakespeare_import_with_the_right_counts(corpus, import_root, wait_for_batches):
    shutil.copy(f"{DATASETS}/stackfaq.json", import_root / "stackfaq.json")
    shutil.copy(f"{DATASETS}/tinyshakespeare.txt", import_root / "tinyshakespeare.txt")
    stub = corpus()
    response = await scan(stub, import_root)
    assert (response.matched_file_count, response.new_file_count) == (2, 2)
    batches = await wait_for_batches(stub, list(response.import_batches))
    by_path = {b.path: b for b in batches}
    assert {b.state for b in batches} == {Batch.STATE_COMPLETED}
    faq = by_path["stackfaq.json"]
    assert faq.format == Batch.FORMAT_STACKFAQ
    assert (faq.results.qa_clusters_created, faq.results.questions_created) == (125, 1249)
    assert [t.state for t in faq.state_history] == [Batch.STATE_PENDING, Batch.STATE_IMPORTING, Batch.STATE_EMBEDDING,
                                                    Batch.STATE_COMPLETED]
    times = [t.event_time.ToDatetime() for t in faq.state_history]
    assert times == sorted(times)

    stats = await stub.GetCorpusStats(pb.GetCorpusStatsRequest())
    assert (stats.qa_cluster_count, stats.question_count, stats.answer_count) == (125, 1249, 719)
    content = (import_root / "tinyshakespeare.txt").read_text(encoding="utf-8")
    assert stats.text_count == 1
    assert stats.word_count == len(content.split())
    assert stats.character_count == len(content)
    texts = await stub.ListTexts(pb.ListTextsRequest(filter='source = "tinyshakespeare*"'))
    (text,) = texts.texts
    assert (text.word_count, text.character_count, text.title) == (len(content.split()), len(content),
                                                                   "tinyshakespeare.txt")
    assert text.import_batch == by_path["tinyshakespeare.txt"].name
    clusters = await stub.ListQaClusters(pb.ListQaClustersRequest(page_size=1000, filter='external_id = "stackfaq:0"'))
    (first,) = clusters.qa_clusters
    assert first.title == "Strikethrough with GitHub Markdown" and first.question_count == 10


async def test_rescan_creates_no_batch_for_unchanged_files_and_one_for_a_changed_file(corpus, import_root,
                                                                                       wait_for_batches):
    (import_root / "notes").mkdir()
    for i in range(3):
        (import_root / "notes" / f"n{i}.md").write_text(f"note number {i}\n")
    (import_root / "ignored.bin").write_bytes(b"\0\1")
    stub = corpus()
    first = await scan(stub, import_root)
    assert (first.new_file_count, first.unsupported_file_count) == (3, 1)
    await wait_for_batches(stub, list(first.import_batches))
    again = await scan(stub, import_root)
    assert list(again.import_batches) == [] and again.unchanged_file_count == 3
    (import_root / "notes" / "n1.md").write_text("note number 1, edited\n")
    changed = await scan(stub, import_root)
    assert changed.changed_file_count == 1 and len(changed.import_batches) == 1
    (batch,) = await wait_for_batches(stub, list(changed.import_batches))
    assert batch.path == "notes/n1.md" and batch.state == Batch.STATE_COMPLETED
    listed = await stub.ListImportBatches(pb.ListImportBatchesRequest(filter='path = "notes/*" AND state = COMPLETED'))
    assert len(listed.import_batches) == 4
    stats = await stub.GetCorpusStats(pb.GetCorpusStatsRequest())
    assert stats.text_count == 4  # imports only add: the old version of n1.md stays


async def test_a_corrupt_json_file_fails_with_file_and_line_and_retry_completes_it(corpus, import_root,
                                                                                     wait_for_batches):
    good = [{"id": "q1", "answers": ["Use the reset link."], "questions": ["How do I reset my password?"]}]
    (import_root / "good.json").write_text(json.dumps(good))
    (import_root / "broken.json").write_text('[\n  {"id": "q2",\n   "answers": ["x"]\n   "questions": []}\n]\n')
    (import_root / "texts.jsonl").write_text('{"content": "first"}\n{"content": "second", "title": "2"}\n')
    stub = corpus()
    response = await scan(stub, import_root)
    batches = {b.path: b for b in await wait_for_batches(stub, list(response.import_batches))}
    broken = batches["broken.json"]
    assert broken.state == Batch.STATE_FAILED
    assert broken.failure.path == "broken.json" and broken.failure.line == 4
    assert broken.failure.reason_code == "PARSE_ERROR"
    assert "broken.json:4" in broken.error.message
    assert batches["good.json"].state == Batch.STATE_COMPLETED
    assert batches["texts.jsonl"].state == Batch.STATE_COMPLETED
    assert batches["texts.jsonl"].results.texts_created == 2

    (import_root / "broken.json").write_text(json.dumps([{"id": "q2", "answers": ["x"], "questions": ["y?"]}]))
    retried = await stub.RetryFailedBatches(pb.RetryFailedBatchesRequest(filter="state = FAILED"))
    assert list(retried.import_batches) == [broken.name]
    (done,) = await wait_for_batches(stub, [broken.name])
    assert done.state == Batch.STATE_COMPLETED and done.attempt_count == 2
    assert not done.HasField("failure")
    assert [t.state for t in done.state_history][-4:] == [Batch.STATE_PENDING, Batch.STATE_IMPORTING,
                                                          Batch.STATE_EMBEDDING, Batch.STATE_COMPLETED]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.RetryFailedBatches(pb.RetryFailedBatchesRequest(names=[done.name]))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_an_invalid_record_fails_naming_its_line(corpus, import_root, wait_for_batches):
    (import_root / "qa.jsonl").write_text('{"answers": ["a"], "questions": ["q"]}\n{"answers": []}\n')
    stub = corpus()
    (batch,) = await wait_for_batches(stub, list((await scan(stub, import_root)).import_batches))
    assert batch.state == Batch.STATE_FAILED
    assert (batch.failure.line, batch.failure.reason_code) == (2, "INVALID_ITEM")
    assert (await stub.GetCorpusStats(pb.GetCorpusStatsRequest())).qa_cluster_count == 0  # nothing half-written


async def test_path_escapes_are_permission_denied(corpus, import_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours")
    stub = corpus()
    for root in ("..", "../outside", str(outside), "/etc", f"{import_root}/../outside"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await scan(stub, root)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED, root
        assert from_rpc_error(caught.value).reason == "PATH_OUTSIDE_IMPORT_ROOTS"
    os.symlink(outside, import_root / "link")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await scan(stub, "link")
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # A link met inside the scan is refused too, and nothing is queued.
    (import_root / "sub").mkdir()
    (import_root / "sub" / "ok.txt").write_text("fine")
    os.symlink(outside / "secret.txt", import_root / "sub" / "escape.txt")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await scan(stub, "sub")
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await stub.ListImportBatches(pb.ListImportBatchesRequest())).import_batches == []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await scan(stub, "missing")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
