"""Content rules of the corpus: normalisation, hashes, counts, limits and resource names."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lathe.kit.errors import FieldViolation, InvalidArgument

MAX_BATCH_ITEMS = 1000
MAX_TITLE = 512
MAX_SOURCE = 512
MAX_METADATA_ENTRIES = 64
MAX_METADATA_KEY = 63
MAX_METADATA_VALUE = 1024
MAX_QUESTION_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 1024 * 1024
MAX_EXTERNAL_ID = 256
MAX_TAGS = 32
MAX_TAG = 63
METADATA_KEY_RE = re.compile(r"^[a-z][a-z0-9_.-]*$")
RESOURCE_ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
SERVER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SYNTHETIC_SOURCE = "synthetic"


def new_id() -> str:
    """A server-assigned identifier: 20 lowercase hex digits starting with a letter-free prefix-safe char."""
    return "c" + uuid.uuid4().hex[:19]


def normalise(content: str) -> str:
    """The normalised form hashed for de-duplication: NFC, ``\\n`` line endings, stripped."""
    text = unicodedata.normalize("NFC", content)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def content_sha256(content: str) -> str:
    """sha256 of the normalised content, 64 lowercase hex digits."""
    return hashlib.sha256(normalise(content).encode("utf-8")).hexdigest()


def word_count(content: str) -> int:
    """Maximal runs of non-whitespace characters (what ``str.split()`` returns)."""
    return len(content.split())


@dataclass(frozen=True)
class TextInput:
    """A validated text ready to store."""

    title: str
    content: str
    source: str
    metadata: dict[str, str]
    content_sha256: str
    word_count: int
    character_count: int
    size_bytes: int


def decode_utf8(data: bytes, field: str) -> str:
    """``data`` as UTF-8; INVALID_ARGUMENT naming ``field`` and the byte offset otherwise."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument.for_field(field, f"is not valid UTF-8 (byte offset {exc.start})",
                                        reason="INVALID_UTF8") from None


def check_content(content: str, field: str, max_bytes: int, violations: list[FieldViolation]) -> int:
    """Append a violation for empty, whitespace-only or oversized content; returns its UTF-8 size."""
    if not content:
        violations.append(FieldViolation(field, "is required and must not be empty"))
        return 0
    if not content.strip():
        violations.append(FieldViolation(field, "must not be whitespace-only"))
        return 0
    try:
        size = len(content.encode("utf-8"))
    except UnicodeEncodeError:
        violations.append(FieldViolation(field, "is not valid UTF-8 (it holds a lone surrogate)"))
        return 0
    if size > max_bytes:
        violations.append(FieldViolation(field, f"is {size} bytes; the maximum is {max_bytes}"))
    return size


def check_label(value: str, field: str, maximum: int, violations: list[FieldViolation]) -> None:
    """Append a violation when a free-form label is too long."""
    if len(value) > maximum:
        violations.append(FieldViolation(field, f"is {len(value)} characters; the maximum is {maximum}"))


def check_metadata(metadata: Mapping[str, str], field: str, violations: list[FieldViolation]) -> None:
    """Append violations for metadata that breaks the entry, key or value limits."""
    if len(metadata) > MAX_METADATA_ENTRIES:
        violations.append(FieldViolation(field, f"has {len(metadata)} entries; the maximum is {MAX_METADATA_ENTRIES}"))
    for key, value in metadata.items():
        if len(key) > MAX_METADATA_KEY or not METADATA_KEY_RE.match(key):
            violations.append(FieldViolation(f"{field}.{key}", "key must match [a-z][a-z0-9_.-]* (at most 63)"))
        if len(value) > MAX_METADATA_VALUE:
            violations.append(FieldViolation(f"{field}.{key}", f"value is longer than {MAX_METADATA_VALUE}"))


def raise_violations(violations: Sequence[FieldViolation], what: str) -> None:
    """INVALID_ARGUMENT listing every violation, when there is any."""
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise InvalidArgument(f"invalid {what}: {first.field} {first.description}{more}",
                              reason="INVALID_ARGUMENT", field_violations=violations)


def check_batch_size(count: int, field: str) -> None:
    """INVALID_ARGUMENT unless 1 ≤ count ≤ 1,000."""
    if count == 0:
        raise InvalidArgument.for_field(field, "must hold at least one item")
    if count > MAX_BATCH_ITEMS:
        raise InvalidArgument.for_field(field, f"holds {count} items; the maximum is {MAX_BATCH_ITEMS}")


def make_text(*, title: str, content: str, source: str, metadata: Mapping[str, str]) -> TextInput:
    """A text's stored form with its derived counts and hash (content already validated)."""
    return TextInput(
        title=title, content=content, source=source, metadata=dict(metadata),
        content_sha256=content_sha256(content), word_count=word_count(content),
        character_count=len(content), size_bytes=len(content.encode("utf-8")),
    )


def validate_text(*, title: str, content: str, source: str, metadata: Mapping[str, str], prefix: str,
                  max_bytes: int, violations: list[FieldViolation]) -> TextInput | None:
    """Validate one text item, appending violations under ``prefix``; its stored form when valid."""
    before = len(violations)
    check_content(content, f"{prefix}.content", max_bytes, violations)
    check_label(title, f"{prefix}.title", MAX_TITLE, violations)
    check_label(source, f"{prefix}.source", MAX_SOURCE, violations)
    check_metadata(metadata, f"{prefix}.metadata", violations)
    if len(violations) > before:
        return None
    return make_text(title=title, content=content, source=source, metadata=metadata)


def validate_tags(tags: Sequence[str], field: str, violations: list[FieldViolation]) -> None:
    """Append violations for too many, empty or too long tags."""
    if len(tags) > MAX_TAGS:
        violations.append(FieldViolation(field, f"has {len(tags)} tags; the maximum is {MAX_TAGS}"))
    for i, tag in enumerate(tags):
        if not tag.strip() or len(tag) > MAX_TAG:
            violations.append(FieldViolation(f"{field}[{i}]", f"must be 1 to {MAX_TAG} characters"))


def validate_resource_id(value: str, field: str) -> None:
    """INVALID_ARGUMENT unless ``value`` is 1-63 characters matching ``[a-z][a-z0-9-]*``."""
    if not RESOURCE_ID_RE.match(value):
        raise InvalidArgument.for_field(field, f"must be 1-63 characters matching [a-z][a-z0-9-]* (got {value!r})",
                                        reason="INVALID_RESOURCE_ID")


def parse_name(name: str, collection: str, field: str = "name") -> str:
    """The id of ``{collection}/{id}``; INVALID_ARGUMENT naming ``field`` when malformed."""
    parts = name.split("/")
    if len(parts) != 2 or parts[0] != collection or not SERVER_ID_RE.match(parts[1]):
        raise InvalidArgument.for_field(field, f"must be '{collection}/{{id}}' (got {name!r})", reason="INVALID_NAME")
    return parts[1]


@dataclass(frozen=True)
class EntityRef:
    """A parsed entity name: ``texts/{t}``, ``qaClusters/{c}/answers/{a}`` or ``qaClusters/{c}/questions/{q}``."""

    kind: str  # text | answer | question
    id: str
    cluster_id: str = ""

    @property
    def name(self) -> str:
        """The entity's resource name."""
        if self.kind == "text":
            return f"texts/{self.id}"
        return f"qaClusters/{self.cluster_id}/{self.kind}s/{self.id}"


def parse_entity(name: str, field: str) -> EntityRef:
    """Parse an entity name; INVALID_ARGUMENT naming ``field`` when malformed."""
    parts = name.split("/")
    if len(parts) == 2 and parts[0] == "texts" and SERVER_ID_RE.match(parts[1]):
        return EntityRef("text", parts[1])
    if (len(parts) == 4 and parts[0] == "qaClusters" and parts[2] in ("answers", "questions")
            and SERVER_ID_RE.match(parts[1]) and SERVER_ID_RE.match(parts[3])):
        return EntityRef(parts[2][:-1], parts[3], parts[1])
    raise InvalidArgument.for_field(
        field, f"must be texts/{{text}}, qaClusters/{{c}}/answers/{{a}} or qaClusters/{{c}}/questions/{{q}} "
               f"(got {name!r})", reason="INVALID_NAME")
