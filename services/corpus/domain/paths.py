"""Import confinement: a scan reads only inside the configured import roots, whatever ``..`` or links say."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lathe.kit.errors import InvalidArgument, NotFound, PermissionDenied


def _inside(path: Path, roots: Sequence[Path]) -> Path | None:
    for root in roots:
        if path == root or root in path.parents:
            return root
    return None


def resolve_scan_root(requested: str, roots: Sequence[Path]) -> Path:
    """The absolute, link-free folder ``requested`` names, which must lie inside one of ``roots``.

    A relative path is taken relative to the first root. ``..`` segments, absolute paths and symbolic
    links that lead outside every root are PERMISSION_DENIED (reason ``PATH_OUTSIDE_IMPORT_ROOTS``).
    """
    if not requested.strip():
        raise InvalidArgument.for_field("root", "is required")
    if "\0" in requested:
        raise InvalidArgument.for_field("root", "must not contain NUL characters")
    if not roots:
        raise PermissionDenied("no import roots are configured", reason="NO_IMPORT_ROOTS")
    raw = Path(requested).expanduser()
    candidate = raw if raw.is_absolute() else roots[0] / raw
    # Judge the lexical path first, so '..' out of a root is refused even if the target happens not to exist.
    lexical = Path(os.path.normpath(candidate))
    if _inside(lexical, roots) is None:
        raise outside(requested)
    resolved = candidate.resolve()
    if _inside(resolved, roots) is None:
        raise outside(requested)
    if not resolved.exists():
        raise NotFound(f"import folder {requested!r} does not exist", reason="IMPORT_ROOT_NOT_FOUND",
                       metadata={"root": requested})
    if not resolved.is_dir():
        raise InvalidArgument.for_field("root", f"{requested!r} is not a folder")
    return resolved


def outside(path: str) -> PermissionDenied:
    """The error for a path outside every import root."""
    return PermissionDenied(f"{path!r} is outside the configured import roots (LATHE_CORPUS_IMPORT_ROOTS)",
                            reason="PATH_OUTSIDE_IMPORT_ROOTS", metadata={"path": path})


def check_inside(path: Path, roots: Sequence[Path]) -> None:
    """PERMISSION_DENIED unless ``path`` (links resolved) lies inside one of ``roots``."""
    if _inside(path.resolve(), roots) is None:
        raise outside(str(path))


def validate_glob(glob: str) -> str:
    """The glob in force (default ``**/*``); INVALID_ARGUMENT for absolute globs or ``..`` segments."""
    pattern = glob.strip() or "**/*"
    if pattern.startswith("/") or any(part == ".." for part in pattern.replace("\\", "/").split("/")):
        raise InvalidArgument.for_field("glob", "must be relative to root and must not contain '..'",
                                        reason="INVALID_GLOB")
    return pattern
