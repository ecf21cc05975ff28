"""Deployments and revisions in the deployer's database (SQLAlchemy Core).

The whole resource message is stored serialized in ``detail``; the columns beside it are copies of the
fields that are filtered, ordered or joined on, rewritten on every save.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lathe.deployer.v1 import deployment_pb2, deployment_revision_pb2
from lathe.kit.errors import Aborted, NotFound
from lathe.kit.keyset import SortKey, keyset_after, order_clauses
from services.deployer.adapters.tables import deployment_revisions, deployments
from services.deployer.domain.deployments import revision_name

Deployment = deployment_pb2.Deployment
Revision = deployment_revision_pb2.DeploymentRevision
UNFINISHED = (Revision.STATE_PENDING, Revision.STATE_VERIFYING, Revision.STATE_LOADING,
              Revision.STATE_HEALTH_CHECKING)


def utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def number_of(name: str) -> int | None:
    """The revision number at the end of a revision name (None for empty)."""
    return int(name.rsplit("/", 1)[1]) if name else None


def etag_of(uid: str, generation: int) -> str:
    """The etag of a deployment at ``generation``."""
    return hashlib.sha256(f"{uid}:{generation}".encode()).hexdigest()[:16]


def _deployment_values(d: Deployment) -> dict[str, Any]:
    return {
        "uid": d.uid, "target": d.target, "state": d.state, "model_version": d.model_version,
        "resolved_model_version": d.resolved_model_version, "current_revision": number_of(d.current_revision),
        "pending_revision": number_of(d.pending_revision),
        "canary_revision": number_of(d.canary.revision) if d.HasField("canary") else None,
        "creator": d.creator, "labels": dict(d.labels), "create_time": d.create_time.ToDatetime(UTC),
        "update_time": d.update_time.ToDatetime(UTC), "detail": d.SerializeToString(deterministic=True),
    }


def _revision_values(r: Revision) -> dict[str, Any]:
    return {
        "state": r.state, "trigger": r.trigger, "model_version": r.model_version, "creator": r.creator,
        "sha256_verified": r.sha256_verified, "health_outcome": r.health_check.outcome,
        "create_time": r.create_time.ToDatetime(UTC), "detail": r.SerializeToString(deterministic=True),
    }


class DeploymentRepository:
    """Reads and writes deployments and their revisions."""

    async def exists(self, session: AsyncSession, deployment_id: str) -> bool:
        """Whether a deployment with this ID exists."""
        found = await session.execute(select(deployments.c.deployment_id)
                                      .where(deployments.c.deployment_id == deployment_id))
        return found.first() is not None

    async def insert(self, session: AsyncSession, d: Deployment, first: Revision) -> None:
        """Store a new deployment with its first revision."""
        await session.execute(deployments.insert().values(
            deployment_id=d.name.split("/")[1], next_revision=2, generation=1, **_deployment_values(d)))
        await self.insert_revision(session, d.name.split("/")[1], first)

    async def get(self, session: AsyncSession, deployment_id: str, *, for_update: bool = False
                  ) -> tuple[Deployment, int, int]:
        """``(deployment, generation, next_revision)``; NOT_FOUND if it does not exist."""
        query = select(deployments.c.detail, deployments.c.generation, deployments.c.next_revision).where(
            deployments.c.deployment_id == deployment_id)
        if for_update:
            query = query.with_for_update()
        row = (await session.execute(query)).first()
        if row is None:
            raise NotFound(f"deployment 'deployments/{deployment_id}' does not exist", reason="DEPLOYMENT_NOT_FOUND",
                           metadata={"name": f"deployments/{deployment_id}"})
        d = Deployment.FromString(row.detail)
        d.etag = etag_of(d.uid, row.generation)
        return d, row.generation, row.next_revision

    async def save(self, session: AsyncSession, d: Deployment, *, generation: int,
                   next_revision: int | None = None) -> Deployment:
        """Write ``d`` if it is still at ``generation`` (ABORTED otherwise); returns it with its new etag."""
        d.etag = ""
        values = _deployment_values(d)
        if next_revision is not None:
            values["next_revision"] = next_revision
        result = await session.execute(update(deployments).where(
            deployments.c.deployment_id == d.name.split("/")[1], deployments.c.generation == generation,
        ).values(generation=generation + 1, **values))
        if result.rowcount != 1:
            raise Aborted(f"'{d.name}' changed concurrently; retry", reason="CONCURRENT_UPDATE")
        d.etag = etag_of(d.uid, generation + 1)
        return d

    async def save_detail(self, session: AsyncSession, d: Deployment) -> None:
        """Rewrite only the stored message (an observation such as a health check result): the generation,
        hence the etag, and ``update_time`` do not change. The caller holds the row lock."""
        etag, d.etag = d.etag, ""
        await session.execute(update(deployments).where(deployments.c.deployment_id == d.name.split("/")[1])
                              .values(detail=d.SerializeToString(deterministic=True)))
        d.etag = etag

    async def unfinished_revisions(self, session: AsyncSession) -> list[tuple[str, int, int]]:
        """``(deployment_id, number, state)`` of every revision whose rollout had not finished."""
        rows = (await session.execute(select(
            deployment_revisions.c.deployment_id, deployment_revisions.c.number, deployment_revisions.c.state,
        ).where(deployment_revisions.c.state.in_(UNFINISHED)).order_by(
            deployment_revisions.c.deployment_id, deployment_revisions.c.number))).all()
        return [(r.deployment_id, r.number, r.state) for r in rows]

    async def delete(self, session: AsyncSession, deployment_id: str) -> None:
        """Remove a deployment and its revisions."""
        await session.execute(delete(deployment_revisions).where(deployment_revisions.c.deployment_id == deployment_id))
        await session.execute(delete(deployments).where(deployments.c.deployment_id == deployment_id))

    async def insert_revision(self, session: AsyncSession, deployment_id: str, r: Revision) -> None:
        """Store a new revision."""
        await session.execute(deployment_revisions.insert().values(
            deployment_id=deployment_id, number=r.revision_number, **_revision_values(r)))

    async def save_revision(self, session: AsyncSession, deployment_id: str, r: Revision) -> None:
        """Overwrite a revision."""
        await session.execute(update(deployment_revisions).where(
            deployment_revisions.c.deployment_id == deployment_id, deployment_revisions.c.number == r.revision_number,
        ).values(**_revision_values(r)))

    async def get_revision(self, session: AsyncSession, deployment_id: str, number: int) -> Revision:
        """One revision; NOT_FOUND if it does not exist."""
        row = (await session.execute(select(deployment_revisions.c.detail).where(
            deployment_revisions.c.deployment_id == deployment_id, deployment_revisions.c.number == number))).first()
        if row is None:
            raise NotFound(f"revision '{revision_name(deployment_id, number)}' does not exist",
                           reason="REVISION_NOT_FOUND", metadata={"name": revision_name(deployment_id, number)})
        return Revision.FromString(row.detail)

    async def previous_healthy(self, session: AsyncSession, deployment_id: str, before: int) -> Revision | None:
        """The most recent revision before ``before`` that served and was superseded."""
        row = (await session.execute(select(deployment_revisions.c.detail).where(
            deployment_revisions.c.deployment_id == deployment_id, deployment_revisions.c.number < before,
            deployment_revisions.c.state == Revision.STATE_SUPERSEDED,
        ).order_by(deployment_revisions.c.number.desc()).limit(1))).first()
        return Revision.FromString(row.detail) if row else None

    async def page(self, session: AsyncSession, table: Any, columns: dict[str, Any], keys: list[SortKey],
                   after: list[Any] | None, limit: int, where: ColumnElement[bool] | None) -> list[Any]:
        """One keyset page of ``table`` rows (``detail`` plus the sort columns)."""
        query = select(table)
        conditions = [c for c in (where,) if c is not None]
        if after is not None:
            conditions.append(keyset_after(columns, keys, [_as_time(k.field, v) for k, v in zip(keys, after,
                                                                                             strict=True)]))
        if conditions:
            query = query.where(and_(*conditions))
        return list((await session.execute(query.order_by(*order_clauses(columns, keys)).limit(limit))).all())

    async def count(self, session: AsyncSession) -> int:
        """Number of deployments."""
        return int((await session.execute(select(func.count()).select_from(deployments))).scalar_one())

    async def all_serving(self, session: AsyncSession) -> list[tuple[Deployment, int]]:
        """Every deployment (to restore serving and clean up interrupted rollouts at start-up)."""
        rows = (await session.execute(select(deployments.c.detail, deployments.c.generation))).all()
        return [(Deployment.FromString(r.detail), r.generation) for r in rows]


def _as_time(field: str, value: Any) -> Any:
    return datetime.fromisoformat(value) if field.endswith("_time") and isinstance(value, str) else value
