"""Reads and writes registered models in the registry's database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.kit.errors import Aborted, InvalidArgument, NotFound
from lathe.kit.filtering import BoolOp, Comparison, Expr, parse_filter
from lathe.kit.keyset import SortKey, keyset_after, order_clauses
from services.registry.adapters.search import compare
from services.registry.adapters.tables import models
from services.registry.domain.models import ModelRecord

SORTABLE = {
    "name": models.c.model_id,
    "display_name": models.c.display_name,
    "create_time": models.c.create_time,
    "update_time": models.c.update_time,
    "latest_version_number": models.c.latest_version_number,
}


def _utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _record(row: Row) -> ModelRecord:
    return ModelRecord(
        model_id=row.model_id, uid=row.uid, display_name=row.display_name, description=row.description,
        tags=dict(row.tags or {}), creator=row.creator, create_time=_utc(row.create_time),
        update_time=_utc(row.update_time), latest_version_number=row.latest_version_number, revision=row.revision,
    )


def sort_value(record: ModelRecord, field: str) -> Any:
    """The value of a sort field of ``record``, as it goes into a page token."""
    value = record.model_id if field == "name" else getattr(record, field)
    return value.isoformat() if isinstance(value, datetime) else value


def decode_sort_value(field: str, value: Any) -> Any:
    """The inverse of :func:`sort_value`."""
    return datetime.fromisoformat(value) if field.endswith("_time") else value


class ModelRepository:
    """Registered models, inside the caller's transaction."""

    async def exists(self, session: AsyncSession, model_id: str) -> bool:
        """Whether a model with this id exists."""
        query = select(models.c.model_id).where(models.c.model_id == model_id)
        return (await session.execute(query)).first() is not None

    async def insert(self, session: AsyncSession, record: ModelRecord) -> None:
        """Store a new model (IntegrityError if the id is taken)."""
        await session.execute(
            models.insert().values(
                model_id=record.model_id, uid=record.uid, display_name=record.display_name,
                description=record.description, tags=record.tags, creator=record.creator,
                create_time=record.create_time, update_time=record.update_time,
                latest_version_number=record.latest_version_number, revision=record.revision,
            )
        )

    async def get(self, session: AsyncSession, model_id: str, *, for_update: bool = False) -> ModelRecord:
        """The model; NOT_FOUND if there is none."""
        query = select(models).where(models.c.model_id == model_id)
        if for_update:
            query = query.with_for_update()
        row = (await session.execute(query)).first()
        if row is None:
            raise NotFound(f"model 'models/{model_id}' does not exist", reason="MODEL_NOT_FOUND",
                           metadata={"name": f"models/{model_id}"})
        return _record(row)

    async def page(self, session: AsyncSession, keys: Sequence[SortKey], after: list[Any] | None,
                   limit: int, *, where: ColumnElement[bool] | None = None) -> list[ModelRecord]:
        """Up to ``limit`` models in the order ``keys``, strictly after the sort values ``after``."""
        query = select(models).order_by(*order_clauses(SORTABLE, keys)).limit(limit)
        if where is not None:
            query = query.where(where)
        if after is not None:
            values = [decode_sort_value(k.field, v) for k, v in zip(keys, after, strict=True)]
            query = query.where(keyset_after(SORTABLE, keys, values))
        return [_record(row) for row in (await session.execute(query)).all()]

    async def save(self, session: AsyncSession, record: ModelRecord, *, expected_revision: int) -> ModelRecord:
        """Write the updatable fields if the stored revision is still ``expected_revision``."""
        record.update_time = datetime.now(UTC)
        result = await session.execute(
            update(models)
            .where(models.c.model_id == record.model_id, models.c.revision == expected_revision)
            .values(display_name=record.display_name, description=record.description, tags=record.tags,
                    update_time=record.update_time, revision=expected_revision + 1)
        )
        if result.rowcount != 1:
            raise Aborted(f"model '{record.name}' changed concurrently; read it again", reason="CONCURRENT_UPDATE")
        record.revision = expected_revision + 1
        return record

    async def rename(self, session: AsyncSession, model_id: str, new_id: str) -> None:
        """Give the model a new id (versions and aliases follow: they refer to its uid)."""
        await session.execute(update(models).where(models.c.model_id == model_id).values(
            model_id=new_id, update_time=datetime.now(UTC), revision=models.c.revision + 1))

    async def delete(self, session: AsyncSession, model_id: str) -> None:
        """Remove the model row."""
        await session.execute(delete(models).where(models.c.model_id == model_id))


MODEL_FILTER_FIELDS = {"name": "string", "display_name": "string", "description": "string", "creator": "string",
                       "create_time": "timestamp", "update_time": "timestamp", "latest_version_number": "number"}
_MODEL_COLUMNS = {"name": models.c.model_id, "display_name": models.c.display_name,
                  "description": models.c.description, "creator": models.c.creator,
                  "create_time": models.c.create_time, "update_time": models.c.update_time,
                  "latest_version_number": models.c.latest_version_number}


def model_filter(text: str) -> ColumnElement[bool] | None:
    """The WHERE condition of a ListModels filter (``tags.<key>`` reads the model's JSON tags)."""
    expr = parse_filter(text, fields=MODEL_FILTER_FIELDS, keyed={"tags": "string"})

    def compile_(node: Expr) -> ColumnElement[bool]:
        if isinstance(node, BoolOp):
            parts = [compile_(item) for item in node.items]
            return and_(*parts) if node.op == "AND" else or_(*parts)
        assert isinstance(node, Comparison)
        if node.field == "tags":
            tag = models.c.tags[node.key].as_string()
            return and_(tag.is_not(None), compare(tag, node.op, node.values))
        values: tuple[Any, ...] = node.values
        if node.field.endswith("_time"):
            try:
                values = tuple(datetime.fromisoformat(str(x).replace("Z", "+00:00")) for x in values)
            except ValueError:
                raise InvalidArgument.for_field("filter", f"{values[0]!r} is not an RFC 3339 timestamp",
                                                reason="INVALID_FILTER") from None
        return compare(_MODEL_COLUMNS[node.field], node.op, values)

    return None if expr is None else compile_(expr)
