"""ListDeployments and ListDeploymentRevisions: filters compiled to SQL, orderings and keyset keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_

from lathe.deployer.v1 import deployment_pb2, deployment_revision_pb2, health_check_pb2
from lathe.kit.errors import InvalidArgument
from lathe.kit.filtering import BoolOp, Comparison, Expr, filter_error, parse_filter
from lathe.kit.keyset import SortKey, canonical, parse_order_by
from services.deployer.adapters.tables import deployment_revisions, deployments
from services.deployer.domain.deployments import parse_revision_name

D = deployment_pb2.Deployment
R = deployment_revision_pb2.DeploymentRevision
H = health_check_pb2.HealthCheckResult


@dataclass
class Query:
    """A compiled list request."""

    table: Table
    columns: dict[str, Any]
    keys: list[SortKey]
    where: ColumnElement[bool] | None
    canonical: str

    def key_of(self, row: Any) -> list[Any]:
        """The keyset key of ``row`` (JSON-serialisable)."""
        out = []
        for key in self.keys:
            value = getattr(row, self.columns[key.field].name)
            out.append(value.isoformat() if isinstance(value, datetime) else value)
        return out


def _compare(column: Any, op: str, values: tuple[Any, ...]) -> ColumnElement[bool]:
    if op == "IN":
        return column.in_(list(values))
    value = values[0]
    if op in ("=", "!=") and isinstance(value, str) and value.endswith("*"):
        pattern = value[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        like = column.like(pattern, escape="\\")
        return like if op == "=" else ~like
    return {"=": lambda: column == value, "!=": lambda: column != value, "<": lambda: column < value,
            "<=": lambda: column <= value, ">": lambda: column > value, ">=": lambda: column >= value,
            "LIKE": lambda: column.like(value)}[op]()


def _enum(enum: Any, prefix: str, c: Comparison) -> tuple[int, ...]:
    out = []
    for value in c.values:
        name = f"{prefix}{str(value).upper()}"
        if name not in enum.keys():
            allowed = ", ".join(k.removeprefix(prefix) for k in enum.keys() if not k.endswith("UNSPECIFIED"))
            raise filter_error(f"{value!r} is not a {c.field} (one of {allowed})", c.position, str(value))
        out.append(enum.Value(name))
    return tuple(out)


def _time(c: Comparison) -> tuple[datetime, ...]:
    try:
        return tuple(datetime.fromisoformat(str(v).replace("Z", "+00:00")) for v in c.values)
    except ValueError:
        raise InvalidArgument.for_field("filter", f"{c.values[0]!r} is not an RFC 3339 timestamp",
                                        reason="INVALID_FILTER") from None


def _compile(expr: Expr, leaf: Any) -> ColumnElement[bool]:
    if isinstance(expr, BoolOp):
        parts = [_compile(item, leaf) for item in expr.items]
        return and_(*parts) if expr.op == "AND" else or_(*parts)
    return leaf(expr)


_DEPLOYMENT_FIELDS = {"state": "enum", "target": "enum", "model_version": "string",
                      "resolved_model_version": "string", "creator": "string", "current_revision": "string",
                      "create_time": "timestamp", "update_time": "timestamp"}
_DEPLOYMENT_SORT = {"create_time": deployments.c.create_time, "update_time": deployments.c.update_time,
                    "name": deployments.c.deployment_id}


def deployment_query(text: str, order_by: str) -> Query:
    """The WHERE and ORDER BY of a ListDeployments request."""
    expr = parse_filter(text, fields=_DEPLOYMENT_FIELDS, keyed={"labels": "string"})
    t = deployments.c

    def leaf(c: Comparison) -> ColumnElement[bool]:
        if c.field == "labels":
            label = t.labels[c.key].as_string()
            return and_(label.is_not(None), _compare(label, c.op, c.values))
        if c.field == "state":
            return _compare(t.state, c.op, _enum(D.State, "STATE_", c))
        if c.field == "target":
            return _compare(t.target, c.op, _enum(D.Target, "TARGET_", c))
        if c.field.endswith("_time"):
            return _compare(getattr(t, c.field), c.op, _time(c))
        if c.field == "current_revision":
            numbers = tuple(parse_revision_name(str(v), "filter")[1] for v in c.values)
            return _compare(t.current_revision, c.op, numbers)
        return _compare(getattr(t, c.field), c.op, c.values)

    keys = parse_order_by(order_by, list(_DEPLOYMENT_SORT), default="create_time desc")
    if keys[-1].field != "name":
        keys.append(SortKey("name", keys[-1].descending))
    return Query(deployments, _DEPLOYMENT_SORT, keys, None if expr is None else _compile(expr, leaf), canonical(keys))


_REVISION_FIELDS = {"state": "enum", "trigger": "enum", "health_check.outcome": "enum", "sha256_verified": "any",
                    "model_version": "string", "creator": "string", "revision_number": "number",
                    "create_time": "timestamp"}
_REVISION_SORT = {"revision_number": deployment_revisions.c.number, "create_time": deployment_revisions.c.create_time,
                  "deployment": deployment_revisions.c.deployment_id}


def revision_query(deployment_id: str | None, text: str, order_by: str) -> Query:
    """The WHERE and ORDER BY of a ListDeploymentRevisions request (``None``: every deployment)."""
    expr = parse_filter(text, fields=_REVISION_FIELDS, keyed={})
    t = deployment_revisions.c

    def leaf(c: Comparison) -> ColumnElement[bool]:
        if c.field == "state":
            return _compare(t.state, c.op, _enum(R.State, "STATE_", c))
        if c.field == "trigger":
            return _compare(t.trigger, c.op, _enum(R.Trigger, "TRIGGER_", c))
        if c.field == "health_check.outcome":
            return _compare(t.health_outcome, c.op, _enum(H.Outcome, "OUTCOME_", c))
        if c.field == "sha256_verified":
            value = c.values[0]
            if not isinstance(value, bool) and str(value).lower() not in ("true", "false"):
                raise filter_error("sha256_verified is compared with true or false", c.position, str(value))
            flag = value if isinstance(value, bool) else str(value).lower() == "true"
            return _compare(t.sha256_verified, c.op, (flag,))
        if c.field == "revision_number":
            return _compare(t.number, c.op, tuple(int(v) for v in c.values))
        if c.field == "create_time":
            return _compare(t.create_time, c.op, _time(c))
        return _compare(getattr(t, c.field), c.op, c.values)

    default = "revision_number desc" if deployment_id else "create_time desc"
    keys = parse_order_by(order_by, ["revision_number", "create_time"], default=default)
    if deployment_id is None and keys[-1].field != "revision_number":
        keys.append(SortKey("deployment", keys[-1].descending))
    if keys[-1].field != "revision_number":
        keys.append(SortKey("revision_number", keys[-1].descending))
    if deployment_id is None and not any(k.field == "deployment" for k in keys):
        keys.insert(len(keys) - 1, SortKey("deployment", keys[-1].descending))
    conditions = [t.deployment_id == deployment_id] if deployment_id else []
    if expr is not None:
        conditions.append(_compile(expr, leaf))
    return Query(deployment_revisions, _REVISION_SORT, keys, and_(*conditions) if conditions else None,
                 canonical(keys))

