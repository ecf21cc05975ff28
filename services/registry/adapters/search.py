"""Compiles the filter AST (lathe.kit.filtering) and order_by into SQLAlchemy over the version tables.

Every value is a bound parameter; field names only ever select from a fixed table of columns. Tag, metric
and hyperparameter conditions are EXISTS subqueries on their (key, value) indexes, so a version missing the
named key matches no comparison on it, ``!=`` included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, or_, select

from lathe.kit.errors import InvalidArgument
from lathe.kit.filtering import BoolOp, Comparison, Expr, filter_error, parse_filter
from lathe.kit.keyset import SortKey
from lathe.registry.v1 import model_version_pb2
from services.registry.adapters.tables import (
    aliases,
    model_versions,
    models,
    version_metrics,
    version_params,
    version_tags,
)

v = model_versions
FIELDS: dict[str, str] = {
    "name": "string", "version": "number", "state": "enum", "creator": "string", "recipe": "string",
    "description": "string", "architecture.family": "string", "create_time": "timestamp",
    "update_time": "timestamp", "lineage.snapshot": "string", "lineage.snapshot_digest": "string",
    "lineage.training_job": "string", "lineage.parent_version": "string", "lineage.code_version": "string",
    "lineage.base_model": "string", "alias": "string",
}
KEYED: dict[str, str] = {"tags": "string", "metrics": "number", "params": "any"}
COLUMNS: dict[str, Any] = {
    "name": models.c.model_id, "version": v.c.number, "state": v.c.state, "creator": v.c.creator,
    "recipe": v.c.recipe, "description": v.c.description, "architecture.family": v.c.architecture_family,
    "create_time": v.c.create_time, "update_time": v.c.update_time,
    "lineage.snapshot": v.c.lineage_snapshot, "lineage.snapshot_digest": v.c.lineage_snapshot_digest,
    "lineage.training_job": v.c.lineage_training_job, "lineage.parent_version": v.c.lineage_parent_version,
    "lineage.code_version": v.c.lineage_code_version, "lineage.base_model": v.c.lineage_base_model,
}
_STATE = model_version_pb2.ModelVersion.State


def compare(column: Any, op: str, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """``column op value`` (or ``column IN values``) with bound parameters."""
    if op == "IN":
        return column.in_(list(values))
    value = values[0]
    return {
        "=": lambda: column == value, "!=": lambda: column != value, "<": lambda: column < value,
        "<=": lambda: column <= value, ">": lambda: column > value, ">=": lambda: column >= value,
        "LIKE": lambda: column.like(value),
    }[op]()


def _state_number(value: str, position: int, field: str) -> int:
    name = value.upper()
    name = name if name.startswith("STATE_") else f"STATE_{name}"
    if name not in _STATE.keys() or name == "STATE_UNSPECIFIED":
        raise filter_error(f"unknown state {value!r} (READY, PENDING_REGISTRATION, FAILED_REGISTRATION, ARCHIVED)",
                           position, value, field)
    return _STATE.Value(name)


def parse_timestamp(value: str, position: int, field: str) -> datetime:
    """An RFC 3339 timestamp of a filter; INVALID_ARGUMENT at ``position`` otherwise."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise filter_error(f"{value!r} is not an RFC 3339 timestamp", position, value, field) from None
    if parsed.tzinfo is None:
        raise filter_error(f"{value!r} needs a time zone (e.g. 'Z')", position, value, field)
    return parsed


def _comparison(c: Comparison, field: str) -> ColumnElement[bool]:
    if c.field == "tags":
        t = version_tags
        return exists().where(t.c.version_id == v.c.id, t.c.key == c.key, compare(t.c.value, c.op, c.values))
    if c.field == "metrics":
        m = version_metrics
        return exists().where(m.c.version_id == v.c.id, m.c.key == c.key, compare(m.c.value, c.op, c.values))
    if c.field == "params":
        p = version_params
        kinds = {type(x) for x in c.values}
        if len(kinds) > 1:
            raise filter_error("mixes values of different types", c.position, f"params.{c.key}", field)
        sample = c.values[0]
        if isinstance(sample, bool):
            column, kind, values = p.c.num_value, "b", tuple(float(x) for x in c.values)
        elif isinstance(sample, float):
            column, kind, values = p.c.num_value, "n", c.values
        else:
            column, kind, values = p.c.str_value, "s", c.values
        if c.op == "LIKE" and kind != "s":
            raise filter_error("LIKE applies to strings", c.position, f"params.{c.key}", field)
        return exists().where(p.c.version_id == v.c.id, p.c.key == c.key, p.c.kind == kind,
                              compare(column, c.op, values))
    if c.field == "alias":
        a = aliases
        return exists().where(a.c.version_id == v.c.id, compare(a.c.alias, c.op, c.values))
    values: tuple[Any, ...] = c.values
    if c.field == "state":
        values = tuple(_state_number(str(x), c.position_of(i), field) for i, x in enumerate(c.values))
    elif c.field in ("create_time", "update_time"):
        values = tuple(parse_timestamp(str(x), c.position_of(i), field) for i, x in enumerate(c.values))
    elif c.field == "version":
        values = tuple(int(x) for x in c.values)
    return compare(COLUMNS[c.field], c.op, values)


def _compile(expr: Expr, field: str) -> ColumnElement[bool]:
    if isinstance(expr, BoolOp):
        if expr.op == "OR":
            return or_(*(_compile(item, field) for item in expr.items))
        # Conditions on the same metric or tag under one AND (a range, say) share one EXISTS probe: a version
        # has at most one row per key, so the conditions hold together on that row or not at all.
        grouped: dict[tuple[str, str], list[Comparison]] = {}
        parts: list[ColumnElement[bool]] = []
        for item in expr.items:
            if isinstance(item, Comparison) and item.field in ("metrics", "tags") and item.key is not None:
                grouped.setdefault((item.field, item.key), []).append(item)
            else:
                parts.append(_compile(item, field))
        for (prefix, key), comparisons in grouped.items():
            table = version_metrics if prefix == "metrics" else version_tags
            parts.append(exists().where(table.c.version_id == v.c.id, table.c.key == key,
                                        *(compare(table.c.value, c.op, c.values) for c in comparisons)))
        return and_(*parts)
    return _comparison(expr, field)


def compile_filter(text: str, field: str = "filter") -> ColumnElement[bool] | None:
    """The WHERE condition of a filter, or None when it is empty."""
    expr = parse_filter(text, fields=FIELDS, keyed=KEYED, field=field)
    return None if expr is None else _compile(expr, field)


SORT_FIELDS = ("name", "version", "create_time", "update_time")


def parse_sort(order_by: str, default: str, field: str = "order_by") -> list[SortKey]:
    """Sort keys for versions: the fixed fields, ``metrics.<key>`` and ``params.<key>``; ``id`` breaks ties."""
    text = order_by.strip() or default
    keys: list[SortKey] = []
    for term in text.split(","):
        parts = term.split()
        if not parts or len(parts) > 2:
            raise InvalidArgument.for_field(field, f"cannot parse {term.strip()!r}: expected '<field> [asc|desc]'")
        name = parts[0]
        direction = parts[1].lower() if len(parts) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise InvalidArgument.for_field(field, f"direction must be 'asc' or 'desc', not {parts[1]!r}")
        prefix, _, key = name.partition(".")
        if name not in SORT_FIELDS and not (prefix in ("metrics", "params") and key):
            raise InvalidArgument.for_field(
                field, f"cannot sort by {name!r}; allowed: {', '.join(SORT_FIELDS)}, metrics.<key>, params.<key>")
        if any(k.field == name for k in keys):
            raise InvalidArgument.for_field(field, f"{name!r} appears twice")
        keys.append(SortKey(name, direction == "desc"))
    keys.append(SortKey("id", keys[-1].descending))
    return keys


def sort_columns(keys: list[SortKey]) -> tuple[dict[str, Any], set[str], list[Any]]:
    """Columns (or scalar subqueries) for each sort key, the nullable ones, and the ORDER BY list.

    A metric or hyperparameter key sorts versions without it last in either direction, through a
    ``<key> IS NULL`` flag that sorts first.
    """
    columns: dict[str, Any] = {"id": v.c.id, **{f: COLUMNS[f] for f in SORT_FIELDS}}
    nullable: set[str] = set()
    order: list[Any] = []
    for key in keys:
        prefix, _, name = key.field.partition(".")
        if prefix in ("metrics", "params"):
            table, value_column = ((version_metrics, version_metrics.c.value) if prefix == "metrics"
                                   else (version_params, version_params.c.num_value))
            conditions = [table.c.version_id == v.c.id, table.c.key == name]
            if prefix == "params":
                conditions.append(version_params.c.kind == "n")
            value = select(value_column).where(*conditions).scalar_subquery()
            flag = case((value.is_(None), 1), else_=0)
            columns[f"{key.field}#missing"] = flag
            columns[key.field] = value
            nullable.add(key.field)
            order.append(flag.asc())
        column = columns[key.field]
        order.append(column.desc() if key.descending else column.asc())
    return columns, nullable, order


def expand_keys(keys: list[SortKey]) -> list[SortKey]:
    """The keys a page token stores: each metric/param key preceded by its missing-flag."""
    out: list[SortKey] = []
    for key in keys:
        if key.field.partition(".")[0] in ("metrics", "params"):
            out.append(SortKey(f"{key.field}#missing", False))
        out.append(key)
    return out

