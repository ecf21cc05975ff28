"""Lathe's filter language: a tokenizer and a recursive-descent parser into a small AST.

    metrics.val_loss < 1.6 AND (tags.team = 'nlp' OR tags.team IN ('search', 'qa')) AND state = READY

The AST is pure data; each service compiles it to SQL over its own columns, with bound parameters only
(the registry: services/registry/adapters/search.py). Every error names
the 1-based column and the token where parsing stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lathe.kit.errors import FieldViolation, InvalidArgument

MAX_FILTER_LENGTH = 4096
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "IN", "LIKE")
Value = str | float | bool


@dataclass(frozen=True)
class Token:
    """One lexical token and the 1-based column it starts at."""

    kind: str  # NAME, STRING, NUMBER, OP, LPAREN, RPAREN, COMMA, DOT, KEY, END
    text: str
    position: int
    value: object = None


@dataclass(frozen=True)
class Comparison:
    """``field op value`` (``values`` holds the list of an IN)."""

    field: str
    key: str | None
    op: str
    values: tuple[Value, ...]
    position: int
    value_positions: tuple[int, ...] = ()

    def position_of(self, index: int) -> int:
        """The column of the ``index``-th value (the field's column when unknown)."""
        return self.value_positions[index] if index < len(self.value_positions) else self.position


@dataclass(frozen=True)
class BoolOp:
    """``AND`` / ``OR`` of two or more expressions."""

    op: str
    items: tuple[Expr, ...]


Expr = Comparison | BoolOp

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<key>`[^`]*`)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<dot>\.)
    """,
    re.VERBOSE,
)


def filter_error(message: str, position: int, token: str, field: str = "filter") -> InvalidArgument:
    """INVALID_ARGUMENT pointing at ``position`` (1-based) and ``token`` of the filter."""
    description = f"{message} at column {position} (near {token!r})" if token else f"{message} at column {position}"
    return InvalidArgument(
        f"{field}: {description}", reason="INVALID_FILTER",
        metadata={"position": str(position), "token": token},
        field_violations=[FieldViolation(field, description)],
    )


def tokenize(text: str, field: str = "filter") -> list[Token]:
    """The tokens of ``text``; INVALID_ARGUMENT at the first character that starts no token."""
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        match = _TOKEN_RE.match(text, index)
        if match is None:
            raise filter_error("unexpected character", index + 1, text[index], field)
        kind = match.lastgroup or ""
        raw = match.group()
        position = index + 1
        index = match.end()
        if kind == "ws":
            continue
        if kind == "number":
            tokens.append(Token("NUMBER", raw, position, float(raw)))
        elif kind == "name":
            upper = raw.upper()
            if upper in ("AND", "OR", "IN", "LIKE", "TRUE", "FALSE", "NOT"):
                tokens.append(Token(upper, raw, position))
            else:
                tokens.append(Token("NAME", raw, position, raw))
        elif kind == "key":
            tokens.append(Token("KEY", raw, position, raw[1:-1]))
        elif kind == "string":
            quote = raw[0]
            tokens.append(Token("STRING", raw, position, raw[1:-1].replace(quote * 2, quote)))
        else:
            tokens.append(Token(kind.upper(), raw, position))
    tokens.append(Token("END", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token], fields: dict[str, str], keyed: set[str], field: str) -> None:
        self.tokens = tokens
        self.index = 0
        self.fields = fields
        self.keyed = keyed
        self.field = field

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def error(self, message: str, token: Token | None = None) -> InvalidArgument:
        token = token or self.current
        return filter_error(message, token.position, token.text, self.field)

    def take(self, kind: str, what: str) -> Token:
        token = self.current
        if token.kind != kind:
            raise self.error(f"expected {what}")
        self.index += 1
        return token

    def parse(self) -> Expr | None:
        if self.current.kind == "END":
            return None
        expr = self.or_expr()
        if self.current.kind != "END":
            raise self.error("expected AND, OR or the end of the filter")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.current.kind == "OR":
            self.index += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def and_expr(self) -> Expr:
        items = [self.primary()]
        while self.current.kind == "AND":
            self.index += 1
            items.append(self.primary())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def primary(self) -> Expr:
        if self.current.kind == "LPAREN":
            self.index += 1
            expr = self.or_expr()
            self.take("RPAREN", "')'")
            return expr
        if self.current.kind == "NOT":
            raise self.error("NOT is not supported; use != or a positive condition")
        return self.comparison()

    def field_name(self) -> tuple[str, str | None, Token]:
        start = self.take("NAME", "a field name")
        name = start.text
        while self.current.kind == "DOT":
            self.index += 1
            if name in self.keyed:
                key_token = self.current
                if key_token.kind not in ("NAME", "KEY"):
                    raise self.error(f"expected a key after '{name}.'")
                self.index += 1
                return name, str(key_token.value), start
            part = self.take("NAME", "a field name after '.'")
            name = f"{name}.{part.text}"
        if name in self.keyed:
            raise self.error(f"'{name}' needs a key, as in '{name}.<key>'", start)
        if name not in self.fields:
            allowed = ", ".join([*sorted(self.fields), *(f"{k}.<key>" for k in sorted(self.keyed))])
            raise self.error(f"unknown field '{name}' (fields: {allowed})", start)
        return name, None, start

    def value(self) -> Value:
        token = self.current
        self.index += 1
        if token.kind in ("STRING", "NUMBER", "NAME"):
            return token.value  # type: ignore[return-value]
        if token.kind in ("TRUE", "FALSE"):
            return token.kind == "TRUE"
        self.index -= 1
        raise self.error("expected a value (a quoted string, a number, TRUE, FALSE or a name)")

    def comparison(self) -> Comparison:
        name, key, start = self.field_name()
        op_token = self.current
        if op_token.kind == "OP":
            self.index += 1
            position = self.current.position
            return Comparison(name, key, op_token.text, (self.value(),), start.position, (position,))
        if op_token.kind == "IN":
            self.index += 1
            self.take("LPAREN", "'(' after IN")
            positions = [self.current.position]
            values = [self.value()]
            while self.current.kind == "COMMA":
                self.index += 1
                positions.append(self.current.position)
                values.append(self.value())
            self.take("RPAREN", "')' closing the IN list")
            return Comparison(name, key, "IN", tuple(values), start.position, tuple(positions))
        if op_token.kind == "LIKE":
            self.index += 1
            pattern = self.current
            if pattern.kind != "STRING":
                raise self.error("LIKE needs a quoted pattern")
            self.index += 1
            return Comparison(name, key, "LIKE", (str(pattern.value),), start.position)
        raise self.error("expected an operator (= != < <= > >= IN LIKE)")


def parse_filter(text: str, *, fields: dict[str, str], keyed: dict[str, str], field: str = "filter") -> Expr | None:
    """Parse ``text`` over ``fields`` (name → type) and ``keyed`` prefixes (``tags`` → type); None if empty.

    Types are ``string``, ``number``, ``timestamp``, ``enum`` and ``any``; a value of the wrong type for
    its field is INVALID_ARGUMENT at that comparison.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidArgument.for_field(field, f"must be at most {MAX_FILTER_LENGTH} characters")
    parser = _Parser(tokenize(text, field), fields, set(keyed), field)
    expr = parser.parse()
    if expr is not None:
        _check_types(expr, fields, keyed, field)
    return expr


def _check_types(expr: Expr, fields: dict[str, str], keyed: dict[str, str], field: str) -> None:
    if isinstance(expr, BoolOp):
        for item in expr.items:
            _check_types(item, fields, keyed, field)
        return
    kind = keyed[expr.field] if expr.key is not None else fields[expr.field]
    label = f"{expr.field}.{expr.key}" if expr.key is not None else expr.field
    for value in expr.values:
        if kind == "number" and (isinstance(value, bool) or not isinstance(value, float)):
            raise filter_error(f"'{label}' is a number; {value!r} is not", expr.position, label, field)
        if kind in ("string", "timestamp", "enum") and not isinstance(value, str):
            raise filter_error(f"'{label}' is compared with strings; {value!r} is not", expr.position, label, field)
    if expr.op == "LIKE" and kind not in ("string", "any"):
        raise filter_error(f"LIKE applies to strings, not to '{label}'", expr.position, label, field)
    if kind == "enum" and expr.op not in ("=", "!=", "IN"):
        raise filter_error(f"'{label}' can only be compared with = != IN", expr.position, label, field)
