"""A subset of the AIP-160 filter language, evaluated on plain records (dicts of field values).

Grammar: ``expr := term (OR term)*``, ``term := factor ((AND)? factor)*``, ``factor := [NOT | -] factor |
'(' expr ')' | comparison``, ``comparison := field op value`` with ``op`` one of ``= != < <= > >= :``.
Values are quoted strings, numbers, ``true``/``false`` or bare words (enum values such as ``SYNTHETIC``).
``=`` on a string whose value ends in ``*`` matches a prefix; ``:`` on a list tests membership. A field a
record does not have compares as unset: every comparison on it is false except ``!=``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lathe.kit.errors import InvalidArgument

_TOKEN_RE = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<op><=|>=|!=|=|<|>|:)|(?P<lp>\()|(?P<rp>\))'
    r"|(?P<word>[^\s()=!<>:\"']+))"
)

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokenize(text: str, field: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            raise InvalidArgument.for_field(field, f"cannot parse the filter at character {pos + 1}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append(_Tok(kind, value))
        pos = match.end()
    return tokens


class FieldSpec:
    """How a filter field compares: its kind (``str``, ``int``, ``bool``, ``time``, ``enum``, ``list``, ``map``)."""

    def __init__(self, kind: str, enum_values: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.enum_values = enum_values


class _Parser:
    def __init__(self, tokens: list[_Tok], fields: Mapping[str, FieldSpec], field: str) -> None:
        self.tokens = tokens
        self.i = 0
        self.fields = fields
        self.field = field

    def error(self, message: str) -> InvalidArgument:
        return InvalidArgument.for_field(self.field, message, reason="INVALID_FILTER")

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise self.error("ends too early")
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text == word

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.is_word("OR"):
            self.take()
            parts.append(self.term())
        if len(parts) == 1:
            return parts[0]
        return lambda r: any(p(r) for p in parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while True:
            tok = self.peek()
            if tok is None or tok.kind == "rp" or self.is_word("OR"):
                break
            if self.is_word("AND"):
                self.take()
            parts.append(self.factor())
        if len(parts) == 1:
            return parts[0]
        return lambda r: all(p(r) for p in parts)

    def factor(self) -> Predicate:
        tok = self.peek()
        if tok is None:
            raise self.error("ends too early")
        if tok.kind == "word" and tok.text in ("NOT", "-"):
            self.take()
            inner = self.factor()
            return lambda r: not inner(r)
        if tok.kind == "lp":
            self.take()
            inner = self.expr()
            closing = self.take()
            if closing.kind != "rp":
                raise self.error("is missing a closing parenthesis")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        name_tok = self.take()
        if name_tok.kind != "word":
            raise self.error(f"expected a field name, got {name_tok.text!r}")
        name = name_tok.text
        spec = self.fields.get(name)
        key = name
        if spec is None and "." in name:
            head, _, sub = name.partition(".")
            parent = self.fields.get(head)
            if parent is not None and parent.kind == "map":
                spec, key = FieldSpec("str"), name
                return self._map_comparison(head, sub)
        if spec is None:
            raise self.error(f"unknown field {name!r}; known: {', '.join(sorted(self.fields))}")
        op = self.take()
        if op.kind != "op":
            raise self.error(f"expected an operator after {name!r}")
        value_tok = self.take()
        if value_tok.kind not in ("str", "word"):
            raise self.error(f"expected a value after {name} {op.text}")
        return self._compare(key, spec, op.text, value_tok)

    def _map_comparison(self, head: str, sub: str) -> Predicate:
        op = self.take()
        value_tok = self.take()
        if op.kind != "op" or value_tok.kind not in ("str", "word"):
            raise self.error(f"expected '<op> <value>' after {head}.{sub}")
        inner = self._compare("v", FieldSpec("str"), op.text, value_tok)

        def pred(r: Record) -> bool:
            mapping = r.get(head) or {}
            if sub not in mapping:
                return op.text == "!="
            return inner({"v": mapping[sub]})

        return pred

    def _compare(self, key: str, spec: FieldSpec, op: str, tok: _Tok) -> Predicate:
        raw = tok.text
        if spec.kind == "list":
            if op not in (":", "="):
                raise self.error(f"{key} supports only ':'")
            return lambda r: raw in (r.get(key) or ())
        if op == ":":
            op = "="
        value: Any
        if spec.kind == "enum":
            upper = raw.upper()
            if upper not in spec.enum_values:
                raise self.error(f"{key} must be one of {', '.join(spec.enum_values)} (got {raw!r})")
            value = upper
        elif spec.kind == "int":
            try:
                value = int(raw)
            except ValueError:
                raise self.error(f"{key} compares with a number (got {raw!r})") from None
        elif spec.kind == "bool":
            if raw.lower() not in ("true", "false"):
                raise self.error(f"{key} compares with true or false (got {raw!r})")
            value = raw.lower() == "true"
        elif spec.kind == "time":
            try:
                value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise self.error(f"{key} compares with an RFC 3339 timestamp (got {raw!r})") from None
            if value.tzinfo is None:
                raise self.error(f"{key} needs a timestamp with a time zone (got {raw!r})")
        else:
            value = raw
        if spec.kind in ("enum", "bool") and op not in ("=", "!="):
            raise self.error(f"{key} supports only '=' and '!='")
        prefix = spec.kind == "str" and op in ("=", "!=") and value.endswith("*")

        def pred(r: Record) -> bool:
            actual = r.get(key)
            if actual is None or (actual == "" and spec.kind != "str"):
                return op == "!="
            if prefix:
                hit = isinstance(actual, str) and actual.startswith(value[:-1])
                return hit if op == "=" else not hit
            if op == "=":
                return actual == value
            if op == "!=":
                return actual != value
            try:
                if op == "<":
                    return actual < value
                if op == "<=":
                    return actual <= value
                if op == ">":
                    return actual > value
                return actual >= value
            except TypeError:
                return False

        return pred


def compile_filter(text: str, fields: Mapping[str, FieldSpec], field: str = "filter") -> Predicate | None:
    """A predicate for ``text`` over records with ``fields``; None for an empty filter."""
    if not text.strip():
        return None
    parser = _Parser(_tokenize(text, field), fields, field)
    predicate = parser.expr()
    if parser.peek() is not None:
        raise parser.error(f"unexpected {parser.peek().text!r}")  # type: ignore[union-attr]
    return predicate


ORIGINS = ("API", "IMPORT", "SYNTHETIC")
ENTITY_TYPES = ("TEXT", "ANSWER", "QUESTION")
BATCH_STATES = ("PENDING", "IMPORTING", "EMBEDDING", "COMPLETED", "FAILED")
FORMATS = ("PLAIN_TEXT", "JSONL_TEXTS", "QA_JSON", "QA_JSONL", "STACKFAQ")
SNAPSHOT_STATES = ("CREATING", "READY", "FAILED")

TEXT_FIELDS = {
    "title": FieldSpec("str"), "source": FieldSpec("str"), "origin": FieldSpec("enum", ORIGINS),
    "create_time": FieldSpec("time"), "import_batch": FieldSpec("str"), "creator": FieldSpec("str"),
    "word_count": FieldSpec("int"), "character_count": FieldSpec("int"), "size_bytes": FieldSpec("int"),
    "content_sha256": FieldSpec("str"), "metadata": FieldSpec("map"),
}
CLUSTER_FIELDS = {
    "title": FieldSpec("str"), "external_id": FieldSpec("str"), "tags": FieldSpec("list"),
    "source": FieldSpec("str"), "origin": FieldSpec("enum", ORIGINS), "import_batch": FieldSpec("str"),
    "creator": FieldSpec("str"), "create_time": FieldSpec("time"), "update_time": FieldSpec("time"),
    "answer_count": FieldSpec("int"), "question_count": FieldSpec("int"),
}
QUESTION_FIELDS = {
    "source": FieldSpec("str"), "origin": FieldSpec("enum", ORIGINS), "import_batch": FieldSpec("str"),
    "creator": FieldSpec("str"), "create_time": FieldSpec("time"), "content_sha256": FieldSpec("str"),
}
BATCH_FIELDS = {
    "state": FieldSpec("enum", BATCH_STATES), "scan_id": FieldSpec("str"), "root": FieldSpec("str"),
    "path": FieldSpec("str"), "format": FieldSpec("enum", FORMATS), "creator": FieldSpec("str"),
    "attempt_count": FieldSpec("int"), "create_time": FieldSpec("time"), "update_time": FieldSpec("time"),
}
SNAPSHOT_FIELDS = {
    "state": FieldSpec("enum", SNAPSHOT_STATES), "display_name": FieldSpec("str"),
    "content_sha256": FieldSpec("str"), "member_list_sha256": FieldSpec("str"), "creator": FieldSpec("str"),
    "create_time": FieldSpec("time"), "labels": FieldSpec("map"),
}
MEMBER_FIELDS = {
    "type": FieldSpec("enum", ENTITY_TYPES), "origin": FieldSpec("enum", ORIGINS), "source": FieldSpec("str"),
    "create_time": FieldSpec("time"), "import_batch": FieldSpec("str"), "title": FieldSpec("str"),
    "metadata": FieldSpec("map"), "qa_cluster": FieldSpec("str"), "external_id": FieldSpec("str"),
    "tags": FieldSpec("list"),
}
EMBEDDING_FIELDS = {
    "model": FieldSpec("str"), "entity_type": FieldSpec("enum", ENTITY_TYPES), "content_sha256": FieldSpec("str"),
    "create_time": FieldSpec("time"),
}
MODEL_FIELDS = {"model_name": FieldSpec("str"), "dimension": FieldSpec("int"), "used_by_default": FieldSpec("bool")}
DIFF_FIELDS = {
    "change": FieldSpec("enum", ("ADDED", "REMOVED", "SPLIT_CHANGED")),
    "entity_type": FieldSpec("enum", ENTITY_TYPES),
}
