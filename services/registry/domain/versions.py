"""Rules of model versions: names and aliases, manifests and their digest, metrics, and comparison."""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lathe.kit.errors import FieldViolation, InvalidArgument
from lathe.kit.manifest import FileEntry as ManifestFile
from lathe.kit.manifest import manifest_digest
from services.registry.domain.models import validate_model_id

VERSION_NAME_RE = re.compile(r"^models/(?P<model>[^/@]+)/versions/(?P<version>[0-9]+)$")
ALIAS_NAME_RE = re.compile(r"^models/(?P<model>[^/@]+)@(?P<alias>[^/@]+)$")
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
DEPLOYMENT_RE = re.compile(r"^deployments/[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
LATEST = "latest"
MAX_FILES = 100_000
MAX_METRICS = 1000
MAX_COMPARE = 20


@dataclass(frozen=True)
class VersionRef:
    """A version as a request named it: by number, or through an alias."""

    model_id: str
    number: int | None = None
    alias: str | None = None


def parse_version_name(name: str, field: str = "name", *, allow_alias: bool = True) -> VersionRef:
    """``models/m/versions/3`` or (when allowed) ``models/m@alias``; INVALID_ARGUMENT naming ``field``."""
    match = VERSION_NAME_RE.match(name)
    if match:
        number = int(match["version"])
        if number < 1:
            raise InvalidArgument.for_field(field, "version numbers start at 1", reason="INVALID_NAME")
        return VersionRef(validate_model_id(match["model"], field), number=number)
    match = ALIAS_NAME_RE.match(name) if allow_alias else None
    if match:
        return VersionRef(validate_model_id(match["model"], field), alias=validate_alias(match["alias"], field,
                                                                                          allow_latest=True))
    forms = "'models/{model}/versions/{version}'" + (" or 'models/{model}@{alias}'" if allow_alias else "")
    raise InvalidArgument.for_field(field, f"must have the form {forms} (got {name!r})", reason="INVALID_NAME")


def validate_alias(alias: str, field: str = "alias", *, allow_latest: bool = False) -> str:
    """A valid alias; ``latest`` is reserved (it always means the newest READY version)."""
    if not ALIAS_RE.match(alias):
        raise InvalidArgument.for_field(
            field, f"alias must be 1-63 lowercase letters, digits, '_' or '-', starting with a letter (got {alias!r})",
            reason="INVALID_ALIAS",
        )
    if alias == LATEST and not allow_latest:
        raise InvalidArgument.for_field(field, "'latest' is reserved: it always means the newest READY version",
                                        reason="ALIAS_RESERVED")
    if alias.isdigit():
        raise InvalidArgument.for_field(field, "an alias cannot be a number", reason="INVALID_ALIAS")
    return alias


def version_name(model_id: str, number: int) -> str:
    """``models/{model}/versions/{number}``."""
    return f"models/{model_id}/versions/{number}"


def validate_manifest(files: Sequence[ManifestFile], digest: str, field: str = "model_version.manifest") -> str:
    """Check every file entry and the digest (if given); returns the digest in force."""
    violations: list[FieldViolation] = []
    if not files:
        violations.append(FieldViolation(f"{field}.files", "must list at least one file"))
    if len(files) > MAX_FILES:
        violations.append(FieldViolation(f"{field}.files", f"must list at most {MAX_FILES} files"))
    seen: set[str] = set()
    for i, entry in enumerate(files[:MAX_FILES]):
        where = f"{field}.files[{i}]"
        normalized = posixpath.normpath(entry.path) if entry.path else ""
        if (not entry.path or entry.path.startswith("/") or normalized != entry.path or normalized == "."
                or normalized.startswith("..") or "\\" in entry.path or any(ord(c) < 32 for c in entry.path)):
            violations.append(
                FieldViolation(f"{where}.path", f"must be a normalized relative path (got {entry.path!r})"))
        elif entry.path in seen:
            violations.append(FieldViolation(f"{where}.path", f"{entry.path!r} is listed twice"))
        seen.add(entry.path)
        if entry.size_bytes < 0:
            violations.append(FieldViolation(f"{where}.size_bytes", "must not be negative"))
        if not SHA256_RE.match(entry.sha256):
            violations.append(FieldViolation(f"{where}.sha256", "must be 64 lowercase hex digits"))
    if violations:
        raise InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in violations[:10]),
                              reason="INVALID_MANIFEST", field_violations=violations)
    computed = manifest_digest(files)
    if digest and digest != computed:
        raise InvalidArgument.for_field(f"{field}.digest", f"does not match the files (expected {computed})",
                                        reason="MANIFEST_DIGEST_MISMATCH")
    return computed


@dataclass(frozen=True)
class MetricValue:
    """One metric of a version."""

    key: str
    value: float
    step: int = 0
    split: str = ""


def validate_metrics(metrics: Sequence[MetricValue], field: str = "model_version.metrics") -> None:
    """Keys unique and printable, values finite."""
    violations: list[FieldViolation] = []
    if len(metrics) > MAX_METRICS:
        violations.append(FieldViolation(field, f"must hold at most {MAX_METRICS} metrics"))
    seen: set[str] = set()
    for i, metric in enumerate(metrics):
        if not 1 <= len(metric.key) <= 200 or any(ord(c) < 32 for c in metric.key):
            violations.append(FieldViolation(f"{field}[{i}].key", "must be 1-200 printable characters"))
        elif metric.key in seen:
            violations.append(FieldViolation(f"{field}[{i}].key", f"{metric.key!r} appears twice"))
        seen.add(metric.key)
        if not math.isfinite(metric.value):
            violations.append(FieldViolation(f"{field}[{i}].value", "must be a finite number"))
        if metric.step < 0:
            violations.append(FieldViolation(f"{field}[{i}].step", "must not be negative"))
    if violations:
        raise InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in violations[:10]),
                              reason="INVALID_METRICS", field_violations=violations)


@dataclass(frozen=True)
class MetricCell:
    """One version's value of a metric, with its difference from the first version."""

    value: float | None
    delta: float | None
    relative_delta: float | None
    step: int = 0
    split: str = ""


def compare_metrics(per_version: Sequence[dict[str, MetricValue]], keys: Sequence[str]) -> dict[str, list[MetricCell]]:
    """Metric rows aligned across versions, each cell's delta against the first version."""
    wanted = sorted(keys) if keys else sorted({k for metrics in per_version for k in metrics})
    rows: dict[str, list[MetricCell]] = {}
    for key in wanted:
        base = per_version[0].get(key)
        cells = []
        for metrics in per_version:
            metric = metrics.get(key)
            if metric is None:
                cells.append(MetricCell(None, None, None))
                continue
            delta = metric.value - base.value if base is not None else None
            relative = delta / abs(base.value) if delta is not None and base is not None and base.value != 0 else None
            cells.append(MetricCell(metric.value, delta, relative, metric.step, metric.split))
        rows[key] = cells
    return rows


def differences(per_version: Sequence[dict[str, object]]) -> dict[str, list[object]]:
    """Fields whose values are not the same in every version, sorted by field; a missing field is None."""
    fields = sorted({f for values in per_version for f in values})
    out: dict[str, list[object]] = {}
    for field in fields:
        column = [values.get(field) for values in per_version]
        if any(value != column[0] for value in column[1:]):
            out[field] = column
    return out
