"""Rules of registered models: ids, names, tags and which fields an update may touch."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from lathe.kit.errors import FieldViolation, InvalidArgument

MODEL_ID_RE = re.compile(r"^[a-z]([a-z0-9._-]{0,61}[a-z0-9])?$")
MODEL_NAME_RE = re.compile(r"^models/(?P<model>[^/@:]+)$")
MAX_TAGS = 64
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 1024
MAX_DESCRIPTION = 16384
MAX_DISPLAY_NAME = 256
UPDATABLE_FIELDS = ("display_name", "description", "tags")


@dataclass
class ModelRecord:
    """A registered model as the registry stores it."""

    model_id: str
    uid: str
    display_name: str
    description: str
    tags: dict[str, str]
    creator: str
    create_time: datetime
    update_time: datetime
    latest_version_number: int = 0
    revision: int = 1
    aliases: list[tuple[str, int]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The resource name ``models/{model_id}``."""
        return f"models/{self.model_id}"

    @property
    def etag(self) -> str:
        """Changes whenever the model changes (AIP-154)."""
        return hashlib.sha256(f"{self.uid}:{self.revision}".encode()).hexdigest()[:16]


def validate_model_id(model_id: str, field_path: str = "model_id") -> str:
    """The id if it is a valid model id; INVALID_ARGUMENT naming ``field_path`` otherwise."""
    if not MODEL_ID_RE.match(model_id):
        raise InvalidArgument.for_field(
            field_path,
            "must be 1-63 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter and "
            f"ending with a letter or digit (got {model_id!r})",
            reason="INVALID_MODEL_ID",
        )
    return model_id


def parse_model_name(name: str, field_path: str = "name") -> str:
    """The model id of ``models/{model}``; INVALID_ARGUMENT naming ``field_path`` if malformed."""
    match = MODEL_NAME_RE.match(name)
    if not match:
        raise InvalidArgument.for_field(field_path, f"must have the form 'models/{{model}}' (got {name!r})",
                                        reason="INVALID_NAME")
    return validate_model_id(match["model"], field_path)


def validate_fields(*, display_name: str, description: str, tags: Mapping[str, str], prefix: str = "model") -> None:
    """INVALID_ARGUMENT listing every over-long or malformed field."""
    violations = []
    if len(display_name) > MAX_DISPLAY_NAME:
        violations.append(FieldViolation(f"{prefix}.display_name", f"must be at most {MAX_DISPLAY_NAME} characters"))
    if len(description) > MAX_DESCRIPTION:
        violations.append(FieldViolation(f"{prefix}.description", f"must be at most {MAX_DESCRIPTION} characters"))
    if len(tags) > MAX_TAGS:
        violations.append(FieldViolation(f"{prefix}.tags", f"must have at most {MAX_TAGS} entries"))
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY or any(ord(c) < 32 for c in key):
            violations.append(
                FieldViolation(f"{prefix}.tags[{key!r}]", f"key must be 1-{MAX_TAG_KEY} printable characters")
            )
        if len(value) > MAX_TAG_VALUE:
            violations.append(
                FieldViolation(f"{prefix}.tags[{key!r}]", f"value must be at most {MAX_TAG_VALUE} characters")
            )
    if violations:
        raise InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in violations),
                              reason="INVALID_FIELD", field_violations=violations)


def apply_update(record: ModelRecord, paths: list[str], *, display_name: str, description: str,
                 tags: Mapping[str, str]) -> ModelRecord:
    """``record`` with the fields named by an update mask taken from the request; validates the paths."""
    if not paths:
        raise InvalidArgument.for_field("update_mask", "must name at least one field (or '*')")
    new_tags = dict(record.tags)
    for path in paths:
        if path == "*":
            record.display_name, record.description, new_tags = display_name, description, dict(tags)
        elif path == "display_name":
            record.display_name = display_name
        elif path == "description":
            record.description = description
        elif path == "tags":
            new_tags = dict(tags)
        elif path.startswith("tags.") and len(path) > len("tags."):
            key = path[len("tags."):]
            if key in tags:
                new_tags[key] = tags[key]
            else:
                new_tags.pop(key, None)
        else:
            raise InvalidArgument.for_field(
                "update_mask", f"cannot update {path!r}; updatable: {', '.join(UPDATABLE_FIELDS)}, tags.<key>, *"
            )
    record.tags = new_tags
    validate_fields(display_name=record.display_name, description=record.description, tags=record.tags)
    return record
