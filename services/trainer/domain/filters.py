"""The small AIP-160 filter subset the trainer's lists accept (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lathe.kit.errors import InvalidArgument

_COMPARISON = re.compile(r'\s*([a-zA-Z_][\w.]*)\s*(!=|<=|>=|=|<|>|:)\s*("(?:[^"\\]|\\.)*"|[^\s()]+)\s*')


@dataclass(frozen=True)
class Comparison:
    """``field op value``."""

    field: str
    op: str
    value: str


def parse(text: str, field: str = "filter") -> list[list[Comparison]]:
    """A conjunction of disjunctions: ``[[a OR b], [c]]`` means ``(a OR b) AND c``."""
    text = text.strip()
    if not text:
        return []
    groups: list[list[Comparison]] = []
    for part in _split(text, " AND ", field):
        part = part.strip()
        if part.startswith("(") and part.endswith(")"):
            alternatives = [_comparison(p, field) for p in _split(part[1:-1], " OR ", field)]
            if any(a.op != "=" for a in alternatives) or len({a.field for a in alternatives}) != 1:
                raise InvalidArgument.for_field(field, "a parenthesized group must OR equalities on one field")
            groups.append(alternatives)
        else:
            groups.append([_comparison(part, field)])
    return groups


def _split(text: str, separator: str, field: str) -> list[str]:
    parts, depth, current, i = [], 0, "", 0
    in_quotes = False
    while i < len(text):
        char = text[i]
        if char == '"':
            in_quotes = not in_quotes
        if not in_quotes:
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            if depth == 0 and text[i:i + len(separator)].upper() == separator:
                parts.append(current)
                current, i = "", i + len(separator)
                continue
        current += char
        i += 1
    if depth != 0 or in_quotes:
        raise InvalidArgument.for_field(field, "has unbalanced parentheses or quotes")
    parts.append(current)
    return parts


def _comparison(text: str, field: str) -> Comparison:
    match = _COMPARISON.fullmatch(text)
    if not match:
        raise InvalidArgument.for_field(field, f"cannot parse {text.strip()!r}: expected field, operator, value")
    value = match[3]
    if value.startswith('"'):
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return Comparison(match[1], match[2], value)
