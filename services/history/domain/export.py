"""Export rows: one session as a CSV row (flattened, JSON cells for structures) or a JSON Lines line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from lathe.history.v1 import session_pb2

_MESSAGE = FieldDescriptor.TYPE_MESSAGE
# Nested messages whose fields become their own columns; the others are one JSON cell.
_FLATTENED = {"google.rpc.Status", "lathe.history.v1.Session.Counts", "lathe.history.v1.Session.FineTune",
              "lathe.history.v1.Session.Quality"}


def _columns(descriptor: Any, prefix: str = "") -> list[tuple[str, list[FieldDescriptor]]]:
    columns: list[tuple[str, list[FieldDescriptor]]] = []
    for field in sorted(descriptor.fields, key=lambda f: f.number):
        path = f"{prefix}{field.name}"
        is_repeated = field.is_repeated
        if field.type == _MESSAGE and not is_repeated and field.message_type.full_name in _FLATTENED:
            columns += [(sub_path, [field, *chain]) for sub_path, chain in _columns(field.message_type, f"{path}.")]
        else:
            columns.append((path, [field]))
    return columns


COLUMNS = _columns(session_pb2.Session.DESCRIPTOR)
HEADER = [name for name, _ in COLUMNS]


def _cell(message: Message, chain: Sequence[FieldDescriptor]) -> str:
    for field in chain[:-1]:
        if not message.HasField(field.name):
            return ""
        message = getattr(message, field.name)
    field = chain[-1]
    value = getattr(message, field.name)
    if field.is_repeated:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            return json.dumps(dict(value), sort_keys=True) if len(value) else ""
        if field.type == _MESSAGE:
            items = [json_format.MessageToDict(item, preserving_proto_field_name=True) for item in value]
            return json.dumps(items) if items else ""
        return json.dumps(list(value)) if len(value) else ""
    if field.type == _MESSAGE:
        if not message.HasField(field.name):
            return ""
        kind = field.message_type.full_name
        if kind == "google.protobuf.Timestamp":
            return value.ToJsonString()
        if kind == "google.protobuf.Duration":
            return repr(value.seconds + value.nanos / 1e9)
        return json.dumps(json_format.MessageToDict(value, preserving_proto_field_name=True), sort_keys=True)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values_by_number[value].name if value in field.enum_type.values_by_number else str(value)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true" if value else "false"
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return repr(value)
    return str(value)


def csv_header() -> bytes:
    """The header row of a CSV export."""
    return csv_line(HEADER)


def csv_row(session: session_pb2.Session) -> bytes:
    """One session as a CSV row (RFC 4180, CRLF-terminated)."""
    return csv_line([_cell(session, chain) for _, chain in COLUMNS])


def csv_line(cells: Sequence[str]) -> bytes:
    """Cells as one RFC 4180 line."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue().encode()


def jsonl_row(session: session_pb2.Session) -> bytes:
    """One session as a JSON Lines line in the canonical proto3 JSON mapping."""
    data = json_format.MessageToDict(session)
    return (json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n").encode()
