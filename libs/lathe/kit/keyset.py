"""``order_by`` parsing (AIP-132) and keyset conditions for SQLAlchemy queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

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


def keyset_after(columns: Mapping[str, Any], keys: Sequence[SortKey], last: Sequence[Any]) -> ColumnElement[bool]:
    """The WHERE condition selecting rows strictly after ``last`` in the order ``keys``.

    ``(a, b) > (x, y)`` expands to ``a > x OR (a = x AND b > y)`` so mixed directions work; with an index on
    the sort columns the database seeks straight to the page instead of counting past an OFFSET.
    """
    clauses = []
    for i, key in enumerate(keys):
        column = columns[key.field]
        equal_prefix = [columns[k.field] == last[j] for j, k in enumerate(keys[:i])]
        step = column < last[i] if key.descending else column > last[i]
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses)


def order_clauses(columns: Mapping[str, Any], keys: Sequence[SortKey]) -> list[Any]:
    """ORDER BY expressions for ``keys``."""
    return [columns[k.field].desc() if k.descending else columns[k.field].asc() for k in keys]
