"""Reads and writes model versions, their searchable side tables, aliases and deployment records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Table,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from lathe.kit.errors import NotFound
from lathe.kit.keyset import SortKey, keyset_after
from lathe.registry.v1 import model_version_pb2, version_deployment_pb2
from services.registry.adapters.search import expand_keys, sort_columns
from services.registry.adapters.tables import (
    aliases,
    model_versions,
    models,
    version_deployments,
    version_metrics,
    version_params,
    version_tags,
)
from services.registry.domain.versions import LATEST, VersionRef, version_name

v = model_versions
READY = model_version_pb2.ModelVersion.STATE_READY
ACTIVE_DEPLOYMENT_STATES = (
    version_deployment_pb2.VersionDeployment.STATE_DEPLOYING,
    version_deployment_pb2.VersionDeployment.STATE_SERVING,
)
# Everything a version read needs: the version's row and its model's current id (names follow renames).
VERSION_COLUMNS = [*v.c, models.c.model_id]


def utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Searchable:
    """The side-table rows that make a version's tags, metrics and hyperparameters searchable."""

    tags: dict[str, str]
    metrics: dict[str, float]
    params: list[tuple[str, str, float | None, str | None]]


def _id_in(column: Any, ids: list[int], session: AsyncSession) -> ColumnElement[bool]:
    """``column`` is one of ``ids``: one array parameter on PostgreSQL (the same statement for any page size,
    nothing re-rendered per call), an expanded IN list on SQLite."""
    if session.bind.dialect.name == "postgresql":
        return column == any_(bindparam("ids", ids, type_=postgresql.ARRAY(BigInteger)))
    return column.in_(ids)


def side_rows(ids: Sequence[int], searchables: Sequence[Searchable]) -> list[tuple[Table, list[dict[str, Any]]]]:
    """The searchable side-table rows of new versions, per table."""
    pairs = list(zip(ids, searchables, strict=True))
    return [
        (version_tags, [{"version_id": i, "key": k, "value": val} for i, s in pairs for k, val in s.tags.items()]),
        (version_metrics, [{"version_id": i, "key": k, "value": val} for i, s in pairs
                           for k, val in s.metrics.items()]),
        (version_params, [{"version_id": i, "key": k, "kind": kind, "num_value": num, "str_value": text}
                          for i, s in pairs for k, kind, num, text in s.params]),
    ]


class VersionRepository:
    """Model versions, inside the caller's transaction."""

    async def model_row(self, session: AsyncSession, model_id: str, *, for_update: bool = False) -> Row:
        """The model's row; NOT_FOUND if there is none."""
        query = select(models).where(models.c.model_id == model_id)
        if for_update:
            query = query.with_for_update()
        row = (await session.execute(query)).first()
        if row is None:
            raise NotFound(f"model 'models/{model_id}' does not exist", reason="MODEL_NOT_FOUND",
                           metadata={"name": f"models/{model_id}"})
        return row

    async def take_numbers(self, session: AsyncSession | AsyncConnection, model_ids: list[str]
                           ) -> dict[str, list[tuple[str, int]]]:
        """Reserve the next version numbers: one per entry of ``model_ids`` (a model may repeat).

        One UPDATE … RETURNING both reserves the numbers and locks the model rows until the transaction
        ends, so numbers are dense and unique under any concurrency; models that do not exist are absent
        from the result.
        """
        wanted = Counter(model_ids)
        rows = (await session.execute(
            update(models).where(models.c.model_id.in_(sorted(wanted))).values(
                latest_version_number=models.c.latest_version_number
                + case(dict(wanted), value=models.c.model_id, else_=0))
            .returning(models.c.model_id, models.c.uid, models.c.latest_version_number)
        )).all()
        return {r.model_id: [(r.uid, r.latest_version_number - wanted[r.model_id] + k + 1)
                             for k in range(wanted[r.model_id])] for r in rows}

    async def insert_many(self, session: AsyncSession | AsyncConnection, rows: list[dict[str, Any]],
                          searchables: list[Searchable]) -> list[int]:
        """Store versions and their side rows with one statement per table; returns their ids in order."""
        if not rows:
            return []
        result = await session.execute(insert(v).returning(v.c.id, sort_by_parameter_order=True), rows)
        ids = [row.id for row in result]
        for table, values in side_rows(ids, searchables):
            if values:
                await session.execute(insert(table), values)
        return ids

    async def write_searchable(self, session: AsyncSession, version_id: int, searchable: Searchable,
                               *, replace: bool = False) -> None:
        """(Re)write the side tables of one version."""
        if replace:
            for table in (version_tags, version_metrics, version_params):
                await session.execute(delete(table).where(table.c.version_id == version_id))
        if searchable.tags:
            await session.execute(insert(version_tags), [
                {"version_id": version_id, "key": k, "value": val} for k, val in searchable.tags.items()])
        if searchable.metrics:
            await session.execute(insert(version_metrics), [
                {"version_id": version_id, "key": k, "value": val} for k, val in searchable.metrics.items()])
        if searchable.params:
            await session.execute(insert(version_params), [
                {"version_id": version_id, "key": k, "kind": kind, "num_value": num, "str_value": text}
                for k, kind, num, text in searchable.params])

    async def resolve(self, session: AsyncSession, ref: VersionRef, *, for_update: bool = False) -> Row:
        """The version a name or alias points to; NOT_FOUND naming what is missing."""
        query = select(*VERSION_COLUMNS).join(models, models.c.uid == v.c.model_uid).where(
            models.c.model_id == ref.model_id)
        if ref.number is not None:
            query = query.where(v.c.number == ref.number)
            what = version_name(ref.model_id, ref.number)
        elif ref.alias == LATEST:
            query = query.where(v.c.state == READY).order_by(v.c.number.desc()).limit(1)
            what = f"models/{ref.model_id}@latest (no READY version)"
        else:
            query = query.join(aliases, aliases.c.version_id == v.c.id).where(aliases.c.alias == ref.alias)
            what = f"models/{ref.model_id}@{ref.alias}"
        if for_update:
            query = query.with_for_update(of=v)
        row = (await session.execute(query)).first()
        if row is None:
            await self.model_row(session, ref.model_id)  # a missing model is named as such
            raise NotFound(f"'{what}' does not exist", reason="VERSION_NOT_FOUND", metadata={"name": what})
        return row

    async def rows_by_ids(self, session: AsyncSession, ids: Sequence[int]) -> dict[int, Row]:
        """Version rows by internal id."""
        if not ids:
            return {}
        rows = (await session.execute(
            select(*VERSION_COLUMNS).join(models, models.c.uid == v.c.model_uid).where(v.c.id.in_(list(ids)))
        )).all()
        return {row.id: row for row in rows}

    async def references_of(self, session: AsyncSession, ids: Iterable[int]
                            ) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
        """The aliases and the active deployments of each version, in one round trip."""
        ids = list(ids)
        alias_map: dict[int, list[str]] = {i: [] for i in ids}
        deployment_map: dict[int, list[str]] = {i: [] for i in ids}
        if ids:
            d = version_deployments
            query = union_all(
                select(aliases.c.version_id, literal("a").label("kind"), aliases.c.alias.label("value"))
                .where(_id_in(aliases.c.version_id, ids, session)),
                select(d.c.version_id, literal("d").label("kind"), d.c.deployment.label("value"))
                .where(_id_in(d.c.version_id, ids, session), d.c.state.in_(ACTIVE_DEPLOYMENT_STATES)),
            )
            for version_id, kind, value in sorted((await session.execute(query)).all(), key=lambda r: r[2]):
                (alias_map if kind == "a" else deployment_map)[version_id].append(value)
        return alias_map, deployment_map

    async def aliases_of(self, session: AsyncSession, ids: Iterable[int]) -> dict[int, list[str]]:
        """The aliases pointing at each version."""
        ids = list(ids)
        out: dict[int, list[str]] = {i: [] for i in ids}
        if ids:
            rows = await session.execute(
                select(aliases.c.version_id, aliases.c.alias).where(aliases.c.version_id.in_(ids))
                .order_by(aliases.c.alias))
            for version_id, alias in rows:
                out[version_id].append(alias)
        return out

    async def active_deployments_of(self, session: AsyncSession, ids: Iterable[int]) -> dict[int, list[str]]:
        """The deployments in which each version is deploying or serving."""
        ids = list(ids)
        out: dict[int, list[str]] = {i: [] for i in ids}
        if ids:
            d = version_deployments
            rows = await session.execute(
                select(d.c.version_id, d.c.deployment)
                .where(d.c.version_id.in_(ids), d.c.state.in_(ACTIVE_DEPLOYMENT_STATES)).order_by(d.c.deployment))
            for version_id, deployment in rows:
                out[version_id].append(deployment)
        return out

    async def metrics_of(self, session: AsyncSession, version_id: int) -> dict[str, float]:
        """The searchable metrics of one version."""
        rows = await session.execute(select(version_metrics.c.key, version_metrics.c.value)
                                     .where(version_metrics.c.version_id == version_id))
        return dict(rows.all())

    async def search(self, session: AsyncSession, where: ColumnElement[bool] | None, keys: list[SortKey],
                     after: list[Any] | None, limit: int, *, model_id: str | None = None) -> list[tuple[Row, list]]:
        """A page of versions matching ``where`` in the order ``keys``, after the sort values ``after``.

        Returns each row with its sort values (for the next page token).
        """
        columns, nullable, order = sort_columns(keys)
        token_keys = expand_keys(keys)
        sort_exprs = [columns[k.field] for k in token_keys]
        query = (select(*VERSION_COLUMNS, *[expr.label(f"_sort{i}") for i, expr in enumerate(sort_exprs)])
                 .join(models, models.c.uid == v.c.model_uid))
        if model_id is not None:
            query = query.where(models.c.model_id == model_id)
        if where is not None:
            query = query.where(where)
        if after is not None:
            query = query.where(keyset_after(columns, token_keys, after, nullable=nullable))
        rows = (await session.execute(query.order_by(*order).limit(limit))).all()
        return [(row, [getattr(row, f"_sort{i}") for i in range(len(sort_exprs))]) for row in rows]

    async def set_state(self, session: AsyncSession, version_id: int, **values: Any) -> None:
        """Update columns of one version and bump its revision."""
        values.setdefault("update_time", datetime.now(UTC))
        await session.execute(update(v).where(v.c.id == version_id).values(revision=v.c.revision + 1, **values))

    async def alias_row(self, session: AsyncSession, model_uid: str, alias: str) -> Row | None:
        """The alias, or None."""
        return (await session.execute(select(aliases).where(
            aliases.c.model_uid == model_uid, aliases.c.alias == alias).with_for_update())).first()

    async def count_referencing(self, session: AsyncSession, version_ids: Select | Sequence[int]) -> tuple[int, int]:
        """How many aliases and active deployments point at the given versions."""
        ids = version_ids if isinstance(version_ids, Select) else list(version_ids)
        alias_count = (await session.execute(
            select(func.count()).select_from(aliases).where(aliases.c.version_id.in_(ids)))).scalar_one()
        deployed = (await session.execute(
            select(func.count()).select_from(version_deployments).where(
                version_deployments.c.version_id.in_(ids),
                version_deployments.c.state.in_(ACTIVE_DEPLOYMENT_STATES)))).scalar_one()
        return alias_count, deployed

    def ids_of_model(self, model_uid: str) -> Select:
        """A subquery of the ids of one model's versions."""
        return select(v.c.id).where(v.c.model_uid == model_uid)
