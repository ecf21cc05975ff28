"""The CorpusService servicer: proto ⇄ domain for texts, Q-A clusters, imports, embeddings and snapshots."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.corpus.v1 import corpus_service_pb2 as pb
from lathe.corpus.v1 import (
    corpus_service_pb2_grpc,
    embedding_model_pb2,
    embedding_pb2,
    import_batch_pb2,
    qa_cluster_pb2,
    snapshot_pb2,
    text_pb2,
)
from lathe.kit.auth import ROLE_READER, ROLE_WRITER, current_principal
from lathe.kit.db import Database
from lathe.kit.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from lathe.kit.idempotency import RequestLog, request_digest, validate_request_id
from lathe.kit.keyset import SortKey, canonical, parse_order_by
from lathe.kit.pagination import PageTokenCodec, page_size
from services.corpus.adapters import importer, ingest, store
from services.corpus.adapters.embedder import Embedder, weights_sha256
from services.corpus.adapters.importer import ImportWorker
from services.corpus.adapters.tables import (
    answers,
    embeddings,
    import_batches,
    qa_clusters,
    questions,
    request_log,
    snapshot_members,
    snapshots,
    texts,
)
from services.corpus.adapters.vectors import VectorStore, load_items
from services.corpus.api import convert
from services.corpus.domain import filtering, formats, synthetic
from services.corpus.domain import snapshots as snap
from services.corpus.domain.content import (
    MAX_ANSWER_BYTES,
    MAX_EXTERNAL_ID,
    MAX_QUESTION_BYTES,
    MAX_SOURCE,
    MAX_TITLE,
    SYNTHETIC_SOURCE,
    EntityRef,
    TextInput,
    check_batch_size,
    check_content,
    check_label,
    check_metadata,
    decode_utf8,
    new_id,
    normalise,
    parse_entity,
    parse_name,
    raise_violations,
    validate_resource_id,
    validate_tags,
    validate_text,
)
from services.corpus.domain.content import (
    content_sha256 as sha_of,
)
from services.corpus.domain.paths import resolve_scan_root, validate_glob

R = TypeVar("R", bound=Message)
SERVICE = "/lathe.corpus.v1.CorpusService/"
MODEL_PREFIX = "embeddingModels/"


def _origin_name(value: int) -> str:
    return store.ORIGIN_NAMES.get(value, "")


def _model_id(name: str, field: str) -> str:
    if not name.startswith(MODEL_PREFIX) or not name[len(MODEL_PREFIX):]:
        raise InvalidArgument.for_field(field, f"must be 'embeddingModels/{{model}}' (got {name!r})",
                                        reason="INVALID_NAME")
    return name[len(MODEL_PREFIX):]


class CorpusServicer(corpus_service_pb2_grpc.CorpusServiceServicer):
    """Serves ``lathe.corpus.v1.CorpusService`` from the corpus database."""

    def __init__(self, db: Database, *, embedder: Embedder, vectors: VectorStore, worker: ImportWorker,
                 import_roots: list[Path], max_text_bytes: int, max_scan_files: int, embed_on_import: bool,
                 page_tokens: PageTokenCodec | None = None) -> None:
        self._db = db
        self._embedder = embedder
        self._vectors = vectors
        self._worker = worker
        self._roots = import_roots
        self._max_text_bytes = max_text_bytes
        self._max_scan_files = max_scan_files
        self._embed_on_import = embed_on_import
        self._requests = RequestLog(request_log)
        self._tokens = page_tokens or PageTokenCodec(b"lathe-corpus-page-token")

    # ---- shared helpers -----------------------------------------------------------------------------------------

    async def _idempotent(self, method: str, request: Message, request_id: str, response_type: type[R],
                          action: Callable[[AsyncSession], Awaitable[R]], *, validate_only: bool = False) -> R:
        """Run ``action`` in a transaction; with a request id, a retry returns the first response."""
        principal = current_principal()
        validate_request_id(request_id)
        digest = request_digest(request)
        for attempt in range(2):
            try:
                async with self._db.sessions.begin() as session:
                    if request_id and not validate_only:
                        first = await self._requests.find(session, method=SERVICE + method,
                                                          principal=principal.user_id, request_id=request_id,
                                                          digest=digest, response_type=response_type)
                        if first is not None:
                            return first  # type: ignore[return-value]
                    response = await action(session)
                    if validate_only:
                        await session.rollback()
                        return response
                    if request_id:
                        await self._requests.remember(session, method=SERVICE + method, principal=principal.user_id,
                                                      request_id=request_id, digest=digest, response=response)
                    return response
            except IntegrityError:
                # A concurrent twin (same content or request id) committed first; the next pass sees it.
                if attempt == 1:
                    raise Aborted("a concurrent request stored the same items; retry",
                                  reason="CONCURRENT_WRITE") from None
        raise AssertionError("unreachable")

    async def _page(self, method: str, request: Any, table: Any, sortable: dict[str, Any], default_order: str,
                    fields: dict[str, filtering.FieldSpec], to_record: Callable[[dict[str, Any]], dict[str, Any]],
                    *, where: tuple[Any, ...] = (), extra: tuple[Any, ...] = (),
                    ) -> tuple[list[dict[str, Any]], str]:
        size = page_size(request.page_size)
        predicate = filtering.compile_filter(request.filter, fields)
        keys = parse_order_by(request.order_by, [k for k in sortable if k != "name"] + ["name"],
                              default=default_order)
        if keys[-1].field != "name":
            keys.append(SortKey("name", keys[0].descending if keys[0].field.endswith("time") else False))
        query = self._tokens.fingerprint(method, request.filter, canonical(keys), *extra)
        after = self._tokens.decode(request.page_token, query=query)
        if after is not None and len(after) != len(keys):
            raise InvalidArgument.for_field("page_token", "does not match this request's order_by")
        async with self._db.sessions() as session:
            rows, _ = await store.filtered_page(session, table, sortable, keys, after, size, where=where,
                                                predicate=predicate, to_record=to_record)
        token = ""
        if len(rows) > size:
            rows = rows[:size]
            token = self._tokens.encode([store.sort_token_value(rows[-1][k.field if k.field != "name" else "id"])
                                         for k in keys], query=query)
        return rows, token

    # ---- texts --------------------------------------------------------------------------------------------------

    def _text_inputs(self, items: Any, prefix: str) -> list[TextInput]:
        check_batch_size(len(items), prefix)
        violations: list[FieldViolation] = []
        inputs: list[TextInput] = []
        for i, item in enumerate(items):
            content = item.content
            if item.content and item.content_bytes:
                violations.append(FieldViolation(f"{prefix}[{i}].content", "set content or content_bytes, not both"))
                continue
            if item.content_bytes:
                try:
                    content = decode_utf8(item.content_bytes, f"{prefix}[{i}].content_bytes")
                except InvalidArgument as exc:
                    violations.extend(exc.field_violations)
                    continue
            text = validate_text(title=item.title, content=content, source=item.source, metadata=item.metadata,
                                 prefix=f"{prefix}[{i}]", max_bytes=self._max_text_bytes, violations=violations)
            if text is not None:
                inputs.append(text)
        raise_violations(violations, prefix)
        return inputs

    async def AddTexts(self, request: pb.AddTextsRequest, context: grpc.aio.ServicerContext) -> pb.AddTextsResponse:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        inputs = self._text_inputs(request.texts, "texts")

        async def action(session: AsyncSession) -> pb.AddTextsResponse:
            stored = await ingest.add_texts(session, inputs, origin=store.ORIGIN_API, creator=principal.user_id,
                                            import_batch=None, when=store.now())
            response = pb.AddTextsResponse()
            for i, (outcome, row) in enumerate(stored):
                if request.validate_only:
                    item = inputs[i]
                    text = text_pb2.Text(word_count=item.word_count, character_count=item.character_count,
                                         size_bytes=item.size_bytes, content_sha256=item.content_sha256)
                    response.results.add(index=i, text=text)
                    continue
                response.results.add(index=i, outcome=outcome, text=convert.text_to_proto(row, full=False))
            response.created_count = sum(1 for o, _ in stored if o == ingest.CREATED)
            response.existing_count = len(stored) - response.created_count
            if request.validate_only:
                response.created_count = response.existing_count = 0
            return response

        return await self._idempotent("AddTexts", request, request.request_id, pb.AddTextsResponse, action,
                                      validate_only=request.validate_only)

    async def GetText(self, request: pb.GetTextRequest, context: grpc.aio.ServicerContext) -> text_pb2.Text:
        current_principal().require_role(ROLE_READER)
        text_id = parse_name(request.name, "texts")
        full = request.view != pb.TEXT_VIEW_BASIC
        async with self._db.sessions() as session:
            return convert.text_to_proto(await store.get_text(session, text_id, content=full), full=full)

    async def ListTexts(self, request: pb.ListTextsRequest,
                        context: grpc.aio.ServicerContext) -> pb.ListTextsResponse:
        current_principal().require_role(ROLE_READER)
        full = request.view == pb.TEXT_VIEW_FULL
        sortable = {"name": texts.c.id, "create_time": texts.c.create_time, "title": texts.c.title,
                    "word_count": texts.c.word_count, "character_count": texts.c.character_count,
                    "size_bytes": texts.c.size_bytes}

        def record(row: dict[str, Any]) -> dict[str, Any]:
            return {**row, "name": row["id"], "origin": _origin_name(row["origin"]),
                    "import_batch": convert.batch_name(row["import_batch"]), "origin_number": row["origin"]}

        rows, token = await self._page("ListTexts", request, texts, sortable, "create_time", filtering.TEXT_FIELDS,
                                       record, extra=(full,))
        out = []
        for r in rows:
            row = {**r, "origin": r["origin_number"], "import_batch": r["import_batch"].split("/")[-1] or None}
            out.append(convert.text_to_proto(row, full=full))
        return pb.ListTextsResponse(texts=out, next_page_token=token)

    # ---- Q-A clusters -------------------------------------------------------------------------------------------

    async def _cluster_proto(self, session: AsyncSession, row: dict[str, Any], full: bool) -> qa_cluster_pb2.QaCluster:
        answer_rows = (await store.answers_of(session, [row["id"]]))[row["id"]]
        question_rows = (await store.questions_of(session, [row["id"]]))[row["id"]] if full else None
        return convert.cluster_to_proto(row, answer_rows, question_rows)

    async def CreateQaCluster(self, request: pb.CreateQaClusterRequest,
                              context: grpc.aio.ServicerContext) -> qa_cluster_pb2.QaCluster:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        cluster = request.qa_cluster
        if request.qa_cluster_id:
            validate_resource_id(request.qa_cluster_id, "qa_cluster_id")
        violations: list[FieldViolation] = []
        if not cluster.answers:
            violations.append(FieldViolation("qa_cluster.answers", "must hold at least one answer"))
        if len(cluster.answers) > 1000 or len(cluster.questions) > 1000:
            violations.append(FieldViolation("qa_cluster", "holds more than 1,000 answers or questions"))
        for i, a in enumerate(cluster.answers):
            check_content(a.content, f"qa_cluster.answers[{i}].content", MAX_ANSWER_BYTES, violations)
        for i, q in enumerate(cluster.questions):
            check_content(q.content, f"qa_cluster.questions[{i}].content", MAX_QUESTION_BYTES, violations)
            check_label(q.source, f"qa_cluster.questions[{i}].source", MAX_SOURCE, violations)
        check_label(cluster.title, "qa_cluster.title", MAX_TITLE, violations)
        check_label(cluster.external_id, "qa_cluster.external_id", MAX_EXTERNAL_ID, violations)
        check_label(cluster.source, "qa_cluster.source", MAX_SOURCE, violations)
        validate_tags(cluster.tags, "qa_cluster.tags", violations)
        raise_violations(violations, "qa_cluster")

        async def action(session: AsyncSession) -> qa_cluster_pb2.QaCluster:
            if request.qa_cluster_id and await store.cluster_exists(session, request.qa_cluster_id):
                raise AlreadyExists(f"Q-A cluster 'qaClusters/{request.qa_cluster_id}' already exists",
                                    reason="QA_CLUSTER_ALREADY_EXISTS",
                                    metadata={"name": f"qaClusters/{request.qa_cluster_id}"})
            if cluster.external_id and await store.clusters_by_external_id(session, [cluster.external_id]):
                raise AlreadyExists(f"a Q-A cluster with external_id {cluster.external_id!r} already exists",
                                    reason="EXTERNAL_ID_ALREADY_EXISTS", metadata={"external_id": cluster.external_id})
            when = store.now()
            row = await store.insert_cluster(
                session, cluster_id=request.qa_cluster_id or None, title=cluster.title,
                external_id=cluster.external_id, tags=list(cluster.tags), source=cluster.source,
                origin=store.ORIGIN_API, import_batch=None, creator=principal.user_id,
                answer_contents=ingest.unique_answers([a.content for a in cluster.answers]), when=when)
            await ingest.add_questions(session, row["id"], [(q.content, q.source) for q in cluster.questions],
                                       origin=store.ORIGIN_API, creator=principal.user_id, import_batch=None,
                                       when=when, known=[])
            row = await store.get_cluster(session, row["id"])
            message = await self._cluster_proto(session, row, True)
            if request.validate_only:
                message.name = ""
            return message

        return await self._idempotent("CreateQaCluster", request, request.request_id, qa_cluster_pb2.QaCluster,
                                      action, validate_only=request.validate_only)

    async def GetQaCluster(self, request: pb.GetQaClusterRequest,
                           context: grpc.aio.ServicerContext) -> qa_cluster_pb2.QaCluster:
        current_principal().require_role(ROLE_READER)
        cluster_id = parse_name(request.name, "qaClusters")
        async with self._db.sessions() as session:
            row = await store.get_cluster(session, cluster_id)
            return await self._cluster_proto(session, row, request.view != pb.QA_CLUSTER_VIEW_BASIC)

    async def ListQaClusters(self, request: pb.ListQaClustersRequest,
                             context: grpc.aio.ServicerContext) -> pb.ListQaClustersResponse:
        current_principal().require_role(ROLE_READER)
        full = request.view == pb.QA_CLUSTER_VIEW_FULL
        c = qa_clusters.c
        sortable = {"name": c.id, "create_time": c.create_time, "update_time": c.update_time, "title": c.title,
                    "external_id": c.external_id, "question_count": c.question_count}

        def record(row: dict[str, Any]) -> dict[str, Any]:
            return {**row, "name": row["id"], "origin_name": _origin_name(row["origin"]),
                    "import_batch_name": convert.batch_name(row["import_batch"])}

        fields = dict(filtering.CLUSTER_FIELDS)
        rows, token = await self._page(
            "ListQaClusters", request, qa_clusters, sortable, "create_time",
            fields, lambda r: _aliased(record(r), origin="origin_name", import_batch="import_batch_name"),
            extra=(full,))
        async with self._db.sessions() as session:
            ids = [r["id"] for r in rows]
            answer_rows = await store.answers_of(session, ids)
            question_rows = await store.questions_of(session, ids) if full else {}
        out = [convert.cluster_to_proto(_unaliased(r), answer_rows[r["id"]], question_rows.get(r["id"]) if full
                                        else None) for r in rows]
        return pb.ListQaClustersResponse(qa_clusters=out, next_page_token=token)

    async def AddQuestions(self, request: pb.AddQuestionsRequest,
                           context: grpc.aio.ServicerContext) -> pb.AddQuestionsResponse:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        cluster_id = parse_name(request.qa_cluster, "qaClusters", "qa_cluster")
        check_batch_size(len(request.questions), "questions")
        violations: list[FieldViolation] = []
        for i, q in enumerate(request.questions):
            check_content(q.content, f"questions[{i}].content", MAX_QUESTION_BYTES, violations)
            check_label(q.source, f"questions[{i}].source", MAX_SOURCE, violations)
        raise_violations(violations, "questions")

        async def action(session: AsyncSession) -> pb.AddQuestionsResponse:
            await store.get_cluster(session, cluster_id, for_update=True)
            added = await ingest.add_questions(
                session, cluster_id, [(q.content, q.source) for q in request.questions], origin=store.ORIGIN_API,
                creator=principal.user_id, import_batch=None, when=store.now())
            return _questions_response(added, request.validate_only)

        return await self._idempotent("AddQuestions", request, request.request_id, pb.AddQuestionsResponse, action,
                                      validate_only=request.validate_only)

    async def ListQuestions(self, request: pb.ListQuestionsRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListQuestionsResponse:
        current_principal().require_role(ROLE_READER)
        if request.parent == "qaClusters/-":
            where: tuple[Any, ...] = ()
        else:
            cluster_id = parse_name(request.parent, "qaClusters", "parent")
            async with self._db.sessions() as session:
                await store.get_cluster(session, cluster_id)
            where = (questions.c.cluster_id == cluster_id,)
        sortable = {"name": questions.c.id, "create_time": questions.c.create_time}
        rows, token = await self._page(
            "ListQuestions", request, questions, sortable, "create_time", filtering.QUESTION_FIELDS,
            lambda r: _aliased({**r, "name": r["id"], "origin_name": _origin_name(r["origin"]),
                                "import_batch_name": convert.batch_name(r["import_batch"])},
                               origin="origin_name", import_batch="import_batch_name"),
            where=where, extra=(request.parent,))
        return pb.ListQuestionsResponse(questions=[convert.question_to_proto(_unaliased(r)) for r in rows],
                                        next_page_token=token)

    # ---- imports ------------------------------------------------------------------------------------------------

    async def ImportFiles(self, request: pb.ImportFilesRequest,
                          context: grpc.aio.ServicerContext) -> pb.ImportFilesResponse:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        started = time.perf_counter()
        root = resolve_scan_root(request.root, self._roots)
        pattern = importer.glob_regex(validate_glob(request.glob))
        if request.format not in import_batch_pb2.ImportBatch.Format.values():
            raise InvalidArgument.for_field("format", f"unknown format {request.format}")
        files = await asyncio.to_thread(importer.walk, root, self._roots, pattern, self._max_scan_files)
        supported = [(rel, path) for rel, path in files if request.format or formats.is_supported(rel)]
        hashed = await asyncio.to_thread(importer.hash_files, supported)
        scan_duration = time.perf_counter() - started
        models = [self._embedder.default_model] if self._embed_on_import and self._embedder.default_model else []

        async def action(session: AsyncSession) -> pb.ImportFilesResponse:
            latest = await store.latest_batches_under(session, str(root))
            response = pb.ImportFilesResponse(scan_id=new_id(), matched_file_count=len(files),
                                              unsupported_file_count=len(files) - len(supported))
            new_rows: list[dict[str, Any]] = []
            for rel, sha, size, head in hashed:
                previous = latest.get(rel)
                if previous is not None and previous["state"] in (importer.PENDING, importer.IMPORTING,
                                                                  importer.EMBEDDING):
                    response.in_progress_file_count += 1
                    continue
                if previous is not None and previous["file_sha256"] == sha:
                    response.unchanged_file_count += 1
                    continue
                fmt = request.format or formats.detect(rel, head)
                if previous is None:
                    response.new_file_count += 1
                else:
                    response.changed_file_count += 1
                if previous is not None and previous["state"] == importer.FAILED:
                    # A changed file whose latest batch failed is re-queued in that batch.
                    row = await store.get_batch(session, previous["id"], for_update=True)
                    when = store.now()
                    await store.save_batch(
                        session, row["id"], state=importer.PENDING, file_sha256=sha, size_bytes=size, format=fmt,
                        scan_id=response.scan_id, update_time=when, start_time=None, end_time=None,
                        history=store.transition(row, importer.PENDING, when, "file changed; re-queued by scan"))
                    response.import_batches.append(convert.batch_name(row["id"]))
                    continue
                row = importer.new_batch_row(root=str(root), path=rel, fmt=int(fmt), explicit=bool(request.format),
                                             sha=sha, size=size, scan_id=response.scan_id, models=models,
                                             creator=principal.user_id)
                new_rows.append(row)
                response.import_batches.append(convert.batch_name(row["id"]))
            if new_rows and not request.validate_only:
                await session.execute(import_batches.insert(), new_rows)
            if request.validate_only:
                del response.import_batches[:]
            response.scan_duration.FromNanoseconds(int(scan_duration * 1e9))
            return response

        response = await self._idempotent("ImportFiles", request, request.request_id, pb.ImportFilesResponse,
                                          action, validate_only=request.validate_only)
        if response.import_batches:
            self._worker.wake()
        return response

    async def GetImportBatch(self, request: pb.GetImportBatchRequest,
                             context: grpc.aio.ServicerContext) -> import_batch_pb2.ImportBatch:
        current_principal().require_role(ROLE_READER)
        batch_id = parse_name(request.name, "importBatches")
        async with self._db.sessions() as session:
            return convert.batch_to_proto(await store.get_batch(session, batch_id))

    def _batch_record(self, row: dict[str, Any]) -> dict[str, Any]:
        record = dict(row)
        record["name"] = row["id"]
        record["state_name"] = import_batch_pb2.ImportBatch.State.Name(row["state"]).removeprefix("STATE_")
        record["format_name"] = import_batch_pb2.ImportBatch.Format.Name(row["format"]).removeprefix("FORMAT_")
        return _aliased(record, state="state_name", format="format_name")

    async def ListImportBatches(self, request: pb.ListImportBatchesRequest,
                                context: grpc.aio.ServicerContext) -> pb.ListImportBatchesResponse:
        current_principal().require_role(ROLE_READER)
        c = import_batches.c
        sortable = {"name": c.id, "create_time": c.create_time, "update_time": c.update_time, "path": c.path,
                    "state": c.state}
        rows, token = await self._page("ListImportBatches", request, import_batches, sortable, "create_time desc",
                                       filtering.BATCH_FIELDS, self._batch_record)
        return pb.ListImportBatchesResponse(import_batches=[convert.batch_to_proto(_unaliased(r)) for r in rows],
                                            next_page_token=token)

    async def RetryFailedBatches(self, request: pb.RetryFailedBatchesRequest,
                                 context: grpc.aio.ServicerContext) -> pb.RetryFailedBatchesResponse:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        if request.names and request.filter:
            raise InvalidArgument.for_field("filter", "must be empty when names are given")
        if len(request.names) > 1000:
            raise InvalidArgument.for_field("names", "holds more than 1,000 names")
        ids = [parse_name(n, "importBatches", f"names[{i}]") for i, n in enumerate(request.names)]
        predicate = filtering.compile_filter(request.filter, filtering.BATCH_FIELDS)
        limit = 10_000

        async def action(session: AsyncSession) -> pb.RetryFailedBatchesResponse:
            if ids:
                rows = [await store.get_batch(session, i, for_update=True) for i in ids]
                for row in rows:
                    if row["state"] != importer.FAILED:
                        raise FailedPrecondition(
                            f"import batch 'importBatches/{row['id']}' is not FAILED", reason="BATCH_NOT_FAILED",
                            metadata={"name": convert.batch_name(row["id"])})
            else:
                raw = (await session.execute(select(import_batches).where(
                    import_batches.c.state == importer.FAILED).order_by(import_batches.c.create_time))).all()
                rows = [store.as_dict(r) for r in raw]
                if predicate:
                    rows = [r for r in rows if predicate(self._batch_record(r))]
            response = pb.RetryFailedBatchesResponse(more_remaining=len(rows) > limit)
            when = store.now()
            for row in rows[:limit]:
                await store.save_batch(
                    session, row["id"], state=importer.PENDING, update_time=when, start_time=None, end_time=None,
                    history=store.transition(row, importer.PENDING, when, f"retried by {principal.user_id}"))
                response.import_batches.append(convert.batch_name(row["id"]))
            return response

        response = await self._idempotent("RetryFailedBatches", request, request.request_id,
                                          pb.RetryFailedBatchesResponse, action)
        self._worker.wake()
        return response

    # ---- embeddings ---------------------------------------------------------------------------------------------

    def _model_proto(self, model_id: str) -> embedding_model_pb2.EmbeddingModel:
        spec = self._embedder.spec(model_id)
        return convert.model_to_proto(spec, default=model_id == self._embedder.default_model,
                                      weights_sha256=weights_sha256(spec))

    async def GetEmbeddingModel(self, request: pb.GetEmbeddingModelRequest,
                                context: grpc.aio.ServicerContext) -> embedding_model_pb2.EmbeddingModel:
        current_principal().require_role(ROLE_READER)
        model_id = _model_id(request.name, "name")
        return await asyncio.to_thread(self._model_proto, model_id)

    async def ListEmbeddingModels(self, request: pb.ListEmbeddingModelsRequest,
                                  context: grpc.aio.ServicerContext) -> pb.ListEmbeddingModelsResponse:
        current_principal().require_role(ROLE_READER)
        size = page_size(request.page_size)
        predicate = filtering.compile_filter(request.filter, filtering.MODEL_FIELDS)
        keys = parse_order_by(request.order_by, ["name", "dimension"], default="name")
        models = [await asyncio.to_thread(self._model_proto, m) for m in self._embedder.model_ids]
        if predicate:
            models = [m for m in models if predicate({"model_name": m.model_name, "dimension": m.dimension,
                                                      "used_by_default": m.used_by_default})]
        for key in reversed(keys):
            models.sort(key=lambda m, k=key.field: getattr(m, k), reverse=key.descending)
        query = self._tokens.fingerprint("ListEmbeddingModels", request.filter, canonical(keys))
        after = self._tokens.decode(request.page_token, query=query)
        start = int(after[0]) if after else 0
        page = models[start:start + size]
        token = self._tokens.encode([start + size], query=query) if start + size < len(models) else ""
        return pb.ListEmbeddingModelsResponse(embedding_models=page, next_page_token=token)

    def _split_embedding_name(self, name: str) -> tuple[EntityRef, str]:
        entity, sep, model = name.rpartition("/embeddings/")
        if not sep or not model:
            raise InvalidArgument.for_field("name", f"must be '<entity>/embeddings/{{model}}' (got {name!r})",
                                            reason="INVALID_NAME")
        return parse_entity(entity, "name"), model

    async def _entity_exists(self, session: AsyncSession, ref: EntityRef) -> bool:
        if ref.kind == "text":
            query = select(texts.c.id).where(texts.c.id == ref.id)
        else:
            table = answers if ref.kind == "answer" else questions
            query = select(table.c.id).where(table.c.id == ref.id, table.c.cluster_id == ref.cluster_id)
        return (await session.execute(query)).first() is not None

    async def GetEmbedding(self, request: pb.GetEmbeddingRequest,
                           context: grpc.aio.ServicerContext) -> embedding_pb2.Embedding:
        current_principal().require_role(ROLE_READER)
        ref, model = self._split_embedding_name(request.name)
        async with self._db.sessions() as session:
            rows = await store.embedding_rows(session, model, [ref.name])
        if ref.name not in rows:
            raise NotFound(f"embedding {request.name!r} does not exist", reason="EMBEDDING_NOT_FOUND",
                           metadata={"name": request.name})
        row = rows[ref.name]
        values = None
        if request.view != pb.EMBEDDING_VIEW_BASIC:
            values = (await self._vectors.values([row]))[0]
        return convert.embedding_to_proto(row, values)

    async def ListEmbeddings(self, request: pb.ListEmbeddingsRequest,
                             context: grpc.aio.ServicerContext) -> pb.ListEmbeddingsResponse:
        current_principal().require_role(ROLE_READER)
        where: tuple[Any, ...] = ()
        if request.parent:
            ref = parse_entity(request.parent, "parent")
            async with self._db.sessions() as session:
                if not await self._entity_exists(session, ref):
                    raise NotFound(f"{request.parent!r} does not exist", reason="ENTITY_NOT_FOUND",
                                   metadata={"name": request.parent})
            where = (embeddings.c.entity == ref.name,)
        # Embedding names are unique by (entity, model); a synthetic key column keeps keyset pages exact.
        key = embeddings.c.entity + "|" + embeddings.c.model
        sortable = {"name": key, "create_time": embeddings.c.create_time}
        types = {1: "TEXT", 2: "ANSWER", 3: "QUESTION"}

        def record(row: dict[str, Any]) -> dict[str, Any]:
            return {**row, "id": f"{row['entity']}|{row['model']}", "name": f"{row['entity']}|{row['model']}",
                    "model_name": f"embeddingModels/{row['model']}", "type_name": types.get(row["entity_type"])}

        rows, token = await self._page(
            "ListEmbeddings", request, embeddings, sortable, "create_time", filtering.EMBEDDING_FIELDS,
            lambda r: _aliased(record(r), model="model_name", entity_type="type_name"), where=where,
            extra=(request.parent, request.view))
        rows = [_unaliased(r) for r in rows]
        values: list[Any] = [None] * len(rows)
        if request.view == pb.EMBEDDING_VIEW_FULL:
            values = await self._vectors.values(rows)
        return pb.ListEmbeddingsResponse(embeddings=[convert.embedding_to_proto(r, v) for r, v in
                                                     zip(rows, values, strict=True)], next_page_token=token)

    async def ComputeEmbeddings(self, request: pb.ComputeEmbeddingsRequest,
                                context: grpc.aio.ServicerContext) -> pb.ComputeEmbeddingsResponse:
        current_principal().require_role(ROLE_WRITER)
        check_batch_size(len(request.entities), "entities")
        refs = [parse_entity(e, f"entities[{i}]") for i, e in enumerate(request.entities)]
        models = [_model_id(m, f"models[{i}]") for i, m in enumerate(request.models)]
        if not models:
            if not self._embedder.default_model:
                raise FailedPrecondition("no embedding model is configured", reason="NO_EMBEDDING_MODEL")
            models = [self._embedder.default_model]
        for model in models:
            self._embedder.spec(model)
        items = await load_items(self._db, refs)
        for ref in refs:
            if ref.name not in items:
                raise NotFound(f"{ref.name!r} does not exist", reason="ENTITY_NOT_FOUND", metadata={"name": ref.name})
        unique = list({ref.name: items[ref.name] for ref in refs}.values())
        computed = 0
        for model in models:
            computed += await self._vectors.ensure(model, unique)
        response = pb.ComputeEmbeddingsResponse(computed_count=computed)
        full = request.view != pb.EMBEDDING_VIEW_BASIC
        async with self._db.sessions() as session:
            by_model = {m: await store.embedding_rows(session, m, [r.name for r in refs]) for m in models}
        for ref in refs:
            for model in models:
                row = by_model[model][ref.name]
                values = (await self._vectors.values([row]))[0] if full else None
                response.embeddings.append(convert.embedding_to_proto(row, values))
        return response

    # ---- snapshots ----------------------------------------------------------------------------------------------

    async def _select_members(self, session: AsyncSession, predicate: Any) -> list[snap.Member]:
        """Every corpus item the filter selects, as snapshot members."""
        text_cols = [c for c in texts.c if c.name != "content"]
        cluster_rows = {r.id: store.as_dict(r) for r in (await session.execute(select(qa_clusters))).all()}
        members: list[snap.Member] = []
        for raw in (await session.execute(select(*text_cols))).all():
            row = store.as_dict(raw)
            record = {"type": "TEXT", "origin": _origin_name(row["origin"]), "source": row["source"],
                      "create_time": row["create_time"], "import_batch": convert.batch_name(row["import_batch"]),
                      "title": row["title"], "metadata": row["metadata"] or {}}
            if predicate is None or predicate(record):
                members.append(snap.Member(
                    entity=f"texts/{row['id']}", kind=snap.TEXT, content_sha256=row["content_sha256"],
                    character_count=row["character_count"], word_count=row["word_count"],
                    size_bytes=row["size_bytes"], synthetic=row["origin"] == store.ORIGIN_SYNTHETIC))
        selected_answer_clusters: set[str] = set()
        qa_members: list[snap.Member] = []
        answer_cols = [answers.c.id, answers.c.cluster_id, answers.c.position, answers.c.content_sha256,
                       answers.c.origin, answers.c.create_time, func.length(answers.c.content).label("chars")]
        question_cols = [questions.c.id, questions.c.cluster_id, questions.c.content_sha256, questions.c.origin,
                         questions.c.source, questions.c.import_batch, questions.c.create_time,
                         func.length(questions.c.content).label("chars")]
        for kind, cols in ((snap.ANSWER, answer_cols), (snap.QUESTION, question_cols)):
            table = answers if kind == snap.ANSWER else questions
            for raw in (await session.execute(select(*cols).select_from(table))).all():
                row = store.as_dict(raw)
                cluster = cluster_rows[row["cluster_id"]]
                record = {"type": kind.upper(), "origin": _origin_name(row["origin"]),
                          "source": row.get("source", cluster["source"]), "create_time": row["create_time"],
                          "import_batch": convert.batch_name(row.get("import_batch", cluster["import_batch"])),
                          "title": cluster["title"], "qa_cluster": f"qaClusters/{cluster['id']}",
                          "external_id": cluster["external_id"] or "", "tags": cluster["tags"] or []}
                if predicate is not None and not predicate(record):
                    continue
                if kind == snap.ANSWER:
                    selected_answer_clusters.add(row["cluster_id"])
                qa_members.append(snap.Member(
                    entity=f"qaClusters/{row['cluster_id']}/{kind}s/{row['id']}", kind=kind,
                    content_sha256=row["content_sha256"], cluster_id=row["cluster_id"],
                    cluster_key=cluster["cluster_key"], position=row.get("position", 0),
                    character_count=row["chars"] or 0, size_bytes=row["chars"] or 0,
                    synthetic=row["origin"] == store.ORIGIN_SYNTHETIC))
        # Questions whose cluster has no selected answer have no correct answer to retrieve: drop them.
        members += [m for m in qa_members if m.kind == snap.ANSWER or m.cluster_id in selected_answer_clusters]
        return members

    async def CreateSnapshot(self, request: pb.CreateSnapshotRequest,
                             context: grpc.aio.ServicerContext) -> snapshot_pb2.Snapshot:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        s = request.snapshot
        if request.snapshot_id:
            validate_resource_id(request.snapshot_id, "snapshot_id")
        violations: list[FieldViolation] = []
        check_label(s.display_name, "snapshot.display_name", 128, violations)
        check_label(s.description, "snapshot.description", 16384, violations)
        check_metadata(s.labels, "snapshot.labels", violations)
        raise_violations(violations, "snapshot")
        predicate = filtering.compile_filter(s.filter, filtering.MEMBER_FIELDS, "snapshot.filter")
        sc = s.split_config
        rule = snap.make_split_rule(
            sc.qa_strategy, sc.text_strategy, sc.seed,
            sc.validation_fraction if sc.HasField("validation_fraction") else None,
            sc.test_fraction if sc.HasField("test_fraction") else None)
        models = list(dict.fromkeys(_model_id(m, f"snapshot.embedding_models[{i}]")
                                    for i, m in enumerate(s.embedding_models)))
        for model in models:
            self._embedder.spec(model)

        async def action(session: AsyncSession) -> snapshot_pb2.Snapshot:
            members = await self._select_members(session, predicate)
            if not members:
                raise FailedPrecondition("the filter selects no corpus items", reason="EMPTY_SNAPSHOT",
                                         metadata={"filter": s.filter})
            snap.assign_splits(members, rule)
            ordered = snap.stream_order(members)
            when = store.now()
            row = {
                "id": request.snapshot_id or new_id(), "display_name": s.display_name, "description": s.description,
                "labels": dict(s.labels), "filter": s.filter,
                "split_config": {"qa_strategy": int(rule.qa_strategy), "text_strategy": int(rule.text_strategy),
                                 "seed": rule.seed, "validation_fraction": rule.validation_fraction,
                                 "test_fraction": rule.test_fraction},
                "embedding_models": models, "state": importer.SNAPSHOT_READY, "error": None,
                "content_sha256": snap.content_hash(members), "member_list_sha256": snap.member_list_hash(members),
                "counts": snap.counts(members), "creator": principal.user_id, "create_time": when,
                "update_time": when,
            }
            if request.validate_only:
                row["id"] = ""
                return convert.snapshot_to_proto(row)
            if request.reuse_existing:
                for raw in (await session.execute(select(snapshots).where(
                        snapshots.c.member_list_sha256 == row["member_list_sha256"],
                        snapshots.c.state != importer.SNAPSHOT_FAILED).order_by(snapshots.c.create_time))).all():
                    if set(models) <= set(raw.embedding_models):
                        return convert.snapshot_to_proto(store.as_dict(raw))
            if request.snapshot_id and (await session.execute(
                    select(snapshots.c.id).where(snapshots.c.id == request.snapshot_id))).first():
                raise AlreadyExists(f"snapshot 'snapshots/{request.snapshot_id}' already exists",
                                    reason="SNAPSHOT_ALREADY_EXISTS",
                                    metadata={"name": f"snapshots/{request.snapshot_id}"})
            for model in models:
                have = await store.embedding_rows(session, model, [m.entity for m in members])
                if len(have) < len(members):
                    row["state"] = importer.SNAPSHOT_CREATING
            await session.execute(snapshots.insert().values(**row))
            member_rows = [{"snapshot_id": row["id"], "ordinal": i, "entity": m.entity,
                            "entity_type": snap.ENTITY_TYPE_NUMBER[m.kind], "member_sha256": m.member_sha256,
                            "split": int(m.split), "spans": [list(sp) for sp in m.spans] or None}
                           for i, m in enumerate(ordered)]
            for part in store.chunks(member_rows, 2000):
                await session.execute(snapshot_members.insert(), list(part))
            return convert.snapshot_to_proto(row)

        response = await self._idempotent("CreateSnapshot", request, request.request_id, snapshot_pb2.Snapshot,
                                          action, validate_only=request.validate_only)
        if response.state == snapshot_pb2.Snapshot.STATE_CREATING:
            self._worker.wake()
        return response

    async def GetSnapshot(self, request: pb.GetSnapshotRequest,
                          context: grpc.aio.ServicerContext) -> snapshot_pb2.Snapshot:
        current_principal().require_role(ROLE_READER)
        snapshot_id = parse_name(request.name, "snapshots")
        async with self._db.sessions() as session:
            return convert.snapshot_to_proto(await store.get_snapshot(session, snapshot_id))

    async def ListSnapshots(self, request: pb.ListSnapshotsRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListSnapshotsResponse:
        current_principal().require_role(ROLE_READER)
        c = snapshots.c
        sortable = {"name": c.id, "create_time": c.create_time, "display_name": c.display_name}
        states = {1: "CREATING", 2: "READY", 3: "FAILED"}
        rows, token = await self._page(
            "ListSnapshots", request, snapshots, sortable, "create_time desc", filtering.SNAPSHOT_FIELDS,
            lambda r: _aliased({**r, "name": r["id"], "state_name": states.get(r["state"])}, state="state_name"))
        return pb.ListSnapshotsResponse(snapshots=[convert.snapshot_to_proto(_unaliased(r)) for r in rows],
                                        next_page_token=token)

    async def ReadSnapshot(self, request: pb.ReadSnapshotRequest,
                           context: grpc.aio.ServicerContext) -> AsyncIterator[pb.ReadSnapshotResponse]:
        current_principal().require_role(ROLE_READER)
        snapshot_id = parse_name(request.name, "snapshots")
        budget = request.max_message_bytes or 1024 * 1024
        if not 64 * 1024 <= budget <= 4 * 1024 * 1024:
            raise InvalidArgument.for_field("max_message_bytes", "must be 0 or between 65,536 and 4,194,304")
        async with self._db.sessions() as session:
            row = await store.get_snapshot(session, snapshot_id)
            if row["state"] != importer.SNAPSHOT_READY:
                raise FailedPrecondition(f"snapshot {request.name!r} is not READY", reason="SNAPSHOT_NOT_READY")
            models = [_model_id(m, f"embedding_models[{i}]") for i, m in enumerate(request.embedding_models)]
            for model in models:
                if model not in row["embedding_models"]:
                    raise FailedPrecondition(f"snapshot {request.name!r} was not embedded by {model!r}",
                                             reason="EMBEDDING_MODEL_NOT_IN_SNAPSHOT")
            member_rows = await store.snapshot_member_rows(session, snapshot_id)
        splits = set(request.splits)
        types = set(request.entity_types)

        def wanted(m: dict[str, Any]) -> bool:
            if types and m["entity_type"] not in types:
                return False
            if not splits:
                return True
            if m["spans"]:
                return any(sp[0] in splits for sp in m["spans"])
            return m["split"] in splits

        stream = [m for m in member_rows if wanted(m)]
        fingerprint = self._tokens.fingerprint("ReadSnapshot", snapshot_id, sorted(splits), sorted(types), models,
                                               request.view, budget)
        start, offset = 0, 0
        if request.resume_token:
            try:
                padded = request.resume_token + "=" * (-len(request.resume_token) % 4)
                data = json.loads(base64.urlsafe_b64decode(padded))
                assert data["f"] == fingerprint
                start, offset = int(data["i"]), int(data["o"])
            except Exception:
                raise InvalidArgument.for_field("resume_token", "is not a token of this snapshot and request",
                                                reason="INVALID_RESUME_TOKEN") from None
        reader = _SnapshotReader(self._db, self._vectors, stream, models, splits, request.view, budget)
        async for message, next_index, next_offset in reader.messages(start, offset):
            message.total_member_count = len(stream)
            message.resume_token = base64.urlsafe_b64encode(json.dumps(
                {"f": fingerprint, "i": next_index, "o": next_offset}).encode()).decode().rstrip("=")
            yield message

    async def DiffSnapshots(self, request: pb.DiffSnapshotsRequest,
                            context: grpc.aio.ServicerContext) -> pb.DiffSnapshotsResponse:
        current_principal().require_role(ROLE_READER)
        base_id = parse_name(request.base_snapshot, "snapshots", "base_snapshot")
        target_id = parse_name(request.target_snapshot, "snapshots", "target_snapshot")
        size = page_size(request.page_size)
        predicate = filtering.compile_filter(request.filter, filtering.DIFF_FIELDS)
        async with self._db.sessions() as session:
            for sid, field in ((base_id, "base_snapshot"), (target_id, "target_snapshot")):
                if (await store.get_snapshot(session, sid))["state"] != importer.SNAPSHOT_READY:
                    raise FailedPrecondition(f"snapshot 'snapshots/{sid}' is not READY", reason="SNAPSHOT_NOT_READY",
                                             metadata={"field": field})
            base = {m["member_sha256"]: m for m in await store.snapshot_member_rows(session, base_id)}
            target = {m["member_sha256"]: m for m in await store.snapshot_member_rows(session, target_id)}

        def assignment(m: dict[str, Any]) -> Any:
            return tuple(map(tuple, m["spans"])) if m["spans"] else m["split"]

        entries = []
        counts = {1: 0, 2: 0, 3: 0}
        unchanged = 0
        for sha in sorted(set(base) | set(target)):
            b, t = base.get(sha), target.get(sha)
            if b is not None and t is not None:
                if assignment(b) == assignment(t):
                    unchanged += 1
                    continue
                change = 3
            else:
                change = 1 if b is None else 2
            counts[change] += 1
            m = t or b
            assert m is not None
            entry = pb.SnapshotDiffEntry(
                change=change, entity=m["entity"], entity_type=m["entity_type"], member_sha256=sha,
                base_split=0 if b is None or (b["spans"] and len(b["spans"]) > 1) else b["split"],
                target_split=0 if t is None or (t["spans"] and len(t["spans"]) > 1) else t["split"])
            names = {1: "ADDED", 2: "REMOVED", 3: "SPLIT_CHANGED"}
            type_names = {1: "TEXT", 2: "ANSWER", 3: "QUESTION"}
            if predicate is None or predicate({"change": names[change], "entity_type": type_names[m["entity_type"]]}):
                entries.append(entry)
        query = self._tokens.fingerprint("DiffSnapshots", base_id, target_id, request.filter)
        after = self._tokens.decode(request.page_token, query=query)
        if after:
            entries = [e for e in entries if e.member_sha256 > after[0]]
        response = pb.DiffSnapshotsResponse(entries=entries[:size], added_count=counts[1], removed_count=counts[2],
                                            split_changed_count=counts[3], unchanged_count=unchanged)
        if len(entries) > size:
            response.next_page_token = self._tokens.encode([entries[size - 1].member_sha256], query=query)
        return response

    # ---- stats and synthetic data -------------------------------------------------------------------------------

    async def GetCorpusStats(self, request: pb.GetCorpusStatsRequest,
                             context: grpc.aio.ServicerContext) -> pb.GetCorpusStatsResponse:
        current_principal().require_role(ROLE_READER)
        response = pb.GetCorpusStatsResponse()
        async with self._db.sessions() as session:
            t = (await session.execute(select(
                func.count(), func.coalesce(func.sum(texts.c.word_count), 0),
                func.coalesce(func.sum(texts.c.character_count), 0), func.coalesce(func.sum(texts.c.size_bytes), 0),
            ).select_from(texts))).one()
            response.text_count, response.word_count, response.character_count, response.text_size_bytes = map(int, t)
            response.synthetic_text_count = (await session.execute(select(func.count()).select_from(texts).where(
                texts.c.origin == store.ORIGIN_SYNTHETIC))).scalar_one()
            response.qa_cluster_count = (
                await session.execute(select(func.count()).select_from(qa_clusters))).scalar_one()
            response.answer_count = (await session.execute(select(func.count()).select_from(answers))).scalar_one()
            response.question_count = (await session.execute(select(func.count()).select_from(questions))).scalar_one()
            response.synthetic_question_count = (await session.execute(select(func.count()).select_from(
                questions).where(questions.c.origin == store.ORIGIN_SYNTHETIC))).scalar_one()
            for state, count in sorted((await store.count_by(session, import_batches.c.state)).items()):
                response.import_batch_counts.add(state=state, count=count)
            per_model = (await session.execute(select(embeddings.c.model, embeddings.c.entity_type, func.count())
                                               .group_by(embeddings.c.model, embeddings.c.entity_type))).all()
            response.snapshot_count = (await session.execute(select(func.count()).select_from(snapshots))).scalar_one()
            latest = (await session.execute(select(snapshots.c.id).where(
                snapshots.c.state == importer.SNAPSHOT_READY).order_by(snapshots.c.create_time.desc(),
                                                                        snapshots.c.id.desc()).limit(1))).first()
            response.latest_snapshot = f"snapshots/{latest.id}" if latest else ""
        models = list(dict.fromkeys([*self._embedder.model_ids, *(m for m, _, _ in per_model)]))
        for model in models:
            entry = response.embedding_counts.add(model=f"embeddingModels/{model}")
            spec = self._embedder.spec(model) if model in self._embedder.model_ids else None
            entry.dimension = spec.dimension if spec else 0
            for m, entity_type, count in per_model:
                if m == model:
                    setattr(entry, {1: "text_count", 2: "answer_count", 3: "question_count"}[entity_type], count)
        response.read_time.GetCurrentTime()
        return response

    async def GenerateSynthetic(self, request: pb.GenerateSyntheticRequest,
                                context: grpc.aio.ServicerContext) -> pb.GenerateSyntheticResponse:
        principal = current_principal()
        principal.require_role(ROLE_WRITER)
        target = request.WhichOneof("target")
        if target is None:
            raise InvalidArgument.for_field("target", "set texts or qa_cluster")
        q = request.quality_filter
        quality = synthetic.Quality(q.min_characters, q.max_characters, q.min_words)
        slot_values = {k: list(v.values) for k, v in request.slot_values.items()}
        templates = synthetic.validate_request(list(request.templates), slot_values, request.num_samples, quality)
        cluster_id = parse_name(request.qa_cluster, "qaClusters", "qa_cluster") if target == "qa_cluster" else ""
        if target == "texts":
            violations: list[FieldViolation] = []
            check_metadata(request.texts.metadata, "texts.metadata", violations)
            raise_violations(violations, "texts")
            title_template = synthetic.parse_template(request.texts.title_template, "texts.title_template")
        limit = MAX_QUESTION_BYTES if target == "qa_cluster" else self._max_text_bytes
        if not quality.max_characters:
            quality = synthetic.Quality(quality.min_characters, limit, quality.min_words)

        async def action(session: AsyncSession) -> pb.GenerateSyntheticResponse:
            existing: set[str] = set()
            if target == "qa_cluster":
                await store.get_cluster(session, cluster_id, for_update=True)
                known = (await store.questions_of(session, [cluster_id]))[cluster_id]
                existing = {normalise(k["content"]) for k in known}
            generation = synthetic.generate(templates, slot_values, request.num_samples, request.seed, quality,
                                            allow_duplicates=request.allow_duplicates, existing=existing)
            if target == "texts" and not request.allow_duplicates:
                # A text already in the corpus is a duplicate too: drop it and keep the rest.
                stored = await store.texts_by_sha(session, [sha_of(s.content) for s in generation.samples])
                kept = [s for s in generation.samples if sha_of(s.content) not in stored]
                generation.duplicate_count += len(generation.samples) - len(kept)
                generation.samples = kept
            response = pb.GenerateSyntheticResponse(
                candidate_count=generation.candidate_count, duplicate_count=generation.duplicate_count,
                rejected_count=generation.rejected_count)
            when = store.now()
            if target == "texts":
                inputs = []
                for sample in generation.samples:
                    title = title_template.fill(sample.slot_values)[0][:MAX_TITLE] if request.texts.title_template \
                        else ""
                    inputs.append(validate_text(title=title, content=sample.content, source=SYNTHETIC_SOURCE,
                                                metadata=request.texts.metadata, prefix="sample",
                                                max_bytes=self._max_text_bytes, violations=[]))
                results = await ingest.add_texts(session, [i for i in inputs if i is not None],
                                                 origin=store.ORIGIN_SYNTHETIC, creator=principal.user_id,
                                                 import_batch=None, when=when)
                names = [(o, f"texts/{r['id']}") for o, r in results]
            else:
                results_q = await ingest.add_questions(
                    session, cluster_id, [(s.content, SYNTHETIC_SOURCE) for s in generation.samples],
                    origin=store.ORIGIN_SYNTHETIC, creator=principal.user_id, import_batch=None, when=when)
                names = [(o, f"qaClusters/{cluster_id}/questions/{r['id']}") for o, r in results_q]
            for sample, (outcome, name) in zip(generation.samples, names, strict=True):
                response.samples.add(content=sample.content, template_index=sample.template_index,
                                     slot_values=sample.slot_values,
                                     outcome=0 if request.validate_only else outcome,
                                     entity="" if request.validate_only else name)
            if not request.validate_only:
                response.created_count = sum(1 for o, _ in names if o == ingest.CREATED)
            return response

        return await self._idempotent("GenerateSynthetic", request, request.request_id,
                                      pb.GenerateSyntheticResponse, action, validate_only=request.validate_only)


def _questions_response(added: list[tuple[int, dict[str, Any]]], validate_only: bool) -> pb.AddQuestionsResponse:
    response = pb.AddQuestionsResponse()
    for i, (outcome, row) in enumerate(added):
        if validate_only:
            response.results.add(index=i, question={"content": row["content"],
                                                    "content_sha256": row["content_sha256"]})
        else:
            response.results.add(index=i, outcome=outcome, question=convert.question_to_proto(row))
    if not validate_only:
        response.created_count = sum(1 for o, _ in added if o == ingest.CREATED)
        response.existing_count = len(added) - response.created_count
    return response


def _aliased(record: dict[str, Any], **aliases: str) -> dict[str, Any]:
    """A record whose filter-facing fields show names (``origin`` → ``"API"``), the stored values kept aside."""
    out = dict(record)
    for public, shown in aliases.items():
        out[f"_raw_{public}"] = record[public]
        out[public] = record[shown]
    return out


def _unaliased(record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for key in list(out):
        if key.startswith("_raw_"):
            out[key[5:]] = out.pop(key)
    return out


class _SnapshotReader:
    """Packs snapshot members into bounded messages, fetching content and embeddings chunk by chunk."""

    def __init__(self, db: Database, vectors: VectorStore, stream: list[dict[str, Any]], models: list[str],
                 splits: set[int], view: int, budget: int) -> None:
        self.db = db
        self.vectors = vectors
        self.stream = stream
        self.models = models
        self.splits = splits
        self.full = view != pb.SNAPSHOT_MEMBER_VIEW_BASIC
        self.budget = budget

    async def _details(self, part: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        names = [m["entity"] for m in part]
        refs = [parse_entity(n, "entity") for n in names]
        content: dict[str, Any] = {}
        async with self.db.sessions() as session:
            if self.full:
                text_ids = [r.id for r in refs if r.kind == "text"]
                for ids in store.chunks(text_ids):
                    for raw in (await session.execute(select(texts).where(texts.c.id.in_(ids)))).all():
                        content[f"texts/{raw.id}"] = store.as_dict(raw)
                for kind, table in (("answer", answers), ("question", questions)):
                    ids = [r.id for r in refs if r.kind == kind]
                    for chunk in store.chunks(ids):
                        for raw in (await session.execute(select(table).where(table.c.id.in_(chunk)))).all():
                            content[f"qaClusters/{raw.cluster_id}/{kind}s/{raw.id}"] = store.as_dict(raw)
                cluster_ids = list({r.cluster_id for r in refs if r.cluster_id})
                for chunk in store.chunks(cluster_ids):
                    for raw in (await session.execute(select(qa_clusters).where(qa_clusters.c.id.in_(chunk)))).all():
                        content[f"qaClusters/{raw.id}"] = store.as_dict(raw)
            vectors: dict[str, dict[str, Any]] = {}
            for model in self.models:
                rows = await store.embedding_rows(session, model, names)
                values = await self.vectors.values(list(rows.values()))
                for row, v in zip(rows.values(), values, strict=True):
                    vectors[f"{row['entity']}|{model}"] = {"row": row, "values": v}
        return content, vectors

    def _member(self, m: dict[str, Any], content: dict[str, Any],
                vectors: dict[str, dict[str, Any]]) -> snapshot_pb2.SnapshotMember:
        member = snapshot_pb2.SnapshotMember(entity=m["entity"], entity_type=m["entity_type"],
                                             member_sha256=m["member_sha256"], split=m["split"])
        if m["spans"] and len(m["spans"]) > 1:
            member.split = 0
        for model in self.models:
            v = vectors.get(f"{m['entity']}|{model}")
            if v is not None:
                member.embeddings.append(convert.embedding_to_proto(v["row"], v["values"]))
        if not self.full:
            return member
        row = content.get(m["entity"])
        if row is None:
            return member
        if m["entity_type"] == 1:
            member.text.CopyFrom(snapshot_pb2.SnapshotText(
                title=row["title"], content_length=row["character_count"], source=row["source"],
                origin=row["origin"], metadata=row["metadata"] or {}))
            for split, a, b in (m["spans"] or [[m["split"], 0, row["character_count"]]]):
                member.text.split_spans.add(split=split, start_offset=a, end_offset=b)
        else:
            cluster = content.get(f"qaClusters/{row['cluster_id']}", {})
            if m["entity_type"] == 2:
                member.answer.CopyFrom(snapshot_pb2.SnapshotAnswer(
                    qa_cluster=f"qaClusters/{row['cluster_id']}", content=row["content"], position=row["position"],
                    external_id=cluster.get("external_id") or "", cluster_title=cluster.get("title", ""),
                    origin=row["origin"]))
            else:
                member.question.CopyFrom(snapshot_pb2.SnapshotQuestion(
                    qa_cluster=f"qaClusters/{row['cluster_id']}", content=row["content"], source=row["source"],
                    origin=row["origin"]))
        return member

    def _ranges(self, m: dict[str, Any], length: int) -> list[tuple[int, int]]:
        spans = m["spans"] or [[m["split"], 0, length]]
        if not self.splits:
            return [(0, length)]
        return [(a, b) for s, a, b in spans if s in self.splits]

    async def messages(self, start: int, offset: int) -> AsyncIterator[tuple[pb.ReadSnapshotResponse, int, int]]:
        """``(message, next index, next text offset)`` from member ``start`` (text offset ``offset``) on."""
        overhead = 64
        current = pb.ReadSnapshotResponse(start_index=start)
        size = 0
        index = start
        chunk = 256
        while index < len(self.stream):
            part = self.stream[index:index + chunk]
            content, vectors = await self._details(part)
            for m in part:
                member = self._member(m, content, vectors)
                if member.HasField("text") and member.text.content_length:
                    full_text = content[m["entity"]]["content"]
                    pieces = self._pieces(m, member, full_text, offset)
                    offset = 0
                    for n, (piece, next_offset) in enumerate(pieces):
                        piece_size = piece.ByteSize() + overhead
                        if current.members and size + piece_size > self.budget:
                            yield current, index, pieces[n - 1][1] if n else 0
                            current, size = pb.ReadSnapshotResponse(start_index=index), 0
                        current.members.append(piece)
                        size += piece_size
                        if next_offset:
                            yield current, index, next_offset
                            current, size = pb.ReadSnapshotResponse(start_index=index), 0
                else:
                    member_size = member.ByteSize() + overhead
                    if current.members and size + member_size > self.budget:
                        yield current, index, 0
                        current, size = pb.ReadSnapshotResponse(start_index=index), 0
                    current.members.append(member)
                    size += member_size
                index += 1
        if current.members:
            yield current, index, 0

    def _pieces(self, m: dict[str, Any], member: snapshot_pb2.SnapshotMember, text: str,
                resume_offset: int) -> list[tuple[snapshot_pb2.SnapshotMember, int]]:
        """The member's text as pieces of at most the budget; each with the offset to resume at (0 = done)."""
        base = snapshot_pb2.SnapshotMember()
        base.CopyFrom(member)
        room = max(1024, self.budget - base.ByteSize() - 1024)
        slices: list[tuple[int, int]] = []
        for a, b in self._ranges(m, len(text)):
            pos = max(a, resume_offset) if resume_offset else a
            while pos < b:
                end = min(b, pos + room)
                while len(text[pos:end].encode("utf-8")) > room:
                    end = pos + max(1, (end - pos) * 3 // 4)
                slices.append((pos, end))
                pos = end
        out = []
        for n, (a, b) in enumerate(slices):
            piece = snapshot_pb2.SnapshotMember()
            piece.CopyFrom(base)
            if n > 0:
                del piece.embeddings[:]
                piece.text.ClearField("split_spans")
                piece.text.metadata.clear()
            piece.text.content = text[a:b]
            piece.text.content_offset = a
            piece.text.content_continues = n < len(slices) - 1
            out.append((piece, slices[n + 1][0] if n < len(slices) - 1 else 0))
        return out
