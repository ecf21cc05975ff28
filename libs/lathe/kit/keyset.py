"""``order_by`` parsing (AIP-132) and keyset conditions for SQLAlchemy queries."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, literal, or_, tuple_

from lathe.kit.errors import InvalidArgument


@dataclass(frozen=True)
class SortKey:
    """One ``order_by`` term: a field name and its direction."""

    field: str
    descending: bool = False


def parse_order_by(order_by: str, allowed: Sequence[str], *, default: str, field: str = "order_by") -> list[SortKey]:
    """Parse ``"create_time desc, name"``; unknown fields or directions are INVALID_ARGUMENT naming ``field``."""
    text = order_by.strip() or default
    keys: list[SortKey] = []
    for term in text.split(","):
        parts = term.split()
        if not parts or len(parts) > 2:
            raise InvalidArgument.for_field(field, f"cannot parse {term.strip()!r}: expected '<field> [asc|desc]'")
        name = parts[0]
        if name not in allowed:
            raise InvalidArgument.for_field(field, f"cannot sort by {name!r}; allowed: {', '.join(allowed)}")
        direction = parts[1].lower() if len(parts) == 2 else "asc"
        if direction not in {"asc", "desc"}:
            raise InvalidArgument.for_field(field, f"direction must be 'asc' or 'desc', not {parts[1]!r}")
        if any(k.field == name for k in keys):
            raise InvalidArgument.for_field(field, f"{name!r} appears twice")
        keys.append(SortKey(name, direction == "desc"))
    return keys


def canonical(keys: Sequence[SortKey]) -> str:
    """A normalized text of the ordering, for page-token fingerprints."""
    return ",".join(f"{k.field} {'desc' if k.descending else 'asc'}" for k in keys)


def keyset_after(columns: Mapping[str, Any], keys: Sequence[SortKey], last: Sequence[Any],
                 *, nullable: Collection[str] = ()) -> ColumnElement[bool]:
    """The WHERE condition selecting rows strictly after ``last`` in the order ``keys``.

    When every key sorts the same way and none is ``nullable`` this is a row-value comparison
    ``(a, b) > (x, y)``, which PostgreSQL answers with one index range scan. Otherwise it expands to
    ``a > x OR (a = x AND b > y)`` (equality as IS NOT DISTINCT FROM). NULLs of a ``nullable`` key sort
    last in either direction, as :func:`order_clauses` orders them: after a non-NULL boundary value the
    NULL rows still follow; after a NULL one only the later keys decide. Either way the database seeks
    to the page instead of counting past an OFFSET.
    """
    cols = [columns[k.field] for k in keys]
    if len({k.descending for k in keys}) == 1 and not any(k.field in nullable for k in keys):
        left, right = tuple_(*cols), tuple_(*(literal(v) if not hasattr(v, "compile") else v for v in last))
        return left < right if keys[0].descending else left > right
    clauses = []
    for i, key in enumerate(keys):
        if last[i] is None:
            continue  # nothing sorts after a NULL on this key: NULLs are last
        equal_prefix = [cols[j].is_not_distinct_from(last[j]) for j in range(i)]
        step = cols[i] < last[i] if key.descending else cols[i] > last[i]
        if key.field in nullable:
            step = or_(step, cols[i].is_(None))
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses) if clauses else false()


def order_clauses(columns: Mapping[str, Any], keys: Sequence[SortKey], *,
                  nullable: Collection[str] = ()) -> list[Any]:
    """ORDER BY expressions for ``keys``; ``nullable`` keys put NULLs last in either direction."""
    out = []
    for key in keys:
        column = columns[key.field]
        expression = column.desc() if key.descending else column.asc()
        out.append(expression.nulls_last() if key.field in nullable else expression)
    return out
