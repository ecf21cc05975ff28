"""Reads and writes of the corpus database (SQLAlchemy Core), shared by the servicer and the import worker."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.kit.errors import NotFound
from lathe.kit.keyset import SortKey, keyset_after, order_clauses
from services.corpus.adapters.tables import (
    answers,
    embeddings,
    import_batches,
    qa_clusters,
    questions,
    snapshot_members,
    snapshots,
    texts,
)
from services.corpus.domain.content import new_id
from services.corpus.domain.snapshots import cluster_key

ORIGIN_API, ORIGIN_IMPORT, ORIGIN_SYNTHETIC = 1, 2, 3
ORIGIN_NAMES = {1: "API", 2: "IMPORT", 3: "SYNTHETIC"}
IN_CHUNK = 500


def utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


def as_dict(row: Any) -> dict[str, Any]:
    """A row as a plain dict with UTC-aware times."""
    out = dict(row._mapping)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = utc(value)
    return out


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    """``items`` in slices of at most ``size`` (bounded IN lists)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def sort_token_value(value: Any) -> Any:
    """A sort value as it goes into a page token."""
    return value.isoformat() if isinstance(value, datetime) else value


def sort_value_from_token(field: str, value: Any) -> Any:
    """The inverse of :func:`sort_token_value`."""
    return datetime.fromisoformat(value) if field.endswith("_time") and isinstance(value, str) else value


async def filtered_page(
    session: AsyncSession, table: Table | Any, columns: Mapping[str, Any], keys: Sequence[SortKey],
    after: list[Any] | None, limit: int, *, where: Sequence[Any] = (),
    predicate: Callable[[dict[str, Any]], bool] | None = None,
    to_record: Callable[[dict[str, Any]], dict[str, Any]] = lambda r: r,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """Up to ``limit`` + 1 matching rows after ``after`` in ``keys`` order, and the key of the last returned.

    Rows are read in keyset order in chunks and filtered in Python by ``predicate`` (the AIP-160 filter),
    so a page never skips or repeats a row whatever the filter.
    """
    found: list[dict[str, Any]] = []
    cursor = [sort_value_from_token(k.field, v) for k, v in zip(keys, after, strict=True)] if after else None
    chunk = max(limit * 2, 200) if predicate else limit + 1
    while True:
        query = select(table).where(*where).order_by(*order_clauses(columns, keys)).limit(chunk)
        if cursor is not None:
            query = query.where(keyset_after(columns, keys, cursor))
        rows = [to_record(as_dict(r)) for r in (await session.execute(query)).all()]
        for record in rows:
            if predicate is None or predicate(record):
                found.append(record)
                if len(found) > limit:
                    return found, None
        if len(rows) < chunk:
            return found, None
        last = rows[-1]
        cursor = [last[k.field] for k in keys]


# ---- texts ------------------------------------------------------------------------------------------------------


async def texts_by_sha(session: AsyncSession, shas: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored texts by content hash (without their content)."""
    cols = [c for c in texts.c if c.name != "content"]
    out: dict[str, dict[str, Any]] = {}
    for part in chunks(list(dict.fromkeys(shas))):
        for row in (await session.execute(select(*cols).where(texts.c.content_sha256.in_(part)))).all():
            out[row.content_sha256] = as_dict(row)
    return out


async def get_text(session: AsyncSession, text_id: str, *, content: bool = True) -> dict[str, Any]:
    """A text by id; NOT_FOUND otherwise."""
    cols = list(texts.c) if content else [c for c in texts.c if c.name != "content"]
    row = (await session.execute(select(*cols).where(texts.c.id == text_id))).first()
    if row is None:
        raise NotFound(f"text 'texts/{text_id}' does not exist", reason="TEXT_NOT_FOUND",
                       metadata={"name": f"texts/{text_id}"})
    return as_dict(row)


async def insert_text(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    """Insert one text row (``id`` assigned when absent); returns it."""
    row = {"id": new_id(), **values}
    await session.execute(texts.insert().values(**row))
    return row


# ---- Q-A clusters -----------------------------------------------------------------------------------------------


async def get_cluster(session: AsyncSession, cluster_id: str, *, for_update: bool = False) -> dict[str, Any]:
    """A cluster row by id; NOT_FOUND otherwise."""
    query = select(qa_clusters).where(qa_clusters.c.id == cluster_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"Q-A cluster 'qaClusters/{cluster_id}' does not exist", reason="QA_CLUSTER_NOT_FOUND",
                       metadata={"name": f"qaClusters/{cluster_id}"})
    return as_dict(row)


async def cluster_exists(session: AsyncSession, cluster_id: str) -> bool:
    """Whether a cluster with this id exists."""
    return (await session.execute(select(qa_clusters.c.id).where(qa_clusters.c.id == cluster_id))).first() is not None


async def clusters_by_external_id(session: AsyncSession, external_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Clusters by external id."""
    out: dict[str, dict[str, Any]] = {}
    for part in chunks([e for e in dict.fromkeys(external_ids) if e]):
        for row in (await session.execute(select(qa_clusters).where(qa_clusters.c.external_id.in_(part)))).all():
            out[row.external_id] = as_dict(row)
    return out


async def answers_of(session: AsyncSession, cluster_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Answers of clusters, by cluster id, in position order."""
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in cluster_ids}
    for part in chunks(list(cluster_ids)):
        query = select(answers).where(answers.c.cluster_id.in_(part)).order_by(answers.c.cluster_id,
                                                                               answers.c.position)
        for row in (await session.execute(query)).all():
            out[row.cluster_id].append(as_dict(row))
    return out


async def questions_of(session: AsyncSession, cluster_ids: Sequence[str], *,
                       content: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Questions of clusters, by cluster id, oldest first."""
    cols = list(questions.c) if content else [c for c in questions.c if c.name != "content"]
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in cluster_ids}
    for part in chunks(list(cluster_ids)):
        query = select(*cols).where(questions.c.cluster_id.in_(part)).order_by(
            questions.c.cluster_id, questions.c.create_time, questions.c.id)
        for row in (await session.execute(query)).all():
            out[row.cluster_id].append(as_dict(row))
    return out


async def insert_cluster(session: AsyncSession, *, cluster_id: str | None, title: str, external_id: str,
                         tags: Sequence[str], source: str, origin: int, import_batch: str | None, creator: str,
                         answer_contents: Sequence[tuple[str, str]], when: datetime) -> dict[str, Any]:
    """Insert a cluster with its answers (``(content, sha)`` pairs, de-duplicated by the caller)."""
    cid = cluster_id or new_id()
    row = {
        "id": cid, "title": title, "external_id": external_id or None, "tags": list(tags), "source": source,
        "origin": origin, "import_batch": import_batch, "creator": creator, "answer_count": len(answer_contents),
        "question_count": 0, "cluster_key": cluster_key([sha for _, sha in answer_contents]),
        "create_time": when, "update_time": when,
    }
    await session.execute(qa_clusters.insert().values(**row))
    rows = [{"id": new_id(), "cluster_id": cid, "position": i, "content": content, "content_sha256": sha,
             "origin": origin, "create_time": when} for i, (content, sha) in enumerate(answer_contents)]
    if rows:
        await session.execute(answers.insert(), rows)
    return row


async def insert_questions(session: AsyncSession, cluster_id: str, items: Sequence[dict[str, Any]],
                           when: datetime) -> list[dict[str, Any]]:
    """Insert questions of one cluster and bump its count and update time; returns the rows."""
    rows = [{"id": new_id(), "cluster_id": cluster_id, "create_time": when, **item} for item in items]
    if rows:
        await session.execute(questions.insert(), rows)
        await session.execute(
            update(qa_clusters).where(qa_clusters.c.id == cluster_id).values(
                question_count=qa_clusters.c.question_count + len(rows), update_time=when))
    return rows


# ---- import batches ---------------------------------------------------------------------------------------------


async def get_batch(session: AsyncSession, batch_id: str, *, for_update: bool = False) -> dict[str, Any]:
    """A batch row by id; NOT_FOUND otherwise."""
    query = select(import_batches).where(import_batches.c.id == batch_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"import batch 'importBatches/{batch_id}' does not exist", reason="IMPORT_BATCH_NOT_FOUND",
                       metadata={"name": f"importBatches/{batch_id}"})
    return as_dict(row)


async def latest_batches_under(session: AsyncSession, root: str) -> dict[str, dict[str, Any]]:
    """The latest batch of every path under ``root`` (path → {id, file_sha256, state})."""
    query = select(import_batches.c.id, import_batches.c.path, import_batches.c.file_sha256,
                   import_batches.c.state, import_batches.c.create_time).where(
        import_batches.c.root == root).order_by(import_batches.c.create_time, import_batches.c.id)
    latest: dict[str, dict[str, Any]] = {}
    for row in (await session.execute(query)).all():
        latest[row.path] = {"id": row.id, "file_sha256": row.file_sha256, "state": row.state}
    return latest


def transition(row: dict[str, Any], state: int, when: datetime, message: str = "") -> list[dict[str, Any]]:
    """The batch's history with one more transition appended."""
    return [*row["history"], {"state": state, "time": when.isoformat(), "attempt": row["attempt_count"],
                              "message": message}]


async def save_batch(session: AsyncSession, batch_id: str, **values: Any) -> None:
    """Update columns of a batch."""
    await session.execute(update(import_batches).where(import_batches.c.id == batch_id).values(**values))


async def count_by(session: AsyncSession, column: Any) -> dict[Any, int]:
    """Row counts grouped by ``column``."""
    rows = (await session.execute(select(column, func.count()).group_by(column))).all()
    return {value: count for value, count in rows}


# ---- embeddings -------------------------------------------------------------------------------------------------


async def embedding_rows(session: AsyncSession, model: str, entities: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored embedding rows by entity name for one model."""
    out: dict[str, dict[str, Any]] = {}
    for part in chunks(list(dict.fromkeys(entities))):
        query = select(embeddings).where(embeddings.c.model == model, embeddings.c.entity.in_(part))
        for row in (await session.execute(query)).all():
            out[row.entity] = as_dict(row)
    return out


# ---- snapshots --------------------------------------------------------------------------------------------------


async def get_snapshot(session: AsyncSession, snapshot_id: str) -> dict[str, Any]:
    """A snapshot row by id; NOT_FOUND otherwise."""
    row = (await session.execute(select(snapshots).where(snapshots.c.id == snapshot_id))).first()
    if row is None:
        raise NotFound(f"snapshot 'snapshots/{snapshot_id}' does not exist", reason="SNAPSHOT_NOT_FOUND",
                       metadata={"name": f"snapshots/{snapshot_id}"})
    return as_dict(row)


async def snapshot_member_rows(session: AsyncSession, snapshot_id: str) -> list[dict[str, Any]]:
    """A snapshot's members in stream order."""
    query = select(snapshot_members).where(snapshot_members.c.snapshot_id == snapshot_id).order_by(
        snapshot_members.c.ordinal)
    return [as_dict(r) for r in (await session.execute(query)).all()]
