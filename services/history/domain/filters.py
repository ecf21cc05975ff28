"""The AIP-160 subset the history's List and Export calls accept: ``field op value`` terms joined by ``AND``.

Parsing is pure: it turns the text into typed :class:`Term` values (a known field, an allowed operator, a value
of the field's type) and reports the first problem with its character position. The adapters turn terms into
SQL with bound parameters; no filter text ever reaches the database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lathe.kit.errors import FieldViolation, InvalidArgument

MAX_FILTER_LENGTH = 4096
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
RANGE = ("<", "<=", ">", ">=")
EQUALITY = ("=", "!=")

_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_OPERATOR_RE = re.compile(r">=|<=|!=|=|<|>|:")
_BARE_RE = re.compile(r"[^\s\"'()]+")
_UNSUPPORTED = {"OR", "NOT", "-"}


@dataclass(frozen=True)
class Term:
    """One parsed comparison: ``field op value`` with ``value`` already converted to the field's type."""

    field: str
    op: str
    value: Any
    position: int


@dataclass(frozen=True)
class FieldSpec:
    """What a filter field accepts: its operators and a converter from the literal to a typed value.

    ``convert`` receives the literal text and whether it was quoted, and raises ``ValueError`` with a
    readable message when the literal does not fit.
    """

    ops: tuple[str, ...]
    convert: Callable[[str, bool], Any]


def filter_error(position: int, description: str, field: str = "filter") -> InvalidArgument:
    """INVALID_ARGUMENT naming ``field`` with the (1-based) character position of the problem."""
    text = f"at position {position + 1}: {description}"
    return InvalidArgument(
        f"{field}: {text}", reason="INVALID_FILTER", metadata={"field": field, "position": str(position + 1)},
        field_violations=[FieldViolation(field, text)],
    )


def parse_filter(text: str, specs: Mapping[str, FieldSpec], *, field: str = "filter") -> list[Term]:
    """Parse ``text`` into terms of the fields in ``specs``; INVALID_ARGUMENT naming ``field`` and the position."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidArgument.for_field(field, f"must be at most {MAX_FILTER_LENGTH} characters",
                                        reason="INVALID_FILTER")
    terms: list[Term] = []
    pos = _skip(text, 0)
    if pos == len(text):
        return terms
    while True:
        term, end = _parse_term(text, pos, specs, field)
        terms.append(term)
        pos = _skip(text, end)
        if pos == len(text):
            return terms
        word = _BARE_RE.match(text, pos)
        if word is None or word.group() != "AND":
            found = word.group() if word else text[pos]
            if found.upper() in _UNSUPPORTED or found.startswith("("):
                raise filter_error(pos, f"{found!r} is not supported yet; join terms with AND", field)
            raise filter_error(pos, f"expected AND between terms, found {found!r}", field)
        pos = _skip(text, word.end())
        if pos == len(text):
            raise filter_error(pos, "expected a term after AND", field)


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _parse_term(text: str, start: int, specs: Mapping[str, FieldSpec], field: str) -> tuple[Term, int]:
    if text[start] == "(":
        raise filter_error(start, "parentheses are not supported yet; join terms with AND", field)
    match = _FIELD_RE.match(text, start)
    if match is None:
        raise filter_error(start, f"expected a field name, found {text[start]!r}", field)
    name = match.group()
    if name.upper() in _UNSUPPORTED:
        raise filter_error(start, f"{name!r} is not supported yet; join terms with AND", field)
    spec = specs.get(name)
    if spec is None:
        raise filter_error(start, f"unknown field {name!r}; filterable: {', '.join(sorted(specs))}", field)
    pos = _skip(text, match.end())
    op_match = _OPERATOR_RE.match(text, pos)
    if op_match is None:
        found = text[pos] if pos < len(text) else "the end of the filter"
        raise filter_error(pos, f"expected an operator after {name!r}, found {found!r}", field)
    op = op_match.group()
    if op not in spec.ops:
        raise filter_error(pos, f"{name!r} does not support {op!r}; use one of {', '.join(spec.ops)}", field)
    pos = _skip(text, op_match.end())
    literal, end, quoted = _literal(text, pos, field)
    try:
        value = spec.convert(literal, quoted)
    except ValueError as exc:
        raise filter_error(pos, f"{name}: {exc}", field) from None
    return Term(name, op, value, start), end


def _literal(text: str, pos: int, field: str) -> tuple[str, int, bool]:
    """The literal starting at ``pos``: its text, where it ends, and whether it was quoted."""
    if pos >= len(text):
        raise filter_error(pos, "expected a value, found the end of the filter", field)
    if text[pos] in "\"'":
        # Single quotes work as in the registry's filters, so one habit serves every Lathe filter.
        quote = text[pos]
        out, i = [], pos + 1
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 2
                continue
            if char == quote:
                return "".join(out), i + 1, True
            out.append(char)
            i += 1
        raise filter_error(pos, "unterminated string", field)
    match = _BARE_RE.match(text, pos)
    if match is None:
        raise filter_error(pos, f"expected a value, found {text[pos]!r}", field)
    return match.group(), match.end(), False


# Converters: each returns a typed value or raises ValueError with the reason.


def as_string(max_length: int = 512) -> Callable[[str, bool], str]:
    """A string literal (quoted, or a bare word), at most ``max_length`` characters."""

    def convert(literal: str, quoted: bool) -> str:
        if len(literal) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return literal

    return convert


def as_timestamp(literal: str, quoted: bool) -> datetime:
    """An RFC 3339 timestamp with an explicit offset (``2025-06-01T00:00:00Z``)."""
    return parse_rfc3339(literal)


def as_number(literal: str, quoted: bool) -> float:
    """A finite number."""
    try:
        value = float(literal)
    except ValueError:
        raise ValueError(f"{literal!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{literal!r} is not a finite number")
    return value


def as_bool(literal: str, quoted: bool) -> bool:
    """``true`` or ``false``."""
    if literal.lower() not in {"true", "false"}:
        raise ValueError(f"{literal!r} is not true or false")
    return literal.lower() == "true"


def as_enum(values: Mapping[str, int], prefix: str) -> Callable[[str, bool], int]:
    """A short enum name (``FAILED``) or the full value name (``OUTCOME_FAILED``)."""

    def convert(literal: str, quoted: bool) -> int:
        key = literal.upper().removeprefix(prefix)
        if key not in values:
            raise ValueError(f"{literal!r} is not one of {', '.join(values)}")
        return values[key]

    return convert


_RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(text: str) -> datetime:
    """A timezone-aware datetime from RFC 3339 text; ValueError (with the reason) otherwise."""
    if not _RFC3339_RE.match(text):
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp such as 2025-06-01T00:00:00Z")
    normalized = text.replace("z", "Z").replace("Z", "+00:00")
    head, dot, rest = normalized.partition(".")
    if dot:
        # Python parses at most microseconds; the database stores microseconds too.
        digits = re.match(r"\d+", rest)
        assert digits is not None
        normalized = f"{head}.{digits.group()[:6].ljust(6, '0')}{rest[digits.end():]}"
    try:
        return datetime.fromisoformat(normalized)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date or time ({exc})") from None


def names(terms: Sequence[Term], field: str) -> list[Term]:
    """The terms on ``field``."""
    return [t for t in terms if t.field == field]
