"""Import file formats: detection and parsing into texts and Q-A records, with the line of every problem.

Documented schemas (also in ``ImportBatch.Format``):

* plain text (``.txt``, ``.md``): the whole UTF-8 file is one text titled with the file name;
* JSONL texts (``.jsonl``): one object per line, ``{"content": str, "title"?: str, "source"?: str,
  "metadata"?: {str: str}}``;
* Q-A JSON (``.json``): an array of records ``{"id"?: str, "title"?: str, "answers": [str] | "answer": str,
  "questions"?: [str], "tags"?: [str]}``; ``id`` becomes the cluster's ``external_id``;
* Q-A JSONL (``.jsonl``): one such record per line;
* StackFAQ (``.json`` with ``root.qapair``): ``{"root": {"qapair": [{"question", "answer", "rephr"}]}}``;
  each thread is a cluster titled with ``question``, its ``answer`` (a string or a list) the answers and
  ``rephr`` the questions (``"*"`` placeholders and nulls skipped); ``external_id`` is ``stackfaq:<index>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

PLAIN_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl",)
JSON_SUFFIXES = (".json",)
SUPPORTED_SUFFIXES = PLAIN_SUFFIXES + JSONL_SUFFIXES + JSON_SUFFIXES


class Format(IntEnum):
    """Mirrors ``ImportBatch.Format``."""

    UNSPECIFIED = 0
    PLAIN_TEXT = 1
    JSONL_TEXTS = 2
    QA_JSON = 3
    QA_JSONL = 4
    STACKFAQ = 5


class ParseFailure(Exception):
    """A file cannot be imported; ``line``/``column`` are one-based (0 when the whole file is concerned)."""

    def __init__(self, reason: str, *, line: int = 0, column: int = 0, code: str = "PARSE_ERROR") -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column
        self.code = code


@dataclass
class ParsedText:
    """One text read from a file."""

    content: str
    title: str = ""
    source: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass
class ParsedCluster:
    """One Q-A record read from a file."""

    answers: list[str]
    questions: list[str]
    external_id: str = ""
    title: str = ""
    tags: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class ParsedFile:
    """Everything a file holds."""

    texts: list[ParsedText] = field(default_factory=list)
    clusters: list[ParsedCluster] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        """Texts plus Q-A records."""
        return len(self.texts) + len(self.clusters)


def is_supported(path: str) -> bool:
    """Whether the file's suffix names a supported format."""
    return path.lower().endswith(SUPPORTED_SUFFIXES)


def detect(path: str, data: bytes) -> Format:
    """The format of a file, from its suffix and (for JSON) its first record; UNSPECIFIED if unsupported."""
    lower = path.lower()
    if lower.endswith(PLAIN_SUFFIXES):
        return Format.PLAIN_TEXT
    if lower.endswith(JSONL_SUFFIXES):
        for raw in data.splitlines():
            if raw.strip():
                try:
                    first = json.loads(raw)
                except ValueError:  # only the head was given, or the line is broken: judge by its text
                    return Format.JSONL_TEXTS if b'"content"' in raw else Format.QA_JSONL
                return Format.JSONL_TEXTS if isinstance(first, dict) and "content" in first else Format.QA_JSONL
        return Format.JSONL_TEXTS
    if lower.endswith(JSON_SUFFIXES):
        # A cheap look at the head avoids parsing the file twice; the parser validates it properly.
        head = data[:4096].decode("utf-8", "ignore")
        compact = "".join(head.split())
        if compact.startswith('{"root":{"qapair"') or ('"qapair"' in head and '"root"' in head):
            return Format.STACKFAQ
        return Format.QA_JSON
    return Format.UNSPECIFIED


def decode(data: bytes) -> str:
    """The file as UTF-8 (a BOM is dropped); ParseFailure with the line of the first bad byte otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ParseFailure(f"not valid UTF-8 at byte offset {exc.start}", line=line, column=column,
                           code="INVALID_UTF8") from None
    return text[1:] if text.startswith("\ufeff") else text


def parse(fmt: Format, path: str, data: bytes) -> ParsedFile:
    """Parse a file of a known format; raises ParseFailure naming the line and the reason."""
    text = decode(data)
    if fmt == Format.PLAIN_TEXT:
        if not text.strip():
            raise ParseFailure("the file is empty or whitespace-only", code="INVALID_ITEM")
        name = path.rsplit("/", 1)[-1]
        return ParsedFile(texts=[ParsedText(content=text, title=name, source=path, line=1)])
    if fmt == Format.JSONL_TEXTS:
        return ParsedFile(texts=[_text_record(obj, line, path) for line, obj in _jsonl(text)])
    if fmt == Format.QA_JSONL:
        return ParsedFile(clusters=[_qa_record(obj, line, f"line {line}") for line, obj in _jsonl(text)])
    if fmt == Format.QA_JSON:
        return ParsedFile(clusters=[_qa_record(obj, line, f"record {i}") for i, (line, obj) in
                                    enumerate(_json_array(text))])
    if fmt == Format.STACKFAQ:
        return ParsedFile(clusters=_stackfaq(text))
    raise ParseFailure(f"unsupported format {fmt!r}", code="UNSUPPORTED_FORMAT")


def _json_error(exc: json.JSONDecodeError) -> ParseFailure:
    return ParseFailure(exc.msg, line=exc.lineno, column=exc.colno)


def _jsonl(text: str) -> list[tuple[int, Any]]:
    records = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            records.append((number, json.loads(raw)))
        except json.JSONDecodeError as exc:
            raise ParseFailure(exc.msg, line=number, column=exc.colno) from None
    if not records:
        raise ParseFailure("the file holds no records", code="INVALID_ITEM")
    return records


def _json_array(text: str) -> list[tuple[int, Any]]:
    """The elements of a top-level JSON array with the line each starts on."""
    decoder = json.JSONDecoder()
    try:
        json.loads(text)  # full validation first, so syntax errors report their own line
    except json.JSONDecodeError as exc:
        raise _json_error(exc) from None
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise ParseFailure("expected a JSON array of Q-A records", line=text.count("\n", 0, pos) + 1,
                           code="INVALID_ITEM")
    pos = _skip_ws(text, pos + 1)
    records = []
    while pos < len(text) and text[pos] != "]":
        obj, end = decoder.raw_decode(text, pos)
        records.append((text.count("\n", 0, pos) + 1, obj))
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
    if not records:
        raise ParseFailure("the array holds no records", line=1, code="INVALID_ITEM")
    return records


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _invalid(reason: str, line: int) -> ParseFailure:
    return ParseFailure(reason, line=line, code="INVALID_ITEM")


def _string(value: Any, what: str, line: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{what} must be a string", line)
    return value


def _strings(value: Any, what: str, line: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"{what} must be a list of strings", line)
    return list(value)


def _text_record(obj: Any, line: int, path: str) -> ParsedText:
    if not isinstance(obj, dict):
        raise _invalid("expected a JSON object with \"content\"", line)
    content = obj.get("content")
    if not isinstance(content, str) or not content.strip():
        raise _invalid('"content" must be a non-empty string', line)
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _invalid('"metadata" must be an object of strings', line)
    return ParsedText(content=content, title=_string(obj.get("title"), '"title"', line),
                      source=_string(obj.get("source"), '"source"', line) or path, metadata=dict(metadata), line=line)


def _qa_record(obj: Any, line: int, where: str) -> ParsedCluster:
    if not isinstance(obj, dict):
        raise _invalid(f"{where}: expected a JSON object", line)
    if "answers" in obj:
        answers = _strings(obj["answers"], f'{where}: "answers"', line)
    else:
        answers = [_string(obj.get("answer"), f'{where}: "answer"', line)] if obj.get("answer") is not None else []
    answers = [a for a in answers if a.strip()]
    if not answers:
        raise _invalid(f'{where}: "answers" must not be empty', line)
    questions = [q for q in _strings(obj.get("questions"), f'{where}: "questions"', line) if q.strip()]
    external = obj.get("id")
    if external is not None and not isinstance(external, str | int):
        raise _invalid(f'{where}: "id" must be a string', line)
    return ParsedCluster(answers=answers, questions=questions, external_id="" if external is None else str(external),
                         title=_string(obj.get("title"), f'{where}: "title"', line),
                         tags=_strings(obj.get("tags"), f'{where}: "tags"', line), line=line)


def _stackfaq(text: str) -> list[ParsedCluster]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _json_error(exc) from None
    threads = doc.get("root", {}).get("qapair") if isinstance(doc, dict) and isinstance(doc.get("root"), dict) else None
    if not isinstance(threads, list):
        raise _invalid('expected {"root": {"qapair": [...]}}', 1)
    clusters = []
    for i, thread in enumerate(threads):
        where = f"root.qapair[{i}]"
        if not isinstance(thread, dict):
            raise _invalid(f"{where}: expected an object", 0)
        answer = thread.get("answer")
        answers = [answer] if isinstance(answer, str) else answer
        if not isinstance(answers, list):
            raise _invalid(f'{where}: "answer" must be a string or a list of strings', 0)
        answers = [a for a in answers if isinstance(a, str) and a.strip()]
        if not answers:
            raise _invalid(f'{where}: "answer" must not be empty', 0)
        rephr = thread.get("rephr") or []
        if not isinstance(rephr, list):
            raise _invalid(f'{where}: "rephr" must be a list', 0)
        questions = [q for q in rephr if isinstance(q, str) and q.strip() and q.strip() != "*"]
        title = thread.get("question")
        clusters.append(ParsedCluster(answers=answers, questions=questions, external_id=f"stackfaq:{i}",
                                      title=title if isinstance(title, str) else "", line=0))
    return clusters
